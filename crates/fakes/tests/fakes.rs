//! Black-box tests of the fakes over real HTTP (and raw TCP for SMTP): auth, validation,
//! scripted failures, both body encodings Mailgun accepts, webhooks whose signatures are checked
//! here by an independent computation (not the fakes' own functions), the OAuth flows of Google
//! and Microsoft, Gmail history, Graph delta paging, and SMTP AUTH and DATA.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use fakes::{
    Failure, FakeGoogle, FakeMailgun, FakeMicrosoft, FakeSmtp, FakeTwilio, GoogleConfig,
    MailgunConfig, MicrosoftConfig, SmtpConfig, TwilioConfig,
};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};

const SID: &str = "AC0123456789abcdef0123456789abcdef";

fn mailgun() -> FakeMailgun {
    FakeMailgun::start(MailgunConfig {
        api_key: "key-test".into(),
        domain: "mg.example.test".into(),
        webhook_signing_key: "signing-test".into(),
    })
    .unwrap()
}

fn twilio() -> FakeTwilio {
    FakeTwilio::start(TwilioConfig {
        account_sid: SID.into(),
        auth_token: "token-test".into(),
    })
    .unwrap()
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A request a [`Receiver`] captured.
#[derive(Clone, Debug)]
struct Captured {
    path: String,
    headers: HashMap<String, String>,
    body: String,
}

/// A minimal HTTP server on a std thread that records every request and answers 200 with an
/// empty TwiML document.
struct Receiver {
    url: String,
    captured: Arc<Mutex<Vec<Captured>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let captured = Arc::new(Mutex::new(Vec::new()));
        let sink = captured.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let path = line.split(' ').nth(1).unwrap_or_default().to_owned();
                let mut headers = HashMap::new();
                loop {
                    line.clear();
                    reader.read_line(&mut line).unwrap();
                    let Some((name, value)) = line.trim_end().split_once(':') else {
                        break;
                    };
                    headers.insert(name.to_ascii_lowercase(), value.trim().to_owned());
                }
                let length = headers
                    .get("content-length")
                    .map_or(0, |value| value.parse().unwrap());
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let reply = r#"<?xml version="1.0" encoding="UTF-8"?><Response />"#;
                sink.lock().unwrap().push(Captured {
                    path,
                    headers,
                    body: String::from_utf8(body).unwrap(),
                });
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                    reply.len()
                );
            }
        });
        Receiver { url, captured }
    }

    fn captured(&self) -> Vec<Captured> {
        self.captured.lock().unwrap().clone()
    }
}

/// Mailgun's check, written out independently: hex(HMAC-SHA256(key, timestamp + token)).
fn mailgun_signature_ok(key: &str, payload: &Value) -> bool {
    let signature = &payload["signature"];
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(signature["timestamp"].as_str().unwrap().as_bytes());
    mac.update(signature["token"].as_str().unwrap().as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    expected == signature["signature"].as_str().unwrap()
}

/// Twilio's check, written out independently: base64(HMAC-SHA1(token, url + sorted k+v)).
fn twilio_signature(token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    sorted.dedup();
    let mut data = url.to_owned();
    for (k, v) in &sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn valid_send() -> Vec<(String, String)> {
    form(&[
        ("from", "CRM <crm@mg.example.test>"),
        ("to", "Alice <alice@example.com>, bob@example.org"),
        ("to", "carol@example.net"),
        ("subject", "Hello"),
        ("text", "Hi there"),
        ("h:X-CRM-Id", "42"),
        ("v:crm_message_id", "12345"),
        ("o:tag", "newsletter"),
        ("o:tracking-opens", "yes"),
    ])
}

#[tokio::test]
async fn mailgun_rejects_bad_auth_unknown_domain_and_invalid_forms() {
    let fake = mailgun();
    let http = client();
    let url = format!("{}/v3/mg.example.test/messages", fake.base_url());

    let response = http
        .post(&url)
        .basic_auth("api", Some("wrong"))
        .form(&valid_send())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(response.text().await.unwrap(), "Forbidden");

    let response = http
        .post(format!("{}/v3/other.test/messages", fake.base_url()))
        .basic_auth("api", Some("key-test"))
        .form(&valid_send())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "message": "Domain not found: other.test" })
    );

    let cases: [(&str, &str); 5] = [
        ("from", "from parameter is missing"),
        (
            "to",
            "Need at least one of 'to', 'cc' or 'bcc' parameters specified",
        ),
        ("subject", "subject parameter is missing"),
        (
            "text",
            "Need at least one of 'text', 'html' or 'template' parameters specified",
        ),
        (
            "bad-to",
            "'to' parameter is not a valid address. please check documentation",
        ),
    ];
    for (drop, message) in cases {
        let mut fields: Vec<_> = valid_send()
            .into_iter()
            .filter(|(name, _)| name != drop)
            .collect();
        if drop == "bad-to" {
            fields.push(("to".into(), "not-an-address".into()));
        }
        let response = http
            .post(&url)
            .basic_auth("api", Some("key-test"))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{drop}");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({ "message": message })
        );
    }
    assert_eq!(fake.requests(), 7);
    assert!(fake.sent().is_empty());
}

#[tokio::test]
async fn mailgun_scripted_429_then_urlencoded_and_multipart_sends() {
    let fake = mailgun();
    let http = client();
    let url = format!("{}/v3/mg.example.test/messages", fake.base_url());
    fake.fail_next(Failure {
        status: 429,
        body: r#"{"message":"Too many requests"}"#.into(),
        retry_after: Some(1),
    });

    let response = http
        .post(&url)
        .basic_auth("api", Some("key-test"))
        .form(&valid_send())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(
        response.json::<Value>().await.unwrap()["message"],
        "Too many requests"
    );

    let response = http
        .post(&url)
        .basic_auth("api", Some("key-test"))
        .form(&valid_send())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["message"], "Queued. Thank you.");
    let id = body["id"].as_str().unwrap();
    let inner = id
        .strip_prefix('<')
        .and_then(|id| id.strip_suffix("@mg.example.test>"))
        .unwrap();
    let (stamp, random) = inner.split_once('.').unwrap();
    assert_eq!(stamp.len(), 14);
    assert!(stamp.chars().all(|c| c.is_ascii_digit()));
    assert!(!random.is_empty());

    // The same message as multipart/form-data, with a file part.
    let boundary = "----fakes-test-boundary";
    let mut multipart = String::new();
    for (name, value) in valid_send() {
        multipart.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    multipart.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nfile body\r\n--{boundary}--\r\n"
    ));
    let response = http
        .post(&url)
        .basic_auth("api", Some("key-test"))
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(multipart)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    assert_eq!(fake.requests(), 3);
    let sent = fake.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].id, id);
    for message in &sent {
        assert_eq!(message.from, "CRM <crm@mg.example.test>");
        assert_eq!(
            message.to,
            [
                "Alice <alice@example.com>",
                "bob@example.org",
                "carol@example.net"
            ]
        );
        assert_eq!(message.subject, "Hello");
        assert_eq!(message.text.as_deref(), Some("Hi there"));
        assert_eq!(message.html, None);
        assert_eq!(message.headers, form(&[("X-CRM-Id", "42")]));
        assert_eq!(message.variables, form(&[("crm_message_id", "12345")]));
        assert_eq!(message.tags, ["newsletter"]);
        assert_eq!(message.options, form(&[("tracking-opens", "yes")]));
        assert_eq!(message.domain, "mg.example.test");
    }
    assert!(sent[0].attachments.is_empty());
    assert_eq!(sent[1].attachments, ["a.txt"]);
}

#[tokio::test]
async fn mailgun_sends_signed_webhooks_after_each_send() {
    let fake = mailgun();
    let receiver = Receiver::start();
    let hook = format!("{}/webhooks/mailgun", receiver.url);
    fake.set_webhook(
        Some(hook.clone()),
        vec!["delivered".into(), "opened".into()],
    );
    let response = client()
        .post(format!("{}/v3/mg.example.test/messages", fake.base_url()))
        .basic_auth("api", Some("key-test"))
        .form(&form(&[
            ("from", "crm@mg.example.test"),
            ("to", "Alice <alice@example.com>"),
            ("subject", "Hello"),
            ("html", "<p>Hi</p>"),
            ("v:crm_message_id", "12345"),
        ]))
        .send()
        .await
        .unwrap();
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let deliveries = fake
        .wait_for_deliveries_async(2, Duration::from_secs(5))
        .await;
    assert_eq!(deliveries.len(), 2);
    assert!(
        deliveries
            .iter()
            .all(|d| d.status == Ok(200) && d.url == hook)
    );
    let captured = receiver.captured();
    assert_eq!(captured.len(), 2);
    let bare_id = id.trim_start_matches('<').trim_end_matches('>');
    for (request, event) in captured.iter().zip(["delivered", "opened"]) {
        assert_eq!(request.path, "/webhooks/mailgun");
        assert_eq!(request.headers["content-type"], "application/json");
        let payload: Value = serde_json::from_str(&request.body).unwrap();
        assert!(mailgun_signature_ok("signing-test", &payload));
        assert_eq!(payload["signature"]["token"].as_str().unwrap().len(), 50);
        let data = &payload["event-data"];
        assert_eq!(data["event"], event);
        assert_eq!(data["recipient"], "alice@example.com");
        assert_eq!(data["recipient-domain"], "example.com");
        assert_eq!(data["message"]["headers"]["message-id"], bare_id);
        assert_eq!(data["user-variables"]["crm_message_id"], "12345");
        assert_eq!(data["id"].as_str().unwrap().len(), 22);
        assert!(data["timestamp"].is_f64());
    }
    let delivered: Value = serde_json::from_str(&captured[0].body).unwrap();
    assert_eq!(delivered["event-data"]["delivery-status"]["code"], 250);
}

#[test]
fn mailgun_event_payload_merges_extra_and_posts_blocking() {
    let fake = mailgun();
    let receiver = Receiver::start();
    let message = fakes::MailgunMessage {
        id: "<20260101120000.abc@mg.example.test>".into(),
        from: "crm@mg.example.test".into(),
        to: vec!["alice@example.com".into()],
        cc: vec![],
        bcc: vec![],
        subject: "Hello".into(),
        text: Some("Hi".into()),
        html: None,
        template: None,
        headers: vec![],
        variables: vec![],
        tags: vec![],
        options: vec![],
        attachments: vec![],
        domain: "mg.example.test".into(),
    };
    let payload = fake.event_payload(
        "failed",
        &message,
        json!({
            "severity": "permanent",
            "reason": "suppress-bounce",
            "recipient": "bob@example.org",
            "delivery-status": { "code": 605, "message": "" },
        }),
    );
    assert!(mailgun_signature_ok("signing-test", &payload));
    let data = &payload["event-data"];
    assert_eq!(data["event"], "failed");
    assert_eq!(data["severity"], "permanent");
    assert_eq!(data["reason"], "suppress-bounce");
    assert_eq!(data["recipient"], "bob@example.org");
    assert_eq!(data["recipient-domain"], "example.org");
    assert_eq!(data["delivery-status"]["code"], 605);
    assert_eq!(
        data["message"]["headers"]["message-id"],
        "20260101120000.abc@mg.example.test"
    );

    let status = fake.post_webhook(&receiver.url, &payload).unwrap();
    assert_eq!(status, 200);
    let captured = receiver.captured();
    assert_eq!(
        serde_json::from_str::<Value>(&captured[0].body).unwrap(),
        payload
    );

    let base = fake.base_url();
    drop(fake);
    let refused = std::net::TcpStream::connect(base.trim_start_matches("http://"));
    assert!(
        refused.is_err(),
        "the server stops when the fake is dropped"
    );
}

#[tokio::test]
async fn twilio_auth_account_validation_and_opt_out_errors() {
    let fake = twilio();
    let http = client();
    let url = format!(
        "{}/2010-04-01/Accounts/{SID}/Messages.json",
        fake.base_url()
    );
    let send = |url: String, user: &str, fields: Vec<(String, String)>| {
        http.post(url)
            .basic_auth(user, Some("token-test"))
            .form(&fields)
            .send()
    };
    let ok = form(&[
        ("To", "+15558675310"),
        ("From", "+15017122661"),
        ("Body", "Hi"),
    ]);

    let response = send(url.clone(), "ACwrong", ok.clone()).await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({
            "code": 20003,
            "message": "Authenticate",
            "more_info": "https://www.twilio.com/docs/errors/20003",
            "status": 401,
        })
    );

    let other = format!(
        "{}/2010-04-01/Accounts/AC{}/Messages.json",
        fake.base_url(),
        "f".repeat(32)
    );
    let response = send(other, SID, ok.clone()).await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.json::<Value>().await.unwrap()["code"], 20404);

    let cases = [
        ("To", 21604, "A 'To' phone number is required."),
        ("Body", 21602, "Message body is required."),
    ];
    for (drop, code, message) in cases {
        let fields = ok.iter().filter(|(k, _)| k != drop).cloned().collect();
        let response = send(url.clone(), SID, fields).await.unwrap();
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], code);
        assert_eq!(body["message"], message);
        assert_eq!(body["status"], 400);
    }

    fake.opt_out("+15558675310");
    let response = send(url.clone(), SID, ok.clone()).await.unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], 21610);
    assert_eq!(body["message"], "Attempt to send to unsubscribed recipient");
    assert_eq!(
        body["more_info"],
        "https://www.twilio.com/docs/errors/21610"
    );

    fake.fail_next(Failure {
        status: 429,
        body: r#"{"code":20429,"message":"Too Many Requests","status":429}"#.into(),
        retry_after: None,
    });
    let response = send(url.clone(), SID, ok.clone()).await.unwrap();
    assert_eq!(response.status(), 429);
    assert!(response.headers().get("retry-after").is_none());

    assert_eq!(fake.requests(), 6);
    assert!(fake.sent().is_empty());
}

#[tokio::test]
async fn twilio_success_status_callbacks_and_inbound_are_signed() {
    let fake = twilio();
    let receiver = Receiver::start();
    let callback = format!("{}/webhooks/twilio/status?ws=1", receiver.url);
    fake.set_status_callbacks(vec!["sent".into(), "undelivered:30007".into()]);
    let response = client()
        .post(format!(
            "{}/2010-04-01/Accounts/{SID}/Messages.json",
            fake.base_url()
        ))
        .basic_auth(SID, Some("token-test"))
        .form(&form(&[
            ("To", "+15558675310"),
            ("From", "+15017122661"),
            ("Body", "Hi from the CRM"),
            ("StatusCallback", &callback),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let sid = body["sid"].as_str().unwrap().to_owned();
    assert!(sid.starts_with("SM") && sid.len() == 34);
    assert!(sid[2..].chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(body["status"], "queued");
    assert_eq!(body["num_segments"], "1");
    assert_eq!(body["num_media"], "0");
    assert_eq!(body["account_sid"], SID);
    assert_eq!(body["from"], "+15017122661");
    assert_eq!(body["date_sent"], Value::Null);
    chrono::DateTime::parse_from_rfc2822(body["date_created"].as_str().unwrap()).unwrap();
    assert_eq!(
        body["uri"],
        format!("/2010-04-01/Accounts/{SID}/Messages/{sid}.json")
    );

    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].sid, sid);
    assert_eq!(sent[0].status_callback.as_deref(), Some(callback.as_str()));

    let deliveries = fake
        .wait_for_deliveries_async(2, Duration::from_secs(5))
        .await;
    assert_eq!(
        deliveries
            .iter()
            .map(|d| (d.kind.as_str(), d.status.clone()))
            .collect::<Vec<_>>(),
        [("sent", Ok(200)), ("undelivered", Ok(200))]
    );
    let captured = receiver.captured();
    for (request, status) in captured.iter().zip(["sent", "undelivered"]) {
        assert_eq!(request.path, "/webhooks/twilio/status?ws=1");
        let params: Vec<(String, String)> = serde_urlencoded::from_str(&request.body).unwrap();
        assert_eq!(
            request.headers["x-twilio-signature"],
            twilio_signature("token-test", &callback, &params)
        );
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("MessageSid"), Some(sid.as_str()));
        assert_eq!(get("SmsSid"), Some(sid.as_str()));
        assert_eq!(get("MessageStatus"), Some(status));
        assert_eq!(get("SmsStatus"), Some(status));
        assert_eq!(get("AccountSid"), Some(SID));
        assert_eq!(get("From"), Some("+15017122661"));
        assert_eq!(get("To"), Some("+15558675310"));
        assert_eq!(get("ApiVersion"), Some("2010-04-01"));
        let code = (status == "undelivered").then_some("30007");
        assert_eq!(get("ErrorCode"), code);
    }

    // An inbound STOP reaches the webhook signed, and blocks later sends to that number.
    let inbound = format!("{}/webhooks/twilio/inbound", receiver.url);
    let (status, reply) = fake
        .inbound_async(&inbound, "+15558675310", "+15017122661", "stop")
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(reply.contains("<Response"));
    assert!(fake.is_opted_out("+15558675310"));
    let request = receiver.captured().pop().unwrap();
    let params: Vec<(String, String)> = serde_urlencoded::from_str(&request.body).unwrap();
    assert_eq!(
        request.headers["x-twilio-signature"],
        twilio_signature("token-test", &inbound, &params)
    );
    assert_eq!(
        request.headers["x-twilio-signature"],
        fake.signature(&inbound, &params)
    );
    for field in ["MessageSid", "AccountSid", "From", "To", "Body", "NumMedia"] {
        assert!(params.iter().any(|(k, _)| k == field), "{field}");
    }
    assert!(params.contains(&("NumMedia".into(), "0".into())));
    assert!(params.contains(&("Body".into(), "stop".into())));
}

#[test]
fn twilio_blocking_helpers_and_signature_vector() {
    let fake = FakeTwilio::start(TwilioConfig {
        account_sid: SID.into(),
        auth_token: "12345".into(),
    })
    .unwrap();
    // Twilio's documented example (PROVIDERS.md 2.6).
    let params = form(&[
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+12349013030"),
        ("Digits", "1234"),
        ("From", "+12349013030"),
        ("To", "+18005551212"),
    ]);
    assert_eq!(
        fake.signature("https://mycompany.com/myapp.php?foo=1&bar=2", &params),
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    );

    let receiver = Receiver::start();
    let url = format!("{}/sms", receiver.url);
    assert_eq!(
        fake.status_callback(&url, "SMunknown", "failed", Some("30008"))
            .unwrap(),
        200
    );
    assert_eq!(
        fake.inbound(&url, "+15558675310", "+15017122661", "START")
            .unwrap(),
        200
    );
    let captured = receiver.captured();
    assert_eq!(captured.len(), 2);
    for request in captured {
        let params: Vec<(String, String)> = serde_urlencoded::from_str(&request.body).unwrap();
        assert_eq!(
            request.headers["x-twilio-signature"],
            twilio_signature("12345", &url, &params)
        );
    }
}

// ---- Google -------------------------------------------------------------------------------

const GOOGLE_ID: &str = "1234-fake.apps.googleusercontent.com";
const GOOGLE_SECRET: &str = "GOCSPX-fake-secret";
const REDIRECT: &str = "http://127.0.0.1:9/oauth/callback";
const GMAIL_SEND: &str = "https://www.googleapis.com/auth/gmail.send";
const GMAIL_READ: &str = "https://www.googleapis.com/auth/gmail.readonly";

fn google() -> FakeGoogle {
    FakeGoogle::start(GoogleConfig {
        client_id: GOOGLE_ID.into(),
        client_secret: GOOGLE_SECRET.into(),
    })
    .unwrap()
}

/// A client that shows redirects instead of following them.
fn browser() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The query parameters of a redirect's `Location`, after checking where it points.
fn redirect_params(response: &reqwest::Response, target: &str) -> HashMap<String, String> {
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap();
    let url = reqwest::Url::parse(location).unwrap();
    assert!(location.starts_with(target), "{location}");
    url.query_pairs().into_owned().collect()
}

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn google_token(fake: &FakeGoogle, form_fields: &[(&str, &str)]) -> (u16, Value) {
    json_of(
        client()
            .post(fake.token_url())
            .form(form_fields)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn gmail_get(fake: &FakeGoogle, token: &str, path: &str) -> (u16, Value) {
    json_of(
        client()
            .get(format!("{}/gmail/v1/users/me{path}", fake.base_url()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn gmail_send(fake: &FakeGoogle, token: &str, raw: &str) -> reqwest::Response {
    client()
        .post(format!(
            "{}/gmail/v1/users/me/messages/send",
            fake.base_url()
        ))
        .bearer_auth(token)
        .json(&json!({ "raw": raw }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn google_oauth_code_flow_refresh_and_revocation() {
    let fake = google();
    let http = browser();
    let scope = format!("{GMAIL_SEND} {GMAIL_READ} email");
    let consent = |client_id: &str| {
        http.get(fake.authorize_url())
            .query(&[
                ("client_id", client_id),
                ("redirect_uri", REDIRECT),
                ("response_type", "code"),
                ("scope", scope.as_str()),
                ("state", "st/1 x&y"),
                ("access_type", "offline"),
                ("prompt", "consent"),
            ])
            .send()
    };

    let response = consent("unknown-client").await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("invalid_client"));

    let response = consent(GOOGLE_ID).await.unwrap();
    let params = redirect_params(&response, REDIRECT);
    assert_eq!(params["state"], "st/1 x&y");
    let code = params["code"].clone();
    assert!(code.starts_with("4/0A"), "{code}");
    let consents = fake.consents();
    assert_eq!(consents.len(), 1);
    assert_eq!(consents[0].scope, scope);
    assert_eq!(consents[0].param("access_type"), Some("offline"));
    assert_eq!(consents[0].code.as_deref(), Some(code.as_str()));

    let exchange = |redirect: &'static str, secret: &'static str| {
        let code = code.clone();
        let fake = &fake;
        async move {
            google_token(
                fake,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", redirect),
                    ("client_id", GOOGLE_ID),
                    ("client_secret", secret),
                ],
            )
            .await
        }
    };
    let (status, body) = exchange(REDIRECT, "wrong").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_client");
    let (status, body) = exchange("http://127.0.0.1:9/other", GOOGLE_SECRET).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "redirect_uri_mismatch");

    let (status, tokens) = exchange(REDIRECT, GOOGLE_SECRET).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["expires_in"], 3599);
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(
        tokens["scope"],
        format!("{GMAIL_SEND} {GMAIL_READ} https://www.googleapis.com/auth/userinfo.email")
    );
    assert!(tokens.get("id_token").is_none());
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    // A code works once.
    let (status, body) = exchange(REDIRECT, GOOGLE_SECRET).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");

    let (status, profile) = gmail_get(&fake, &access, "/profile").await;
    assert_eq!(status, 200);
    assert_eq!(profile["emailAddress"], "owner@loanfactory.test");
    assert!(
        profile["historyId"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
    let userinfo: Value = client()
        .get(format!("{}/oauth2/v2/userinfo", fake.base_url()))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(userinfo["email"], "owner@loanfactory.test");
    assert_eq!(userinfo["verified_email"], true);

    // Expired access token: Google's 401, then a refresh gives a working one.
    fake.expire_access_tokens();
    let (status, body) = gmail_get(&fake, &access, "/profile").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], 401);
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
    assert_eq!(body["error"]["errors"][0]["reason"], "authError");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Request had invalid authentication credentials.")
    );
    let refresh_form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", GOOGLE_ID),
        ("client_secret", GOOGLE_SECRET),
    ];
    let (status, refreshed) = google_token(&fake, &refresh_form).await;
    assert_eq!(status, 200, "{refreshed}");
    assert!(refreshed.get("refresh_token").is_none());
    assert_eq!(refreshed["expires_in"], 3599);
    let fresh = refreshed["access_token"].as_str().unwrap();
    assert_ne!(fresh, access);
    assert_eq!(gmail_get(&fake, fresh, "/profile").await.0, 200);

    // Revoked: invalid_grant with Google's description.
    fake.revoke_refresh_tokens();
    let (status, body) = google_token(&fake, &refresh_form).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({ "error": "invalid_grant", "error_description": "Token has been expired or revoked." })
    );

    // Cancel on the consent screen.
    fake.deny_next_consent();
    let response = consent(GOOGLE_ID).await.unwrap();
    let params = redirect_params(&response, REDIRECT);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "st/1 x&y");
    assert!(!params.contains_key("code"));

    // Without access_type=offline there is no refresh token; PKCE is checked.
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let response = http
        .get(fake.authorize_url())
        .query(&[
            ("client_id", GOOGLE_ID),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", GMAIL_SEND),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    let code = redirect_params(&response, REDIRECT)["code"].clone();
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", GOOGLE_ID),
        ("client_secret", GOOGLE_SECRET),
    ];
    let (status, body) = google_token(&fake, &form).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    form.push(("code_verifier", verifier));
    let (status, body) = google_token(&fake, &form).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none());

    let requests = fake.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.method == "POST" && r.path == "/token" && r.status == 401)
    );
    assert!(
        requests.iter().any(|r| r.path == "/o/oauth2/v2/auth"
            && r.status == 302
            && r.query.contains("scope="))
    );
}

#[tokio::test]
async fn google_gmail_send_history_messages_and_stale_history() {
    let fake = google();
    let (token, _) = fake.issue_tokens(&format!("{GMAIL_SEND} {GMAIL_READ}"));
    let (_, profile) = gmail_get(&fake, &token, "/profile").await;
    let start = profile["historyId"].as_str().unwrap().to_owned();

    let message = "From: CRM <owner@loanfactory.test>\r\nTo: Alice <alice@example.com>\r\nSubject: Hello\r\nMessage-ID: <m1@loanfactory.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nHi Alice\r\n";
    let (status, sent) = json_of(gmail_send(&fake, &token, &URL_SAFE.encode(message)).await).await;
    assert_eq!(status, 200, "{sent}");
    let sent_id = sent["id"].as_str().unwrap().to_owned();
    assert_eq!(sent_id.len(), 16);
    assert!(sent_id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(sent["threadId"], sent_id);
    assert_eq!(sent["labelIds"], json!(["SENT"]));
    let recorded = fake.sent();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].raw, message);
    assert_eq!(recorded[0].to, ["Alice <alice@example.com>"]);
    assert_eq!(recorded[0].subject, "Hello");
    assert_eq!(recorded[0].message_id, "<m1@loanfactory.test>");
    assert_eq!(recorded[0].text().as_deref(), Some("Hi Alice\r\n"));

    // Standard base64 (`+`, `/`) is not base64url; a message needs a recipient.
    let response = gmail_send(&fake, &token, "a+b/c===").await;
    let (status, body) = json_of(response).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid value for ByteString")
    );
    let (status, body) =
        json_of(gmail_send(&fake, &token, &URL_SAFE.encode("Subject: x\r\n\r\nbody")).await).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["message"], "Recipient address required");
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");

    // A reply arrives in the same thread.
    let reply = fake.deliver_inbound(
        "Alice <alice@example.com>",
        "Re: Hello",
        "Thanks!",
        Some("<p>Thanks!</p>"),
        Some("<m1@loanfactory.test>"),
    );
    assert_eq!(fake.inbox().len(), 1);
    let (status, history) = gmail_get(
        &fake,
        &token,
        &format!("/history?startHistoryId={start}&historyTypes=messageAdded&labelId=INBOX"),
    )
    .await;
    assert_eq!(status, 200, "{history}");
    assert_eq!(history["historyId"], fake.history_id());
    let records = history["history"].as_array().unwrap();
    assert_eq!(records.len(), 1);
    let added = &records[0]["messagesAdded"][0]["message"];
    assert_eq!(added["id"], reply);
    assert_eq!(added["threadId"], sent_id);
    assert!(
        added["labelIds"]
            .as_array()
            .unwrap()
            .contains(&json!("INBOX"))
    );

    // Without the label filter the sent message shows too; pages of one.
    let (_, page) = gmail_get(
        &fake,
        &token,
        &format!("/history?startHistoryId={start}&maxResults=1"),
    )
    .await;
    assert_eq!(page["history"].as_array().unwrap().len(), 1);
    assert_eq!(
        page["history"][0]["messagesAdded"][0]["message"]["id"],
        sent_id
    );
    let next = page["nextPageToken"].as_str().unwrap();
    let (_, page) = gmail_get(
        &fake,
        &token,
        &format!("/history?startHistoryId={start}&maxResults=1&pageToken={next}"),
    )
    .await;
    assert_eq!(
        page["history"][0]["messagesAdded"][0]["message"]["id"],
        reply
    );
    assert!(page.get("nextPageToken").is_none());

    // Nothing new: Google leaves `history` out.
    let latest = fake.history_id();
    let (_, empty) = gmail_get(&fake, &token, &format!("/history?startHistoryId={latest}")).await;
    assert_eq!(empty, json!({ "historyId": latest }));

    // The reply in full: headers and base64url parts.
    let (status, full) = gmail_get(&fake, &token, &format!("/messages/{reply}?format=full")).await;
    assert_eq!(status, 200);
    assert_eq!(full["threadId"], sent_id);
    assert_eq!(full["snippet"], "Thanks!");
    let payload = &full["payload"];
    assert_eq!(payload["mimeType"], "multipart/alternative");
    let header = |name: &str| {
        payload["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == name)
            .map(|h| h["value"].as_str().unwrap().to_owned())
    };
    assert_eq!(
        header("In-Reply-To").as_deref(),
        Some("<m1@loanfactory.test>")
    );
    assert_eq!(header("From").as_deref(), Some("Alice <alice@example.com>"));
    assert_eq!(header("To").as_deref(), Some("owner@loanfactory.test"));
    assert_eq!(header("Subject").as_deref(), Some("Re: Hello"));
    assert!(header("Message-ID").is_some() && header("Date").is_some());
    let part = |i: usize| {
        let part = &payload["parts"][i];
        let data = URL_SAFE
            .decode(part["body"]["data"].as_str().unwrap())
            .unwrap();
        (
            part["mimeType"].as_str().unwrap().to_owned(),
            String::from_utf8(data).unwrap(),
        )
    };
    // The line break before a boundary belongs to the boundary (RFC 2046).
    assert_eq!(part(0), ("text/plain".into(), "Thanks!".into()));
    assert_eq!(part(1), ("text/html".into(), "<p>Thanks!</p>".into()));
    let (_, raw) = gmail_get(&fake, &token, &format!("/messages/{reply}?format=raw")).await;
    let raw = String::from_utf8(URL_SAFE.decode(raw["raw"].as_str().unwrap()).unwrap()).unwrap();
    assert!(raw.contains("In-Reply-To: <m1@loanfactory.test>\r\n"));

    // A full resync lists by search.
    let (_, listed) = gmail_get(
        &fake,
        &token,
        "/messages?q=in%3Ainbox%20from%3Aalice%40example.com",
    )
    .await;
    assert_eq!(
        listed["messages"],
        json!([{ "id": reply, "threadId": sent_id }])
    );
    assert_eq!(listed["resultSizeEstimate"], 1);
    let (_, none) = gmail_get(&fake, &token, "/messages?q=from%3Anobody").await;
    assert_eq!(none, json!({ "resultSizeEstimate": 0 }));
    let (status, _) = gmail_get(&fake, &token, "/messages/0000000000000000").await;
    assert_eq!(status, 404);

    // History expires: the old start answers 404, the profile's id works.
    fake.expire_history();
    let (status, body) =
        gmail_get(&fake, &token, &format!("/history?startHistoryId={start}")).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], 404);
    assert_eq!(body["error"]["status"], "NOT_FOUND");
    let (_, profile) = gmail_get(&fake, &token, "/profile").await;
    let current = profile["historyId"].as_str().unwrap();
    let (status, _) = gmail_get(&fake, &token, &format!("/history?startHistoryId={current}")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn google_gmail_scopes_and_scripted_failures() {
    let fake = google();
    let (send_only, _) = fake.issue_tokens(GMAIL_SEND);
    let raw = URL_SAFE.encode("To: a@example.com\r\nSubject: x\r\n\r\nbody\r\n");

    // gmail.send alone may not read.
    for path in ["/profile", "/history?startHistoryId=1"] {
        let (status, body) = gmail_get(&fake, &send_only, path).await;
        assert_eq!(status, 403, "{path}");
        assert_eq!(
            body["error"]["errors"][0]["reason"],
            "insufficientPermissions"
        );
    }
    let (status, body) = json_of(
        client()
            .get(format!("{}/gmail/v1/users/me/profile", fake.base_url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["errors"][0]["reason"], "required");

    fake.fail_next(fakes::google::failure(429, "rateLimitExceeded", Some(30)));
    fake.fail_next(fakes::google::failure(403, "userRateLimitExceeded", None));
    fake.fail_next(fakes::google::failure(503, "backendError", None));
    let response = gmail_send(&fake, &send_only, &raw).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "30");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED");
    assert_eq!(body["error"]["errors"][0]["domain"], "usageLimits");
    assert_eq!(body["error"]["errors"][0]["reason"], "rateLimitExceeded");
    let (status, body) = json_of(gmail_send(&fake, &send_only, &raw).await).await;
    assert_eq!(status, 403);
    assert_eq!(
        body["error"]["errors"][0]["reason"],
        "userRateLimitExceeded"
    );
    let (status, body) = json_of(gmail_send(&fake, &send_only, &raw).await).await;
    assert_eq!(status, 503);
    assert_eq!(body["error"]["errors"][0]["reason"], "backendError");
    let (status, _) = json_of(gmail_send(&fake, &send_only, &raw).await).await;
    assert_eq!(status, 200);
    assert_eq!(fake.sent().len(), 1);

    let statuses: Vec<u16> = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/gmail/v1/users/me/messages/send")
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [429, 403, 503, 200]);

    // A token endpoint failure can be scripted too.
    fake.fail_next_token(Failure {
        status: 500,
        body: r#"{"error":"internal_failure"}"#.into(),
        retry_after: None,
    });
    let (status, body) = google_token(
        &fake,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "whatever"),
            ("client_id", GOOGLE_ID),
            ("client_secret", GOOGLE_SECRET),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (500, Some("internal_failure"))
    );
}

// ---- Microsoft ----------------------------------------------------------------------------

const MS_ID: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";
const MS_SECRET: &str = "ms~fake~secret";
const MS_SCOPES: &str = "offline_access https://graph.microsoft.com/Mail.Send https://graph.microsoft.com/Mail.Read https://graph.microsoft.com/User.Read https://outlook.office.com/SMTP.Send";

fn microsoft() -> FakeMicrosoft {
    FakeMicrosoft::start(MicrosoftConfig {
        tenant: "common".into(),
        client_id: MS_ID.into(),
        client_secret: MS_SECRET.into(),
    })
    .unwrap()
}

async fn ms_token(fake: &FakeMicrosoft, url: &str, fields: &[(&str, &str)]) -> (u16, Value) {
    let _ = fake;
    json_of(client().post(url).form(fields).send().await.unwrap()).await
}

fn refresh_form<'a>(refresh: &'a str, scope: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh),
        ("client_id", MS_ID),
        ("client_secret", MS_SECRET),
    ];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    form
}

async fn graph_get(fake: &FakeMicrosoft, token: &str, path: &str) -> (u16, Value) {
    json_of(
        client()
            .get(format!("{}{path}", fake.base_url()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn assert_aad(body: &Value, error: &str, code: u32) {
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], json!([code]), "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with(&format!("AADSTS{code}: ")),
        "{body}"
    );
    assert!(body["trace_id"].is_string() && body["correlation_id"].is_string());
}

#[tokio::test]
async fn microsoft_oauth_code_flow_rotation_audiences_and_errors() {
    let fake = microsoft();
    let response = browser()
        .get(fake.authorize_url())
        .query(&[
            ("client_id", MS_ID),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("response_mode", "query"),
            ("scope", MS_SCOPES),
            ("state", "ms-state"),
        ])
        .send()
        .await
        .unwrap();
    let params = redirect_params(&response, REDIRECT);
    assert_eq!(params["state"], "ms-state");
    assert!(params.contains_key("session_state"));
    let code = params["code"].clone();

    let token_url = fake.token_url();
    assert!(token_url.ends_with("/common/oauth2/v2.0/token"));
    let exchange = |secret: &'static str, url: String| {
        let code = code.clone();
        let fake = &fake;
        async move {
            ms_token(
                fake,
                &url,
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", MS_ID),
                    ("client_secret", secret),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("scope", "offline_access Mail.Send Mail.Read User.Read"),
                ],
            )
            .await
        }
    };
    let other_tenant = token_url.replace("/common/", "/contoso.example/");
    let (status, body) = exchange(MS_SECRET, other_tenant).await;
    assert_eq!(status, 400);
    assert_aad(&body, "invalid_request", 90002);
    let (status, body) = exchange("wrong", token_url.clone()).await;
    assert_eq!(status, 401);
    assert_aad(&body, "invalid_client", 7000215);

    let (status, tokens) = exchange(MS_SECRET, token_url.clone()).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "Mail.Send Mail.Read User.Read");
    assert_eq!(tokens["expires_in"], 3599);
    assert_eq!(tokens["ext_expires_in"], 3599);
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let first_refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(access.split('.').count(), 3, "JWT-shaped");

    let (status, body) = exchange(MS_SECRET, token_url.clone()).await;
    assert_eq!(status, 400);
    assert_aad(&body, "invalid_grant", 54005);

    let (status, me) = graph_get(&fake, &access, "/v1.0/me").await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["mail"], "owner@loanfactory.test");
    assert_eq!(me["userPrincipalName"], "owner@loanfactory.test");
    fake.set_account("sales@loanfactory.test");
    assert_eq!(
        graph_get(&fake, &access, "/v1.0/me").await.1["mail"],
        "sales@loanfactory.test"
    );

    // Rotation: each refresh returns a new refresh token; the old one keeps working.
    let (status, second) = ms_token(&fake, &token_url, &refresh_form(&first_refresh, None)).await;
    assert_eq!(status, 200, "{second}");
    let second_refresh = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first_refresh);
    assert_eq!(second["scope"], "Mail.Send Mail.Read User.Read");
    let (status, _) = ms_token(&fake, &token_url, &refresh_form(&first_refresh, None)).await;
    assert_eq!(status, 200);

    // With strict rotation a redeemed refresh token is spent.
    fake.set_strict_rotation(true);
    let (status, third) = ms_token(&fake, &token_url, &refresh_form(&second_refresh, None)).await;
    assert_eq!(status, 200);
    let (status, body) = ms_token(&fake, &token_url, &refresh_form(&second_refresh, None)).await;
    assert_eq!(status, 400);
    assert_aad(&body, "invalid_grant", 70008);
    fake.set_strict_rotation(false);
    let third_refresh = third["refresh_token"].as_str().unwrap().to_owned();

    // One resource per token: an SMTP token is refused by Graph; two resources are refused.
    let (status, smtp) = ms_token(
        &fake,
        &token_url,
        &refresh_form(
            &third_refresh,
            Some("https://outlook.office.com/SMTP.Send offline_access"),
        ),
    )
    .await;
    assert_eq!(status, 200, "{smtp}");
    assert_eq!(smtp["scope"], "https://outlook.office.com/SMTP.Send");
    let smtp_token = smtp["access_token"].as_str().unwrap();
    let (status, body) = graph_get(&fake, smtp_token, "/v1.0/me").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    let check = fake.smtp_token_check();
    assert!(check("sales@loanfactory.test", smtp_token));
    assert!(!check("sales@loanfactory.test", &access));
    let (status, body) = ms_token(
        &fake,
        &token_url,
        &refresh_form(
            &third_refresh,
            Some("Mail.Send https://outlook.office.com/SMTP.Send"),
        ),
    )
    .await;
    assert_eq!(status, 400);
    assert_aad(&body, "invalid_scope", 28000);
    let (status, body) = ms_token(
        &fake,
        &token_url,
        &refresh_form(&third_refresh, Some("Mail.ReadWrite")),
    )
    .await;
    assert_eq!(status, 400);
    assert_aad(&body, "invalid_grant", 65001);

    // Expired access tokens and revoked refresh tokens.
    fake.expire_access_tokens();
    let (status, body) = graph_get(&fake, &access, "/v1.0/me").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    assert!(body["error"]["innerError"]["request-id"].is_string());
    fake.revoke_refresh_tokens();
    let (status, body) = ms_token(&fake, &token_url, &refresh_form(&third_refresh, None)).await;
    assert_eq!(status, 400);
    assert_aad(&body, "invalid_grant", 70008);

    // Declined consent.
    fake.deny_next_consent();
    let response = browser()
        .get(fake.authorize_url())
        .query(&[
            ("client_id", MS_ID),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", MS_SCOPES),
            ("state", "s2"),
        ])
        .send()
        .await
        .unwrap();
    let params = redirect_params(&response, REDIRECT);
    assert_eq!(params["error"], "access_denied");
    assert!(params["error_description"].starts_with("AADSTS65004"));
    assert_eq!(params["state"], "s2");
    assert_eq!(fake.consents().len(), 2);
}

#[tokio::test]
async fn microsoft_graph_send_mail_forms_errors_and_throttling() {
    let fake = microsoft();
    let (token, _) = fake.issue_tokens(MS_SCOPES);
    let url = format!("{}/v1.0/me/sendMail", fake.base_url());
    let http = client();
    let message = json!({
        "message": {
            "subject": "Meet for lunch?",
            "body": { "contentType": "HTML", "content": "<p>The new cafeteria is open.</p>" },
            "toRecipients": [{ "emailAddress": { "address": "frannis@contoso.com", "name": "Frannis" } }],
            "internetMessageId": "<crm-1@loanfactory.test>",
            "internetMessageHeaders": [{ "name": "X-CRM-Id", "value": "12345" }],
        },
        "saveToSentItems": false,
    });
    let response = http
        .post(&url)
        .bearer_auth(&token)
        .json(&message)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(response.headers()["content-length"], "0");
    assert!(response.bytes().await.unwrap().is_empty());
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].subject, "Meet for lunch?");
    assert_eq!(sent[0].content_type, "HTML");
    assert_eq!(sent[0].to, ["frannis@contoso.com"]);
    assert_eq!(sent[0].internet_message_id, "<crm-1@loanfactory.test>");
    assert_eq!(sent[0].header("x-crm-id"), Some("12345"));
    assert!(!sent[0].save_to_sent_items);

    // The MIME form: base64 of a whole message, as text/plain.
    let mime = "From: owner@loanfactory.test\r\nTo: Bob <bob@example.org>\r\nSubject: Rates\r\nMessage-ID: <crm-2@loanfactory.test>\r\nList-Unsubscribe: <https://crm.test/u/1>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nNew rates\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>New rates</p>\r\n--b--\r\n";
    let response = http
        .post(&url)
        .bearer_auth(&token)
        .header("Content-Type", "text/plain")
        .body(STANDARD.encode(mime))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let sent = fake.sent();
    assert_eq!(sent[1].to, ["bob@example.org"]);
    assert_eq!(sent[1].internet_message_id, "<crm-2@loanfactory.test>");
    assert_eq!(
        sent[1].header("List-Unsubscribe"),
        Some("<https://crm.test/u/1>")
    );
    assert_eq!(sent[1].content_type, "HTML");
    assert_eq!(sent[1].content, "<p>New rates</p>");
    assert_eq!(sent[1].mime.as_deref(), Some(mime));

    let post = |body: reqwest::Body, content_type: &'static str| {
        http.post(&url)
            .bearer_auth(&token)
            .header("Content-Type", content_type)
            .body(body)
            .send()
    };
    let (status, body) = json_of(post("not base64!".into(), "text/plain").await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "ErrorMimeContentInvalidBase64String");
    assert_eq!(
        body["error"]["message"],
        "Invalid base64 string for MIME content."
    );
    let mut bad_header = message.clone();
    bad_header["message"]["internetMessageHeaders"] =
        json!([{ "name": "List-Unsubscribe", "value": "<https://x.test>" }]);
    let (status, body) = json_of(
        post(bad_header.to_string().into(), "application/json")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "InvalidInternetMessageHeader");
    let mut no_one = message.clone();
    no_one["message"]["toRecipients"] = json!([]);
    let (status, body) = json_of(
        post(no_one.to_string().into(), "application/json")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "ErrorInvalidRecipients");
    assert_eq!(fake.sent().len(), 2);

    // Throttling, then success.
    fake.fail_next(fakes::microsoft::throttled(7));
    let response = post(message.to_string().into(), "application/json")
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "TooManyRequests");
    let response = post(message.to_string().into(), "application/json")
        .await
        .unwrap();
    assert_eq!(response.status(), 202);

    // No Mail.Send, no sending.
    let (read_only, _) = fake.issue_tokens("https://graph.microsoft.com/Mail.Read");
    let (status, body) = json_of(
        http.post(&url)
            .bearer_auth(&read_only)
            .json(&message)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "ErrorAccessDenied");
}

#[tokio::test]
async fn microsoft_inbox_delta_paging_removals_and_expiry() {
    let fake = microsoft();
    let (token, _) = fake.issue_tokens(MS_SCOPES);
    let http = client();
    let page = |url: String| {
        let http = http.clone();
        let token = token.clone();
        async move {
            let response = http
                .get(url)
                .bearer_auth(token)
                .header("Prefer", "odata.maxpagesize=2")
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.headers()["preference-applied"],
                "odata.maxpagesize=2"
            );
            json_of(response).await
        }
    };
    // A sent message, so a reply joins its conversation.
    http.post(format!("{}/v1.0/me/sendMail", fake.base_url()))
        .bearer_auth(&token)
        .json(&json!({ "message": {
            "subject": "Offer",
            "body": { "contentType": "Text", "content": "Our offer" },
            "toRecipients": [{ "emailAddress": { "address": "a@example.com" } }],
            "internetMessageId": "<offer@loanfactory.test>",
        } }))
        .send()
        .await
        .unwrap();
    let first = fake.deliver_inbound(
        "Ann <a@example.com>",
        "Re: Offer",
        "Yes please",
        None,
        Some("offer@loanfactory.test"),
    );
    let second = fake.deliver_inbound("b@example.com", "Hello", "Hi", Some("<b>Hi</b>"), None);
    let third = fake.deliver_inbound("c@example.com", "Question", "?", None, None);

    let start = format!(
        "{}/v1.0/me/mailFolders/inbox/messages/delta?$select=id,subject,from,body,internetMessageId,receivedDateTime,conversationId,internetMessageHeaders",
        fake.base_url()
    );
    let (status, one) = page(start).await;
    assert_eq!(status, 200, "{one}");
    assert!(one.get("@odata.deltaLink").is_none());
    let values = one["value"].as_array().unwrap();
    assert_eq!(values.len(), 2);
    assert_eq!(values[0]["id"], first);
    assert_eq!(
        values[0]["from"]["emailAddress"]["address"],
        "a@example.com"
    );
    assert_eq!(values[0]["from"]["emailAddress"]["name"], "Ann");
    assert_eq!(values[0]["body"]["contentType"], "text");
    assert_eq!(values[0]["body"]["content"], "Yes please");
    assert_eq!(
        values[0]["conversationId"],
        fake.sent()[0].conversation_id.as_str()
    );
    let headers = values[0]["internetMessageHeaders"].as_array().unwrap();
    assert!(
        headers.contains(&json!({ "name": "In-Reply-To", "value": "<offer@loanfactory.test>" }))
    );
    assert!(
        values[0]["internetMessageId"]
            .as_str()
            .unwrap()
            .starts_with('<')
    );
    assert!(
        values[0]["receivedDateTime"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert!(
        values[0].get("isRead").is_none(),
        "$select limits the fields"
    );
    assert_eq!(values[1]["id"], second);
    assert_eq!(values[1]["body"]["contentType"], "html");
    assert_eq!(values[1]["body"]["content"], "<b>Hi</b>");

    let next = one["@odata.nextLink"].as_str().unwrap().to_owned();
    assert!(next.starts_with(&fake.base_url()) && next.contains("$skiptoken="));
    let (_, two) = page(next).await;
    assert_eq!(two["value"].as_array().unwrap().len(), 1);
    assert_eq!(two["value"][0]["id"], third);
    assert_eq!(two["value"][0]["subject"], "Question");
    assert!(two.get("@odata.nextLink").is_none());
    let delta = two["@odata.deltaLink"].as_str().unwrap().to_owned();
    assert!(delta.contains("$deltatoken="));

    // Nothing new.
    let (_, quiet) = page(delta.clone()).await;
    assert_eq!(quiet["value"], json!([]));
    let delta = quiet["@odata.deltaLink"].as_str().unwrap().to_owned();

    // One new message and one deleted.
    let fourth = fake.deliver_inbound("d@example.com", "New", "New mail", None, None);
    assert!(fake.delete_inbound(&second));
    assert!(!fake.delete_inbound(&second));
    let (_, changes) = page(delta.clone()).await;
    let values = changes["value"].as_array().unwrap();
    assert_eq!(values.len(), 2);
    assert_eq!(values[0]["id"], fourth);
    assert_eq!(
        values[0]["subject"], "New",
        "the round keeps the first $select"
    );
    assert_eq!(
        values[1],
        json!({ "@odata.type": "#microsoft.graph.message", "id": second, "@removed": { "reason": "deleted" } })
    );

    // The plain listing pages with $skip, newest first.
    let (_, listed) = graph_get(
        &fake,
        &token,
        "/v1.0/me/mailFolders/inbox/messages?$top=2&$select=id,subject",
    )
    .await;
    assert_eq!(listed["value"].as_array().unwrap().len(), 2);
    assert_eq!(listed["value"][0]["id"], fourth);
    let next = listed["@odata.nextLink"].as_str().unwrap().to_owned();
    let (_, rest) = json_of(http.get(next).bearer_auth(&token).send().await.unwrap()).await;
    assert_eq!(rest["value"].as_array().unwrap().len(), 1);
    assert_eq!(rest["value"][0]["id"], first);
    let (status, one) = graph_get(&fake, &token, &format!("/v1.0/me/messages/{third}")).await;
    assert_eq!(status, 200);
    assert_eq!(one["subject"], "Question");
    assert_eq!(one["isRead"], false);

    // Mail.ReadBasic gets no bodies.
    let (basic, _) = fake.issue_tokens("https://graph.microsoft.com/Mail.ReadBasic");
    let (status, body) = graph_get(&fake, &basic, &format!("/v1.0/me/messages/{third}")).await;
    assert_eq!(status, 200);
    assert!(body.get("body").is_none() && body["subject"] == "Question");

    // Expired delta tokens answer 410; a fresh start works.
    fake.expire_delta_tokens();
    let response = http.get(&delta).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), 410);
    let (status, again) =
        graph_get(&fake, &token, "/v1.0/me/mailFolders/inbox/messages/delta").await;
    assert_eq!(status, 200);
    assert_eq!(again["value"].as_array().unwrap().len(), 3);
    assert!(again.get("@odata.deltaLink").is_some());

    // Throttled delta.
    fake.fail_next(fakes::microsoft::throttled(2));
    let response = http.get(&delta).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "2");
}

// ---- SMTP ---------------------------------------------------------------------------------

const SMTP_USER: &str = "owner@loanfactory.test";
const SMTP_PASSWORD: &str = "app-password";
const SMTP_TOKEN: &str = "ya29.smtp-token";

fn smtp() -> FakeSmtp {
    FakeSmtp::start(SmtpConfig {
        username: SMTP_USER.into(),
        password: SMTP_PASSWORD.into(),
        oauth_token: Some(SMTP_TOKEN.into()),
    })
    .unwrap()
}

/// A line-at-a-time SMTP client over a raw socket.
struct SmtpClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl SmtpClient {
    fn connect(fake: &FakeSmtp) -> (SmtpClient, String) {
        let stream = TcpStream::connect(fake.addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut client = SmtpClient {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        };
        let greeting = client.reply();
        (client, greeting)
    }

    /// A connection that said EHLO and authenticated with AUTH PLAIN.
    fn signed_in(fake: &FakeSmtp) -> SmtpClient {
        let (mut client, _) = SmtpClient::connect(fake);
        assert!(client.cmd("EHLO crm.test").starts_with("250"));
        let plain = STANDARD.encode(format!("\0{SMTP_USER}\0{SMTP_PASSWORD}"));
        assert_eq!(
            client.cmd(&format!("AUTH PLAIN {plain}")),
            "235 2.7.0 Accepted"
        );
        client
    }

    /// Every line of one reply, joined with `\n`.
    fn reply(&mut self) -> String {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            assert!(line.ends_with("\r\n"), "{line:?}");
            let line = line.trim_end_matches(['\r', '\n']).to_owned();
            let last = line.as_bytes().get(3) != Some(&b'-');
            lines.push(line);
            if last {
                return lines.join("\n");
            }
        }
    }

    fn send(&mut self, line: &str) {
        self.writer.write_all(line.as_bytes()).unwrap();
        self.writer.write_all(b"\r\n").unwrap();
    }

    fn cmd(&mut self, line: &str) -> String {
        self.send(line);
        self.reply()
    }
}

fn xoauth2(user: &str, token: &str) -> String {
    STANDARD.encode(format!("user={user}\x01auth=Bearer {token}\x01\x01"))
}

#[test]
fn smtp_auth_plain_login_xoauth2_success_and_failure() {
    let fake = smtp();
    let (mut c, greeting) = SmtpClient::connect(&fake);
    assert!(greeting.starts_with("220 "), "{greeting}");
    assert_eq!(
        c.cmd("MAIL FROM:<owner@loanfactory.test>"),
        "503 5.5.1 EHLO/HELO first"
    );
    let ehlo = c.cmd("EHLO crm.test");
    let lines: Vec<&str> = ehlo.lines().collect();
    assert!(lines[0].starts_with("250-"));
    assert!(lines.last().unwrap().starts_with("250 "));
    assert!(lines.contains(&"250-AUTH PLAIN LOGIN XOAUTH2"), "{ehlo}");
    assert!(lines.iter().any(|l| l.starts_with("250-SIZE ")));
    assert!(lines.contains(&"250-8BITMIME"));
    assert!(!ehlo.contains("PIPELINING") && !ehlo.contains("STARTTLS"));
    assert_eq!(
        c.cmd("MAIL FROM:<owner@loanfactory.test>"),
        "530 5.7.0 Authentication Required"
    );
    let wrong = STANDARD.encode(format!("\0{SMTP_USER}\0nope"));
    assert!(
        c.cmd(&format!("AUTH PLAIN {wrong}"))
            .starts_with("535 5.7.8")
    );
    // Two steps: `AUTH PLAIN`, `334 `, then the response.
    assert_eq!(c.cmd("AUTH PLAIN"), "334 ");
    let right = STANDARD.encode(format!("\0{SMTP_USER}\0{SMTP_PASSWORD}"));
    assert_eq!(c.cmd(&right), "235 2.7.0 Accepted");
    assert!(c.cmd(&format!("AUTH PLAIN {right}")).starts_with("503"));
    assert_eq!(c.cmd("QUIT"), "221 2.0.0 closing connection");

    // AUTH LOGIN with Google-style prompts.
    let (mut c, _) = SmtpClient::connect(&fake);
    c.cmd("EHLO crm.test");
    assert_eq!(c.cmd("AUTH LOGIN"), "334 VXNlcm5hbWU6");
    assert_eq!(c.cmd(&STANDARD.encode(SMTP_USER)), "334 UGFzc3dvcmQ6");
    assert_eq!(c.cmd(&STANDARD.encode(SMTP_PASSWORD)), "235 2.7.0 Accepted");

    // XOAUTH2: a bad token gets the 334 challenge, the client's empty line, then 535.
    let (mut c, _) = SmtpClient::connect(&fake);
    c.cmd("EHLO crm.test");
    let challenge = c.cmd(&format!("AUTH XOAUTH2 {}", xoauth2(SMTP_USER, "expired")));
    let encoded = challenge.strip_prefix("334 ").unwrap();
    let error: Value = serde_json::from_slice(&STANDARD.decode(encoded).unwrap()).unwrap();
    assert_eq!(error["status"], "401");
    assert_eq!(error["scope"], "https://mail.google.com/");
    let refused = c.cmd("");
    let lines: Vec<&str> = refused.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("535-5.7.1 Username and Password not accepted"));
    assert!(lines[1].starts_with("535 5.7.1 "));
    // The initial response, then success.
    assert_eq!(
        c.cmd(&format!("AUTH XOAUTH2 {}", xoauth2(SMTP_USER, SMTP_TOKEN))),
        "235 2.7.0 Accepted"
    );

    // XOAUTH2 in two steps (Microsoft's doc), and a scripted failure.
    let (mut c, _) = SmtpClient::connect(&fake);
    c.cmd("EHLO crm.test");
    assert_eq!(c.cmd("AUTH XOAUTH2"), "334 ");
    assert_eq!(c.cmd(&xoauth2(SMTP_USER, SMTP_TOKEN)), "235 2.7.0 Accepted");
    fake.fail_auth();
    let (mut c, _) = SmtpClient::connect(&fake);
    c.cmd("EHLO crm.test");
    assert!(c.cmd(&format!("AUTH PLAIN {right}")).starts_with("535"));
    assert_eq!(c.cmd(&format!("AUTH PLAIN {right}")), "235 2.7.0 Accepted");

    // Tokens a fake provider issued, for its account, with the SMTP scope.
    let google = google();
    fake.accept_tokens(google.smtp_token_check());
    let (full, _) = google.issue_tokens("https://mail.google.com/");
    let (send_only, _) = google.issue_tokens(GMAIL_SEND);
    let (mut c, _) = SmtpClient::connect(&fake);
    c.cmd("EHLO crm.test");
    assert!(
        c.cmd(&format!("AUTH XOAUTH2 {}", xoauth2(SMTP_USER, &send_only)))
            .starts_with("334 ")
    );
    assert!(c.cmd("").starts_with("535"));
    assert_eq!(
        c.cmd(&format!("AUTH XOAUTH2 {}", xoauth2(SMTP_USER, &full))),
        "235 2.7.0 Accepted"
    );
    google.expire_access_tokens();
    let (mut c, _) = SmtpClient::connect(&fake);
    c.cmd("HELO crm.test");
    assert!(
        c.cmd(&format!("AUTH XOAUTH2 {}", xoauth2(SMTP_USER, &full)))
            .starts_with("334 ")
    );
    assert!(c.cmd("").starts_with("535"));

    // Microsoft 365 with Basic auth off.
    fake.refuse_password_auth(true);
    let (mut c, _) = SmtpClient::connect(&fake);
    c.cmd("EHLO crm.test");
    assert!(
        c.cmd(&format!("AUTH PLAIN {right}"))
            .starts_with("550 5.7.30")
    );

    let attempts = fake.auth_attempts();
    let summary: Vec<(&str, bool)> = attempts
        .iter()
        .map(|a| (a.mechanism.as_str(), a.accepted))
        .collect();
    assert_eq!(
        summary,
        [
            ("PLAIN", false),
            ("PLAIN", true),
            ("LOGIN", true),
            ("XOAUTH2", false),
            ("XOAUTH2", true),
            ("XOAUTH2", true),
            ("PLAIN", false),
            ("PLAIN", true),
            ("XOAUTH2", false),
            ("XOAUTH2", true),
            ("XOAUTH2", false),
            ("PLAIN", false),
        ]
    );
    assert_eq!(attempts[3].empty_reply_to_challenge, Some(true));
    assert_eq!(attempts[0].username, SMTP_USER);
    assert!(fake.sent().is_empty());
    assert!(fake.connections() >= 8);
}

#[test]
fn smtp_data_is_recorded_and_scripted_4xx_5xx() {
    let fake = smtp();
    let mut c = SmtpClient::signed_in(&fake);
    assert_eq!(
        c.cmd("RCPT TO:<a@example.com>"),
        "503 5.5.1 need MAIL before RCPT"
    );
    assert_eq!(
        c.cmd("MAIL FROM:<owner@loanfactory.test> BODY=8BITMIME SIZE=200"),
        "250 2.1.0 OK"
    );
    assert!(
        c.cmd("MAIL FROM:<owner@loanfactory.test>")
            .starts_with("503")
    );
    assert_eq!(c.cmd("DATA"), "503 5.5.1 need RCPT command");
    assert_eq!(c.cmd("RCPT TO:<a@example.com>"), "250 2.1.5 OK");
    fake.fail_next_rcpt(
        550,
        "5.1.1 The email account that you tried to reach does not exist",
    );
    assert_eq!(
        c.cmd("RCPT TO:<gone@example.com>"),
        "550 5.1.1 The email account that you tried to reach does not exist"
    );
    assert_eq!(c.cmd("RCPT TO:<B@Example.com>"), "250 2.1.5 OK");
    assert_eq!(c.cmd("DATA"), "354 Go ahead");
    for line in [
        "From: CRM <owner@loanfactory.test>",
        "To: a@example.com, B@Example.com",
        "Subject: =?UTF-8?B?UHLDqnQ=?=",
        "Message-ID: <s1@loanfactory.test>",
        "",
        "Hello",
        "..hidden dot",
        ".",
    ] {
        c.send(line);
    }
    let accepted = c.reply();
    assert!(accepted.starts_with("250 2.0.0 OK"), "{accepted}");
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].envelope_from, "owner@loanfactory.test");
    assert_eq!(sent[0].recipients, ["a@example.com", "B@Example.com"]);
    assert_eq!(sent[0].header("subject"), Some("Prêt"));
    assert_eq!(sent[0].header("Message-ID"), Some("<s1@loanfactory.test>"));
    assert_eq!(sent[0].body(), "Hello\r\n.hidden dot\r\n");
    assert!(
        sent[0]
            .data
            .starts_with("From: CRM <owner@loanfactory.test>\r\n")
    );
    assert_eq!(sent[0].authenticated_as.as_deref(), Some(SMTP_USER));
    assert_eq!(sent[0].mechanism.as_deref(), Some("PLAIN"));

    // A temporary then a permanent refusal at the end of data; nothing is recorded.
    fake.fail_next_data(451, "4.3.0 Mail server temporarily rejected message");
    fake.fail_next_data(550, "5.7.1 Message rejected as spam");
    for expected in [
        "451 4.3.0 Mail server temporarily rejected message",
        "550 5.7.1 Message rejected as spam",
    ] {
        assert_eq!(c.cmd("MAIL FROM:<owner@loanfactory.test>"), "250 2.1.0 OK");
        assert_eq!(c.cmd("RCPT TO:<a@example.com>"), "250 2.1.5 OK");
        assert_eq!(c.cmd("DATA"), "354 Go ahead");
        c.send("Subject: again\r\n\r\nbody\r\n.");
        assert_eq!(c.reply(), expected);
    }
    fake.fail_next_mail(421, "4.7.0 Try again later");
    assert_eq!(
        c.cmd("MAIL FROM:<owner@loanfactory.test>"),
        "421 4.7.0 Try again later"
    );
    assert_eq!(c.cmd("MAIL FROM:<owner@loanfactory.test>"), "250 2.1.0 OK");
    assert_eq!(c.cmd("RSET"), "250 2.1.5 Flushed");
    assert_eq!(
        c.cmd("RCPT TO:<a@example.com>"),
        "503 5.5.1 need MAIL before RCPT"
    );
    assert_eq!(c.cmd("NOOP"), "250 2.0.0 OK");
    assert!(
        c.cmd("MAIL FROM:<owner@loanfactory.test> SIZE=99999999999")
            .starts_with("552")
    );
    assert!(c.cmd("STARTTLS").starts_with("502"));
    assert!(c.cmd("WHAT").starts_with("502"));
    assert_eq!(c.cmd("QUIT"), "221 2.0.0 closing connection");
    assert_eq!(fake.sent().len(), 1);

    let addr = fake.addr();
    drop(fake);
    assert!(
        TcpStream::connect(addr).is_err(),
        "dropping the fake stops it"
    );
}
