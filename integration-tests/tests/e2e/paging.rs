//! Every `List*` RPC pages (issue 10 point 8): one list per service walked with
//! `page_size` 2 gives the same rows, in the same order, as one call without a
//! size (which still returns the whole list, as before paging).
use std::time::Duration;

use opeka_integration_tests::Suite;
use opeka_proto::cases::{self as cpb, cases_service_client::CasesServiceClient};
use opeka_proto::files::{self as fpb, files_service_client::FilesServiceClient};
use opeka_proto::identity as ipb;
use opeka_proto::scheduler::{self as spb, scheduler_service_client::SchedulerServiceClient};
use opeka_testkit::{Service, wait_within};

/// Walks a list two rows at a time; `page(size, token)` returns ids and the next token.
async fn walk(mut page: impl AsyncFnMut(i32, String) -> (Vec<String>, String)) {
    let (whole, last) = page(0, String::new()).await;
    assert!(last.is_empty(), "page_size 0 returns the whole list");
    assert!(whole.len() >= 3, "enough rows to page: {whole:?}");
    let (mut walked, mut token, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let (ids, next) = page(2, token).await;
        assert!(ids.len() <= 2, "{ids:?}");
        walked.extend(ids);
        pages += 1;
        if next.is_empty() {
            break;
        }
        token = next;
    }
    assert_eq!(walked, whole);
    assert_eq!(pages, whole.len().div_ceil(2));
}

#[tokio::test]
async fn identity_pages_districts() {
    let suite = Suite::start().await;
    let admin = suite.admin_token().await;
    let mut identity = suite.identity();
    for name in ["Первомайский", "Ленинский", "Октябрьский"] {
        let req = suite.request(&admin, ipb::CreateDistrictRequest { name: name.into() });
        identity.create_district(req).await.expect("district");
    }
    walk(async |page_size, page_token| {
        let req = ipb::ListDistrictsRequest { page_size, page_token, ..Default::default() };
        let list = identity.list_districts(suite.request(&admin, req)).await.expect("list").into_inner();
        (list.districts.into_iter().map(|d| d.id).collect(), list.next_page_token)
    })
    .await;
}

#[tokio::test]
async fn files_pages_file_types() {
    let suite = Suite::start().await;
    let admin = suite.admin_token().await;
    let mut files = FilesServiceClient::new(suite.channel(Service::Files));
    for name in ["Паспорт", "СНИЛС", "Справка"] {
        let req = suite.request(&admin, fpb::CreateFileTypeRequest { name: name.into() });
        files.create_file_type(req).await.expect("file type");
    }
    walk(async |page_size, page_token| {
        let req = fpb::ListFileTypesRequest { page_size, page_token, ..Default::default() };
        let list = files.list_file_types(suite.request(&admin, req)).await.expect("list").into_inner();
        (list.file_types.into_iter().map(|t| t.id).collect(), list.next_page_token)
    })
    .await;
}

#[tokio::test]
async fn cases_pages_special_groups() {
    let suite = Suite::start().await;
    let admin = suite.admin_token().await;
    let mut cases = CasesServiceClient::new(suite.channel(Service::Cases));
    for name in ["Многодетные", "Инвалиды", "Пенсионеры"] {
        let req = suite.request(&admin, cpb::CreateSpecialGroupRequest { name: name.into() });
        cases.create_special_group(req).await.expect("group");
    }
    walk(async |page_size, page_token| {
        let req = cpb::ListSpecialGroupsRequest { page_size, page_token, ..Default::default() };
        let list = cases.list_special_groups(suite.request(&admin, req)).await.expect("list").into_inner();
        (list.groups.into_iter().map(|g| g.id).collect(), list.next_page_token)
    })
    .await;
}

#[tokio::test]
async fn scheduler_pages_occurrences() {
    let suite = Suite::start().await;
    let admin = suite.admin_token().await;
    let mut cases = CasesServiceClient::new(suite.channel(Service::Cases));
    let citizen = cases
        .create_citizen(suite.request(
            &admin,
            cpb::CreateCitizenRequest {
                surname: "Листова".into(),
                name: "Мария".into(),
                phone: "+7 912 345-67-89".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("citizen")
        .into_inner();
    let today = chrono::Utc::now().date_naive();
    let day = |n: u64| (today + chrono::Days::new(n)).to_string();
    let mut scheduler = SchedulerServiceClient::new(suite.channel(Service::Scheduler));
    let series = spb::CreateSeriesRequest {
        citizen_id: citizen.id.clone(),
        kind: spb::ReminderKind::CuratorNote as i32,
        description: "Позвонить".into(),
        start_date: day(2),
        time_of_day: "10:00".into(),
        recurrence: Some(spb::Recurrence { frequency: spb::Frequency::Daily as i32, count: 5, ..Default::default() }),
        ..Default::default()
    };
    // The scheduler learns of the citizen from the bus.
    wait_within("the series created", Duration::from_secs(10), async || {
        scheduler.clone().create_series(suite.request(&admin, series.clone())).await.ok()
    })
    .await;
    walk(async |page_size, page_token| {
        let req = spb::ListOccurrencesRequest {
            citizen_id: citizen.id.clone(),
            from_date: day(1),
            to_date: day(10),
            page_size,
            page_token,
            ..Default::default()
        };
        let list = scheduler.list_occurrences(suite.request(&admin, req)).await.expect("list").into_inner();
        (list.occurrences.into_iter().map(|o| o.id).collect(), list.next_page_token)
    })
    .await;
}
