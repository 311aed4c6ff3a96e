//! «История взаимодействия» (S0-43…S0-45) and «Дневник» (S0-30).
use chrono::Duration;
use opeka_platform::wire::from_ts;
use opeka_proto::cases as pb;
use opeka_proto::events::envelope::Body;
use tonic::Code;

use crate::helpers::{TestApp, citizen, expect_code, expect_invalid};

/// S0-45: «Добавить» records a curator-initiated contact; S0-43, S0-44: the
/// result is written later and stamped «Отредактировано: <кто>, <когда>» —
/// the curator's full name, or «администратор».
#[tokio::test]
async fn curators_add_interactions_and_results_are_stamped() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let curator = app.curator(&t, "kuratova", "Куратова").await;
    let mut c = curator.cases.clone();
    let card = c.create_citizen(citizen("Иванова", "Мария")).await.unwrap().into_inner();
    let mut events = app.sandbox.events("cases", &t.slug, "interaction_recorded").await;

    let add = |result: &str| pb::AddInteractionRequest { citizen_id: card.id.clone(), result: result.into() };
    expect_invalid(c.add_interaction(add("   ")).await, "result");
    let entry = c.add_interaction(add("Позвонила сама, договорились о встрече")).await.unwrap().into_inner();
    assert_eq!(entry.kind, pb::InteractionKind::CuratorEntry as i32);
    assert_eq!((entry.created_by.as_str(), entry.created_by_name.as_str()), (curator.id.as_str(), "Куратова Анна"));
    assert!(entry.edited_at.is_none() && entry.edited_by.is_empty());
    let ev = events.next().await;
    let Some(Body::InteractionRecorded(body)) = ev.body else { panic!("interaction_recorded expected") };
    assert_eq!((body.interaction_id, body.kind), (entry.id.clone(), "curator_entry".to_string()));

    app.clock.advance(Duration::hours(2));
    let record = |result: &str| pb::RecordInteractionResultRequest { id: entry.id.clone(), result: result.into() };
    let edited = c.record_interaction_result(record("Встреча перенесена на пятницу")).await.unwrap().into_inner();
    assert_eq!(edited.result, "Встреча перенесена на пятницу");
    assert_eq!((edited.edited_by.as_str(), edited.edited_by_name.as_str()), (curator.id.as_str(), "Куратова Анна"));
    assert_eq!(from_ts(&edited.edited_at).unwrap(), app.now());
    assert_eq!(from_ts(&edited.created_at).unwrap(), from_ts(&entry.created_at).unwrap(), "the request date stays");

    app.clock.advance(Duration::minutes(10));
    let by_admin = t.admin.cases.clone().record_interaction_result(record("Состоялась")).await.unwrap().into_inner();
    assert_eq!(by_admin.edited_by_name, "администратор");
    assert_eq!(by_admin.edited_by, t.admin.id);

    // Another curator reaches neither the entry nor the card.
    let other = app.curator(&t, "drugova", "Другова").await;
    expect_code(other.cases.clone().record_interaction_result(record("Чужое")).await, Code::NotFound);
    let missing = pb::RecordInteractionResultRequest { id: uuid::Uuid::now_v7().to_string(), result: "x".into() };
    expect_code(c.record_interaction_result(missing).await, Code::NotFound);

    let second = c.add_interaction(add("Не дозвонилась")).await.unwrap().into_inner();
    let list = c
        .list_interactions(pb::ListInteractionsRequest { citizen_id: card.id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<&str> = list.interactions.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, [second.id.as_str(), entry.id.as_str()], "newest first");
    assert_eq!(list.interactions[1].result, "Состоялась");
}

/// S0-30: the curator's diary about the citizen, newest first, with author.
#[tokio::test]
async fn the_diary_keeps_dated_notes_with_their_author() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    let curator = app.curator(&t, "kuratova", "Куратова").await;
    let mut c = curator.cases.clone();
    let card = c.create_citizen(citizen("Иванова", "Мария")).await.unwrap().into_inner();
    let note = |text: &str| pb::AddDiaryEntryRequest { citizen_id: card.id.clone(), text: text.into() };
    let first = c.add_diary_entry(note("Первая встреча: тревожна, просит помощи")).await.unwrap().into_inner();
    app.clock.advance(Duration::days(1));
    let second = c.add_diary_entry(note("Оформили заявление")).await.unwrap().into_inner();
    assert_eq!(from_ts(&second.created_at).unwrap() - from_ts(&first.created_at).unwrap(), Duration::days(1));
    assert_eq!((second.author_id.as_str(), second.author_name.as_str()), (curator.id.as_str(), "Куратова Анна"));
    expect_invalid(c.add_diary_entry(note("")).await, "text");
    expect_invalid(c.add_diary_entry(note(&"я".repeat(10_001))).await, "text");
    let list = c
        .list_diary_entries(pb::ListDiaryEntriesRequest { citizen_id: card.id.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let texts: Vec<&str> = list.entries.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(texts, ["Оформили заявление", "Первая встреча: тревожна, просит помощи"]);
}
