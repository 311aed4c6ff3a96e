//! Bad input on every create/update RPC (DESIGN.md §8 "Errors on the wire"):
//! INVALID_ARGUMENT with a field violation naming the proto field, in words a
//! person can act on, and nothing written. Covers S0-19…S0-21 (curator form),
//! S0-32 (citizen form), S0-8 (own password), unique logins (§3).
use opeka_proto::identity as pb;
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{PASSWORD, TestApp, expect_code, expect_invalid, staff_request, update_from};

const LONG: usize = 101;

fn long() -> String {
    "я".repeat(LONG)
}

#[tokio::test]
async fn every_create_and_update_rejects_bad_fields_and_writes_nothing() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let mut c = admin.client.clone();
    let district =
        c.create_district(pb::CreateDistrictRequest { name: "Центральный".into() }).await.unwrap().into_inner();
    let org = c
        .create_organisation(pb::CreateOrganisationRequest {
            name: "КЦСОН".into(),
            kind: pb::OrganisationKind::Agency as i32,
            parent_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let target =
        c.create_staff_account(staff_request("target", "Целевая", &[pb::Role::Curator])).await.unwrap().into_inner();
    let bot = app.service_session(&t, &admin, "Бот", pb::Role::Bot).await;
    let before = app.snapshot().await;

    // ---- CreateStaffAccount (S0-19…S0-21) ----
    let base = {
        let mut r = staff_request("novaya", "Новая", &[pb::Role::Curator]);
        r.email = "novaya@example.ru".into();
        r.phone = "+79001112233".into();
        r.telegram_username = "novaya_kur".into();
        r.district_id = district.id.clone();
        r.organisation_id = org.id.clone();
        r
    };
    let random = Uuid::new_v4().to_string();
    type Edit = Box<dyn Fn(&mut pb::CreateStaffAccountRequest)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("surname", Box::new(|r| r.surname = String::new())),
        ("surname", Box::new(|r| r.surname = "   ".into())),
        ("surname", Box::new(|r| r.surname = long())),
        ("name", Box::new(|r| r.name = long())),
        ("patronymic", Box::new(|r| r.patronymic = long())),
        ("email", Box::new(|r| r.email = "novaya-at-example.ru".into())),
        ("email", Box::new(|r| r.email = "novaya@example".into())),
        ("phone", Box::new(|r| r.phone = "12345".into())),
        ("phone", Box::new(|r| r.phone = "8912abc6789".into())),
        ("telegram_username", Box::new(|r| r.telegram_username = "ab".into())),
        ("telegram_username", Box::new(|r| r.telegram_username = "новая_кур".into())),
        ("district_id", Box::new(|r| r.district_id = "центральный".into())),
        ("district_id", {
            let id = random.clone();
            Box::new(move |r| r.district_id = id.clone())
        }),
        ("organisation_id", Box::new(|r| r.organisation_id = "кцсон".into())),
        ("organisation_id", {
            let id = random.clone();
            Box::new(move |r| r.organisation_id = id.clone())
        }),
        // Neither a login nor an e-mail to sign in with (S2-6).
        ("login", Box::new(|r| (r.login, r.email) = Default::default())),
        ("login", Box::new(|r| r.login = "ab".into())),
        ("login", Box::new(|r| r.login = "новая".into())),
        ("login", Box::new(|r| r.login = "no va ya".into())),
        ("login", Box::new(|r| r.login = "x".repeat(65))),
        ("roles", Box::new(|r| r.roles.clear())),
        ("roles", Box::new(|r| r.roles = vec![pb::Role::Citizen as i32])),
        ("roles", Box::new(|r| r.roles = vec![pb::Role::Bot as i32])),
        ("roles", Box::new(|r| r.roles = vec![pb::Role::Unspecified as i32])),
        ("roles", Box::new(|r| r.roles = vec![99])),
        ("password", Box::new(|r| (r.password, r.password_repeat) = ("short".into(), "short".into()))),
        ("password", Box::new(|r| (r.password, r.password_repeat) = ("ю".repeat(129), "ю".repeat(129)))),
        ("password", Box::new(|r| r.password = String::new())),
        ("password_repeat", Box::new(|r| r.password_repeat = format!("{PASSWORD}!"))),
        // Neither a password nor an e-mail to send the activation link to.
        ("password", Box::new(|r| (r.password, r.password_repeat, r.email) = Default::default())),
    ];
    for (field, edit) in &cases {
        let mut r = base.clone();
        edit(&mut r);
        let s = expect_invalid(c.create_staff_account(r.clone()).await, field);
        assert!(s.message().contains(field), "the message names the field: {}", s.message());
    }
    // All problems at once, so the form can show each beside its field.
    let mut r = base.clone();
    r.surname.clear();
    r.login = "ab".into();
    r.phone = "123".into();
    r.password_repeat = "другой-пароль".into();
    let s = expect_code(c.create_staff_account(r).await, Code::InvalidArgument);
    let mut fields: Vec<String> = opeka_platform::error::violations(&s).into_iter().map(|v| v.field).collect();
    fields.sort();
    assert_eq!(fields, ["login", "password_repeat", "phone", "surname"]);
    let v = opeka_platform::error::violations(&s);
    let surname = v.iter().find(|v| v.field == "surname").unwrap();
    assert_eq!(surname.description, opeka_identity::strings::SURNAME_REQUIRED);

    // ---- UpdateStaffAccount ----
    let mut r = update_from(&target);
    r.id = "не-идентификатор".into();
    expect_invalid(c.update_staff_account(r).await, "id");
    type UEdit = Box<dyn Fn(&mut pb::UpdateStaffAccountRequest)>;
    let cases: Vec<(&str, UEdit)> = vec![
        ("surname", Box::new(|r| r.surname = " ".into())),
        ("name", Box::new(|r| r.name = long())),
        ("email", Box::new(|r| r.email = "@example.ru".into())),
        ("phone", Box::new(|r| r.phone = "+0123".into())),
        ("telegram_username", Box::new(|r| r.telegram_username = "a-b-c-d-e".into())),
        ("district_id", Box::new(|r| r.district_id = "1".into())),
        ("organisation_id", {
            let id = random.clone();
            Box::new(move |r| r.organisation_id = id.clone())
        }),
        ("login", Box::new(|r| r.login = String::new())),
        ("roles", Box::new(|r| r.roles.clear())),
        ("roles", Box::new(|r| r.roles = vec![pb::Role::Integration as i32])),
    ];
    for (field, edit) in &cases {
        let mut r = update_from(&target);
        edit(&mut r);
        expect_invalid(c.update_staff_account(r).await, field);
    }
    let mut r = update_from(&target);
    r.id = random.clone();
    expect_code(c.update_staff_account(r).await, Code::NotFound);

    // ---- CreateOrganisation ----
    let org_req = |name: &str, kind: i32, parent: &str| pb::CreateOrganisationRequest {
        name: name.into(),
        kind,
        parent_id: parent.into(),
    };
    let agency = pb::OrganisationKind::Agency as i32;
    expect_invalid(c.create_organisation(org_req(" ", agency, "")).await, "name");
    expect_invalid(c.create_organisation(org_req("Отдел", 0, "")).await, "kind");
    expect_invalid(c.create_organisation(org_req("Отдел", 77, "")).await, "kind");
    expect_invalid(c.create_organisation(org_req("Отдел", agency, "родитель")).await, "parent_id");
    expect_invalid(c.create_organisation(org_req("Отдел", agency, &random)).await, "parent_id");

    // ---- CreateDistrict / RenameDistrict ----
    expect_invalid(c.create_district(pb::CreateDistrictRequest { name: String::new() }).await, "name");
    expect_invalid(c.create_district(pb::CreateDistrictRequest { name: "  ".into() }).await, "name");
    let rename = |id: &str, name: &str| pb::RenameDistrictRequest { id: id.into(), name: name.into() };
    expect_invalid(c.rename_district(rename("район", "Южный")).await, "id");
    expect_invalid(c.rename_district(rename(&district.id, " ")).await, "name");
    expect_code(c.rename_district(rename(&random, "Южный")).await, Code::NotFound);

    // ---- CreateCitizenAccount (S0-32: фамилия and телефон required) ----
    let citizen = || pb::CreateCitizenAccountRequest {
        surname: "Гражданкина".into(),
        name: "Ольга".into(),
        patronymic: String::new(),
        phone: "89001234567".into(),
        email: String::new(),
        request_id: String::new(),
    };
    type CEdit = fn(&mut pb::CreateCitizenAccountRequest);
    let cases: [(&str, CEdit); 7] = [
        ("surname", |r| r.surname.clear()),
        ("phone", |r| r.phone.clear()),
        ("phone", |r| r.phone = "телефон".into()),
        ("email", |r| r.email = "olga@".into()),
        ("name", |r| r.name = long()),
        ("patronymic", |r| r.patronymic = long()),
        ("request_id", |r| r.request_id = "не-uuid".into()),
    ];
    for (field, edit) in cases {
        let mut r = citizen();
        edit(&mut r);
        expect_invalid(c.create_citizen_account(r).await, field);
    }

    // ---- CreateServiceAccount ----
    let svc = |name: &str, roles: Vec<pb::Role>| pb::CreateServiceAccountRequest {
        name: name.into(),
        roles: roles.into_iter().map(|r| r as i32).collect(),
    };
    expect_invalid(c.create_service_account(svc("", vec![pb::Role::Bot])).await, "name");
    expect_invalid(c.create_service_account(svc("Минтруд", vec![])).await, "roles");
    expect_invalid(c.create_service_account(svc("Минтруд", vec![pb::Role::Admin])).await, "roles");
    expect_invalid(c.create_service_account(svc("Минтруд", vec![pb::Role::Citizen])).await, "roles");

    // ---- SetPassword (S0-6) ----
    let set = |id: &str, p: &str, r: &str| pb::SetPasswordRequest {
        id: id.into(),
        password: p.into(),
        password_repeat: r.into(),
    };
    expect_invalid(c.set_password(set("кто-то", PASSWORD, PASSWORD)).await, "id");
    expect_invalid(c.set_password(set(&target.id, "short", "short")).await, "password");
    expect_invalid(c.set_password(set(&target.id, PASSWORD, "другой-пароль")).await, "password_repeat");
    expect_code(c.set_password(set(&random, PASSWORD, PASSWORD)).await, Code::NotFound);

    // ---- ChangeOwnPassword (S0-8: old password, then the new one twice) ----
    let own = |old: &str, new: &str, repeat: &str| pb::ChangeOwnPasswordRequest {
        old_password: old.into(),
        new_password: new.into(),
        new_password_repeat: repeat.into(),
    };
    let s =
        expect_invalid(c.change_own_password(own("не-тот", "Новый-пароль-1", "Новый-пароль-1")).await, "old_password");
    assert_eq!(opeka_platform::error::violations(&s)[0].description, opeka_identity::strings::OLD_PASSWORD_WRONG);
    expect_invalid(c.change_own_password(own(&t.admin_password, "short", "short")).await, "new_password");
    expect_invalid(
        c.change_own_password(own(&t.admin_password, "Новый-пароль-1", "Новый-пароль-2")).await,
        "new_password_repeat",
    );

    // ---- ActivateAccount (S2-3) ----
    let activate = |tenant: &str, token: &str, p: &str, r: &str| pb::ActivateAccountRequest {
        tenant: tenant.into(),
        token: token.into(),
        password: p.into(),
        password_repeat: r.into(),
    };
    let mut public = app.public();
    expect_invalid(public.activate_account(activate(&t.slug, "токен", "short", "short")).await, "password");
    expect_invalid(public.activate_account(activate(&t.slug, "токен", PASSWORD, "другой")).await, "password_repeat");
    expect_invalid(public.activate_account(activate(&t.slug, "no-such-token", PASSWORD, PASSWORD)).await, "token");
    expect_invalid(public.activate_account(activate(&t.slug, "", PASSWORD, PASSWORD)).await, "token");
    expect_invalid(public.activate_account(activate("nowhere", "no-such-token", PASSWORD, PASSWORD)).await, "token");

    // ---- ResetPassword (S1-14) ----
    let reset = |login: &str, code: &str, p: &str, r: &str| pb::ResetPasswordRequest {
        tenant: t.slug.clone(),
        login: login.into(),
        code: code.into(),
        password: p.into(),
        password_repeat: r.into(),
    };
    expect_invalid(public.reset_password(reset("target", "123456", "short", "short")).await, "password");
    expect_invalid(public.reset_password(reset("target", "123456", PASSWORD, "другой")).await, "password_repeat");
    expect_invalid(public.reset_password(reset("target", "123456", PASSWORD, PASSWORD)).await, "code");
    expect_invalid(public.reset_password(reset("nobody", "123456", PASSWORD, PASSWORD)).await, "code");

    // ---- RedeemBotLinkCode, ListAccounts ----
    let mut b = bot.client.clone();
    let redeem = |code: &str, chat: i64| pb::RedeemBotLinkCodeRequest { code: code.into(), telegram_chat_id: chat };
    expect_invalid(b.redeem_bot_link_code(redeem(" ", 42)).await, "code");
    expect_invalid(b.redeem_bot_link_code(redeem("ABCDEFGH", 0)).await, "telegram_chat_id");
    let list =
        |token: &str, role: i32| pb::ListAccountsRequest { page_token: token.into(), role, ..Default::default() };
    expect_invalid(c.list_accounts(list("страница", 0)).await, "page_token");
    expect_invalid(c.list_accounts(list("-5", 0)).await, "page_token");
    expect_invalid(c.list_accounts(list("", 99)).await, "role");

    assert_eq!(app.snapshot().await, before, "a rejected request wrote something");
}

#[tokio::test]
async fn duplicates_are_already_exists_naming_the_field() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let mut c = admin.client.clone();
    let mut first = staff_request("ivanova", "Иванова", &[pb::Role::Curator]);
    first.email = "ivanova@example.ru".into();
    c.create_staff_account(first).await.unwrap();
    let other =
        c.create_staff_account(staff_request("petrova", "Петрова", &[pb::Role::Curator])).await.unwrap().into_inner();
    let before = app.snapshot().await;

    for login in ["ivanova", "IVANOVA", " Ivanova "] {
        let s = expect_code(
            c.create_staff_account(staff_request(login, "Другая", &[pb::Role::Curator])).await,
            Code::AlreadyExists,
        );
        let v = opeka_platform::error::violations(&s);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].field, "login");
        assert_eq!(v[0].description, opeka_identity::strings::LOGIN_TAKEN);
    }
    // The tenant's admin login is taken too.
    let s = expect_code(
        c.create_staff_account(staff_request("admin", "Другая", &[pb::Role::Admin])).await,
        Code::AlreadyExists,
    );
    assert_eq!(opeka_platform::error::violations(&s)[0].field, "login");

    let mut dup_email = staff_request("sidorova", "Сидорова", &[pb::Role::Curator]);
    dup_email.email = "IVANOVA@example.ru".into();
    let s = expect_code(c.create_staff_account(dup_email).await, Code::AlreadyExists);
    assert_eq!(opeka_platform::error::violations(&s)[0].field, "email");

    // Renaming someone onto a taken login or e-mail.
    let mut up = update_from(&other);
    up.login = "Ivanova".into();
    let s = expect_code(c.update_staff_account(up).await, Code::AlreadyExists);
    assert_eq!(opeka_platform::error::violations(&s)[0].field, "login");
    let mut up = update_from(&other);
    up.email = "ivanova@example.ru".into();
    let s = expect_code(c.update_staff_account(up).await, Code::AlreadyExists);
    assert_eq!(opeka_platform::error::violations(&s)[0].field, "email");
    assert_eq!(app.snapshot().await, before, "a clash wrote something");

    // Districts are unique by name, case-insensitively.
    c.create_district(pb::CreateDistrictRequest { name: "Заречный".into() }).await.unwrap();
    let s = expect_code(
        c.create_district(pb::CreateDistrictRequest { name: "заречный".into() }).await,
        Code::AlreadyExists,
    );
    assert_eq!(opeka_platform::error::violations(&s)[0].field, "name");
    let d = c.create_district(pb::CreateDistrictRequest { name: "Нагорный".into() }).await.unwrap().into_inner();
    let s = expect_code(
        c.rename_district(pb::RenameDistrictRequest { id: d.id, name: "ЗАРЕЧНЫЙ".into() }).await,
        Code::AlreadyExists,
    );
    assert_eq!(opeka_platform::error::violations(&s)[0].field, "name");
}
