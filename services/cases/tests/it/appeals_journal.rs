//! The appeals journal (S1-15, S1-16, S1-48…S1-62): thirty seeded cards,
//! each filter narrowing them to exactly the expected numbers, sorting,
//! numbered pages with totals, the executor's default view, per-user filter
//! panels, and the reference trees' import and listing.
use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate};
use opeka_proto::cases::{self as pb, act_on_appeal_request::Action};
use opeka_proto::identity as idpb;
use tonic::Code;

use crate::appeals::{Desk, Person, none};
use crate::helpers::{expect_code, expect_invalid, invalid_fields};

/// What a seeded card was made with.
#[derive(Debug, Clone)]
struct Seed {
    number: i64,
    id: String,
    name: String,
    region: &'static str,
    municipality: Option<&'static str>,
    category: &'static str,
    channel: &'static str,
    talked_before: bool,
    urgent: bool,
    labels: Vec<String>,
    source_id: String,
    text: &'static str,
    address: String,
    created: NaiveDate,
}

const SURNAMES: [&str; 6] = ["Иванова", "Петров", "Сидорова", "Иваненко", "Кузнецов", "Семёнова"];
const CHANNELS: [&str; 5] = ["call_centre", "direct_line", "web", "bot", "api"];
const TEXTS: [&str; 5] = [
    "Нужна помощь с лекарствами для мамы",
    "Прошу о помощи: не вывозят мусор",
    "Яма на дороге у подъезда",
    "Не работает лифт, помогите",
    "Благодарю за помощью оказанную в прошлом году",
];

struct Journal {
    d: Desk,
    seeds: Vec<Seed>,
    a: Person,
    b: Person,
}

/// Thirty cards one day apart, every filterable field varied.
async fn seeded() -> Journal {
    let d = Desk::start().await;
    let a = d.executor("exec-a", "Агеева").await;
    let b = d.executor("exec-b", "Белова").await;
    let start = d.app.now() - Duration::days(40);
    d.app.clock.set(start);
    let mut seeds = Vec::new();
    for i in 0..30usize {
        let region = ["msk", "mo", "spb"][i % 3];
        let municipality = match (region, i % 2) {
            ("msk", 0) => Some("lublino"),
            ("mo", 0) => Some("khimki"),
            _ => None,
        };
        let category = ["disabled", "pits", "health", "help"][i % 4];
        let mut labels = Vec::new();
        if i % 4 == 0 {
            labels.push("vip".to_string());
        }
        if i % 6 == 0 {
            labels.push("press".to_string());
        }
        let name = format!("{} {} Петровна", SURNAMES[i % SURNAMES.len()], ["Анна", "Ольга", "Мария"][i % 3]);
        let address = if i % 2 == 0 {
            format!("ул Белореченская, д {i}")
        } else {
            format!("пр Мира, д {i}")
        };
        let mut req = d.request(&name, Some(&d.org.clone()));
        req.citizen.as_mut().unwrap().phone = format!("8 (9{:02}) 100-20-{:02}", i, i);
        let geo = req.geography.as_mut().unwrap();
        geo.region_id = d.id(region);
        geo.municipality_id = municipality.map(|m| d.id(m)).unwrap_or_default();
        geo.address = address.clone();
        let topic = req.topic.as_mut().unwrap();
        topic.subcategory_id.clear();
        if matches!(category, "disabled" | "pits") {
            topic.subcategory_id = d.id(category);
        } else {
            topic.category_id = d.id(category);
        }
        req.channel = CHANNELS[i % CHANNELS.len()].into();
        req.talked_before = i % 2 == 0;
        req.urgent = i % 3 == 0;
        req.labels = labels.clone();
        req.source_id = format!("RTK-{}", 3_072_000 + i);
        req.text = TEXTS[i % TEXTS.len()].into();
        let created = d.today();
        let card = d.admin.create(req).await;
        seeds.push(Seed {
            number: card.number,
            id: card.id,
            name,
            region,
            municipality,
            category,
            channel: CHANNELS[i % CHANNELS.len()],
            talked_before: i % 2 == 0,
            urgent: i % 3 == 0,
            labels,
            source_id: format!("RTK-{}", 3_072_000 + i),
            text: TEXTS[i % TEXTS.len()],
            address,
            created,
        });
        d.app.clock.advance(Duration::days(1));
    }
    Journal { d, seeds, a, b }
}

fn numbers(r: &pb::ListAppealsResponse) -> BTreeSet<i64> {
    r.rows.iter().map(|r| r.number).collect()
}

impl Journal {
    fn expect(&self, f: impl Fn(&Seed) -> bool) -> BTreeSet<i64> {
        self.seeds.iter().filter(|s| f(s)).map(|s| s.number).collect()
    }

    /// Checks that `filter` finds exactly the seeds `f` picks (and that it narrows).
    async fn check(&self, what: &str, filter: pb::AppealFilter, f: impl Fn(&Seed) -> bool) {
        let want = self.expect(f);
        assert!(!want.is_empty() && want.len() < self.seeds.len(), "{what}: a filter test must narrow, not empty");
        let got = self.d.admin.journal(filter).await;
        assert_eq!(numbers(&got), want, "{what}");
        assert_eq!(got.total, want.len() as i64, "{what}: total");
    }
}

// S1-48…S1-60 (issue 5 tests): every filter of the journal narrows the seeded set to exactly the cards
// it should, and the text search finds Russian word forms («помощь» finds «помощи»).
#[tokio::test]
async fn s1_48_to_s1_60_each_filter_narrows_the_journal() {
    let j = Box::pin(seeded()).await;
    let all = j.d.admin.journal(pb::AppealFilter::default()).await;
    assert_eq!(all.total, 30);
    let s7 = j.seeds[7].clone();
    j.check("S1-48 number", pb::AppealFilter { number: s7.number, ..Default::default() }, |s| s.number == s7.number)
        .await;
    j.check("S1-51 name", pb::AppealFilter { citizen_name: "иван".into(), ..Default::default() }, |s| {
        s.name.starts_with("Иван")
    })
    .await;
    j.check(
        "S1-51 name, ё as е",
        pb::AppealFilter { citizen_name: "Семенова Мария".into(), ..Default::default() },
        |s| s.name.starts_with("Семёнова Мария"),
    )
    .await;
    for phone in ["+7 (907) 100-20-07", "89071002007", "7 907 100 20 07"] {
        j.check(&format!("S1-52 phone {phone}"), pb::AppealFilter { phone: phone.into(), ..Default::default() }, |s| {
            s.number == s7.number
        })
        .await;
    }
    j.check("S1-52 phone fragment", pb::AppealFilter { phone: "100-20-1".into(), ..Default::default() }, |s| {
        (10..20).contains(&(s.number - j.seeds[0].number))
    })
    .await;
    j.check(
        "S1-53 text «помощь»",
        pb::AppealFilter { text: "помощь".into(), ..Default::default() },
        |s| s.text.contains("помощ"),
    )
    .await;
    j.check(
        "S1-53 text, two words",
        pb::AppealFilter { text: "помощи мусор".into(), ..Default::default() },
        |s| s.text.contains("мусор"),
    )
    .await;
    let tri = |yes: bool| if yes { pb::AppealTriState::Yes as i32 } else { pb::AppealTriState::No as i32 };
    j.check("S1-54 talked before", pb::AppealFilter { talked_before: tri(true), ..Default::default() }, |s| {
        s.talked_before
    })
    .await;
    j.check("S1-54 not talked before", pb::AppealFilter { talked_before: tri(false), ..Default::default() }, |s| {
        !s.talked_before
    })
    .await;
    j.check("urgent", pb::AppealFilter { urgent: tri(true), ..Default::default() }, |s| s.urgent).await;
    let channels = vec!["web".to_string(), "bot".to_string()];
    j.check("S1-55 channel", pb::AppealFilter { channels, ..Default::default() }, |s| {
        matches!(s.channel, "web" | "bot")
    })
    .await;
    let fd = j.d.id("cfo");
    j.check("S1-56 federal district", pb::AppealFilter { federal_district_id: fd, ..Default::default() }, |s| {
        s.region != "spb"
    })
    .await;
    j.check("S1-56 region", pb::AppealFilter { region_id: j.d.id("mo"), ..Default::default() }, |s| s.region == "mo")
        .await;
    j.check("S1-56 municipality", pb::AppealFilter { municipality_id: j.d.id("lublino"), ..Default::default() }, |s| {
        s.municipality == Some("lublino")
    })
    .await;
    j.check(
        "S1-56 address",
        pb::AppealFilter { address: "БЕЛОРЕЧЕНСКАЯ".into(), ..Default::default() },
        |s| s.address.contains("Белореченская"),
    )
    .await;
    j.check("S1-57 category type", pb::AppealFilter { category_type_id: j.d.id("nko"), ..Default::default() }, |s| {
        s.category == "help"
    })
    .await;
    j.check("S1-57 category", pb::AppealFilter { category_id: j.d.id("roads"), ..Default::default() }, |s| {
        matches!(s.category, "disabled" | "pits")
    })
    .await;
    j.check("S1-57 subcategory", pb::AppealFilter { subcategory_id: j.d.id("pits"), ..Default::default() }, |s| {
        s.category == "pits"
    })
    .await;
    let (from, to) = (j.seeds[5].created, j.seeds[12].created);
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    j.check(
        "S1-58 created from/to",
        pb::AppealFilter { created_from: day(from), created_to: day(to), ..Default::default() },
        |s| s.created >= from && s.created <= to,
    )
    .await;
    j.check(
        "S1-58 created from, dd.mm.yyyy",
        pb::AppealFilter { created_from: from.format("%d.%m.%Y").to_string(), ..Default::default() },
        |s| s.created >= from,
    )
    .await;
    let labels = |v: &[&str]| v.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    j.check(
        "S1-59 labels present",
        pb::AppealFilter { labels_present: labels(&["vip", "press"]), ..Default::default() },
        |s| s.labels.len() == 2,
    )
    .await;
    j.check("S1-59 labels absent", pb::AppealFilter { labels_absent: labels(&["vip"]), ..Default::default() }, |s| {
        !s.labels.contains(&"vip".to_string())
    })
    .await;
    let source = j.seeds[12].source_id.clone();
    j.check("S1-60 source id", pb::AppealFilter { source_id: source.clone(), ..Default::default() }, |s| {
        s.source_id == source
    })
    .await;
    // Several filters at once narrow further.
    let combined = pb::AppealFilter {
        region_id: j.d.id("msk"),
        text: "помощи".into(),
        talked_before: tri(true),
        ..Default::default()
    };
    j.check("combined", combined, |s| s.region == "msk" && s.text.contains("помощ") && s.talked_before).await;
    // Bad filter values are field errors.
    let bad = pb::ListAppealsRequest {
        filter: Some(pb::AppealFilter {
            statuses: vec!["lost".into()],
            region_id: "nope".into(),
            created_from: "31.02.2025".into(),
            ..Default::default()
        }),
        order_by: "colour".into(),
        ..Default::default()
    };
    let fields = invalid_fields(j.d.admin.appeals.clone().list_appeals(bad).await, "filter.statuses[0]");
    for f in ["filter.region_id", "filter.created_from", "order_by"] {
        assert!(fields.contains(&f.to_string()), "{f} missing from {fields:?}");
    }
}

// S1-15, S1-49, S1-50 (issue 5 tests): status and lock filters, and the executor's default journal
// (their own cards «В работе»).
#[tokio::test]
async fn s1_50_lock_and_status_filters_and_the_executors_default_view() {
    let j = Box::pin(seeded()).await;
    let (s5, s7) = (j.seeds[5].clone(), j.seeds[7].clone());
    j.a.act(&s5.id, Action::Take(none())).await.expect("a takes");
    j.b.act(&s7.id, Action::Take(none())).await.expect("b takes");
    let moderated: BTreeSet<i64> = j.seeds[20..24].iter().map(|s| s.number).collect();
    for s in &j.seeds[20..24] {
        j.d.admin.act(&s.id, Action::SubmitToModeration(none())).await.expect("submit");
    }
    let lock = |l: pb::LockFilter| pb::AppealFilter { lock: l as i32, ..Default::default() };
    let mine = j.a.journal(lock(pb::LockFilter::Mine)).await;
    assert_eq!(numbers(&mine), [s5.number].into());
    let free = j.a.journal(lock(pb::LockFilter::Free)).await;
    assert_eq!(numbers(&free), j.expect(|s| s.number != s5.number && s.number != s7.number));
    let mine_and_free = j.a.journal(lock(pb::LockFilter::MineAndFree)).await;
    assert_eq!(numbers(&mine_and_free), j.expect(|s| s.number != s7.number));
    let statuses =
        |v: &[&str]| pb::AppealFilter { statuses: v.iter().map(|s| s.to_string()).collect(), ..Default::default() };
    assert_eq!(numbers(&j.d.admin.journal(statuses(&["moderation"])).await), moderated);
    assert_eq!(numbers(&j.d.admin.journal(statuses(&["in_work"])).await), [s5.number, s7.number].into());
    let row = j.d.admin.journal(statuses(&["in_work"])).await.rows.into_iter().find(|r| r.number == s5.number).unwrap();
    assert_eq!((row.status_label.as_str(), row.holder_id.as_str()), ("В работе", j.a.id.as_str()));
    assert_eq!(row.executor, "Министерство социальной защиты");
    assert_eq!(
        (row.region.as_str(), row.federal_district.as_str()),
        ("Санкт-Петербург", "Северо-Западный федеральный округ")
    );
    // S1-15: with nothing chosen (the lock default aside), the executor sees their own cards «В работе».
    let default =
        |f: pb::AppealFilter| pb::ListAppealsRequest { filter: Some(f), default_view: true, ..Default::default() };
    assert_eq!(numbers(&j.a.list(default(lock(pb::LockFilter::MineAndFree))).await), [s5.number].into());
    assert_eq!(numbers(&j.b.list(default(pb::AppealFilter::default())).await), [s7.number].into());
    // A chosen filter replaces the default; an admin's default view is the whole journal.
    let chosen = default(pb::AppealFilter { region_id: j.d.id("spb"), ..Default::default() });
    assert_eq!(numbers(&j.a.list(chosen).await), j.expect(|s| s.region == "spb"));
    assert_eq!(j.d.admin.list(default(pb::AppealFilter::default())).await.total, 30);
}

// Issue 11: the journal counts exactly up to the cap and says «более N» beyond it; the pages go on
// past the cap, and the last page's count is exact again. Numbers come from the tenant's sequence:
// no gaps while intakes succeed, and an intake refused at validation takes none.
#[tokio::test]
async fn issue11_the_count_stops_at_the_cap_and_the_pages_go_on() {
    let d = Desk::start_with_cases(|c| c.journal_count_cap = 3).await;
    let mut numbers = Vec::new();
    for i in 0..5 {
        numbers.push(d.admin.create(d.request(&format!("Потоков Иван {i}"), Some(&d.org))).await.number);
    }
    let page = |page: i32, token: &str| pb::ListAppealsRequest {
        page,
        page_token: token.into(),
        page_size: 2,
        ..Default::default()
    };
    let first = d.admin.list(page(1, "")).await;
    assert_eq!((first.total, first.total_is_lower_bound, first.rows.len()), (3, true, 2));
    assert_eq!(first.next_page_token, "2", "a full page past the cap has a next one");
    let second = d.admin.list(page(0, &first.next_page_token)).await;
    assert_eq!((second.total, second.total_is_lower_bound, second.next_page_token.as_str()), (3, true, "3"));
    let last = d.admin.list(page(0, &second.next_page_token)).await;
    assert_eq!((last.total, last.total_is_lower_bound, last.rows.len()), (5, false, 1));
    assert!(last.next_page_token.is_empty());
    let seen: BTreeSet<i64> = [&first, &second, &last].iter().flat_map(|r| r.rows.iter().map(|r| r.number)).collect();
    assert_eq!(seen, numbers.iter().copied().collect::<BTreeSet<_>>());
    // Under the cap the count is exact at once.
    let few = d.admin.journal(pb::AppealFilter { number: numbers[3], ..Default::default() }).await;
    assert_eq!((few.total, few.total_is_lower_bound), (1, false));

    let mut bad = d.request("Пропущенный Номер", Some(&d.org));
    bad.citizen.as_mut().unwrap().phone = "не телефон".into();
    expect_invalid(d.admin.appeals.clone().create_appeal(bad).await, "citizen.phone");
    let next = d.admin.create(d.request("Следующий Номер", Some(&d.org))).await.number;
    assert_eq!(next, numbers[4] + 1, "a refused intake takes no number");
    assert_eq!(numbers.windows(2).filter(|w| w[1] != w[0] + 1).count(), 0, "no gaps without a failure: {numbers:?}");
}

// S1-16, S1-17: sorting by the journal's columns and numbered pages with the total.
#[tokio::test]
async fn s1_16_sorting_and_numbered_pages() {
    let j = Box::pin(seeded()).await;
    let list = |order: &str, page: i32, size: i32| pb::ListAppealsRequest {
        order_by: order.into(),
        page,
        page_size: size,
        ..Default::default()
    };
    let order = |r: &pb::ListAppealsResponse| r.rows.iter().map(|r| r.number).collect::<Vec<_>>();
    let first = j.seeds[0].number;
    // Default: newest first.
    let newest = j.d.admin.list(list("", 1, 5)).await;
    assert_eq!(order(&newest), (first + 25..first + 30).rev().collect::<Vec<_>>());
    let page2 = j.d.admin.list(list("number", 2, 7)).await;
    assert_eq!((page2.total, page2.page, page2.page_size), (30, 2, 7));
    assert_eq!(order(&page2), (first + 7..first + 14).collect::<Vec<_>>());
    let last = j.d.admin.list(list("number", 5, 7)).await;
    assert_eq!(order(&last), [first + 28, first + 29]);
    let by_name = j.d.admin.list(list("citizen_name", 1, 30)).await;
    let names: Vec<String> = by_name.rows.iter().map(|r| r.citizen_name.to_lowercase().replace('ё', "е")).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    let by_region = j.d.admin.list(list("-region", 1, 30)).await;
    let regions: Vec<&str> = by_region.rows.iter().map(|r| r.region.as_str()).collect();
    assert_eq!(regions.first(), Some(&"Санкт-Петербург"));
    assert_eq!(regions.last(), Some(&"Москва"));
    let by_status = j.d.admin.list(list("-status", 1, 30)).await;
    assert_eq!(by_status.total, 30);
}

// S1-62: each user chooses the filter fields shown; names are AppealFilter's own.
#[tokio::test]
async fn s1_62_journal_preferences_round_trip() {
    let d = Desk::start().await;
    let a = d.executor("exec-a", "Агеева").await;
    let mut client = a.appeals.clone();
    let empty = client.get_journal_preferences(pb::GetJournalPreferencesRequest {}).await.unwrap().into_inner();
    assert!(empty.visible_filters.is_empty());
    let wanted = vec!["number".to_string(), "statuses".into(), "lock".into(), "text".into(), "number".into()];
    let saved = client
        .save_journal_preferences(pb::SaveJournalPreferencesRequest { visible_filters: wanted })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(saved.visible_filters, ["number", "statuses", "lock", "text"]);
    let again = client.get_journal_preferences(pb::GetJournalPreferencesRequest {}).await.unwrap().into_inner();
    assert_eq!(again, saved);
    // Another user's panel is their own.
    let other = d.admin.appeals.clone().get_journal_preferences(pb::GetJournalPreferencesRequest {}).await.unwrap();
    assert!(other.into_inner().visible_filters.is_empty());
    let bad = pb::SaveJournalPreferencesRequest { visible_filters: vec!["number".into(), "colour".into()] };
    expect_invalid(client.save_journal_preferences(bad).await, "visible_filters[1]");
    let kept = client.get_journal_preferences(pb::GetJournalPreferencesRequest {}).await.unwrap().into_inner();
    assert_eq!(kept, saved);
}

// Issue 5 point 1: reference trees per tenant — admins load them (upsert by code, all or nothing),
// everyone reads them; GetAppealOptions gives the forms' lists with the seed's words.
#[tokio::test]
async fn reference_import_upserts_by_code_all_or_nothing() {
    let d = Desk::start().await;
    let moderator = d.person("mod", "Морозова", &[idpb::Role::Moderator], None).await;
    let node = |level: &str, code: &str, name: &str, parent: &str| pb::ReferenceNode {
        level: level.into(),
        code: code.into(),
        name: name.into(),
        parent_code: parent.into(),
        ..Default::default()
    };
    let rename = pb::ImportReferenceNodesRequest {
        tree: "geography".into(),
        nodes: vec![
            node("region", "msk", "г. Москва", "cfo"),
            node("municipality", "tverskoy", "Тверской район", "msk"),
        ],
    };
    expect_code(moderator.appeals.clone().import_reference_nodes(rename.clone()).await, Code::PermissionDenied);
    let r = d.admin.appeals.clone().import_reference_nodes(rename).await.unwrap().into_inner();
    assert_eq!((r.created, r.updated), (1, 1));
    let children =
        pb::ListReferenceNodesRequest { tree: "geography".into(), parent_id: d.id("msk"), ..Default::default() };
    let list = moderator.appeals.clone().list_reference_nodes(children).await.unwrap().into_inner().nodes;
    let names: BTreeSet<(&str, &str)> = list.iter().map(|n| (n.code.as_str(), n.parent_code.as_str())).collect();
    assert_eq!(names, [("lublino", "msk"), ("tverskoy", "msk")].into());
    let whole =
        pb::ListReferenceNodesRequest { tree: "geography".into(), parent_id: String::new(), ..Default::default() };
    let all = moderator.appeals.clone().list_reference_nodes(whole.clone()).await.unwrap().into_inner().nodes;
    let msk = all.iter().find(|n| n.code == "msk").unwrap();
    assert_eq!((msk.name.as_str(), msk.id.as_str(), msk.level.as_str()), ("г. Москва", d.id("msk").as_str(), "region"));
    // A card shows the new name (names are read, not copied).
    let card = d.routed("Новикова Нина").await;
    assert_eq!(card.geography.unwrap().region, "г. Москва");
    // All or nothing: one bad node and nothing is written.
    let bad = pb::ImportReferenceNodesRequest {
        tree: "geography".into(),
        nodes: vec![
            node("region", "kzn", "Казань", "pfo"),
            node("municipality", "vahit", "Вахитовский район", "kzn"),
            node("municipality", "bad", "Без родителя", ""),
            node("street", "x", "Улица", "msk"),
            node("federal_district", "pfo2", "Приволжский", "cfo"),
            node("region", "dup", "Дубль", "cfo"),
            node("region", "dup", "Дубль", "cfo"),
        ],
    };
    let fields = invalid_fields(d.admin.appeals.clone().import_reference_nodes(bad).await, "nodes[0].parent_code");
    for f in ["nodes[2].parent_code", "nodes[3].level", "nodes[4].parent_code", "nodes[6].code"] {
        assert!(fields.contains(&f.to_string()), "{f} missing from {fields:?}");
    }
    let after = moderator.appeals.clone().list_reference_nodes(whole).await.unwrap().into_inner().nodes;
    assert_eq!(after.len(), all.len());
    let unknown = pb::ImportReferenceNodesRequest { tree: "planets".into(), nodes: vec![] };
    expect_invalid(d.admin.appeals.clone().import_reference_nodes(unknown).await, "tree");

    let options =
        moderator.appeals.clone().get_appeal_options(pb::GetAppealOptionsRequest {}).await.unwrap().into_inner();
    let close: Vec<(&str, &str)> =
        options.close_reasons.iter().map(|o| (o.label.as_str(), o.requires.as_str())).collect();
    assert_eq!(close.len(), 7);
    assert!(close.contains(&("Обращение дублирует другое обращение", "duplicate_number")));
    assert!(close.contains(&("Заявителю дан мотивированный отказ", "comment")));
    assert_eq!(options.statuses.len(), 11);
    assert!(options.channels.iter().any(|c| c.code == "call_centre" && c.label == "Колл-центр"));
    assert!(options.actions.iter().any(|a| a.code == "take" && a.label == "Взять в работу карточку обращения"));
}
