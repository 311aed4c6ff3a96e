//! Issue 9, point 4: a curator reaches only their own citizens' accounts
//! (phones, e-mails) and bot link codes, here in identity (DESIGN §3:
//! authorisation in the owning service), not only in cases or the gateway;
//! an integration account reaches only the citizens its scope names. Who
//! curates whom is identity's projection of cases' citizen events.
use opeka_proto::events as ev;
use opeka_proto::identity as pb;
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{Session, TestApp, expect_code};

fn citizen(surname: &str, phone: &str) -> pb::CreateCitizenAccountRequest {
    pb::CreateCitizenAccountRequest {
        surname: surname.into(),
        name: "Ольга".into(),
        phone: phone.into(),
        email: format!("{}@example.ru", phone.trim_start_matches('+')),
        ..Default::default()
    }
}

async fn citizens_of(s: &Session) -> Vec<String> {
    let req = pb::ListAccountsRequest { kind: pb::AccountKind::Citizen as i32, ..Default::default() };
    let listed = s.client.clone().list_accounts(req).await.expect("list citizens").into_inner();
    assert_eq!(listed.total_size as usize, listed.accounts.len());
    let mut ids: Vec<String> = listed.accounts.into_iter().map(|a| a.id).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn issue9_point4_a_curator_cannot_reach_another_curators_citizens_or_their_bot_link_codes() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let mine = app.staff_session(&t, &admin, "kuratorova", pb::Role::Curator).await;
    let other = app.staff_session(&t, &admin, "drugova", pb::Role::Curator).await;
    // Each curator creates a card (cases calls identity with their token).
    let my_citizen =
        mine.client.clone().create_citizen_account(citizen("Своя", "+79001110001")).await.unwrap().into_inner();
    let their_citizen =
        other.client.clone().create_citizen_account(citizen("Чужая", "+79001110002")).await.unwrap().into_inner();

    // Listing citizens shows one's own only; the admin sees both.
    assert_eq!(citizens_of(&mine).await, std::slice::from_ref(&my_citizen.id));
    assert_eq!(citizens_of(&other).await, std::slice::from_ref(&their_citizen.id));
    let mut both = vec![my_citizen.id.clone(), their_citizen.id.clone()];
    both.sort();
    assert_eq!(citizens_of(&admin).await, both);

    // The other curator's citizen, their contacts and code do not exist for me.
    let mut c = mine.client.clone();
    let theirs = || their_citizen.id.clone();
    expect_code(c.get_account(pb::GetAccountRequest { id: theirs() }).await, Code::NotFound);
    let get = pb::GetBotLinkCodeRequest { citizen_account_id: theirs() };
    expect_code(c.get_bot_link_code(get).await, Code::NotFound);
    let issue = pb::IssueBotLinkCodeRequest { citizen_account_id: theirs() };
    expect_code(c.issue_bot_link_code(issue).await, Code::NotFound);
    let extend = pb::ExtendBotLinkCodeRequest { citizen_account_id: theirs() };
    expect_code(c.extend_bot_link_code(extend).await, Code::NotFound);
    let update = pb::UpdateCitizenAccountRequest {
        id: theirs(),
        surname: "Подменённая".into(),
        phone: "+79009999999".into(),
        ..Default::default()
    };
    expect_code(c.update_citizen_account(update).await, Code::NotFound);
    // Their own code still works for them.
    let own = pb::GetBotLinkCodeRequest { citizen_account_id: my_citizen.id.clone() };
    c.get_bot_link_code(own).await.expect("own citizen's code");

    // cases transfers the card: `citizens_transferred` moves it to me.
    let card = Uuid::now_v7();
    let created = ev::envelope::Body::CitizenCreated(ev::CitizenCreated {
        citizen_id: card.to_string(),
        account_id: their_citizen.id.clone(),
        curator_id: other.account_id().to_string(),
        district_id: String::new(),
        full_name: String::new(),
    });
    opeka_platform::testing::publish_event(&app.platform, (t.id, &t.slug), "cases", "citizen_created", created).await;
    let moved = ev::envelope::Body::CitizensTransferred(ev::CitizensTransferred {
        citizen_ids: vec![card.to_string()],
        from_curator_id: other.account_id().to_string(),
        to_curator_id: mine.account_id().to_string(),
    });
    opeka_platform::testing::publish_event(&app.platform, (t.id, &t.slug), "cases", "citizens_transferred", moved)
        .await;
    let account: Uuid = their_citizen.id.parse().unwrap();
    opeka_platform::testing::wait_curator(&app.owner_pool, account, Some(mine.account_id().parse().unwrap())).await;
    c.get_bot_link_code(pb::GetBotLinkCodeRequest { citizen_account_id: theirs() }).await.expect("now mine");
    assert_eq!(citizens_of(&mine).await.len(), 2);
    assert!(citizens_of(&other).await.is_empty());
}

#[tokio::test]
async fn issue9_point4_a_service_account_without_the_scope_sees_no_citizen_contacts() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let admin = app.admin(&t).await;
    let curator = app.staff_session(&t, &admin, "kuratorova", pb::Role::Curator).await;
    let integration = app.service_session(&t, &admin, "Минтруд", pb::Role::Integration).await;
    let a = curator.client.clone().create_citizen_account(citizen("Своя", "+79001110001")).await.unwrap().into_inner();

    // The integration names no district: no citizen, no phone, no e-mail.
    assert!(citizens_of(&integration).await.is_empty());
    let mut i = integration.client.clone();
    expect_code(i.get_account(pb::GetAccountRequest { id: a.id.clone() }).await, Code::NotFound);
    let update = pb::UpdateCitizenAccountRequest { id: a.id.clone(), surname: "Х".into(), ..Default::default() };
    expect_code(i.update_citizen_account(update).await, Code::NotFound);
}
