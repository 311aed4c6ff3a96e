//! The citizen card (S0-26…S0-38, S0-49, S0-109, S0-114): creation with its
//! identity account and bot link code, validation, editing, deletion.
use chrono::Duration;
use opeka_platform::wire::from_ts;
use opeka_proto::cases as pb;
use opeka_proto::events::envelope::Body;
use opeka_proto::identity as idpb;
use tonic::Code;

use crate::helpers::{TestApp, citizen, expect_code, expect_invalid, inn, invalid_fields, update_from, wait_until};

/// S0-26, S0-28, S0-29, S0-31, S0-35: a curator fills the card; identity
/// gets the citizen account and its activation code (72 h).
#[tokio::test]
async fn a_curator_creates_a_citizen_with_an_account_and_a_bot_link_code() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let district = app.district(&t, "Северный").await;
    let group = t
        .admin
        .cases
        .clone()
        .create_special_group(pb::CreateSpecialGroupRequest { name: "Многодетные".into() })
        .await
        .unwrap()
        .into_inner();
    let curator = app.curator(&t, "kuratova", "Куратова").await;
    let mut events = app.sandbox.events("cases", &t.slug, "citizen_created").await;
    let mut c = curator.cases.clone();
    let the_inn = inn("5001007322");
    let created = c
        .create_citizen(pb::CreateCitizenRequest {
            surname: " Семёнова ".into(),
            name: "Алёна".into(),
            patronymic: "Игоревна".into(),
            birth_date: "17.05.1980".into(),
            inn: the_inn.clone(),
            phone: "8 (912) 345-67-89".into(),
            email: "Alena@Example.ru".into(),
            district_id: district.clone(),
            special_group_ids: vec![group.id.clone()],
            situation: "Потеря кормильца, нужна помощь с документами".into(),
            inactive: true,
            inactive_until: "2030-01-31".into(),
            ..Default::default()
        })
        .await
        .expect("curator creates a citizen")
        .into_inner();
    assert_eq!(created.surname, "Семёнова");
    assert_eq!(created.full_name, "Семёнова Алёна Игоревна");
    assert_eq!(created.birth_date, "1980-05-17");
    assert_eq!(created.inn, the_inn);
    assert_eq!(created.phone, "+79123456789", "E.164");
    assert_eq!(created.email, "alena@example.ru");
    assert_eq!(created.curator_id, curator.id, "a curator's new citizen is theirs");
    assert_eq!(created.district_id, district);
    assert_eq!(created.special_group_ids, vec![group.id.clone()]);
    assert!(created.inactive && created.inactive_until == "2030-01-31");
    assert!(!created.personal_data_hidden && created.can_edit && !created.bot_activated);
    assert_eq!(from_ts(&created.created_at).unwrap(), app.now());

    // The citizen account lives in identity.
    let account = curator
        .identity
        .clone()
        .get_account(idpb::GetAccountRequest { id: created.account_id.clone() })
        .await
        .expect("citizen account")
        .into_inner();
    assert_eq!(account.kind, idpb::AccountKind::Citizen as i32);
    assert_eq!((account.surname.as_str(), account.phone.as_str()), ("Семёнова", "+79123456789"));

    // S0-35: the card shows the activation code and its expiry.
    let link = c
        .get_citizen_bot_link(pb::GetCitizenBotLinkRequest { citizen_id: created.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert!(!link.code.is_empty() && !link.activated && !link.expired);
    let expires = from_ts(&link.expires_at).unwrap();
    let expected = chrono::Utc::now() + Duration::hours(72);
    assert!((expires - expected).num_seconds().abs() < 60, "72 h by default: {expires}");

    let ev = events.next().await;
    let Some(Body::CitizenCreated(body)) = ev.body else { panic!("citizen_created expected: {ev:?}") };
    assert_eq!((body.citizen_id, body.curator_id), (created.id.clone(), curator.id.clone()));
    assert_eq!(body.account_id, created.account_id);
    assert_eq!(ev.actor, curator.id);
}

/// S0-27: an admin may create citizens too, for any live curator; a
/// curator only for themselves; unknown references are field violations.
#[tokio::test]
async fn admins_create_for_any_curator_curators_only_for_themselves() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let a = app.curator(&t, "kuratova", "Куратова").await;
    let b = app.curator(&t, "drugova", "Другова").await;
    let executor = app.staff_member(&t, "ispolnitel", "Исполнитель", &[idpb::Role::Executor]).await;
    let mut admin = t.admin.cases.clone();

    let by_admin = admin
        .create_citizen(pb::CreateCitizenRequest {
            curator_id: a.id.clone(), ..citizen("Иванова", "Мария")
        })
        .await
        .expect("admin creates for a curator")
        .into_inner();
    assert_eq!(by_admin.curator_id, a.id);
    let unassigned = admin.create_citizen(citizen("Петрова", "Ольга")).await.unwrap().into_inner();
    assert_eq!(unassigned.curator_id, "", "an admin may leave the card unassigned");

    let for_other = pb::CreateCitizenRequest { curator_id: b.id.clone(), ..citizen("Сидорова", "Анна") };
    expect_code(a.cases.clone().create_citizen(for_other).await, Code::PermissionDenied);
    let for_self = pb::CreateCitizenRequest { curator_id: a.id.clone(), ..citizen("Сидорова", "Анна") };
    a.cases.clone().create_citizen(for_self).await.expect("naming oneself is fine");

    let before = app.snapshot().await;
    for not_a_curator in [executor.id.clone(), t.admin.id.clone(), uuid::Uuid::now_v7().to_string()] {
        let req = pb::CreateCitizenRequest { curator_id: not_a_curator, ..citizen("Орлова", "Нина") };
        expect_invalid(admin.create_citizen(req).await, "curator_id");
    }
    let req = pb::CreateCitizenRequest {
        district_id: uuid::Uuid::now_v7().to_string(), ..citizen("Орлова", "Нина")
    };
    expect_invalid(admin.create_citizen(req).await, "district_id");
    let req = pb::CreateCitizenRequest {
        special_group_ids: vec![uuid::Uuid::now_v7().to_string()],
        ..citizen("Орлова", "Нина")
    };
    expect_invalid(admin.create_citizen(req).await, "special_group_ids[0]");
    // Other staff roles do not create citizens.
    expect_code(executor.cases.clone().create_citizen(citizen("Орлова", "Нина")).await, Code::PermissionDenied);
    assert_eq!(app.snapshot().await, before, "refused creations store nothing, in cases or identity");
}

/// S0-32: surname, name and phone are required; INN (checksum, 12 digits),
/// phone, e-mail and dates are validated; all violations come at once and
/// nothing is stored — neither the card nor an identity account.
#[tokio::test]
async fn invalid_cards_are_refused_with_field_violations_and_nothing_is_stored() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let curator = app.curator(&t, "kuratova", "Куратова").await;
    let mut c = curator.cases.clone();
    let before = app.snapshot().await;

    let empty = pb::CreateCitizenRequest { surname: " ".into(), ..Default::default() };
    let fields = invalid_fields(c.create_citizen(empty).await, "surname");
    for f in ["name", "phone"] {
        assert!(fields.contains(&f.to_string()), "all violations at once: {fields:?}");
    }
    let bad_inn_checksum = "500100732258".to_string();
    let cases: Vec<(&str, pb::CreateCitizenRequest)> = vec![
        ("inn", pb::CreateCitizenRequest { inn: bad_inn_checksum, ..citizen("Иванова", "Мария") }),
        ("inn", pb::CreateCitizenRequest { inn: "7707083893".into(), ..citizen("Иванова", "Мария") }),
        ("inn", pb::CreateCitizenRequest { inn: "12345".into(), ..citizen("Иванова", "Мария") }),
        ("phone", pb::CreateCitizenRequest { phone: "12-34".into(), ..citizen("Иванова", "Мария") }),
        ("phone", pb::CreateCitizenRequest { phone: "8912abc6789".into(), ..citizen("Иванова", "Мария") }),
        ("email", pb::CreateCitizenRequest { email: "ivanova@".into(), ..citizen("Иванова", "Мария") }),
        ("birth_date", pb::CreateCitizenRequest { birth_date: "2999-01-01".into(), ..citizen("Иванова", "Мария") }),
        ("birth_date", pb::CreateCitizenRequest { birth_date: "31.02.1990".into(), ..citizen("Иванова", "Мария") }),
        (
            "inactive_until",
            pb::CreateCitizenRequest { inactive_until: "2030-01-01".into(), ..citizen("Иванова", "Мария") },
        ),
        ("surname", pb::CreateCitizenRequest { surname: "Я".repeat(101), ..citizen("Иванова", "Мария") }),
        ("district_id", pb::CreateCitizenRequest { district_id: "north".into(), ..citizen("Иванова", "Мария") }),
    ];
    for (field, req) in cases {
        expect_invalid(c.create_citizen(req).await, field);
    }
    assert_eq!(app.snapshot().await, before, "nothing stored in cases or identity");
}

/// S0-37, S0-109: the card is edited as a whole; the audit names the fields
/// that changed (not their values); an edit that changes nothing writes nothing.
#[tokio::test]
async fn the_card_is_edited_and_the_changed_fields_are_audited() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let curator = app.curator(&t, "kuratova", "Куратова").await;
    let group = t
        .admin
        .cases
        .clone()
        .create_special_group(pb::CreateSpecialGroupRequest { name: "Инвалиды".into() })
        .await
        .unwrap()
        .into_inner();
    let mut c = curator.cases.clone();
    let created = c.create_citizen(citizen("Иванова", "Мария")).await.unwrap().into_inner();
    let mut events = app.sandbox.events("cases", &t.slug, "citizen_updated").await;

    app.clock.advance(Duration::minutes(5));
    let mut up = update_from(&created);
    up.phone = "+7 900 111-22-33".into();
    up.situation = "Нужна коляска".into();
    up.special_group_ids = vec![group.id.clone()];
    let updated = c.update_citizen(up.clone()).await.expect("update").into_inner();
    assert_eq!(updated.phone, "+79001112233");
    assert_eq!(updated.special_group_ids, vec![group.id.clone()]);
    assert_eq!(from_ts(&updated.updated_at).unwrap(), app.now());
    assert_eq!(from_ts(&updated.created_at).unwrap(), from_ts(&created.created_at).unwrap());
    let ev = events.next().await;
    let Some(Body::CitizenUpdated(body)) = ev.body else { panic!("citizen_updated expected") };
    assert_eq!(body.changed_fields, ["phone", "special_group_ids", "situation"]);

    let audit = t
        .admin
        .cases
        .clone()
        .list_audit_events(pb::ListAuditEventsRequest { citizen_id: created.id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let actions: Vec<&str> = audit.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["citizen.update", "citizen.create"]);
    assert_eq!(audit.events[0].fields, ["phone", "special_group_ids", "situation"]);
    assert_eq!(audit.events[0].actor_id, curator.id);
    assert!(!audit.events[0].details_json.contains("79001112233"), "no values in the audit");

    // Saving the same card again changes nothing and writes nothing.
    let before = app.snapshot().await;
    c.update_citizen(up).await.unwrap();
    assert_eq!(app.snapshot().await, before);

    // The same validation as creation; a curator cannot hand the card over.
    let mut bad = update_from(&updated);
    bad.name = String::new();
    expect_invalid(c.update_citizen(bad).await, "name");
    let other = app.curator(&t, "drugova", "Другова").await;
    let mut hand_over = update_from(&updated);
    hand_over.curator_id = other.id.clone();
    expect_code(c.update_citizen(hand_over.clone()).await, Code::PermissionDenied);
    let moved = t.admin.cases.clone().update_citizen(hand_over).await.expect("an admin reassigns").into_inner();
    assert_eq!(moved.curator_id, other.id);
    assert_eq!(app.snapshot().await.get("cases.citizens").unwrap().0, 1);
}

/// An INN belongs to one live card of the tenant; a clash is ALREADY_EXISTS
/// on `inn` and leaves no identity account behind.
#[tokio::test]
async fn an_inn_belongs_to_one_card() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let mut admin = t.admin.cases.clone();
    let the_inn = inn("7733708571");
    admin
        .create_citizen(pb::CreateCitizenRequest { inn: the_inn.clone(), ..citizen("Иванова", "Мария") })
        .await
        .unwrap();
    let before = app.snapshot().await;
    let st = expect_code(
        admin
            .create_citizen(pb::CreateCitizenRequest {
                inn: the_inn.clone(), ..citizen("Петрова", "Ольга")
            })
            .await,
        Code::AlreadyExists,
    );
    let v = opeka_platform::error::violations(&st);
    assert_eq!(v[0].field, "inn");
    assert_eq!(app.snapshot().await, before);
    let other = admin.create_citizen(citizen("Петрова", "Ольга")).await.unwrap().into_inner();
    let mut up = update_from(&other);
    up.inn = the_inn;
    expect_code(admin.update_citizen(up).await, Code::AlreadyExists);
}

/// S0-114: only an admin deletes a card; it disappears from the registry
/// and the citizen's account is deleted in identity.
#[tokio::test]
async fn only_an_admin_deletes_a_citizen_and_the_account_goes_too() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let curator = app.curator(&t, "kuratova", "Куратова").await;
    let mut c = curator.cases.clone();
    let created = c.create_citizen(citizen("Иванова", "Мария")).await.unwrap().into_inner();
    let id = created.id.clone();
    expect_code(c.delete_citizen(pb::DeleteCitizenRequest { id: id.clone() }).await, Code::PermissionDenied);

    let mut admin = t.admin.cases.clone();
    admin.delete_citizen(pb::DeleteCitizenRequest { id: id.clone() }).await.expect("admin deletes");
    expect_code(c.get_citizen(pb::GetCitizenRequest { id: id.clone() }).await, Code::NotFound);
    expect_code(admin.get_citizen(pb::GetCitizenRequest { id: id.clone() }).await, Code::NotFound);
    expect_code(admin.delete_citizen(pb::DeleteCitizenRequest { id: id.clone() }).await, Code::NotFound);
    let list = admin.list_citizens(pb::ListCitizensRequest::default()).await.unwrap().into_inner();
    assert_eq!(list.total_size, 0);
    let account = t
        .admin
        .identity
        .clone()
        .get_account(idpb::GetAccountRequest { id: created.account_id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(account.status, idpb::AccountStatus::Deleted as i32);
    // Kept (soft) for the audit trail.
    assert_eq!(app.count("select count(*) from cases.citizens where deleted_at is not null").await, 1);
}

/// S0-36, S0-38, S0-49: the code is extended as often as needed; after the
/// bot redeems it, the card shows «Бот активирован» and no code.
#[tokio::test]
async fn the_activation_code_extends_and_the_card_shows_bot_activated() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let curator = app.curator(&t, "kuratova", "Куратова").await;
    let other = app.curator(&t, "drugova", "Другова").await;
    let mut c = curator.cases.clone();
    let created = c.create_citizen(citizen("Иванова", "Мария")).await.unwrap().into_inner();
    let req = || pb::GetCitizenBotLinkRequest { citizen_id: created.id.clone() };
    let first = c.get_citizen_bot_link(req()).await.unwrap().into_inner();
    for _ in 0..3 {
        let ext = pb::ExtendCitizenBotLinkRequest { citizen_id: created.id.clone() };
        let extended = c.extend_citizen_bot_link(ext).await.expect("extend, unlimited").into_inner();
        assert_eq!(extended.code, first.code);
        assert!(from_ts(&extended.expires_at).unwrap() >= from_ts(&first.expires_at).unwrap());
    }
    // Another curator sees neither the card nor its code.
    expect_code(other.cases.clone().get_citizen_bot_link(req()).await, Code::NotFound);

    // The bot (a service account of identity) redeems the code.
    let bot = app.service_account(&t, "Бот", &[idpb::Role::Bot]).await;
    bot.identity
        .clone()
        .redeem_bot_link_code(idpb::RedeemBotLinkCodeRequest { code: first.code.clone(), telegram_chat_id: 4242 })
        .await
        .expect("redeem");

    let card = wait_until("the bot_linked event to reach cases", || {
        let mut c = c.clone();
        let id = created.id.clone();
        async move {
            let card = c.get_citizen(pb::GetCitizenRequest { id }).await.unwrap().into_inner();
            card.bot_activated.then_some(card)
        }
    })
    .await;
    assert!(card.bot_activated_at.is_some());
    let link = c.get_citizen_bot_link(req()).await.unwrap().into_inner();
    assert!(link.activated && link.code.is_empty() && link.activated_at.is_some());
    let ext = pb::ExtendCitizenBotLinkRequest { citizen_id: created.id.clone() };
    expect_code(c.extend_citizen_bot_link(ext).await, Code::FailedPrecondition);
}

/// Identity keeps its own copy of the citizen's name and contacts: an edit
/// of the card brings it in step; the account was created under the card's
/// id as its request id, so a retried creation reuses it.
#[tokio::test]
async fn editing_the_card_updates_the_identity_account() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let curator = app.curator(&t, "kuratova", "Куратова").await;
    let mut c = curator.cases.clone();
    let created = c.create_citizen(citizen("Иванова", "Мария")).await.unwrap().into_inner();
    let request_id: Option<uuid::Uuid> =
        sqlx::query_scalar("select creation_request_id from identity.accounts where id = $1::uuid")
            .bind(&created.account_id)
            .fetch_one(&app.owner_pool)
            .await
            .expect("creation request id");
    assert_eq!(request_id.map(|r| r.to_string()), Some(created.id.clone()), "the card's id is the request id");

    let account = |id: String| {
        let mut identity = curator.identity.clone();
        async move { identity.get_account(idpb::GetAccountRequest { id }).await.unwrap().into_inner() }
    };
    let mut up = update_from(&created);
    up.surname = "Петрова".into();
    up.name = "Ольга".into();
    up.phone = "+7 900 111-22-33".into();
    up.email = "olga@example.ru".into();
    let updated = c.update_citizen(up).await.expect("update").into_inner();
    assert_eq!((updated.surname.as_str(), updated.phone.as_str()), ("Петрова", "+79001112233"));
    let a = account(created.account_id.clone()).await;
    assert_eq!((a.surname.as_str(), a.name.as_str(), a.patronymic.as_str()), ("Петрова", "Ольга", "Петровна"));
    assert_eq!((a.phone.as_str(), a.email.as_str()), ("+79001112233", "olga@example.ru"));

    // A change identity does not keep leaves the account alone.
    let before = account(created.account_id.clone()).await;
    let mut up = update_from(&updated);
    up.situation = "Нужна коляска".into();
    c.update_citizen(up).await.expect("update the situation");
    assert_eq!(account(created.account_id.clone()).await, before);

    // If identity refuses (here: the account is gone), the card does not change.
    t.admin
        .identity
        .clone()
        .delete_account(idpb::DeleteAccountRequest { id: created.account_id.clone() })
        .await
        .expect("delete the account in identity");
    let card_before = c.get_citizen(pb::GetCitizenRequest { id: created.id.clone() }).await.unwrap().into_inner();
    let snapshot = app.snapshot().await;
    let mut up = update_from(&card_before);
    up.phone = "+7 900 999-88-77".into();
    expect_code(c.update_citizen(up).await, Code::FailedPrecondition);
    assert_eq!(app.snapshot().await, snapshot, "the card update rolled back");
}
