//! Issue 9, point 6: the SMTP form cannot send the stored password to a new
//! host, «Проверить соединение» is no port scanner (one fixed answer for a
//! closed, a silent and a non-SMTP port, no banner text), and link-local,
//! metadata and (unless allowed) loopback hosts are refused.
use std::time::Duration;

use opeka_proto::notifications as pb;
use tokio::io::AsyncWriteExt;

use crate::helpers::{SMTP_PASSWORD, TestApp, expect_invalid};

fn form(host: &str, port: u16, password: &str) -> pb::UpdateSmtpSettingsRequest {
    pb::UpdateSmtpSettingsRequest {
        host: host.into(),
        port: u32::from(port),
        tls: pb::SmtpTls::None as i32,
        sender_address: "robot@agency.test".into(),
        sender_name: "Опека".into(),
        username: String::new(),
        password: password.into(),
    }
}

#[tokio::test]
async fn issue9_point6_a_new_smtp_host_or_port_needs_the_password_again() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    app.configure_smtp(&t).await;
    let mut c = app.admin(&t);
    let (host, port) = (app.smtp.host.clone(), app.smtp.port);

    // Another host (it need not resolve here) or another port with no
    // password: refused beside the password field, nothing changes.
    let st = expect_invalid(c.update_smtp_settings(form("smtp.attacker.example", port, "")).await, "password");
    assert!(st.message().contains("пароль ещё раз"), "{}", st.message());
    expect_invalid(c.update_smtp_settings(form(&host, port.wrapping_add(1).max(1), "")).await, "password");
    let saved: (String, i32) =
        sqlx::query_as("select smtp_host, smtp_port from notifications.channel_settings where tenant_id = $1")
            .bind(t.id)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    assert_eq!(saved, (host.clone(), i32::from(port)));

    // The same server with no password keeps the stored one; a new server
    // with its password is fine.
    let same = c.update_smtp_settings(form(&host, port, "")).await.expect("same server").into_inner();
    assert!(same.smtp.expect("smtp").password_set);
    let moved = c.update_smtp_settings(form("smtp.attacker.example", 587, SMTP_PASSWORD)).await.expect("new server");
    assert_eq!(moved.into_inner().smtp.expect("smtp").host, "smtp.attacker.example");
}

/// A listener that accepts and then does `behave` with each connection.
async fn listener(banner: Option<&'static str>) -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = l.accept().await {
            tokio::spawn(async move {
                if let Some(b) = banner {
                    let _ = sock.write_all(b.as_bytes()).await;
                }
                // Hold the connection open without speaking SMTP.
                tokio::time::sleep(Duration::from_secs(30)).await;
                drop(sock);
            });
        }
    });
    port
}

#[tokio::test]
async fn issue9_point6_check_connection_answers_one_fixed_message_for_closed_open_and_banner_ports() {
    let app = TestApp::start().await;
    let t = app.tenant("agency").await;
    app.configure_smtp(&t).await;
    let mut c = app.admin(&t);

    let closed = opeka_platform::testing::free_port();
    let silent = listener(None).await;
    let nats_like =
        listener(Some("INFO {\"server_id\":\"NDSECRETSERVERID\",\"version\":\"2.15.0\",\"auth_required\":false}\r\n"))
            .await;
    let mut answers = Vec::new();
    for port in [closed, silent, nats_like] {
        c.update_smtp_settings(form("127.0.0.1", port, SMTP_PASSWORD)).await.expect("save");
        let r = c.check_smtp(pb::CheckSmtpRequest {}).await.unwrap().into_inner();
        assert!(!r.ok, "{}", r.message);
        for leak in ["INFO", "server_id", "NDSECRET", "2.15", &port.to_string(), "127.0.0.1"] {
            assert!(!r.message.contains(leak), "the answer leaks «{leak}»: {}", r.message);
        }
        answers.push(r.message);
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "closed, silent and banner ports answer alike: {answers:#?}");
    assert!(answers[0].starts_with("Соединение отсутствует: "), "{}", answers[0]);

    // The real sink still answers «Успешно».
    app.configure_smtp(&t).await;
    let ok = c.check_smtp(pb::CheckSmtpRequest {}).await.unwrap().into_inner();
    assert!(ok.ok, "{}", ok.message);
}

#[tokio::test]
async fn issue9_point6_metadata_link_local_and_loopback_smtp_hosts_are_refused() {
    let app = TestApp::start_with(|s| s.smtp_allow_loopback = false).await;
    let t = app.tenant("agency").await;
    let mut c = app.admin(&t);
    for host in [
        "169.254.169.254",
        "169.254.10.20",
        "fe80::1",
        "fd00:ec2::254",
        "100.100.100.200",
        "0.0.0.0",
        "127.0.0.1",
        "localhost",
    ] {
        let st = expect_invalid(c.update_smtp_settings(form(host, 25, SMTP_PASSWORD)).await, "host");
        assert!(st.message().contains("недопустим"), "{host}: {}", st.message());
    }
    let rows: i64 =
        sqlx::query_scalar("select count(*) from notifications.channel_settings where smtp_host is not null")
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    assert_eq!(rows, 0, "nothing was saved");
}
