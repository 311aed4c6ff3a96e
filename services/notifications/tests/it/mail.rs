//! Mail through the tenant's SMTP, received by a real SMTP listener: account
//! activation and password reset (identity's events), copies of work-queue
//! notices to the curator and the admin copy address (S0-9…S0-12, S0-87,
//! S0-88, S0-90…S0-94), each sent once even when the event comes again.
use std::time::Duration;

use opeka_proto::events::{self as ev, envelope::Body};
use opeka_proto::identity as ipb;
use opeka_proto::notifications as pb;

use crate::helpers::{PASSWORD, SMTP_PASSWORD, Staff, Tenant, TestApp, wait_until};

/// The value of `name=` in the first link of `body` that has it.
fn query_param(body: &str, name: &str) -> String {
    let at = body.find(&format!("{name}=")).unwrap_or_else(|| panic!("no {name}= in {body}"));
    let rest = &body[at + name.len() + 1..];
    let raw: String = rest.chars().take_while(|c| !c.is_whitespace() && *c != '&').collect();
    url::form_urlencoded::parse(format!("v={raw}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

#[tokio::test]
async fn the_activation_mail_carries_a_link_that_activates_the_account() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    app.configure_smtp(&t).await;
    app.identity(&t.admin_token, &t.slug)
        .create_staff_account(ipb::CreateStaffAccountRequest {
            surname: "Новикова".into(),
            name: "Ольга".into(),
            login: "novikova".into(),
            email: "novikova@agency.test".into(),
            roles: vec![ipb::Role::Curator as i32],
            ..Default::default()
        })
        .await
        .expect("staff pending activation");
    let mail = app.smtp.wait_for("novikova@agency.test").await;
    assert_eq!(mail.from, "robot@agency.test");
    assert_eq!(
        mail.auth,
        Some(("robot@agency.test".to_string(), SMTP_PASSWORD.to_string())),
        "decrypted password used"
    );
    assert_eq!(mail.subject(), "Активация учётной записи");
    let body = mail.body();
    assert!(body.contains("Здравствуйте, Новикова Ольга!"), "{body}");
    assert!(body.contains("http://opeka.test/t/agency/activate?token="), "{body}");
    let token = query_param(&body, "token");
    let activated = app
        .identity_public()
        .activate_account(ipb::ActivateAccountRequest {
            tenant: t.slug.clone(),
            token,
            password: PASSWORD.into(),
            password_repeat: PASSWORD.into(),
        })
        .await
        .expect("the link's token activates the account");
    assert!(activated.into_inner().tokens.is_some());
    let sent =
        |log: &[pb::Delivery]| !log.is_empty() && log.iter().all(|d| d.status == pb::DeliveryStatus::Sent as i32);
    let log = app.deliveries_once(&t, sent).await;
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].channel, log[0].status, log[0].kind.as_str(), log[0].recipient.as_str(), log[0].attempts),
        (pb::DeliveryChannel::Mail as i32, pb::DeliveryStatus::Sent as i32, "activation", "novikova@agency.test", 1)
    );
}

#[tokio::test]
async fn the_reset_mail_carries_the_code_and_a_link_with_login_and_code() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    app.configure_smtp(&t).await;
    let curator = app.curator(&t, "kuratorova").await;
    app.identity_public()
        .request_password_reset(ipb::RequestPasswordResetRequest { tenant: t.slug.clone(), login: "kuratorova".into() })
        .await
        .unwrap();
    let mail = app.smtp.wait_for(&curator.email).await;
    assert_eq!(mail.subject(), "Код для смены пароля");
    let body = mail.body();
    let code = query_param(&body, "code");
    assert_eq!(code.len(), 6, "{body}");
    assert!(body.contains(&format!("Код: {code}")), "{body}");
    assert!(body.contains(&format!("http://opeka.test/t/agency/reset?login=kuratorova&code={code}")), "{body}");
    app.identity_public()
        .reset_password(ipb::ResetPasswordRequest {
            tenant: t.slug.clone(),
            login: query_param(&body, "login"),
            code,
            password: "Новый-пароль-2".into(),
            password_repeat: "Новый-пароль-2".into(),
        })
        .await
        .expect("the mailed code resets the password");
}

fn activity(t: &Tenant, curator: &Staff, kind: &str) -> ev::Envelope {
    opeka_platform::bus::envelope(
        t.id,
        "system",
        chrono::Utc::now(),
        Body::ActivityCreated(ev::ActivityCreated {
            activity_id: uuid::Uuid::now_v7().to_string(),
            citizen_id: uuid::Uuid::now_v7().to_string(),
            curator_id: curator.id.clone(),
            kind: kind.into(),
            summary: "Файл «справка.pdf»".into(),
            citizen_full_name: "Петров Иван".into(),
            ..Default::default()
        }),
    )
}

#[tokio::test]
async fn a_work_queue_notice_is_mailed_to_the_curator_and_the_admin_copy_once_even_when_redelivered() {
    // S0-9…S0-11, S0-87, S0-88.
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    app.configure_smtp(&t).await;
    app.admin(&t)
        .set_admin_copy_email(pb::SetAdminCopyEmailRequest { email: "boss@agency.test".into() })
        .await
        .unwrap();
    let curator = app.curator(&t, "kuratorova").await;
    // The admin's mailbox is busy once: the event is retried, the curator's
    // mail (already sent) is not sent again.
    app.smtp.refuse_temporarily("boss@agency.test", 1);
    let event = activity(&t, &curator, "file_received");
    app.sandbox.publish("cases", &t.slug, &event, &event.event_id).await;

    let to_curator = app.smtp.wait_for(&curator.email).await;
    assert_eq!(to_curator.subject(), "Петров Иван прислал(а) файл");
    assert!(to_curator.body().contains("Файл «справка.pdf»"));
    assert!(to_curator.header("To").unwrap_or_default().contains(&curator.email));
    let to_admin = app.smtp.wait_for("boss@agency.test").await;
    assert_eq!(to_admin.subject(), to_curator.subject());

    // The same event again (a redelivery the broker cannot de-duplicate).
    app.sandbox.publish("cases", &t.slug, &event, &format!("{}-again", event.event_id)).await;
    let contact = activity(&t, &curator, "contact_requested");
    app.sandbox.publish("cases", &t.slug, &contact, &contact.event_id).await;
    wait_until("the contact-request copies", || async {
        (app.smtp.to(&curator.email).len() >= 2 && app.smtp.to("boss@agency.test").len() >= 2).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let subjects: Vec<String> = app.smtp.to(&curator.email).iter().map(|m| m.subject()).collect();
    assert_eq!(subjects, vec!["Петров Иван прислал(а) файл", "Петров Иван просит связаться"]);
    assert_eq!(app.smtp.to("boss@agency.test").len(), 2);

    let log = app.deliveries(&t).await;
    let file_copies: Vec<_> = log.iter().filter(|d| d.source_event_id == event.event_id).collect();
    assert_eq!(file_copies.len(), 2, "{log:#?}");
    let admin = file_copies.iter().find(|d| d.recipient == "boss@agency.test").expect("admin copy logged");
    assert_eq!((admin.status, admin.attempts), (pb::DeliveryStatus::Sent as i32, 2));
    assert!(admin.last_error.contains("451"), "{}", admin.last_error);
    let cur = file_copies.iter().find(|d| d.recipient == curator.email).expect("curator copy logged");
    assert_eq!((cur.status, cur.attempts), (pb::DeliveryStatus::Sent as i32, 1));
}

#[tokio::test]
async fn without_smtp_settings_the_failure_is_logged_and_not_retried() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    app.identity(&t.admin_token, &t.slug)
        .create_staff_account(ipb::CreateStaffAccountRequest {
            surname: "Новикова".into(),
            login: "novikova".into(),
            email: "novikova@agency.test".into(),
            roles: vec![ipb::Role::Curator as i32],
            ..Default::default()
        })
        .await
        .unwrap();
    let log = wait_until("a failed delivery", || async {
        let log = app.deliveries(&t).await;
        (!log.is_empty()).then_some(log)
    })
    .await;
    assert_eq!(log[0].status, pb::DeliveryStatus::Failed as i32);
    assert_eq!(log[0].last_error, "Почтовый отправитель не настроен.");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(app.deliveries(&t).await[0].attempts, 1, "not retried");
    assert!(app.smtp.messages().is_empty());
}

#[tokio::test]
async fn a_curators_own_reminder_is_mailed_to_the_curator_with_a_copy_to_the_admin() {
    // S0-12, S0-94: scheduler's curator note becomes a work-queue activity in
    // cases («напоминания для соц. куратора»); its copy goes by mail. The
    // detectors' activities (S0-90…S0-92) are mailed the same way.
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    app.configure_smtp(&t).await;
    app.admin(&t)
        .set_admin_copy_email(pb::SetAdminCopyEmailRequest { email: "boss@agency.test".into() })
        .await
        .unwrap();
    let curator = app.curator(&t, "kuratorova").await;
    let mut note = activity(&t, &curator, "curator_reminder");
    if let Some(Body::ActivityCreated(a)) = note.body.as_mut() {
        // As cases words it (`strings::curator_reminder_summary`).
        a.summary = "Напоминание на 25.11.2026 09:00: Позвонить в МФЦ по поводу субсидии".into();
    }
    app.sandbox.publish("cases", &t.slug, &note, &note.event_id).await;

    let to_curator = app.smtp.wait_for(&curator.email).await;
    assert_eq!(to_curator.subject(), "Напоминание для соц. куратора: Петров Иван");
    let body = to_curator.body();
    assert!(body.contains("Пользователь: Петров Иван"), "{body}");
    assert!(body.contains("Напоминание на 25.11.2026 09:00: Позвонить в МФЦ по поводу субсидии"), "{body}");
    assert!(body.contains("http://opeka.test/t/agency/activities"), "{body}");
    let to_admin = app.smtp.wait_for("boss@agency.test").await;
    assert_eq!(to_admin.subject(), to_curator.subject());
    assert_eq!(to_admin.body(), body);

    // A detector's activity, under the kind name cases' work queue uses.
    let skipped = activity(&t, &curator, "skipped_5_days");
    app.sandbox.publish("cases", &t.slug, &skipped, &skipped.event_id).await;
    wait_until("the skipped-days copies", || async {
        (app.smtp.to(&curator.email).len() == 2 && app.smtp.to("boss@agency.test").len() == 2).then_some(())
    })
    .await;
    assert_eq!(app.smtp.to(&curator.email)[1].subject(), "Пропуск напоминаний: Петров Иван");
    let log =
        app.deliveries_once(&t, |log| log.iter().filter(|d| d.source_event_id == note.event_id).count() >= 2).await;
    let copies = log.iter().filter(|d| d.source_event_id == note.event_id && d.kind == "activity_copy");
    assert_eq!(copies.filter(|d| d.status == pb::DeliveryStatus::Sent as i32).count(), 2, "{log:#?}");
}
