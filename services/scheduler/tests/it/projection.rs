//! The citizen projection kept from cases' and identity's events: who the
//! citizen is, whose citizen, whether the bot is activated; a transfer moves
//! the reminders with the card; a deleted card takes its planned reminders.
use opeka_proto::cases as cpb;
use opeka_proto::scheduler as pb;
use tonic::Code;

use crate::helpers::*;

#[tokio::test]
async fn the_projection_follows_cases_and_identity() {
    let app = TestApp::start().await;
    let t = app.tenant("p1").await;
    let curator = app.curator(&t, "petrova", "Петрова").await;
    let c = app.citizen(&t, &curator, "Иванова").await;
    // No scheduler call yet: the events alone fill the row.
    let sql = format!(
        "select count(*) from citizens where citizen_id = '{}' and account_id = '{}' and curator_id = '{}'
           and full_name = 'Иванова Мария' and bot_linked",
        c.id, c.account_id, curator.id
    );
    app.eventually("the projection row", || async { (app.count(&sql).await == 1).then_some(()) }).await;
    assert_eq!(app.count(&format!("select count(*) from tenants where tenant_slug = '{}'", t.slug)).await, 1);

    // A renamed card: lists across citizens show the new name.
    let mut cases = curator.cases.clone();
    let card = cases.get_citizen(cpb::GetCitizenRequest { id: c.id.clone() }).await.expect("card").into_inner();
    let rename = cpb::UpdateCitizenRequest {
        id: card.id.clone(),
        surname: "Смирнова".into(),
        name: card.name,
        patronymic: card.patronymic,
        birth_date: card.birth_date,
        inn: card.inn,
        phone: card.phone,
        email: card.email,
        curator_id: card.curator_id,
        district_id: card.district_id,
        special_group_ids: card.special_group_ids,
        situation: card.situation,
        inactive: card.inactive,
        inactive_until: card.inactive_until,
    };
    cases.update_citizen(rename).await.expect("rename");
    let sql = format!("select count(*) from citizens where citizen_id = '{}' and full_name = 'Смирнова Мария'", c.id);
    app.eventually("the new name", || async { (app.count(&sql).await == 1).then_some(()) }).await;
}

#[tokio::test]
async fn a_transfer_moves_the_reminders_to_the_new_curator() {
    let app = TestApp::start().await;
    let t = app.tenant("p2").await;
    let petrova = app.curator(&t, "petrova", "Петрова").await;
    let sidorova = app.curator(&t, "sidorova", "Сидорова").await;
    let c = app.citizen(&t, &petrova, "Иванова").await;
    let s = petrova.scheduler.clone().create_series(daily(&c, "2031-01-10", "09:00", 3)).await.unwrap().into_inner();
    let req = cpb::TransferCitizensRequest { citizen_ids: vec![c.id.clone()], to_curator_id: sidorova.id.clone() };
    t.admin.cases.clone().transfer_citizens(req).await.expect("transfer");

    let get = pb::GetSeriesRequest { id: s.id.clone() };
    let moved = app
        .eventually("the new curator sees the series", || {
            let (mut sched, get) = (sidorova.scheduler.clone(), get.clone());
            async move { sched.get_series(get).await.ok().map(|r| r.into_inner()) }
        })
        .await;
    assert_eq!(moved.curator_id, sidorova.id);
    expect_code(petrova.scheduler.clone().get_series(get).await, Code::PermissionDenied);
}

#[tokio::test]
async fn a_deleted_card_takes_its_planned_reminders_and_keeps_the_answered_ones() {
    let app = TestApp::start().await;
    let t = app.tenant("p3").await;
    let c = app.citizen(&t, &t.admin, "Иванова").await;
    let mut sched = t.admin.scheduler.clone();
    let s = sched.create_series(daily(&c, "2031-01-10", "09:00", 5)).await.unwrap().into_inner();
    app.set_now(utc("2031-01-10T06:00:00Z"));
    app.engine.dispatch(app.now()).await.expect("dispatch");
    let first = calendar(&t.admin, &c, "2031-01-10", "2031-01-11").await.remove(0);
    press(&t, &c, &first.id, pb::Answer::Done).await;

    t.admin.cases.clone().delete_citizen(cpb::DeleteCitizenRequest { id: c.id.clone() }).await.expect("delete card");
    app.eventually("planned reminders cancelled", || async {
        (app.count("select count(*) from occurrences where status = 'cancelled'").await == 4).then_some(())
    })
    .await;
    assert_eq!(app.statuses(&s.id).await[0].1, "done", "history stays");
    expect_code(sched.get_series(pb::GetSeriesRequest { id: s.id.clone() }).await, Code::NotFound);
    expect_code(sched.create_series(daily(&c, "2031-01-12", "09:00", 5)).await, Code::NotFound);
    let audited =
        app.count("select count(*) from audit_log where action = 'series.delete' and actor_id = 'system'").await;
    assert_eq!(audited, 1);
}
