//! The citizen's bot dialogue against the fake Bot API (seed §3.6.2): the
//! activation code (S0-35, S0-49), the menu, «Запросить связь» (S0-42,
//! S0-88), files with a type (S0-40, S0-106).
use std::time::Duration;

use opeka_proto::events::envelope::Body;
use opeka_proto::files as fpb;
use opeka_proto::identity as ipb;

use crate::helpers::{TestApp, wait_until};

const MENU: [&str; 9] = [
    "3 дня",
    "7 дней",
    "14 дней",
    "30 дней",
    "Меры поддержки",
    "Информация для Вас",
    "Дата встречи с соц. куратором",
    "Загрузка файлов",
    "Запросить связь",
];

#[tokio::test]
async fn activation_dialogue_wrong_code_then_right_code_links_the_chat() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let token = app.configure_bot(&t).await;
    let (citizen, code) = app.citizen(&t, "Петров").await;
    let chat = 5_550_001;

    app.telegram.send_text(&token, chat, "/start");
    app.telegram.wait_for_text(chat, "Введите код активации").await;
    // A wrong code: a clear message, and the citizen may try again.
    app.telegram.send_text(&token, chat, "ZZZZ9999");
    app.telegram.wait_for_text(chat, "Код активации не найден").await;
    // Menu buttons do nothing before activation.
    app.telegram.send_text(&token, chat, "Запросить связь");
    app.telegram.wait_for_text(chat, "Сначала активируйте бот").await;

    app.telegram.send_text(&token, chat, &code.to_lowercase());
    let ok = app.telegram.wait_for_text(chat, "Успешная активация").await;
    assert_eq!(ok.buttons(), MENU.map(String::from).to_vec(), "the seed's menu keyboard");

    // S0-49: identity shows the bot as activated.
    let account = app
        .identity(&t.admin_token, &t.slug)
        .get_account(ipb::GetAccountRequest { id: citizen.clone() })
        .await
        .unwrap()
        .into_inner();
    assert!(account.bot_linked);
    let linked: String =
        sqlx::query_scalar("select citizen_account_id::text from notifications.chat_links where chat_id = $1")
            .bind(chat)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    assert_eq!(linked, citizen);

    // /start again: already active, the menu comes back; the code cannot be used again.
    app.telegram.send_text(&token, chat, "/start");
    app.telegram.wait_for_text(chat, "Бот уже активирован").await;
    app.telegram.send_text(&token, 5_550_002, &code);
    app.telegram.wait_for_text(5_550_002, "уже использован").await;

    // S0-51, S0-52: reminder buttons ask scheduler; nothing is planned yet.
    app.telegram.send_text(&token, chat, "3 дня");
    app.telegram.wait_for_text(chat, "На ближайшие 3 дня: запланированных напоминаний нет").await;
    app.telegram.send_text(&token, chat, "Меры поддержки");
    app.telegram.wait_for_text(chat, "Меры поддержки: запланированных напоминаний нет").await;
    app.telegram.send_text(&token, chat, "Загрузка файлов");
    app.telegram.wait_for_text(chat, "скрепку").await;
}

#[tokio::test]
async fn deep_link_start_with_the_code_activates_at_once() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let token = app.configure_bot(&t).await;
    let (_, code) = app.citizen(&t, "Петров").await;
    app.telegram.send_text(&token, 777, &format!("/start {code}"));
    app.telegram.wait_for_text(777, "Успешная активация").await;
}

#[tokio::test]
async fn an_expired_code_and_another_tenants_code_are_refused() {
    let app = TestApp::start().await;
    let a = app.tenant("agency-a").await;
    let b = app.tenant("agency-b").await;
    let token_a = app.configure_bot(&a).await;
    let (_, code_b) = app.citizen(&b, "Чужой").await;
    let (citizen_a, code_a) = app.citizen(&a, "Свой").await;
    let chat = 9_000_001;

    // B's code at A's bot: not found in A.
    app.telegram.send_text(&token_a, chat, &code_b);
    app.telegram.wait_for_text(chat, "Код активации не найден").await;

    // A's own code after it expired.
    app.clock.advance(chrono::Duration::hours(app.sandbox.settings.identity.bot_link_ttl_hours + 1));
    app.telegram.send_text(&token_a, chat, &code_a);
    app.telegram.wait_for_text(chat, "Срок действия кода истёк").await;
    let links: i64 =
        sqlx::query_scalar("select count(*) from notifications.chat_links").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(links, 0);

    // Extended by the curator, it works (retry allowed).
    app.identity(&a.admin_token, &a.slug)
        .extend_bot_link_code(ipb::ExtendBotLinkCodeRequest { citizen_account_id: citizen_a })
        .await
        .unwrap();
    app.telegram.send_text(&token_a, chat, &code_a);
    app.telegram.wait_for_text(chat, "Успешная активация").await;
}

#[tokio::test]
async fn request_contact_publishes_contact_requested_and_confirms() {
    // S0-42, S0-88: «Запросить связь» → cases makes an interaction and a work item.
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let token = app.configure_bot(&t).await;
    let (citizen, code) = app.citizen(&t, "Петров").await;
    let chat = 4242;
    app.activate(&token, chat, &code).await;
    let mut events = app.sandbox.events("notifications", &t.slug, "contact_requested").await;

    app.telegram.send_text(&token, chat, "Запросить связь");
    app.telegram.wait_for_text(chat, "Запрос на связь отправлен").await;
    let env = events.next().await;
    assert_eq!(env.tenant_id, t.id.to_string());
    assert_eq!(env.actor, citizen);
    match env.body {
        Some(Body::ContactRequested(c)) => {
            assert_eq!(c.citizen_account_id, citizen);
            assert_eq!(c.telegram_chat_id, chat);
        }
        other => panic!("expected contact_requested, got {other:?}"),
    }
}

#[tokio::test]
async fn a_document_is_stored_in_files_for_the_citizen_and_its_type_is_chosen_with_a_button() {
    // S0-40, S0-106.
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let token = app.configure_bot(&t).await;
    let mut files = app.files(&t.admin_token, &t.slug);
    for name in ["Справка", "Заявление"] {
        files.create_file_type(fpb::CreateFileTypeRequest { name: name.into() }).await.expect("file type");
    }
    let (citizen, code) = app.citizen(&t, "Петров").await;
    let chat = 31337;
    app.activate(&token, chat, &code).await;

    let content = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".repeat(400);
    app.telegram.send_document(&token, chat, "справка.pdf", "application/pdf", &content);
    app.telegram.wait_for_text(chat, "Файл «справка.pdf» получен").await;
    let offer = app.telegram.wait_for_text(chat, "Укажите, что это за файл").await;
    let buttons = offer.inline_buttons();
    let labels: Vec<&str> = buttons.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels, vec!["Заявление", "Справка"], "the tenant's file types, alphabetical");

    // The file is the citizen's, sent through the bot, byte for byte.
    let listed = files
        .list_files(fpb::ListFilesRequest { citizen_id: citizen.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .files;
    assert_eq!(listed.len(), 1);
    let f = &listed[0];
    assert_eq!((f.original_name.as_str(), f.size), ("справка.pdf", content.len() as i64));
    assert_eq!(f.channel, fpb::Channel::Bot as i32);
    assert_eq!(f.content_type, "application/pdf");

    // The citizen presses «Справка».
    let (_, data) = buttons.iter().find(|(l, _)| l == "Справка").expect("button");
    let message_id = offer.params.get("message_id").and_then(|v| v.as_i64()).unwrap_or(1);
    app.telegram.press_button(&token, chat, message_id, data);
    app.telegram
        .wait_for(Duration::from_secs(10), "answerCallbackQuery", |c| {
            c.method == "answerCallbackQuery" && c.params["text"].as_str() == Some("Тип файла сохранён.")
        })
        .await;
    app.telegram
        .wait_for(Duration::from_secs(10), "editMessageText", |c| {
            c.method == "editMessageText" && c.text().contains("Справка")
        })
        .await;
    let f = files.get_file(fpb::GetFileRequest { id: f.id.clone() }).await.unwrap().into_inner();
    assert_eq!(f.file_type_name, "Справка");

    // A photo is taken in its largest size.
    let png = {
        let mut v = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
        v.extend(std::iter::repeat_n(7u8, 4000));
        v
    };
    app.telegram.send_photo(&token, chat, &png);
    app.telegram.wait_for_text(chat, "Файл «фото-").await;
}

#[tokio::test]
async fn a_button_for_another_chats_file_is_refused() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let token = app.configure_bot(&t).await;
    let mut files = app.files(&t.admin_token, &t.slug);
    let ty = files.create_file_type(fpb::CreateFileTypeRequest { name: "Справка".into() }).await.unwrap().into_inner();
    let (_, code1) = app.citizen(&t, "Первый").await;
    let (_, code2) = app.citizen(&t, "Второй").await;
    app.activate(&token, 1, &code1).await;
    app.activate(&token, 2, &code2).await;
    app.telegram.send_document(&token, 1, "a.pdf", "application/pdf", b"%PDF-1.4\n%%EOF\n");
    let offer = app.telegram.wait_for_text(1, "Укажите, что это за файл").await;
    let (_, data) = offer.inline_buttons().into_iter().next().expect("a button");
    // Chat 2 forges a press on chat 1's file.
    app.telegram.press_button(&token, 2, 1, &data);
    app.telegram
        .wait_for(Duration::from_secs(10), "refusal", |c| {
            c.method == "answerCallbackQuery" && c.params["text"].as_str().is_some_and(|t| t.contains("Не удалось"))
        })
        .await;
    let typed: Option<String> = sqlx::query_scalar("select file_type_id::text from notifications.bot_uploads")
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(typed, None, "type {} was not set", ty.id);
}

#[tokio::test]
async fn after_a_restart_the_bot_polls_again_and_remembers_its_citizens() {
    let mut app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let token = app.configure_bot(&t).await;
    let (_, code) = app.citizen(&t, "Петров").await;
    app.activate(&token, 2024, &code).await;
    app.restart_notifications().await;
    // Started at boot from the registry: the linked chat is answered as linked.
    app.telegram.send_text(&token, 2024, "Запросить связь");
    app.telegram.wait_for_text(2024, "Запрос на связь отправлен").await;
    let answered = app.telegram.sent_to(2024).iter().filter(|c| c.text().contains("Запрос на связь")).count();
    assert_eq!(answered, 1);
    let activated = app.telegram.sent_to(2024).iter().filter(|c| c.text().contains("Успешная активация")).count();
    assert_eq!(activated, 1, "updates handled before the restart were confirmed, not handled again");
}

#[tokio::test]
async fn a_file_the_files_service_refuses_is_explained_to_the_citizen_and_not_kept() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let token = app.configure_bot(&t).await;
    let (citizen, code) = app.citizen(&t, "Петров").await;
    app.activate(&token, 99, &code).await;
    let mut elf = b"\x7fELF\x02\x01\x01\x00".to_vec();
    elf.extend(std::iter::repeat_n(0u8, 2048));
    app.telegram.send_document(&token, 99, "program.pdf", "application/pdf", &elf);
    let refusal = app.telegram.wait_for_text(99, "Файл не принят").await;
    assert!(refusal.text().len() > "Файл не принят: ".len(), "{}", refusal.text());
    let listed = app
        .files(&t.admin_token, &t.slug)
        .list_files(fpb::ListFilesRequest { citizen_id: citizen, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.files.is_empty());
    let kept: i64 =
        sqlx::query_scalar("select count(*) from notifications.bot_uploads").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(kept, 0);
}

/// S0-2: the admin renames the curator in cases; the bot's menu and
/// sentences use the tenant's word, and the renamed button is recognised.
#[tokio::test]
async fn the_bot_names_the_curator_in_the_tenants_words() {
    use opeka_proto::cases as cpb;
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let token = app.configure_bot(&t).await;
    let renamed =
        cpb::UpdateTenantSettingsRequest { curator_term: "координатор".into(), ..Default::default() };
    app.cases(&t.admin_token, &t.slug).update_tenant_settings(renamed).await.expect("admin renames the curator");
    let (_, code) = app.citizen(&t, "Петров").await;
    let chat = 5_550_101;

    app.telegram.send_text(&token, chat, "ZZZZ9999");
    app.telegram.wait_for_text(chat, "попросите координатора выдать новый").await;
    app.telegram.send_text(&token, chat, "Запросить связь");
    app.telegram.wait_for_text(chat, "который выдал координатор.").await;

    app.telegram.send_text(&token, chat, &code);
    let ok = app.telegram.wait_for_text(chat, "Успешная активация").await;
    let expected: Vec<String> = MENU
        .map(|b| {
            if b.starts_with("Дата встречи") {
                "Дата встречи с координатором"
            } else {
                b
            }
            .to_string()
        })
        .to_vec();
    assert_eq!(ok.buttons(), expected, "the menu in the tenant's words");

    // The renamed button is recognised…
    app.telegram.send_text(&token, chat, "Дата встречи с координатором");
    app.telegram.wait_for_text(chat, "Дата встречи с координатором: запланированных напоминаний нет").await;
    // …and so is the old one, still on keyboards sent before the rename.
    app.telegram.send_text(&token, chat, "Дата встречи с соц. куратором");
    wait_until("the old button to be answered too", || async {
        let answers =
            app.telegram.sent_to(chat).into_iter().filter(|c| c.text().contains("Дата встречи с координатором:"));
        (answers.count() >= 2).then_some(())
    })
    .await;
    app.telegram.send_text(&token, chat, "Запросить связь");
    let sent = app.telegram.wait_for_text(chat, "Запрос на связь отправлен координатору.").await;
    assert_eq!(sent.buttons(), expected);
}

/// When cases cannot be reached the bot keeps working with the seed's words.
#[tokio::test]
async fn without_cases_the_bot_uses_the_seeds_words() {
    let app = TestApp::start_with(|s| s.cases_url = "http://127.0.0.1:9".into()).await;
    let t = app.tenant("agency").await;
    let token = app.configure_bot(&t).await;
    let (_, code) = app.citizen(&t, "Петров").await;
    let chat = 5_550_102;
    app.telegram.send_text(&token, chat, "/start");
    app.telegram.wait_for_text(chat, "Введите код активации").await;
    app.telegram.send_text(&token, chat, &code);
    let ok = app.telegram.wait_for_text(chat, "Успешная активация").await;
    assert_eq!(ok.buttons(), MENU.map(String::from).to_vec());
    app.telegram.send_text(&token, chat, "Дата встречи с соц. куратором");
    app.telegram.wait_for_text(chat, "Дата встречи с соц. куратором: запланированных напоминаний нет").await;
}

/// Issue 9: activation-code guesses are throttled per chat; another chat
/// is not held back by it.
#[tokio::test]
async fn issue9_bot_activation_code_guesses_are_throttled_per_chat() {
    let app = TestApp::start_full(|p| p.throttle.bot_activation_per_chat = "3/h".parse().unwrap(), |_| {}).await;
    let t = app.tenant("agency").await;
    let token = app.configure_bot(&t).await;
    let (_citizen, code) = app.citizen(&t, "Подборов").await;
    let chat = 5_550_301;
    for guess in ["AAAA0001", "AAAA0002", "AAAA0003"] {
        app.telegram.send_text(&token, chat, guess);
        app.telegram.wait_for_text(chat, "Код активации не найден").await;
    }
    // Even the right code waits now.
    app.telegram.send_text(&token, chat, &code);
    app.telegram.wait_for_text(chat, "Слишком много попыток").await;
    let linked: i64 =
        sqlx::query_scalar("select count(*) from notifications.chat_links").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(linked, 0);
    // Another chat is its own key.
    app.activate(&token, 5_550_302, &code).await;
}
