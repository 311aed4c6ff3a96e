//! Issue 9, point 4: a curator reaches only their own citizens' files, here
//! in files (DESIGN §3: authorisation in the owning service), not only in the
//! gateway. Who curates whom is files' projection of cases' citizen events.
use opeka_proto::events as ev;
use opeka_proto::files as pb;
use opeka_proto::identity::Role;
use tonic::Code;

use crate::helpers::{TestApp, download, expect_code, expect_invalid, header, samples, upload};

#[tokio::test]
async fn issue9_point4_a_curator_cannot_list_download_or_upload_another_curators_citizens_files() {
    let app = TestApp::start().await;
    let t = app.tenant("agency-a").await;
    let admin = app.admin(&t).await;
    let mine = app.staff(&t, &admin, "kuratova", Role::Curator).await;
    let other = app.staff(&t, &admin, "drugova", Role::Curator).await;
    let my_citizen = app.citizen(&admin, "Петров").await;
    let their_citizen = app.citizen(&admin, "Сидоров").await;
    app.curate(&t, my_citizen, &mine).await;
    let their_card = app.curate(&t, their_citizen, &other).await;
    let my_file = upload(&mine.files, header(my_citizen, "mine.pdf"), &samples::pdf(100)).await.expect("own citizen");
    let their_file =
        upload(&other.files, header(their_citizen, "theirs.pdf"), &samples::pdf(100)).await.expect("own citizen");

    // Listing everything shows only one's own citizens' files.
    let mut cf = mine.files.clone();
    let all = cf.list_files(pb::ListFilesRequest::default()).await.unwrap().into_inner();
    assert_eq!(all.files.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(), [my_file.id.as_str()]);
    assert_eq!(all.total_size, 1);
    // Asking for the other citizen by id shows nothing either.
    let theirs = pb::ListFilesRequest { citizen_id: their_citizen.to_string(), ..Default::default() };
    assert_eq!(cf.list_files(theirs).await.unwrap().into_inner().total_size, 0);
    // Their file does not exist for this curator: metadata, bytes, type.
    expect_code(cf.get_file(pb::GetFileRequest { id: their_file.id.clone() }).await, Code::NotFound);
    expect_code(download(&mine.files, &their_file.id).await, Code::NotFound);
    let set = pb::SetFileTypeRequest { id: their_file.id.clone(), file_type_id: String::new() };
    expect_code(cf.set_file_type(set).await, Code::NotFound);
    // Nor can they put a file onto the other curator's citizen.
    expect_invalid(upload(&mine.files, header(their_citizen, "x.pdf"), &samples::pdf(100)).await, "citizen_id");
    assert_eq!(app.count_files().await, 2);

    // The admin sees both.
    let all = admin.files.clone().list_files(pb::ListFilesRequest::default()).await.unwrap().into_inner();
    assert_eq!(all.total_size, 2);

    // A transfer (cases' `citizens_transferred`) moves the files with the citizen.
    let moved = ev::envelope::Body::CitizensTransferred(ev::CitizensTransferred {
        citizen_ids: vec![their_card.to_string()],
        from_curator_id: other.account_id.to_string(),
        to_curator_id: mine.account_id.to_string(),
    });
    opeka_platform::testing::publish_event(&app.platform, (t.id, &t.slug), "cases", "citizens_transferred", moved)
        .await;
    opeka_platform::testing::wait_curator(&app.owner_pool, their_citizen, Some(mine.account_id)).await;
    download(&mine.files, &their_file.id).await.expect("now their curator");
    expect_code(download(&other.files, &their_file.id).await, Code::NotFound);
}
