//! Email and texts end to end: the Outbox, Mailgun through its fake (sends, errors, retries,
//! signed webhooks applied once), suppression at send time, unsubscribe links, placeholders,
//! and a crash in the middle of a batch (no duplicate at the provider, no silent gap).

use std::time::Duration;

use fakes::{Failure, FakeMailgun, MailgunConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Api, TestApp, sleep, spawn_app};

const SCOPES: &str = "workspaces:read,workspaces:write,contacts:read,contacts:write,messages:read,messages:write,settings:write";
const DOMAIN: &str = "mg.example.test";
const SIGNING_KEY: &str = "fake-signing-key-0123";

fn mailgun() -> FakeMailgun {
    FakeMailgun::start(MailgunConfig {
        api_key: "key-fake-mailgun".into(),
        domain: DOMAIN.into(),
        webhook_signing_key: SIGNING_KEY.into(),
    })
    .expect("fake mailgun")
}

/// A user with an API key, a workspace and one contact; answers (api, workspace, contact).
async fn setup(app: &TestApp, user: &str, email: &str) -> (Api, i64, i64) {
    app.add_user(user);
    let api = app.api(&app.api_key(user, SCOPES));
    let (status, ws) = api
        .send(
            Method::POST,
            "/api/v1/workspaces",
            json!({"name": "RateReady"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ws}");
    let ws = ws["id"].as_i64().unwrap();
    let contact = add_contact(&api, ws, "Ada", email, "+14155550123").await;
    (api, ws, contact)
}

async fn add_contact(api: &Api, ws: i64, first: &str, email: &str, phone: &str) -> i64 {
    let (status, c) = api
        .send(
            Method::POST,
            &format!("/api/v1/workspaces/{ws}/contacts"),
            json!({"first_name": first, "primary_email": email, "primary_phone": phone, "company": ""}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    c["id"].as_i64().unwrap()
}

async fn connect_mailgun(api: &Api, ws: i64, fake: &FakeMailgun) {
    let (status, body) = api
        .send(
            Method::PUT,
            &format!("/api/v1/workspaces/{ws}/email-provider"),
            json!({
                "kind": "mailgun", "domain": DOMAIN, "region": "us",
                "api_key": "key-fake-mailgun", "webhook_signing_key": SIGNING_KEY,
                "from": "Ana Lopez <ana@mg.example.test>", "base_url": fake.base_url(),
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["kind"], "mailgun");
    assert!(
        !body.to_string().contains("key-fake-mailgun"),
        "the key is never shown back: {body}"
    );
}

async fn send(api: &Api, contact: i64, body: Value) -> (StatusCode, Value) {
    api.send(
        Method::POST,
        &format!("/api/v1/contacts/{contact}/messages"),
        body,
    )
    .await
}

/// Polls the message until `done` holds, or fails after `secs`.
async fn wait_for(api: &Api, id: i64, secs: u64, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..secs * 10 {
        let (status, m) = api.get(&format!("/api/v1/messages/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{m}");
        if done(&m) {
            return m;
        }
        last = m;
        sleep(100).await;
    }
    panic!("message {id} did not settle in {secs} s: {last}");
}

async fn log_summaries(api: &Api, contact: i64) -> Vec<String> {
    let (_, log) = api.get(&format!("/api/v1/contacts/{contact}/log")).await;
    log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["summary"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn without_a_provider_messages_go_to_the_outbox_with_placeholders_filled() {
    let app = spawn_app().await;
    let (api, ws, contact) = setup(&app, "olga", "ada@example.com").await;
    let nameless = add_contact(&api, ws, "", "nameless@example.com", "+14155550124").await;

    let (status, m) = send(
        &api,
        contact,
        json!({"channel": "email", "subject": "Hello {{first_name}}", "body": "Hi {{first_name|there}}, about {{company|your business}}.", "idempotency_key": "k-1"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{m}");
    let id = m["id"].as_i64().unwrap();
    let m = wait_for(&api, id, 10, |m| m["status"] == "sent").await;
    assert_eq!(m["provider"], "outbox");
    assert_eq!(m["subject"], "Hello Ada");
    assert_eq!(m["body"], "Hi Ada, about your business.");
    assert!(m["message_id_header"].as_str().unwrap().contains('@'));

    // The same idempotency key answers the same message: nothing is queued twice.
    let (status, again) = send(
        &api,
        contact,
        json!({"channel": "email", "subject": "Hello {{first_name}}", "body": "x", "idempotency_key": "k-1"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(again["id"], id);

    // The fallback fills an empty value.
    let (_, m2) = send(
        &api,
        nameless,
        json!({"channel": "email", "subject": "Hi", "body": "Dear {{first_name|friend}}"}),
    )
    .await;
    let m2 = wait_for(&api, m2["id"].as_i64().unwrap(), 10, |m| {
        m["status"] == "sent"
    })
    .await;
    assert_eq!(m2["body"], "Dear friend");

    // A text with no Twilio number also waits in the Outbox (outside quiet hours) or the queue.
    let (status, t) = send(
        &api,
        contact,
        json!({"channel": "sms", "body": "Hi {{first_name}}"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{t}");
    assert_eq!(t["recipient"], "+14155550123");

    assert!(
        log_summaries(&api, contact)
            .await
            .iter()
            .any(|s| s == "Email kept in the Outbox: Hello Ada"),
        "the send is in the contact's log"
    );

    // The Outbox page shows the message as it would have left.
    let mut browser = app.browser();
    browser.login("olga", crate::harness::PASSWORD).await;
    let (status, page) = browser.get_text(&format!("/w/{ws}/messages")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Hello Ada") && page.contains("Message-ID"),
        "{page}"
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_drafts_and_blocked_contacts_are_refused_with_the_reason() {
    let app = spawn_app().await;
    let (api, ws, contact) = setup(&app, "bert", "ada@example.com").await;
    let (status, body) = send(
        &api,
        contact,
        json!({"channel": "email", "subject": "", "body": "x"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "subject");
    let (status, body) = send(
        &api,
        contact,
        json!({"channel": "email", "subject": "Hi", "body": "Hi {{frist_name}}"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("frist_name"),
        "{body}"
    );
    let (status, body) = send(&api, contact, json!({"channel": "fax", "body": "x"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = send(
        &api,
        contact,
        json!({"channel": "sms", "body": "x".repeat(1601)}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let no_email = add_contact(&api, ws, "Phone Only", "", "+14155550199").await;
    let (status, body) = send(
        &api,
        no_email,
        json!({"channel": "email", "subject": "Hi", "body": "x"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no email address"),
        "{body}"
    );

    // Another user's contact and message are not found; a key without the scope is refused.
    app.add_user("eve");
    let eve = app.api(&app.api_key("eve", SCOPES));
    let (status, _) = send(
        &eve,
        contact,
        json!({"channel": "email", "subject": "Hi", "body": "x"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, m) = send(
        &api,
        contact,
        json!({"channel": "email", "subject": "Hi", "body": "x"}),
    )
    .await;
    let (status, _) = eve.get(&format!("/api/v1/messages/{}", m["id"])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let reader = app.api(&app.api_key("bert", "contacts:read"));
    let (status, _) = send(
        &reader,
        contact,
        json!({"channel": "email", "subject": "Hi", "body": "x"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test]
async fn mailgun_sends_and_its_signed_events_are_applied_once() {
    let app = spawn_app().await;
    let fake = mailgun();
    let (api, ws, contact) = setup(&app, "mona", "ada@example.com").await;
    connect_mailgun(&api, ws, &fake).await;
    let hook = format!("{}/webhooks/mailgun/{ws}", app.url);
    fake.set_webhook(
        Some(hook.clone()),
        vec!["delivered".into(), "opened".into()],
    );

    let (status, m) = send(&api, contact, json!({"channel": "email", "subject": "Rates for {{first_name}}", "body": "Hello {{first_name}}"})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{m}");
    let id = m["id"].as_i64().unwrap();
    let m = wait_for(&api, id, 10, |m| {
        m["status"] == "delivered"
            && m["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["kind"] == "opened")
    })
    .await;
    assert_eq!(m["provider"], "mailgun");
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    let mail = &sent[0];
    assert_eq!(mail.subject, "Rates for Ada");
    assert_eq!(mail.to, vec!["ada@example.com".to_owned()]);
    assert_eq!(
        mail.variable("pi_crm_message_id"),
        Some(id.to_string().as_str())
    );
    assert!(
        mail.header("Message-ID")
            .is_some_and(|v| v.contains(m["message_id_header"].as_str().unwrap()))
    );
    assert!(
        mail.html
            .as_deref()
            .is_some_and(|h| h.contains("Hello Ada"))
    );
    assert_eq!(
        m["provider_message_id"].as_str().unwrap(),
        mail.id.trim_start_matches('<').trim_end_matches('>')
    );
    let log = log_summaries(&api, contact).await;
    for expected in [
        "Email sent: Rates for Ada",
        "Email delivered: Rates for Ada",
        "Email opened: Rates for Ada",
    ] {
        assert!(
            log.iter().any(|s| s == expected),
            "{expected} missing from {log:?}"
        );
    }

    // A repeated delivery of the same event answers 200 and changes nothing.
    let payload = fake.event_payload("clicked", mail, json!({"url": "https://example.com/rates"}));
    assert_eq!(fake.post_webhook_async(&hook, &payload).await.unwrap(), 200);
    assert_eq!(fake.post_webhook_async(&hook, &payload).await.unwrap(), 200);
    let (_, m) = api.get(&format!("/api/v1/messages/{id}")).await;
    let clicks = m["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "clicked")
        .count();
    assert_eq!(clicks, 1, "applied exactly once: {m}");

    // A forged signature, a stale timestamp and a reused token are refused with 406.
    let mut forged = fake.event_payload("delivered", mail, json!({}));
    forged["signature"]["signature"] = json!("00".repeat(32));
    assert_eq!(fake.post_webhook_async(&hook, &forged).await.unwrap(), 406);
    let mut replay = fake.event_payload("unsubscribed", mail, json!({}));
    replay["signature"] = payload["signature"].clone();
    assert_eq!(fake.post_webhook_async(&hook, &replay).await.unwrap(), 406);
    let stale = json!({"signature": {"timestamp": "1000000000", "token": "t".repeat(50),
        "signature": fakes::mailgun::signature(SIGNING_KEY, "1000000000", &"t".repeat(50))},
        "event-data": {"id": "stale-1", "event": "unsubscribed", "recipient": "ada@example.com"}});
    assert_eq!(fake.post_webhook_async(&hook, &stale).await.unwrap(), 406);
    // None of them unsubscribed Ada.
    let (status, _) = send(
        &api,
        contact,
        json!({"channel": "email", "subject": "Still here", "body": "x"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // Another workspace's path does not take this workspace's events.
    let other = format!("{}/webhooks/mailgun/{}", app.url, ws + 1000);
    assert_eq!(
        fake.post_webhook_async(&other, &fake.event_payload("delivered", mail, json!({})))
            .await
            .unwrap(),
        406
    );
    app.stop().await;
}

#[tokio::test]
async fn bounces_and_unsubscribes_stop_later_sends() {
    let app = spawn_app().await;
    let fake = mailgun();
    let (api, ws, contact) = setup(&app, "nina", "ada@example.com").await;
    let second = add_contact(&api, ws, "Bo", "bo@example.com", "+14155550125").await;
    connect_mailgun(&api, ws, &fake).await;
    let hook = format!("{}/webhooks/mailgun/{ws}", app.url);

    let (_, m) = send(
        &api,
        contact,
        json!({"channel": "email", "subject": "Hi", "body": "x"}),
    )
    .await;
    let id = m["id"].as_i64().unwrap();
    wait_for(&api, id, 10, |m| m["status"] == "sent").await;
    let mail = fake.sent().pop().unwrap();
    let bounce = fake.event_payload(
        "failed",
        &mail,
        json!({"severity": "permanent", "reason": "generic", "delivery-status": {"code": 550, "description": "No such mailbox"}}),
    );
    assert_eq!(fake.post_webhook_async(&hook, &bounce).await.unwrap(), 200);
    let m = wait_for(&api, id, 5, |m| m["status"] == "bounced").await;
    assert!(m["events"].to_string().contains("No such mailbox"), "{m}");
    let (status, body) = send(
        &api,
        contact,
        json!({"channel": "email", "subject": "Again", "body": "x"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bounced"),
        "{body}"
    );
    assert!(
        log_summaries(&api, contact)
            .await
            .iter()
            .any(|s| s == "Email bounced: Hi")
    );

    // The unsubscribe link: a GET shows a button (mail scanners follow links), the POST
    // (also what mail programs send for one-click) unsubscribes.
    let link = app::messaging::compose::unsubscribe_url(
        app.app(),
        domain::ids::WorkspaceId(ws),
        domain::ids::ContactId(second),
    );
    let page = reqwest::get(&link).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let (status, _) = send(
        &api,
        second,
        json!({"channel": "email", "subject": "Before", "body": "x"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "a GET did not unsubscribe");
    let res = reqwest::Client::new()
        .post(&link)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (status, body) = send(
        &api,
        second,
        json!({"channel": "email", "subject": "After", "body": "x"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unsubscribed"),
        "{body}"
    );
    // A link with a wrong signature is not found.
    let forged = format!("{}x", &link[..link.len() - 1]);
    assert_eq!(
        reqwest::get(&forged).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    app.stop().await;
}

#[tokio::test]
async fn provider_errors_are_retried_or_reported_in_words() {
    let app = spawn_app().await;
    let fake = mailgun();
    let (api, ws, contact) = setup(&app, "paul", "ada@example.com").await;
    connect_mailgun(&api, ws, &fake).await;

    // 429 with Retry-After, then a server error: retried until it goes, once.
    fake.fail_next(Failure {
        status: 429,
        body: r#"{"message":"slow down"}"#.into(),
        retry_after: Some(1),
    });
    fake.fail_next(Failure {
        status: 503,
        body: "unavailable".into(),
        retry_after: None,
    });
    let (_, m) = send(
        &api,
        contact,
        json!({"channel": "email", "subject": "Retry me", "body": "x"}),
    )
    .await;
    let id = m["id"].as_i64().unwrap();
    let m = wait_for(&api, id, 20, |m| m["status"] == "sent").await;
    assert_eq!(m["attempts"], 3, "{m}");
    assert_eq!(fake.sent().len(), 1, "sent exactly once");
    assert_eq!(
        m["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "retry")
            .count(),
        2
    );

    // A refused key is not retried, and the reason says what to do.
    fake.fail_next(Failure {
        status: 401,
        body: "Forbidden".into(),
        retry_after: None,
    });
    let before = fake.requests();
    let (_, m) = send(
        &api,
        contact,
        json!({"channel": "email", "subject": "Key", "body": "x"}),
    )
    .await;
    let m = wait_for(&api, m["id"].as_i64().unwrap(), 10, |m| {
        m["status"] == "failed"
    })
    .await;
    assert!(m["last_error"].as_str().unwrap().contains("API key"), "{m}");
    sleep(1500).await;
    assert_eq!(
        fake.requests(),
        before + 1,
        "a permanent error is not retried"
    );

    // A failed message can be sent again by a person.
    let (status, again) = api
        .send(
            Method::POST,
            &format!("/api/v1/messages/{}/resend", m["id"]),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    wait_for(&api, m["id"].as_i64().unwrap(), 10, |m| {
        m["status"] == "sent"
    })
    .await;

    // A bad domain is a settings problem, in words.
    let (status, body) = api
        .send(
            Method::PUT,
            &format!("/api/v1/workspaces/{ws}/email-provider"),
            json!({"kind": "mailgun", "domain": "not a domain", "region": "us", "api_key": "k", "webhook_signing_key": "s", "from": "a@b.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "domain");
    let (status, body) = api
        .send(
            Method::PUT,
            &format!("/api/v1/workspaces/{ws}/email-provider"),
            json!({"kind": "mailgun", "surprise": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    app.stop().await;
}

/// The real binary, killed with SIGKILL in the middle of a batch: after the restart no
/// message reached the provider twice, every message is accounted for (sent, or `unknown`
/// for a person or a provider event to settle), and none is left behind silently.
#[test]
fn a_crash_in_the_middle_of_a_batch_sends_nothing_twice_and_drops_nothing() {
    use domain::ids::ContactId;
    const N: usize = 60;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(
        crate::cli::add_user(&data, "carl", crate::harness::PASSWORD)
            .status
            .success()
    );
    let fake = mailgun();
    let app = app::App::open(app::Settings::new(data.clone())).unwrap();
    let user = app::accounts::find_user(&app, "carl").unwrap();
    let caller = app::Caller::browser(user.id, None);
    let ws = app::workspaces::create(
        &app,
        &caller,
        app::workspaces::CreateWorkspace {
            name: "Loans".into(),
            ..Default::default()
        },
    )
    .unwrap()
    .id;
    app::seed::contacts(&app, &caller, ws, N, 7).unwrap();
    app::messaging::providers::set_email_provider(
        &app,
        &caller,
        ws,
        &app::messaging::providers::EmailProviderInput {
            kind: "mailgun".into(),
            domain: DOMAIN.into(),
            region: "us".into(),
            api_key: "key-fake-mailgun".into(),
            webhook_signing_key: SIGNING_KEY.into(),
            from: "Loans <loans@mg.example.test>".into(),
            base_url: Some(fake.base_url()),
            ..Default::default()
        },
    )
    .unwrap();
    let ids: Vec<ContactId> = app::contacts::search(
        &app,
        &caller,
        ws,
        &Default::default(),
        domain::pagination::PageRequest::new(Some(1), Some(100)),
    )
    .unwrap()
    .items
    .into_iter()
    .map(|c| c.id)
    .collect();
    let draft = app::messaging::Draft {
        channel: domain::messaging::Channel::Email,
        subject: "Rates are down, {{first_name|friend}}".into(),
        body: "Hello {{first_name|there}}".into(),
    };

    let server = crate::cli::Server::start(&data, &[]);
    let outcome =
        app::messaging::compose::queue_for_many(&app, &caller, ws, &ids, &draft, "crash-test")
            .unwrap();
    let queued = outcome.queued;
    assert!(
        queued >= N - 5,
        "most seeded contacts have an email: {outcome:?}"
    );
    // Kill it mid-batch: some sent, most not yet.
    let mut waited = 0;
    while fake.sent().len() < 10 {
        std::thread::sleep(Duration::from_millis(10));
        waited += 1;
        assert!(waited < 3000, "the worker started sending");
    }
    let mut child = server.child;
    child.kill().unwrap();
    child.wait().unwrap();
    let at_kill = fake.sent().len();
    assert!(
        at_kill < queued,
        "killed before the batch ended ({at_kill} of {queued})"
    );

    // Restart: what was in flight becomes unknown, the rest is sent.
    let server = crate::cli::Server::start(&data, &[]);
    let statuses = |app: &app::App| -> Vec<(i64, String)> {
        (1..=(queued as i64 + 5))
            .filter_map(|id| {
                app::messaging::compose::get(app, &caller, domain::ids::MessageId(id))
                    .ok()
                    .map(|m| (id, m.status.as_str().to_owned()))
            })
            .collect()
    };
    let mut settled = Vec::new();
    for _ in 0..300 {
        settled = statuses(&app);
        if settled.iter().all(|(_, s)| s != "queued" && s != "sending") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    server.stop_gracefully();
    assert_eq!(settled.len(), queued, "every queued message is still there");
    assert!(
        settled.iter().all(|(_, s)| s == "sent" || s == "unknown"),
        "each message is sent or waits for a person, none left queued: {settled:?}"
    );
    let unknown: Vec<i64> = settled
        .iter()
        .filter(|(_, s)| s == "unknown")
        .map(|(id, _)| *id)
        .collect();
    assert!(
        unknown.len() <= 1,
        "only the message in flight is unknown: {unknown:?}"
    );

    // The provider got each message at most once, and every `sent` message exactly once.
    let mut at_provider: Vec<i64> = fake
        .sent()
        .iter()
        .map(|m| m.variable("pi_crm_message_id").unwrap().parse().unwrap())
        .collect();
    at_provider.sort_unstable();
    let mut unique = at_provider.clone();
    unique.dedup();
    assert_eq!(
        unique.len(),
        at_provider.len(),
        "no message reached Mailgun twice"
    );
    for (id, status) in &settled {
        if status == "sent" {
            assert!(
                at_provider.binary_search(id).is_ok(),
                "message {id} is marked sent and was sent"
            );
        }
    }
}

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "fake-twilio-token";
const OUR_NUMBER: &str = "+14155550100";
const ADA_PHONE: &str = "+14155550123";

fn twilio() -> fakes::FakeTwilio {
    fakes::FakeTwilio::start(fakes::TwilioConfig {
        account_sid: SID.into(),
        auth_token: TOKEN.into(),
    })
    .expect("fake twilio")
}

/// A time zone where the local hour now is in `hours` (texts wait outside 8 am to 9 pm).
fn zone_where_hour_is(hours: std::ops::Range<u32>) -> &'static str {
    use chrono::Timelike;
    const ZONES: &[&str] = &[
        "Pacific/Honolulu",
        "America/Anchorage",
        "America/Los_Angeles",
        "America/Denver",
        "America/Chicago",
        "America/New_York",
        "America/Sao_Paulo",
        "Atlantic/Azores",
        "Europe/London",
        "Europe/Paris",
        "Europe/Athens",
        "Europe/Moscow",
        "Asia/Dubai",
        "Asia/Karachi",
        "Asia/Dhaka",
        "Asia/Bangkok",
        "Asia/Shanghai",
        "Asia/Tokyo",
        "Australia/Brisbane",
        "Pacific/Noumea",
        "Pacific/Auckland",
        "Pacific/Kiritimati",
    ];
    let now = chrono::Utc::now();
    ZONES
        .iter()
        .copied()
        .find(|z| {
            let tz: chrono_tz::Tz = z.parse().unwrap();
            hours.contains(&now.with_timezone(&tz).hour())
        })
        .expect("some zone has that hour now")
}

async fn connect_twilio(app: &TestApp, api: &Api, ws: i64, fake: &fakes::FakeTwilio, zone: &str) {
    let (status, body) = api
        .send(
            Method::PUT,
            "/api/v1/sms-provider",
            json!({"kind": "twilio", "account_sid": SID, "auth_token": TOKEN, "from_number": OUR_NUMBER,
                   "base_url": fake.base_url(), "public_url": app.url}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        !body.to_string().contains(TOKEN),
        "the token is never shown back"
    );
    let (status, body) = api
        .send(
            Method::PATCH,
            &format!("/api/v1/workspaces/{ws}"),
            json!({"time_zone": zone, "help_text": "RateReady: rates and loans. Call 415-555-0100."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn texts_go_through_twilio_and_replies_stop_start_and_help_come_back() {
    let app = spawn_app().await;
    let fake = twilio();
    let (api, ws, contact) = setup(&app, "tina", "ada@example.com").await;
    connect_twilio(&app, &api, ws, &fake, zone_where_hour_is(10..19)).await;
    fake.set_status_callbacks(vec!["sent".into(), "delivered".into()]);

    let (status, m) = send(
        &api,
        contact,
        json!({"channel": "sms", "body": "Hi {{first_name}}, rates dropped"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{m}");
    let id = m["id"].as_i64().unwrap();
    let m = wait_for(&api, id, 10, |m| m["status"] == "delivered").await;
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].to.as_str(), sent[0].from.as_str()),
        (ADA_PHONE, OUR_NUMBER)
    );
    assert_eq!(sent[0].body, "Hi Ada, rates dropped");
    assert_eq!(m["provider_message_id"], sent[0].sid.as_str());
    assert_eq!(
        sent[0].status_callback.as_deref(),
        Some(format!("{}/webhooks/twilio/status", app.url).as_str())
    );
    let log = log_summaries(&api, contact).await;
    assert!(
        log.iter().any(|s| s == "Text sent") && log.iter().any(|s| s == "Text delivered"),
        "{log:?}"
    );

    // A reply lands in the contact's log; one from an unknown number needs attention.
    let inbound = format!("{}/webhooks/twilio/sms", app.url);
    let (status, twiml) = fake
        .inbound_async(&inbound, ADA_PHONE, OUR_NUMBER, "Sounds good, call me")
        .await
        .unwrap();
    assert_eq!(status, 200, "{twiml}");
    assert!(twiml.contains("<Response"), "{twiml}");
    assert!(
        log_summaries(&api, contact)
            .await
            .iter()
            .any(|s| s == "Text received")
    );
    fake.inbound_async(&inbound, "+14155550999", OUR_NUMBER, "Who is this?")
        .await
        .unwrap();
    let caller = app::Caller::browser(
        app::accounts::find_user(app.app(), "tina").unwrap().id,
        None,
    );
    let unread = app::messaging::texts::unread(app.app(), &caller).unwrap();
    assert_eq!(unread.len(), 2);
    assert!(
        unread
            .iter()
            .any(|m| m.contact_id.is_none() && m.body == "Who is this?")
    );

    // HELP answers with the workspace's help text.
    let (_, twiml) = fake
        .inbound_async(&inbound, ADA_PHONE, OUR_NUMBER, "HELP")
        .await
        .unwrap();
    assert!(twiml.contains("RateReady: rates and loans"), "{twiml}");

    // STOP: sending is refused with the reason, at queue time; START undoes it.
    fake.inbound_async(&inbound, ADA_PHONE, OUR_NUMBER, "Stop")
        .await
        .unwrap();
    let (status, body) = send(
        &api,
        contact,
        json!({"channel": "sms", "body": "One more?"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("STOP"),
        "{body}"
    );
    fake.inbound_async(&inbound, ADA_PHONE, OUR_NUMBER, "START")
        .await
        .unwrap();
    let (status, body) = send(
        &api,
        contact,
        json!({"channel": "sms", "body": "Welcome back"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    wait_for(&api, body["id"].as_i64().unwrap(), 10, |m| {
        m["status"] == "delivered"
    })
    .await;

    // A forged signature is refused and changes nothing.
    let forged = reqwest::Client::new()
        .post(&inbound)
        .header("X-Twilio-Signature", "bm90IGEgc2lnbmF0dXJl")
        .form(&[
            ("MessageSid", "SM00000000000000000000000000000001"),
            ("From", ADA_PHONE),
            ("To", OUR_NUMBER),
            ("Body", "STOP"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let (status, _) = send(
        &api,
        contact,
        json!({"channel": "sms", "body": "Still allowed"}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    app.stop().await;
}

#[tokio::test]
async fn twilio_opt_outs_and_quiet_hours_hold_texts_back() {
    let app = spawn_app().await;
    let fake = twilio();
    let (api, ws, contact) = setup(&app, "uma", "ada@example.com").await;
    connect_twilio(&app, &api, ws, &fake, zone_where_hour_is(10..19)).await;

    // Twilio says the number opted out (21610): failed, not retried, and suppressed here too.
    fake.opt_out(ADA_PHONE);
    let (_, m) = send(&api, contact, json!({"channel": "sms", "body": "Hello"})).await;
    let m = wait_for(&api, m["id"].as_i64().unwrap(), 10, |m| {
        m["status"] == "failed"
    })
    .await;
    assert!(m["last_error"].as_str().unwrap().contains("STOP"), "{m}");
    let (status, body) = send(&api, contact, json!({"channel": "sms", "body": "Again"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(fake.requests(), 1);

    // At night in the contact's time zone a text waits in the queue.
    let other = add_contact(&api, ws, "Night", "night@example.com", "+14155550177").await;
    let (status, body) = api
        .send(
            Method::PATCH,
            &format!("/api/v1/workspaces/{ws}"),
            json!({"time_zone": zone_where_hour_is(0..6)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, m) = send(&api, other, json!({"channel": "sms", "body": "Late news"})).await;
    let m = wait_for(&api, m["id"].as_i64().unwrap(), 10, |m| {
        m["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "waiting")
    })
    .await;
    assert_eq!(m["status"], "queued", "{m}");
    assert_eq!(fake.requests(), 1, "nothing sent at night");
    app.stop().await;
}

#[tokio::test]
async fn writing_to_a_selection_shows_who_is_skipped_before_anything_is_queued() {
    let app = spawn_app().await;
    let (api, ws, ada) = setup(&app, "vera", "ada@example.com").await;
    let bo = add_contact(&api, ws, "Bo", "bo@example.com", "+14155550125").await;
    let cy = add_contact(&api, ws, "Cy", "", "+14155550126").await;
    let di = add_contact(&api, ws, "Di", "di@example.com", "+14155550127").await;
    let caller = app::Caller::browser(
        app::accounts::find_user(app.app(), "vera").unwrap().id,
        None,
    );
    app::messaging::compose::set_do_not_contact(
        app.app(),
        &caller,
        domain::ids::ContactId(di),
        true,
    )
    .unwrap();
    let mut browser = app.browser();
    browser.login("vera", crate::harness::PASSWORD).await;

    let ids = [ada, bo, cy, di].map(|i| i.to_string());
    let mut fields = vec![("scope", "selected"), ("action", "email")];
    fields.extend(ids.iter().map(|i| ("ids", i.as_str())));
    let res = browser
        .post(&format!("/w/{ws}/contacts/bulk"), &fields)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("id=\"bulk-eligible\">2<"),
        "two will get it: {page}"
    );
    assert!(page.contains("Cy has no email address"), "{page}");
    assert!(page.contains("Di is marked Do Not Contact"), "{page}");
    let (_, m) = api.get(&format!("/api/v1/contacts/{ada}/log")).await;
    assert!(!m.to_string().contains("Outbox"), "nothing queued yet");

    let token = "bulk-token-1";
    let all = ids.join(",");
    let form = [
        ("ids", all.as_str()),
        ("channel", "email"),
        ("subject", "News for {{first_name}}"),
        ("body", "Hello {{first_name|there}}"),
        ("token", token),
    ];
    let res = browser.post(&format!("/w/{ws}/messages/bulk"), &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // A double submit of the same form queues nothing more.
    let res = browser.post(&format!("/w/{ws}/messages/bulk"), &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let view =
        app::messaging::queue::view(app.app(), &caller, domain::ids::WorkspaceId(ws)).unwrap();
    let mine: Vec<_> = view
        .recent
        .iter()
        .filter(|m| m.subject.starts_with("News for"))
        .collect();
    assert_eq!(mine.len(), 2, "one message each for Ada and Bo");
    let marketing = mine.iter().find(|m| m.subject == "News for Ada").unwrap();
    assert!(marketing.marketing);
    assert!(
        marketing
            .headers
            .iter()
            .any(|(k, v)| k == "List-Unsubscribe" && v.contains("/u/"))
            && marketing
                .headers
                .iter()
                .any(|(k, v)| k == "List-Unsubscribe-Post" && v == "List-Unsubscribe=One-Click"),
        "{:?}",
        marketing.headers
    );
    assert!(
        marketing.body_text.contains("Unsubscribe: "),
        "{}",
        marketing.body_text
    );

    // "All matching" travels as the filters, not as a list of every id, and is worked out
    // again when sent: a contact that matches by then gets it too.
    let res = browser
        .post(
            &format!("/w/{ws}/contacts/bulk"),
            &[("scope", "all"), ("action", "email"), ("f.q", "example")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("id=\"bulk-eligible\">2<"),
        "Ada and Bo: {page}"
    );
    assert!(
        page.contains(r#"name="scope" value="all""#)
            && page.contains(r#"name="f.q" value="example""#),
        "{page}"
    );
    assert!(
        !page.contains(r#"name="ids""#),
        "no id list for all matching"
    );
    let late = add_contact(&api, ws, "Ed", "ed@example.com", "+14155550128").await;
    let res = browser
        .post(
            &format!("/w/{ws}/messages/bulk"),
            &[
                ("scope", "all"),
                ("f.q", "example"),
                ("channel", "email"),
                ("subject", "All of {{first_name}}"),
                ("body", "Hi"),
                ("token", "bulk-token-2"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let view =
        app::messaging::queue::view(app.app(), &caller, domain::ids::WorkspaceId(ws)).unwrap();
    let mut all: Vec<_> = view
        .recent
        .iter()
        .filter(|m| m.subject.starts_with("All of"))
        .map(|m| m.contact_id.0)
        .collect();
    all.sort_unstable();
    assert_eq!(
        all,
        vec![ada, bo, late],
        "Cy has no email, Di is Do Not Contact"
    );

    // A bad draft comes back with what was typed and the reason.
    let res = browser
        .post(
            &format!("/w/{ws}/messages/bulk"),
            &[
                ("scope", "all"),
                ("f.q", "example"),
                ("channel", "email"),
                ("subject", ""),
                ("body", "Kept text"),
                ("token", "t3"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("Kept text") && page.contains("Give the email a subject."),
        "{page}"
    );
    app.stop().await;
}

/// Runs the reply reader once, as its thread would (it makes blocking calls).
async fn read_replies(app: &TestApp) -> usize {
    let handle = app.app().clone();
    tokio::task::spawn_blocking(move || app::messaging::replies::poll(&handle))
        .await
        .unwrap()
        .unwrap()
}

/// Connects the workspace's OAuth mailbox the way a person does: Connect, the provider's
/// consent page (the fake approves at once), and back to pi-crm's callback.
async fn connect_in_browser(browser: &mut crate::harness::Browser, ws: i64) -> String {
    let res = browser.post(&format!("/w/{ws}/email/connect"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let consent = crate::harness::location(&res);
    let res = browser.client.get(&consent).send().await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::FOUND,
        "the fake's consent page approves"
    );
    let back = crate::harness::location(&res);
    assert!(
        back.starts_with(&format!("{}/oauth/callback?", browser.base)),
        "{back}"
    );
    let res = browser.client.get(&back).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    crate::harness::location(&res)
}

#[tokio::test]
async fn google_workspace_connects_in_the_browser_sends_through_gmail_and_reads_replies() {
    let app = spawn_app().await;
    let google = fakes::FakeGoogle::start(fakes::GoogleConfig {
        client_id: "pi-crm-client.apps.googleusercontent.com".into(),
        client_secret: "google-secret".into(),
    })
    .unwrap();
    let (api, ws, contact) = setup(&app, "gina", "ada@example.com").await;
    let (status, body) = api
        .send(
            Method::PUT,
            &format!("/api/v1/workspaces/{ws}/email-provider"),
            json!({"kind": "google", "client_id": "pi-crm-client.apps.googleusercontent.com",
                   "client_secret": "google-secret", "base_url": google.base_url()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["account"], Value::Null, "not connected yet");
    // Before connecting, a send fails with what to do.
    let (_, m) = send(
        &api,
        contact,
        json!({"channel": "email", "subject": "Early", "body": "x"}),
    )
    .await;
    let m = wait_for(&api, m["id"].as_i64().unwrap(), 10, |m| {
        m["status"] == "failed"
    })
    .await;
    assert!(m["last_error"].as_str().unwrap().contains("connect"), "{m}");

    let mut browser = app.browser();
    browser.login("gina", crate::harness::PASSWORD).await;
    let landed = connect_in_browser(&mut browser, ws).await;
    assert_eq!(landed, format!("/w/{ws}/email"));
    let (_, body) = api
        .get(&format!("/api/v1/workspaces/{ws}/email-provider"))
        .await;
    assert_eq!(body["account"], google.account(), "{body}");
    let consent = google.consents().pop().unwrap();
    assert_eq!(consent.param("access_type"), Some("offline"));
    assert!(consent.scope.contains("gmail.send") && consent.scope.contains("gmail.readonly"));

    let (_, m) = send(&api, contact, json!({"channel": "email", "subject": "Rates for {{first_name}}", "body": "Hello {{first_name}}"})).await;
    let m = wait_for(&api, m["id"].as_i64().unwrap(), 10, |m| {
        m["status"] == "sent"
    })
    .await;
    let first_id = m["id"].clone();
    let sent = google.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].subject, "Rates for Ada");
    assert_eq!(sent[0].to.len(), 1);
    assert!(
        sent[0].to[0].contains("ada@example.com"),
        "{:?}",
        sent[0].to
    );
    assert_eq!(
        sent[0].message_id,
        format!("<{}>", m["message_id_header"].as_str().unwrap())
    );
    assert_eq!(m["provider_message_id"], sent[0].id.as_str());
    assert!(sent[0].html().is_some_and(|h| h.contains("Hello Ada")) && sent[0].text().is_some());

    // An access token refused is refreshed once and the send goes through.
    google.expire_access_tokens();
    let (_, m) = send(
        &api,
        contact,
        json!({"channel": "email", "subject": "Second", "body": "x"}),
    )
    .await;
    wait_for(&api, m["id"].as_i64().unwrap(), 10, |m| {
        m["status"] == "sent"
    })
    .await;
    assert_eq!(google.sent().len(), 2);

    // Replies: read incrementally, logged on the contact with their HTML cleaned, unread.
    assert_eq!(read_replies(&app).await, 0);
    google.deliver_inbound(
        "Ada <ADA@example.com>",
        "Re: Rates for Ada",
        "Yes please, call me",
        Some("<p>Yes <b>please</b></p><script>alert(1)</script><img src=\"https://t.example/p.gif\">"),
        Some(&sent[0].message_id),
    );
    google.deliver_inbound("stranger@example.net", "Hello?", "Who are you", None, None);
    assert_eq!(read_replies(&app).await, 2);
    assert_eq!(read_replies(&app).await, 0, "each email is taken once");
    let (_, first) = api.get(&format!("/api/v1/messages/{first_id}")).await;
    assert!(
        first["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "replied"),
        "the reply is noted on the message it answers: {first}"
    );
    let (_, log) = api.get(&format!("/api/v1/contacts/{contact}/log")).await;
    let reply = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["summary"] == "Email received: Re: Rates for Ada")
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!(reply["body"], "Yes please, call me");
    let html = reply["meta"]["html"].as_str().unwrap();
    assert!(
        html.contains("<b>please</b>") && !html.contains("script") && !html.contains("<img"),
        "{html}"
    );
    let caller = app::Caller::browser(
        app::accounts::find_user(app.app(), "gina").unwrap().id,
        None,
    );
    let unread = app::messaging::texts::unread(app.app(), &caller).unwrap();
    assert_eq!(unread.len(), 2);
    assert!(
        unread
            .iter()
            .any(|m| m.contact_id.is_none() && m.sender == "stranger@example.net")
    );
    // Opening the contact reads the reply.
    let (status, page) = browser.get_text(&format!("/contacts/{contact}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Show the email as it was sent") && !page.contains("alert(1)"));
    assert_eq!(
        app::messaging::texts::unread(app.app(), &caller)
            .unwrap()
            .len(),
        1
    );

    // Gmail forgot the history: the reader carries on from now.
    google.expire_history();
    assert_eq!(read_replies(&app).await, 0);
    google.deliver_inbound("ada@example.com", "Re: again", "Another", None, None);
    assert_eq!(read_replies(&app).await, 1);

    // The connection revoked: sends fail with "reconnect", they are not retried forever.
    google.revoke_refresh_tokens();
    google.expire_access_tokens();
    let (_, m) = send(
        &api,
        contact,
        json!({"channel": "email", "subject": "Revoked", "body": "x"}),
    )
    .await;
    let m = wait_for(&api, m["id"].as_i64().unwrap(), 10, |m| {
        m["status"] == "failed"
    })
    .await;
    assert!(
        m["last_error"].as_str().unwrap().contains("reconnect"),
        "{m}"
    );
    app.stop().await;
}

#[tokio::test]
async fn microsoft_365_connects_sends_through_graph_and_reads_replies_by_delta() {
    let app = spawn_app().await;
    let ms = fakes::FakeMicrosoft::start(fakes::MicrosoftConfig {
        tenant: "contoso.example".into(),
        client_id: "11111111-2222-3333-4444-555555555555".into(),
        client_secret: "ms-secret".into(),
    })
    .unwrap();
    let (api, ws, contact) = setup(&app, "mike", "ada@example.com").await;
    let (status, body) = api
        .send(
            Method::PUT,
            &format!("/api/v1/workspaces/{ws}/email-provider"),
            json!({"kind": "microsoft", "client_id": "11111111-2222-3333-4444-555555555555",
                   "client_secret": "ms-secret", "tenant": "contoso.example", "base_url": ms.base_url()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    ms.deliver_inbound("old@example.com", "Before pi-crm", "old mail", None, None);
    let mut browser = app.browser();
    browser.login("mike", crate::harness::PASSWORD).await;
    connect_in_browser(&mut browser, ws).await;
    let (_, body) = api
        .get(&format!("/api/v1/workspaces/{ws}/email-provider"))
        .await;
    assert_eq!(body["account"], ms.account(), "{body}");

    let (_, m) = send(
        &api,
        contact,
        json!({"channel": "email", "subject": "Hello {{first_name}}", "body": "From Graph"}),
    )
    .await;
    let m = wait_for(&api, m["id"].as_i64().unwrap(), 10, |m| {
        m["status"] == "sent"
    })
    .await;
    let sent = ms.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].subject, "Hello Ada");
    assert!(
        sent[0].mime.is_some(),
        "sent in MIME form, which keeps our headers"
    );
    assert_eq!(
        sent[0].internet_message_id,
        format!("<{}>", m["message_id_header"].as_str().unwrap())
    );

    // The first round only notes where the inbox is; new mail after that is taken in.
    assert_eq!(
        read_replies(&app).await,
        0,
        "mail from before the connection is not a reply"
    );
    ms.deliver_inbound(
        "ada@example.com",
        "Re: Hello Ada",
        "Thanks!",
        None,
        Some(&sent[0].internet_message_id),
    );
    assert_eq!(read_replies(&app).await, 1);
    let (_, answered) = api.get(&format!("/api/v1/messages/{}", m["id"])).await;
    assert!(
        answered["events"].to_string().contains("replied"),
        "{answered}"
    );
    assert!(
        log_summaries(&api, contact)
            .await
            .iter()
            .any(|s| s == "Email received: Re: Hello Ada")
    );
    assert_eq!(read_replies(&app).await, 0);

    // Throttled: retried after Retry-After, once.
    ms.fail_next(fakes::microsoft::throttled(1));
    let (_, m) = send(
        &api,
        contact,
        json!({"channel": "email", "subject": "Throttled", "body": "x"}),
    )
    .await;
    let m = wait_for(&api, m["id"].as_i64().unwrap(), 15, |m| {
        m["status"] == "sent"
    })
    .await;
    assert_eq!(m["attempts"], 2, "{m}");
    app.stop().await;
}

#[tokio::test]
async fn smtp_sends_with_a_password_and_reports_the_servers_answers() {
    let app = spawn_app().await;
    let smtp = fakes::FakeSmtp::start(fakes::SmtpConfig {
        username: "ana@example.com".into(),
        password: "app-password".into(),
        oauth_token: None,
    })
    .unwrap();
    let (api, ws, contact) = setup(&app, "sara", "ada@example.com").await;
    let put = |password: &str| {
        json!({"kind": "smtp", "host": "127.0.0.1", "port": smtp.port(), "tls": "none",
               "username": "ana@example.com", "password": password, "from": "Ana <ana@example.com>"})
    };
    // TLS may only be off for a server on this machine.
    let (status, body) = api
        .send(Method::PUT, &format!("/api/v1/workspaces/{ws}/email-provider"),
              json!({"kind": "smtp", "host": "smtp.example.com", "tls": "none", "from": "a@example.com"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "tls");
    let (status, body) = api
        .send(
            Method::PUT,
            &format!("/api/v1/workspaces/{ws}/email-provider"),
            put("app-password"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["has_password"].as_bool(), body["host"].as_str()),
        (Some(true), Some("127.0.0.1"))
    );

    let (_, m) = send(
        &api,
        contact,
        json!({"channel": "email", "subject": "By SMTP", "body": "Hello {{first_name}}"}),
    )
    .await;
    let m = wait_for(&api, m["id"].as_i64().unwrap(), 10, |m| {
        m["status"] == "sent"
    })
    .await;
    let sent = smtp.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].envelope_from, "ana@example.com");
    assert_eq!(sent[0].recipients, vec!["ada@example.com".to_owned()]);
    assert_eq!(
        sent[0].header("Message-ID"),
        Some(format!("<{}>", m["message_id_header"].as_str().unwrap()).as_str())
    );
    assert!(sent[0].text().is_some_and(|t| t.contains("Hello Ada")));

    // 451 is tried again; 550 is final, with the server's words.
    smtp.fail_next_rcpt(451, "4.7.1 Try again later");
    let (_, m) = send(
        &api,
        contact,
        json!({"channel": "email", "subject": "Later", "body": "x"}),
    )
    .await;
    wait_for(&api, m["id"].as_i64().unwrap(), 15, |m| {
        m["status"] == "sent"
    })
    .await;
    smtp.fail_next_rcpt(550, "5.1.1 No such user");
    let (_, m) = send(
        &api,
        contact,
        json!({"channel": "email", "subject": "Never", "body": "x"}),
    )
    .await;
    let m = wait_for(&api, m["id"].as_i64().unwrap(), 10, |m| {
        m["status"] == "failed"
    })
    .await;
    assert!(
        m["last_error"].as_str().unwrap().contains("No such user"),
        "{m}"
    );

    // A wrong password is a settings problem, said so.
    let (status, _) = api
        .send(
            Method::PUT,
            &format!("/api/v1/workspaces/{ws}/email-provider"),
            put("wrong"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, m) = send(
        &api,
        contact,
        json!({"channel": "email", "subject": "Wrong", "body": "x"}),
    )
    .await;
    let m = wait_for(&api, m["id"].as_i64().unwrap(), 10, |m| {
        m["status"] == "failed"
    })
    .await;
    assert!(m["last_error"].as_str().unwrap().contains("sign-in"), "{m}");
    app.stop().await;
}

#[tokio::test]
async fn smtp_signs_in_with_xoauth2_through_a_google_connection() {
    let app = spawn_app().await;
    let google = fakes::FakeGoogle::start(fakes::GoogleConfig {
        client_id: "smtp-client".into(),
        client_secret: "smtp-secret".into(),
    })
    .unwrap();
    let smtp = fakes::FakeSmtp::start(fakes::SmtpConfig {
        username: "nobody".into(),
        password: "no-password-works".into(),
        oauth_token: None,
    })
    .unwrap();
    smtp.accept_tokens(google.smtp_token_check());
    let (api, ws, contact) = setup(&app, "xena", "ada@example.com").await;
    let (status, body) = api
        .send(
            Method::PUT,
            &format!("/api/v1/workspaces/{ws}/email-provider"),
            json!({"kind": "smtp", "host": "127.0.0.1", "port": smtp.port(), "tls": "none",
                   "username": google.account(), "from": google.account(), "smtp_oauth": "google",
                   "client_id": "smtp-client", "client_secret": "smtp-secret", "base_url": google.base_url()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["smtp_oauth"], "google");
    let mut browser = app.browser();
    browser.login("xena", crate::harness::PASSWORD).await;
    let landed = connect_in_browser(&mut browser, ws).await;
    assert_eq!(landed, format!("/w/{ws}/email"));
    assert_eq!(
        google.consents().pop().unwrap().scope,
        "https://mail.google.com/",
        "SMTP needs Google's full mail scope"
    );

    let (_, m) = send(
        &api,
        contact,
        json!({"channel": "email", "subject": "Via XOAUTH2", "body": "x"}),
    )
    .await;
    wait_for(&api, m["id"].as_i64().unwrap(), 10, |m| {
        m["status"] == "sent"
    })
    .await;
    let sent = smtp.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].mechanism.as_deref(), Some("XOAUTH2"));
    assert_eq!(
        sent[0].authenticated_as.as_deref(),
        Some(google.account().as_str())
    );
    app.stop().await;
}
