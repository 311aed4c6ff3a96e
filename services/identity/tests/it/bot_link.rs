//! Bot link codes (DESIGN.md §5 flow 1; S0-26, S0-35, S0-36, S0-47…S0-49):
//! a curator creates a citizen, the card shows the code and its expiry, the
//! code can be extended without limit, and the tenant's bot redeems it once
//! for the citizen's Telegram chat.
use chrono::Duration;
use opeka_proto::events::envelope::Body;
use opeka_proto::identity as pb;
use tonic::Code;

use crate::helpers::{Session, TestApp, expect_code, ts};

fn new_citizen(surname: &str, phone: &str) -> pb::CreateCitizenAccountRequest {
    pb::CreateCitizenAccountRequest {
        surname: surname.into(),
        name: "Иван".into(),
        patronymic: "Иванович".into(),
        phone: phone.into(),
        email: String::new(),
        request_id: String::new(),
    }
}

fn redeem(code: &str, chat: i64) -> pb::RedeemBotLinkCodeRequest {
    pb::RedeemBotLinkCodeRequest { code: code.into(), telegram_chat_id: chat }
}

async fn code_of(s: &Session, citizen: &str) -> pb::BotLinkCode {
    s.client
        .clone()
        .get_bot_link_code(pb::GetBotLinkCodeRequest { citizen_account_id: citizen.into() })
        .await
        .expect("get bot link code")
        .into_inner()
}

async fn extend(s: &Session, citizen: &str) -> Result<pb::BotLinkCode, tonic::Status> {
    s.client
        .clone()
        .extend_bot_link_code(pb::ExtendBotLinkCodeRequest { citizen_account_id: citizen.into() })
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn a_curator_shows_and_extends_the_code_and_the_bot_redeems_it_once() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let curator = app.staff_session(&t, &admin, "kuratorova", pb::Role::Curator).await;
    let bot = app.service_session(&t, &admin, "Телеграм-бот", pb::Role::Bot).await;
    let mut linked_events = app.events(&t.slug, "bot_linked").await;
    let ttl = Duration::hours(app.settings.bot_link_ttl_hours);

    // S0-26: the curator creates the citizen; identity issues the code.
    let citizen = curator
        .client
        .clone()
        .create_citizen_account(new_citizen("Гражданинов", "8 900 123-45-67"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(citizen.kind, pb::AccountKind::Citizen as i32);
    assert_eq!(citizen.roles, vec![pb::Role::Citizen as i32]);
    assert_eq!(citizen.phone, "+79001234567");
    assert!(!citizen.bot_linked);
    assert!(citizen.login.is_empty());

    // S0-35: the card shows the code and its expiry (+72 h).
    let code = code_of(&curator, &citizen.id).await;
    assert_eq!(code.citizen_account_id, citizen.id);
    assert_eq!(code.code.len(), 8);
    assert!(code.code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()), "{}", code.code);
    assert!(!code.code.contains(['0', 'O', '1', 'I', 'L']), "no look-alike characters: {}", code.code);
    assert_eq!(ts(&code.expires_at), app.now() + ttl);
    assert_eq!(ttl, Duration::hours(72));
    assert!(!code.redeemed && code.redeemed_at.is_none());
    // The admin sees it too (S0-27).
    assert_eq!(code_of(&admin, &citizen.id).await, code);

    // S0-36: «Продлить срок действия кода» — from now, as often as needed,
    // including after the code has expired.
    app.clock.advance(Duration::hours(10));
    let extended = extend(&curator, &citizen.id).await.expect("extend");
    assert_eq!(extended.code, code.code, "the code itself stays");
    assert_eq!(ts(&extended.expires_at), app.now() + ttl);
    assert_eq!(ts(&extended.expires_at) - ts(&code.expires_at), Duration::hours(10));
    app.clock.advance(Duration::hours(100));
    let again = extend(&curator, &citizen.id).await.expect("extend an expired code");
    assert_eq!(ts(&again.expires_at), app.now() + ttl);
    assert_eq!(code_of(&curator, &citizen.id).await, again);

    // S0-47/S0-48: the citizen sends the code to the bot (as typed: any case, spaces).
    let chat_id = 987_654_321_i64;
    let typed = format!("  {}  ", code.code.to_lowercase());
    let redeemed = bot.client.clone().redeem_bot_link_code(redeem(&typed, chat_id)).await.expect("redeem").into_inner();
    assert_eq!(redeemed.citizen_account_id, citizen.id);

    let (subject, env) = linked_events.next().await;
    assert_eq!(subject, format!("{}.{}.identity.bot_linked", app.platform.bus.root, t.id));
    assert_eq!(env.tenant_id, t.id.to_string());
    assert_eq!(env.actor, bot.account_id());
    assert_eq!(
        env.body,
        Some(Body::BotLinked(opeka_proto::events::BotLinked {
            citizen_account_id: citizen.id.clone(),
            telegram_chat_id: chat_id
        }))
    );

    // S0-49: the card now says «Бот активирован».
    let card = curator
        .client
        .clone()
        .get_account(pb::GetAccountRequest { id: citizen.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert!(card.bot_linked);
    let used = code_of(&curator, &citizen.id).await;
    assert!(used.redeemed);
    assert_eq!(ts(&used.redeemed_at), app.now());

    // Once only: a second redeem, an extension or a new code are refused.
    for chat in [chat_id, chat_id + 1] {
        let s = expect_code(
            bot.client.clone().redeem_bot_link_code(redeem(&code.code, chat)).await,
            Code::FailedPrecondition,
        );
        assert_eq!(s.message(), opeka_identity::strings::CODE_ALREADY_USED);
    }
    expect_code(extend(&curator, &citizen.id).await, Code::FailedPrecondition);
    let issue = pb::IssueBotLinkCodeRequest { citizen_account_id: citizen.id.clone() };
    expect_code(curator.client.clone().issue_bot_link_code(issue).await, Code::FailedPrecondition);
    let chat: Option<i64> = sqlx::query_scalar("select telegram_chat_id from identity.accounts where id = $1::uuid")
        .bind(&citizen.id)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(chat, Some(chat_id));
}

#[tokio::test]
async fn expired_unknown_foreign_and_unauthorised_redemptions_fail() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let curator = app.staff_session(&t, &admin, "kuratorova", pb::Role::Curator).await;
    let bot = app.service_session(&t, &admin, "Бот", pb::Role::Bot).await;
    let integration = app.service_session(&t, &admin, "Минтруд", pb::Role::Integration).await;
    let mut cur = curator.client.clone();
    let citizen = cur.create_citizen_account(new_citizen("Опоздавший", "+79001110000")).await.unwrap().into_inner();
    let code = code_of(&curator, &citizen.id).await.code;
    let mut b = bot.client.clone();

    // Expired: refused, nothing linked; an extension brings it back (S0-36).
    app.clock.advance(Duration::hours(app.settings.bot_link_ttl_hours) + Duration::seconds(1));
    let s = expect_code(b.redeem_bot_link_code(redeem(&code, 1001)).await, Code::FailedPrecondition);
    assert_eq!(s.message(), opeka_identity::strings::CODE_EXPIRED);
    let card = cur.get_account(pb::GetAccountRequest { id: citizen.id.clone() }).await.unwrap().into_inner();
    assert!(!card.bot_linked);
    assert!(!code_of(&curator, &citizen.id).await.redeemed);

    // Only the bot redeems: not an admin, a curator or an integration.
    for s in [&admin, &curator, &integration] {
        let st = expect_code(s.client.clone().redeem_bot_link_code(redeem(&code, 1001)).await, Code::PermissionDenied);
        assert_eq!(st.message(), opeka_identity::strings::PERMISSION_DENIED);
    }
    // And the bot cannot look codes up or extend them.
    expect_code(
        b.get_bot_link_code(pb::GetBotLinkCodeRequest { citizen_account_id: citizen.id.clone() }).await,
        Code::PermissionDenied,
    );
    expect_code(extend(&bot, &citizen.id).await, Code::PermissionDenied);

    // Unknown code.
    let s = expect_code(b.redeem_bot_link_code(redeem("ABCDEFGH", 1001)).await, Code::NotFound);
    assert_eq!(s.message(), opeka_identity::strings::CODE_NOT_FOUND);

    // Another tenant's bot does not find this tenant's code.
    let other = app.tenant("other").await;
    let other_admin = app.admin(&other).await;
    let other_bot = app.service_session(&other, &other_admin, "Бот", pb::Role::Bot).await;
    extend(&curator, &citizen.id).await.expect("extend");
    expect_code(other_bot.client.clone().redeem_bot_link_code(redeem(&code, 1001)).await, Code::NotFound);
    // … nor can the other tenant's curator see or extend it.
    expect_code(extend(&other_admin, &citizen.id).await, Code::NotFound);

    // A chat already linked to another citizen is refused, the code stays usable.
    let first = cur.create_citizen_account(new_citizen("Первый", "+79002220000")).await.unwrap().into_inner();
    let first_code = code_of(&curator, &first.id).await.code;
    b.redeem_bot_link_code(redeem(&first_code, 2002)).await.expect("first citizen links chat 2002");
    let s = expect_code(b.redeem_bot_link_code(redeem(&code, 2002)).await, Code::FailedPrecondition);
    assert_eq!(s.message(), opeka_identity::strings::CHAT_ALREADY_LINKED);
    assert!(!code_of(&curator, &citizen.id).await.redeemed);
    b.redeem_bot_link_code(redeem(&code, 3003)).await.expect("with its own chat");

    // A staff account has no link code.
    let s = expect_code(extend(&curator, curator.account_id()).await, Code::FailedPrecondition);
    assert_eq!(s.message(), opeka_identity::strings::NOT_A_CITIZEN);
}

#[tokio::test]
async fn issuing_a_new_code_replaces_the_old_one() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let curator = app.staff_session(&t, &admin, "kuratorova", pb::Role::Curator).await;
    let bot = app.service_session(&t, &admin, "Бот", pb::Role::Bot).await;
    let citizen = curator
        .client
        .clone()
        .create_citizen_account(new_citizen("Повторный", "+79003330000"))
        .await
        .unwrap()
        .into_inner();
    let old = code_of(&curator, &citizen.id).await;
    app.clock.advance(Duration::hours(1));
    let issue = pb::IssueBotLinkCodeRequest { citizen_account_id: citizen.id.clone() };
    let new = curator.client.clone().issue_bot_link_code(issue).await.expect("issue").into_inner();
    assert_eq!(ts(&new.expires_at), app.now() + Duration::hours(72));
    assert_eq!(code_of(&curator, &citizen.id).await, new);
    if new.code != old.code {
        expect_code(bot.client.clone().redeem_bot_link_code(redeem(&old.code, 55)).await, Code::NotFound);
    }
    bot.client.clone().redeem_bot_link_code(redeem(&new.code, 55)).await.expect("the new code works");
}

/// A deleted citizen must not be bound to a Telegram chat.
#[tokio::test]
async fn a_deleted_citizens_code_cannot_be_redeemed() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let bot = app.service_session(&t, &admin, "Бот", pb::Role::Bot).await;
    let mut c = admin.client.clone();
    let citizen = c.create_citizen_account(new_citizen("Выбывший", "+79004440000")).await.unwrap().into_inner();
    let code = code_of(&admin, &citizen.id).await.code;
    c.delete_account(pb::DeleteAccountRequest { id: citizen.id.clone() }).await.unwrap();

    let r = bot.client.clone().redeem_bot_link_code(redeem(&code, 77)).await;
    let s = r.expect_err("a deleted citizen's code must not link a chat");
    assert!(matches!(s.code(), Code::FailedPrecondition | Code::NotFound), "{s:?}");
    let card = c.get_account(pb::GetAccountRequest { id: citizen.id }).await.unwrap().into_inner();
    assert!(!card.bot_linked);
}
