//! Staff accounts as the «Соц. кураторы» page needs them (S0-17…S0-25):
//! the admin adds a curator with every form field, finds it in the list
//! (search, paging), edits it, changes passwords (S0-6, S0-8) and deletes it.
use chrono::Duration;
use opeka_proto::events::envelope::Body;
use opeka_proto::identity as pb;
use tonic::Code;

use crate::helpers::{PASSWORD, TestApp, expect_code, expect_invalid, staff_request, ts, update_from};

#[tokio::test]
async fn admin_adds_a_curator_with_every_form_field() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let mut c = admin.client.clone();
    let district =
        c.create_district(pb::CreateDistrictRequest { name: " Центральный ".into() }).await.unwrap().into_inner();
    assert_eq!(district.name, "Центральный");
    let org = c
        .create_organisation(pb::CreateOrganisationRequest {
            name: "КЦСОН Центрального района".into(),
            kind: pb::OrganisationKind::Agency as i32,
            parent_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut created_events = app.events(&t.slug, "account_created").await;

    // S0-19: фамилия, имя, отчество, почта, телефон, Telegram, район, логин, пароль ×2.
    let req = pb::CreateStaffAccountRequest {
        surname: " Иванова ".into(),
        name: "Мария".into(),
        patronymic: "Петровна".into(),
        email: "M.Ivanova@Example.RU".into(),
        phone: "8 (912) 345-67-89".into(),
        telegram_username: "@ivanova_m".into(),
        district_id: district.id.clone(),
        organisation_id: org.id.clone(),
        login: "ivanova".into(),
        password: PASSWORD.into(),
        password_repeat: PASSWORD.into(),
        roles: vec![pb::Role::Curator as i32],
    };
    let a = c.create_staff_account(req).await.expect("create curator").into_inner();
    assert_eq!(a.tenant_id, t.id.to_string());
    assert_eq!(a.kind, pb::AccountKind::Staff as i32);
    assert_eq!(a.status, pb::AccountStatus::Active as i32);
    assert_eq!(a.roles, vec![pb::Role::Curator as i32]);
    assert_eq!((a.surname.as_str(), a.name.as_str(), a.patronymic.as_str()), ("Иванова", "Мария", "Петровна"));
    assert_eq!(a.email, "m.ivanova@example.ru");
    assert_eq!(a.phone, "+79123456789", "phones are normalised to +7…");
    assert_eq!(a.telegram_username, "ivanova_m");
    assert_eq!((a.district_id.as_str(), a.organisation_id.as_str()), (district.id.as_str(), org.id.as_str()));
    assert_eq!(a.login, "ivanova");
    assert_eq!(ts(&a.created_at), app.now());
    assert!(a.deleted_at.is_none() && !a.bot_linked && a.client_id.is_empty());

    // S0-23: the card shows the same data.
    let got = c.get_account(pb::GetAccountRequest { id: a.id.clone() }).await.unwrap().into_inner();
    assert_eq!(got, a);
    // S0-22: the saved curator appears in «Соц. кураторы».
    let list = c
        .list_accounts(pb::ListAccountsRequest { role: pb::Role::Curator as i32, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.accounts, vec![a.clone()]);
    assert_eq!(list.total_size, 1);
    // The new curator signs in; the token carries tenant, roles and scope (§3).
    let session = app.sign_in(&t, "ivanova", PASSWORD).await;
    assert_eq!(session.account, a);
    let claims = crate::helpers::claims(&session.tokens.access_token);
    assert_eq!(claims["sub"], a.id.as_str());
    assert_eq!(
        (claims["tid"].as_str(), claims["ten"].as_str()),
        (Some(t.id.to_string().as_str()), Some(t.slug.as_str()))
    );
    assert_eq!(claims["kind"], "staff");
    assert_eq!(claims["roles"], serde_json::json!(["curator"]));
    assert_eq!(claims["org"], org.id.as_str());
    assert_eq!(claims["dst"], serde_json::json!([district.id]));
    assert!(claims["sid"].is_string());

    // Other Russian phone forms normalise the same way.
    for (i, phone) in ["9123456780", "+7 912 345 67 81", "8-912-345-67-82"].iter().enumerate() {
        let mut r = staff_request(&format!("phone{i}"), "Телефонова", &[pb::Role::Curator]);
        r.phone = phone.to_string();
        let got = c.create_staff_account(r).await.unwrap().into_inner();
        assert_eq!(got.phone, format!("+791234567{}", 80 + i), "{phone}");
    }

    // The account_created event carries what other services need.
    let (subject, env) = created_events.next().await;
    assert_eq!(subject, format!("{}.{}.identity.account_created", app.platform.bus.root, t.id));
    assert_eq!(env.tenant_id, t.id.to_string());
    assert_eq!(env.actor, t.admin_id.to_string());
    match env.body {
        Some(Body::AccountCreated(e)) => {
            assert_eq!(e.account_id, a.id);
            assert_eq!(e.kind, "staff");
            assert_eq!(e.roles, vec!["curator".to_string()]);
            assert_eq!(e.login, "ivanova");
            assert_eq!(e.full_name, "Иванова Мария Петровна");
        }
        other => panic!("unexpected event {other:?}"),
    }
}

#[tokio::test]
async fn the_curator_list_searches_and_pages() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let mut c = admin.client.clone();
    let people = [
        ("yolkina", "Ёлкина", "Дарья"),
        ("elkin", "Елкин", "Пётр"),
        ("ivanova", "Иванова", "Мария"),
        ("petrova", "Петрова", "Анна"),
        ("sidorova", "Сидорова", "Ольга"),
        ("alekseeva", "Алексеева", "Вера"),
    ];
    for (login, surname, name) in people {
        let mut r = staff_request(login, surname, &[pb::Role::Curator]);
        r.name = name.into();
        r.email = format!("{login}@soc.example.ru");
        c.create_staff_account(r).await.unwrap();
    }
    c.create_staff_account(staff_request("ispolnitel", "Ёжикова", &[pb::Role::Executor])).await.unwrap();

    let search = |query: &str, role: pb::Role| pb::ListAccountsRequest {
        query: query.into(),
        role: role as i32,
        ..Default::default()
    };
    let surnames = |r: pb::ListAccountsResponse| r.accounts.into_iter().map(|a| a.surname).collect::<Vec<_>>();
    // Case-insensitive and ё/е tolerant, either way round.
    for q in ["елкин", "ЁЛКИН", "Ёлкин", " ёлк "] {
        let got = surnames(c.list_accounts(search(q, pb::Role::Curator)).await.unwrap().into_inner());
        assert_eq!(got, ["Елкин", "Ёлкина"], "query {q:?}");
    }
    // Name, patronymic, login and e-mail are searched too.
    assert_eq!(
        surnames(c.list_accounts(search("пётр", pb::Role::Curator)).await.unwrap().into_inner()),
        ["Елкин", "Петрова"],
        "«Пётр» by name, «Петрова» by surname"
    );
    assert_eq!(surnames(c.list_accounts(search("PETROV", pb::Role::Curator)).await.unwrap().into_inner()), ["Петрова"]);
    assert_eq!(
        surnames(c.list_accounts(search("sidorova@soc", pb::Role::Curator)).await.unwrap().into_inner()),
        ["Сидорова"]
    );
    assert!(surnames(c.list_accounts(search("нет-такого", pb::Role::Curator)).await.unwrap().into_inner()).is_empty());
    // The role filter keeps the executor and the admin out; no filter lists all staff.
    assert_eq!(
        surnames(c.list_accounts(search("ежик", pb::Role::Unspecified)).await.unwrap().into_inner()),
        ["Ёжикова"]
    );
    assert!(surnames(c.list_accounts(search("ежик", pb::Role::Curator)).await.unwrap().into_inner()).is_empty());
    let all = c.list_accounts(pb::ListAccountsRequest::default()).await.unwrap().into_inner();
    assert_eq!(all.total_size, 8);
    // Citizens are a different list.
    let citizens = c
        .list_accounts(pb::ListAccountsRequest { kind: pb::AccountKind::Citizen as i32, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(citizens.total_size, 0);

    // Paging: sorted by surname, page_size / next_page_token / total_size.
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = c
            .list_accounts(pb::ListAccountsRequest {
                role: pb::Role::Curator as i32,
                page_size: 4,
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert_eq!(page.total_size, 6);
        assert!(page.accounts.len() <= 4);
        seen.extend(page.accounts.into_iter().map(|a| a.surname));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(pages, 2);
    assert_eq!(seen.len(), 6);
    let mut all_seen = seen.clone();
    all_seen.sort();
    all_seen.dedup();
    let mut expected = people.map(|(_, surname, _)| surname.to_string()).to_vec();
    expected.sort();
    assert_eq!(all_seen, expected, "each curator exactly once");
    // Where «Ё» sorts depends on the database collation; the rest is alphabetical.
    let plain: Vec<&String> = seen.iter().filter(|s| !s.starts_with('Ё')).collect();
    assert_eq!(plain, ["Алексеева", "Елкин", "Иванова", "Петрова", "Сидорова"]);
    // An exact fit leaves no next page.
    let fit = c
        .list_accounts(pb::ListAccountsRequest { role: pb::Role::Curator as i32, page_size: 6, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((fit.accounts.len(), fit.next_page_token.as_str()), (6, ""));
}

#[tokio::test]
async fn admin_edits_a_curator_and_both_change_passwords() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let mut c = admin.client.clone();
    let district = c.create_district(pb::CreateDistrictRequest { name: "Южный".into() }).await.unwrap().into_inner();
    let mut r = staff_request("kuratorova", "Кураторова", &[pb::Role::Curator]);
    r.telegram_username = "kuratorova_t".into();
    r.district_id = district.id.clone();
    let a = c.create_staff_account(r).await.unwrap().into_inner();
    let mut updated_events = app.events(&t.slug, "account_updated").await;

    // S0-24: «Изменить» → «Сохранить». S0-6: the admin may change the login.
    app.clock.advance(Duration::minutes(5));
    let mut up = update_from(&a);
    up.surname = "Новикова".into();
    up.phone = "89001234567".into();
    up.telegram_username.clear();
    up.district_id.clear();
    up.login = "novikova".into();
    up.roles = vec![pb::Role::Curator as i32, pb::Role::Supervisor as i32, pb::Role::Curator as i32];
    let b = c.update_staff_account(up).await.expect("update").into_inner();
    assert_eq!(b.surname, "Новикова");
    assert_eq!(b.phone, "+79001234567");
    assert_eq!((b.telegram_username.as_str(), b.district_id.as_str()), ("", ""));
    assert_eq!(b.login, "novikova");
    assert_eq!(b.roles, vec![pb::Role::Curator as i32, pb::Role::Supervisor as i32], "duplicates dropped");
    assert_eq!(ts(&b.updated_at), app.now());
    assert_eq!(b.created_at, a.created_at);
    assert_eq!(c.get_account(pb::GetAccountRequest { id: a.id.clone() }).await.unwrap().into_inner(), b);
    let (_, env) = updated_events.next().await;
    match env.body {
        Some(Body::AccountUpdated(e)) => {
            assert_eq!(e.account_id, a.id);
            let mut changed = e.changed_fields;
            changed.sort();
            assert_eq!(changed, ["district_id", "login", "phone", "roles", "surname", "telegram_username"]);
        }
        other => panic!("unexpected event {other:?}"),
    }
    expect_code(app.login(&t.slug, "kuratorova", PASSWORD).await, Code::Unauthenticated);
    let curator = app.sign_in(&t, "novikova", PASSWORD).await;

    // S0-6: the admin sets the curator's password; the old one stops working.
    let set = pb::SetPasswordRequest {
        id: a.id.clone(),
        password: "Пароль-от-админа-2".into(),
        password_repeat: "Пароль-от-админа-2".into(),
    };
    c.set_password(set).await.expect("set password");
    expect_code(app.login(&t.slug, "novikova", PASSWORD).await, Code::Unauthenticated);
    // Sessions opened with the old password end.
    expect_code(curator.client.clone().who_am_i(pb::WhoAmIRequest {}).await, Code::Unauthenticated);
    let curator = app.sign_in(&t, "novikova", "Пароль-от-админа-2").await;

    // S0-8: changing one's own password needs the current one, then the new one twice.
    let mut own = curator.client.clone();
    let change = |old: &str, new: &str| pb::ChangeOwnPasswordRequest {
        old_password: old.into(),
        new_password: new.into(),
        new_password_repeat: new.into(),
    };
    expect_invalid(own.change_own_password(change(PASSWORD, "Свой-пароль-3")).await, "old_password");
    own.change_own_password(change("Пароль-от-админа-2", "Свой-пароль-3")).await.expect("change own password");
    expect_code(app.login(&t.slug, "novikova", "Пароль-от-админа-2").await, Code::Unauthenticated);
    app.sign_in(&t, "novikova", "Свой-пароль-3").await;
    // The admin too («Настройка системы»).
    let mut me = admin.client.clone();
    me.change_own_password(change(&t.admin_password, "Админ-пароль-4")).await.expect("admin changes own password");
    app.sign_in(&t, &t.admin_login, "Админ-пароль-4").await;
    expect_code(app.login(&t.slug, &t.admin_login, &t.admin_password).await, Code::Unauthenticated);

    // A citizen is not edited through the staff form.
    let citizen = c
        .create_citizen_account(pb::CreateCitizenAccountRequest {
            surname: "Гражданкин".into(),
            phone: "+79005554433".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut up = update_from(&b);
    up.id = citizen.id;
    expect_code(c.update_staff_account(up).await, Code::NotFound);
}

#[tokio::test]
async fn deleting_a_curator_hides_it_ends_its_sessions_and_frees_its_login() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let mut c = admin.client.clone();
    let curator = app.staff_session(&t, &admin, "udalyaemaya", pb::Role::Curator).await;
    let id = curator.account_id().to_string();
    let mut deleted_events = app.events(&t.slug, "account_deleted").await;

    app.clock.advance(Duration::minutes(1));
    c.delete_account(pb::DeleteAccountRequest { id: id.clone() }).await.expect("S0-25 «Корзина»");

    let listed = c.list_accounts(pb::ListAccountsRequest::default()).await.unwrap().into_inner();
    assert!(listed.accounts.iter().all(|a| a.id != id), "deleted curator still listed");
    assert_eq!(listed.total_size, 1);
    let with_deleted = c
        .list_accounts(pb::ListAccountsRequest { include_deleted: true, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let gone = with_deleted.accounts.iter().find(|a| a.id == id).expect("kept for history");
    assert_eq!(gone.status, pb::AccountStatus::Deleted as i32);
    assert_eq!(ts(&gone.deleted_at), app.now());
    assert_eq!(with_deleted.total_size, 2);
    let card = c.get_account(pb::GetAccountRequest { id: id.clone() }).await.unwrap().into_inner();
    assert_eq!(card.status, pb::AccountStatus::Deleted as i32);

    // Its sessions are over: access token and refresh token.
    expect_code(curator.client.clone().who_am_i(pb::WhoAmIRequest {}).await, Code::Unauthenticated);
    let refresh = pb::RefreshRequest { tenant: t.slug.clone(), refresh_token: curator.tokens.refresh_token.clone() };
    expect_code(app.public().refresh(refresh).await, Code::Unauthenticated);
    let live: i64 =
        sqlx::query_scalar("select count(*) from identity.sessions where account_id = $1::uuid and revoked_at is null")
            .bind(&id)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    assert_eq!(live, 0);

    // A deleted account cannot be changed or deleted again; nobody deletes themselves.
    expect_code(c.delete_account(pb::DeleteAccountRequest { id: id.clone() }).await, Code::FailedPrecondition);
    expect_code(c.update_staff_account(update_from(&card)).await, Code::FailedPrecondition);
    let set = pb::SetPasswordRequest { id: id.clone(), password: PASSWORD.into(), password_repeat: PASSWORD.into() };
    expect_code(c.set_password(set).await, Code::FailedPrecondition);
    let s = expect_code(
        c.delete_account(pb::DeleteAccountRequest { id: t.admin_id.to_string() }).await,
        Code::FailedPrecondition,
    );
    assert_eq!(s.message(), opeka_identity::strings::CANNOT_DELETE_SELF);
    expect_code(
        c.delete_account(pb::DeleteAccountRequest { id: uuid::Uuid::new_v4().to_string() }).await,
        Code::NotFound,
    );

    // The login is free again for a new person.
    let again =
        c.create_staff_account(staff_request("udalyaemaya", "Новая", &[pb::Role::Curator])).await.unwrap().into_inner();
    assert_ne!(again.id, id);
    assert_eq!(app.sign_in(&t, "udalyaemaya", PASSWORD).await.account.id, again.id);

    let (_, env) = deleted_events.next().await;
    assert_eq!(env.body, Some(Body::AccountDeleted(opeka_proto::events::AccountDeleted { account_id: id })));
}
