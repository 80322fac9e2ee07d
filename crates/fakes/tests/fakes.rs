//! Black-box tests of the fakes over real HTTP: auth, validation, scripted failures, both body
//! encodings Mailgun accepts, and webhooks whose signatures are checked here by an independent
//! computation (not the fakes' own functions).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use fakes::{Failure, FakeMailgun, FakeTwilio, MailgunConfig, TwilioConfig};
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
