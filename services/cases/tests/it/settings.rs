//! Tenant terminology and settings (S0-2): the seed's Russian defaults,
//! changed by the admin only, read by every staff member.
use opeka_proto::cases as pb;
use tonic::Code;

use crate::helpers::{TestApp, expect_code, expect_invalid};

#[tokio::test]
async fn terminology_has_the_seeds_defaults_and_the_admin_renames_it() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let curator = app.curator(&t, "kuratova", "Куратова").await;
    let mut admin = t.admin.cases.clone();

    let defaults = curator.cases.clone().get_tenant_settings(pb::GetTenantSettingsRequest {}).await.unwrap();
    let defaults = defaults.into_inner();
    assert_eq!(defaults.citizen_term, "пользователь");
    assert_eq!(defaults.citizens_section, "Пользователи");
    assert_eq!(defaults.curator_term, "соц. куратор");
    assert_eq!(defaults.curators_section, "Соц. кураторы");
    assert_eq!(defaults.time_zone, "Europe/Moscow");
    assert!(!defaults.curators_read_all && defaults.updated_at.is_none());

    let renamed = pb::UpdateTenantSettingsRequest {
        citizen_term: "гражданин".into(),
        citizens_section: "Граждане".into(),
        curator_term: " врач ".into(),
        curators_section: "Врачи".into(),
        curators_read_all: false,
        time_zone: "Asia/Yekaterinburg".into(),
    };
    expect_code(curator.cases.clone().update_tenant_settings(renamed.clone()).await, Code::PermissionDenied);
    let saved = admin.update_tenant_settings(renamed).await.expect("admin renames").into_inner();
    assert_eq!((saved.citizens_section.as_str(), saved.curator_term.as_str()), ("Граждане", "врач"));
    let read = curator.cases.clone().get_tenant_settings(pb::GetTenantSettingsRequest {}).await.unwrap().into_inner();
    assert_eq!(read, saved);

    let bad = pb::UpdateTenantSettingsRequest { time_zone: "Moscow".into(), ..Default::default() };
    expect_invalid(admin.update_tenant_settings(bad).await, "time_zone");
    let long = pb::UpdateTenantSettingsRequest { citizen_term: "я".repeat(61), ..Default::default() };
    expect_invalid(admin.update_tenant_settings(long).await, "citizen_term");
    // Empty fields bring the defaults back.
    let reset = admin.update_tenant_settings(pb::UpdateTenantSettingsRequest::default()).await.unwrap().into_inner();
    assert_eq!((reset.citizens_section.as_str(), reset.time_zone.as_str()), ("Пользователи", "Europe/Moscow"));
    let audit = admin.list_audit_events(pb::ListAuditEventsRequest::default()).await.unwrap().into_inner();
    let last = &audit.events[0];
    assert_eq!(last.action, "settings.update");
    assert_eq!(last.fields, ["citizen_term", "citizens_section", "curator_term", "curators_section", "time_zone"]);
}

/// S0-2 in the bot: the tenant's bot service account reads the terminology
/// (to name the curator as the tenant does) but nothing else of cases.
#[tokio::test]
async fn the_bot_reads_the_terminology_only() {
    use opeka_proto::identity as idpb;
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let mut admin = t.admin.cases.clone();
    let renamed =
        pb::UpdateTenantSettingsRequest { curator_term: "координатор".into(), ..Default::default() };
    admin.update_tenant_settings(renamed).await.expect("admin renames");

    let bot = app.service_account(&t, "Бот", &[idpb::Role::Bot]).await;
    let mut cases = bot.cases.clone();
    let read = cases.get_tenant_settings(pb::GetTenantSettingsRequest {}).await.expect("bot reads terms").into_inner();
    assert_eq!((read.curator_term.as_str(), read.citizen_term.as_str()), ("координатор", "пользователь"));

    expect_code(cases.update_tenant_settings(pb::UpdateTenantSettingsRequest::default()).await, Code::PermissionDenied);
    expect_code(cases.list_citizens(pb::ListCitizensRequest::default()).await, Code::PermissionDenied);
}
