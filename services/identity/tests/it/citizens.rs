//! Citizen accounts as the cases service keeps them: UpdateCitizenAccount
//! brings identity's copy of the name and contacts in step with the card, and
//! CreateCitizenAccount with a request id is idempotent (a retry of the same
//! card does not leave a second account behind).
use opeka_proto::events::envelope::Body;
use opeka_proto::identity as pb;
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{TestApp, expect_code, expect_invalid};

fn new_citizen(surname: &str, request_id: &str) -> pb::CreateCitizenAccountRequest {
    pb::CreateCitizenAccountRequest {
        surname: surname.into(),
        name: "Ольга".into(),
        patronymic: "Петровна".into(),
        phone: "8 900 123-45-67".into(),
        email: String::new(),
        request_id: request_id.into(),
    }
}

fn update_of(a: &pb::Account) -> pb::UpdateCitizenAccountRequest {
    pb::UpdateCitizenAccountRequest {
        id: a.id.clone(),
        surname: a.surname.clone(),
        name: a.name.clone(),
        patronymic: a.patronymic.clone(),
        phone: a.phone.clone(),
        email: a.email.clone(),
    }
}

#[tokio::test]
async fn a_curator_updates_the_citizens_name_and_contacts() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let curator = app.staff_session(&t, &admin, "kuratorova", pb::Role::Curator).await;
    let mut c = curator.client.clone();
    let a = c.create_citizen_account(new_citizen("Гражданкина", "")).await.unwrap().into_inner();
    let mut updated_events = app.events(&t.slug, "account_updated").await;

    let req = pb::UpdateCitizenAccountRequest {
        surname: " Новикова ".into(),
        name: "Анна".into(),
        patronymic: String::new(),
        phone: "+7 (912) 000-11-22".into(),
        email: "Anna@Example.RU".into(),
        ..update_of(&a)
    };
    let b = c.update_citizen_account(req.clone()).await.expect("update citizen account").into_inner();
    assert_eq!(b.id, a.id);
    assert_eq!(b.kind, pb::AccountKind::Citizen as i32);
    assert_eq!((b.surname.as_str(), b.name.as_str(), b.patronymic.as_str()), ("Новикова", "Анна", ""));
    assert_eq!(b.phone, "+79120001122", "parsed like CreateCitizenAccount");
    assert_eq!(b.email, "anna@example.ru");
    assert_eq!(b.roles, a.roles);
    assert_eq!(b.status, a.status);
    let got = c.get_account(pb::GetAccountRequest { id: a.id.clone() }).await.unwrap().into_inner();
    assert_eq!(got, b);

    let (_, env) = updated_events.next().await;
    assert_eq!(env.actor, curator.account_id());
    match env.body {
        Some(Body::AccountUpdated(e)) => {
            assert_eq!(e.account_id, a.id);
            let mut changed = e.changed_fields;
            changed.sort();
            assert_eq!(changed, ["email", "name", "patronymic", "phone", "surname"]);
        }
        other => panic!("unexpected event {other:?}"),
    }
    let trail = admin
        .client
        .clone()
        .list_audit_events(pb::ListAuditEventsRequest { entity_id: a.id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let actions: Vec<&str> = trail.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["account.update", "account.create"]);
    assert_eq!(trail.events[0].actor_id, curator.account_id());
    assert!(!trail.events[0].details_json.contains("79120001122"), "field names, not values");

    // The same values again change nothing and write nothing.
    let before = app.snapshot().await;
    let same = c.update_citizen_account(req).await.unwrap().into_inner();
    assert_eq!(same, b);
    assert_eq!(app.snapshot().await, before);

    // An admin may update too; only the phone changed.
    let req = pb::UpdateCitizenAccountRequest { phone: "89120001133".into(), ..update_of(&b) };
    let c2 = admin.client.clone().update_citizen_account(req).await.unwrap().into_inner();
    assert_eq!(c2.phone, "+79120001133");
    let (_, env) = updated_events.next().await;
    let Some(Body::AccountUpdated(e)) = env.body else { panic!("account_updated expected") };
    assert_eq!(e.changed_fields, ["phone"]);
}

#[tokio::test]
async fn update_citizen_account_validates_like_create_and_writes_nothing() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let mut c = admin.client.clone();
    let a = c.create_citizen_account(new_citizen("Гражданкина", "")).await.unwrap().into_inner();
    let before = app.snapshot().await;

    type Edit = fn(&mut pb::UpdateCitizenAccountRequest);
    let cases: [(&str, Edit); 8] = [
        ("surname", |r| r.surname = "  ".into()),
        ("phone", |r| r.phone.clear()),
        ("phone", |r| r.phone = "телефон".into()),
        ("email", |r| r.email = "olga@".into()),
        ("name", |r| r.name = "Я".repeat(101)),
        ("patronymic", |r| r.patronymic = "Я".repeat(101)),
        ("surname", |r| r.surname = "Я".repeat(101)),
        ("id", |r| r.id = "не-uuid".into()),
    ];
    for (field, edit) in cases {
        let mut r = update_of(&a);
        edit(&mut r);
        expect_invalid(c.update_citizen_account(r).await, field);
    }
    // All violations at once.
    let empty = pb::UpdateCitizenAccountRequest { id: a.id.clone(), ..Default::default() };
    let st = expect_invalid(c.update_citizen_account(empty).await, "surname");
    let fields: Vec<String> = opeka_platform::error::violations(&st).into_iter().map(|v| v.field).collect();
    assert!(fields.contains(&"phone".to_string()), "{fields:?}");
    assert_eq!(app.snapshot().await, before, "refused updates write nothing");
}

#[tokio::test]
async fn only_citizen_account_managers_update_live_citizen_accounts() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let mut c = admin.client.clone();
    let a = c.create_citizen_account(new_citizen("Гражданкина", "")).await.unwrap().into_inner();
    let executor = app.staff_session(&t, &admin, "ispolnitel", pb::Role::Executor).await;
    let supervisor = app.staff_session(&t, &admin, "nadzor", pb::Role::Supervisor).await;
    let before = app.snapshot().await;

    // Roles without ManageCitizenAccounts.
    let req = pb::UpdateCitizenAccountRequest { surname: "Чужая".into(), ..update_of(&a) };
    for s in [&executor, &supervisor] {
        expect_code(s.client.clone().update_citizen_account(req.clone()).await, Code::PermissionDenied);
    }
    // Staff accounts (and unknown ids) are not citizens.
    let staff = pb::UpdateCitizenAccountRequest { id: executor.account_id().to_string(), ..req.clone() };
    expect_code(c.update_citizen_account(staff).await, Code::NotFound);
    let own = pb::UpdateCitizenAccountRequest { id: admin.account_id().to_string(), ..req.clone() };
    expect_code(c.update_citizen_account(own).await, Code::NotFound);
    let unknown = pb::UpdateCitizenAccountRequest { id: Uuid::now_v7().to_string(), ..req.clone() };
    expect_code(c.update_citizen_account(unknown).await, Code::NotFound);
    assert_eq!(app.snapshot().await, before);

    // A deleted citizen account is FAILED_PRECONDITION.
    c.delete_account(pb::DeleteAccountRequest { id: a.id.clone() }).await.unwrap();
    expect_code(c.update_citizen_account(req).await, Code::FailedPrecondition);

    // Another tenant's citizen is invisible.
    let other = app.tenant("other").await;
    let other_admin = app.admin(&other).await;
    let theirs =
        other_admin.client.clone().create_citizen_account(new_citizen("Чужакова", "")).await.unwrap().into_inner();
    let req = pb::UpdateCitizenAccountRequest { surname: "Взломова".into(), ..update_of(&theirs) };
    expect_code(c.update_citizen_account(req).await, Code::NotFound);
}

#[tokio::test]
async fn create_citizen_account_with_a_request_id_is_idempotent() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let curator = app.staff_session(&t, &admin, "kuratorova", pb::Role::Curator).await;
    let mut c = curator.client.clone();
    let rid = Uuid::now_v7().to_string();

    let first = c.create_citizen_account(new_citizen("Гражданкина", &rid)).await.expect("create").into_inner();
    let after_first = app.snapshot().await;
    // A retry (even by another caller, even with other fields) returns the same account.
    let again = c.create_citizen_account(new_citizen("Гражданкина", &rid)).await.expect("retry").into_inner();
    assert_eq!(again, first);
    let by_admin = admin.client.clone().create_citizen_account(new_citizen("Другая", &rid)).await.unwrap().into_inner();
    assert_eq!(by_admin, first);
    assert_eq!(app.snapshot().await, after_first, "a retry writes nothing: no account, code, event or audit");
    let n = app.count("select count(*) from identity.accounts where kind = 'citizen' and tenant_id = $1", t.id).await;
    assert_eq!(n, 1);

    // Another request id, or none, is another account.
    let other = c.create_citizen_account(new_citizen("Гражданкина", &Uuid::now_v7().to_string())).await.unwrap();
    assert_ne!(other.into_inner().id, first.id);
    let plain1 = c.create_citizen_account(new_citizen("Гражданкина", "")).await.unwrap().into_inner();
    let plain2 = c.create_citizen_account(new_citizen("Гражданкина", "")).await.unwrap().into_inner();
    assert_ne!(plain1.id, plain2.id, "without a request id every call creates");

    // The request id is per tenant.
    let t2 = app.tenant("other").await;
    let admin2 = app.admin(&t2).await;
    let theirs = admin2.client.clone().create_citizen_account(new_citizen("Гражданкина", &rid)).await.unwrap();
    let theirs = theirs.into_inner();
    assert_ne!(theirs.id, first.id);
    assert_eq!(theirs.tenant_id, t2.id.to_string());

    // A request id that is not a UUID is a field violation.
    expect_invalid(c.create_citizen_account(new_citizen("Гражданкина", "retry-1")).await, "request_id");
}
