//! Fake SMTP submission server (PROVIDERS.md 3.3 and 4.5) on plain TCP: EHLO/HELO, AUTH PLAIN,
//! AUTH LOGIN and AUTH XOAUTH2 (with the initial response or in two steps, and Gmail's
//! `334 <base64 JSON>` / empty line / `535` failure path), MAIL FROM, RCPT TO, DATA with
//! dot-unstuffing, RSET, NOOP, QUIT. There is no TLS: pi-crm's client uses TLS mode `none` for
//! this loopback fake only.
//!
//! It runs on its own thread with a single-threaded tokio runtime, so it works from synchronous
//! tests and from inside any runtime alike; dropping it stops the server and closes every
//! connection. Mail is accepted only after a successful AUTH, and every accepted message is
//! recorded with its envelope and parsed headers. Failures can be scripted per stage.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;

use crate::mime;
use crate::server::lock;

/// Host name the fake gives in its greeting and EHLO answer.
const HOST: &str = "smtp.fake.pi-crm.test";

/// Largest message accepted (what Gmail advertises).
pub const MAX_SIZE: usize = 35_882_577;

/// Longest command line read; longer ones are refused (RFC 5321 allows 512 octets).
const MAX_LINE: usize = 64 * 1024;

/// Most recipients of one message.
const MAX_RECIPIENTS: usize = 100;

/// The JSON Gmail sends, base64-encoded, in its `334` challenge when an XOAUTH2 token is bad.
pub const XOAUTH2_ERROR: &str =
    r#"{"status":"401","schemes":"bearer mac","scope":"https://mail.google.com/"}"#;

/// Decides whether an XOAUTH2 `(user, token)` pair is accepted, e.g. by asking a fake
/// provider whether it issued the token ([`crate::FakeGoogle::smtp_token_check`]).
pub type TokenCheck = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// The credentials the fake accepts: `username`/`password` for AUTH PLAIN and LOGIN, and, when
/// set, `oauth_token` (for `username`) for AUTH XOAUTH2.
#[derive(Clone, Debug)]
pub struct SmtpConfig {
    pub username: String,
    pub password: String,
    pub oauth_token: Option<String>,
}

/// One message accepted after `DATA`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SmtpMessage {
    /// The `MAIL FROM` address, without angle brackets (empty for the null sender `<>`).
    pub envelope_from: String,
    /// The `RCPT TO` addresses that were accepted, without angle brackets.
    pub recipients: Vec<String>,
    /// The message as received, dot-unstuffed, without the final `.` line.
    pub data: String,
    /// Its headers, unfolded and RFC 2047-decoded.
    pub headers: Vec<(String, String)>,
    /// Who the session authenticated as.
    pub authenticated_as: Option<String>,
    /// `PLAIN`, `LOGIN` or `XOAUTH2`.
    pub mechanism: Option<String>,
}

impl SmtpMessage {
    /// The value of header `name`, compared without regard to case.
    pub fn header(&self, name: &str) -> Option<&str> {
        mime::header(&self.headers, name)
    }

    /// Everything after the header block.
    pub fn body(&self) -> &str {
        mime::split(&self.data).1
    }

    /// The first `text/plain` part, decoded.
    pub fn text(&self) -> Option<String> {
        mime::parse(&self.data)
            .find("text/plain")
            .map(mime::Part::text)
    }

    /// The first `text/html` part, decoded.
    pub fn html(&self) -> Option<String> {
        mime::parse(&self.data)
            .find("text/html")
            .map(mime::Part::text)
    }
}

/// One AUTH exchange.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SmtpAuth {
    /// `PLAIN`, `LOGIN` or `XOAUTH2`.
    pub mechanism: String,
    pub username: String,
    pub accepted: bool,
    /// For a refused XOAUTH2: whether the client answered the `334` challenge with the empty
    /// line the protocol asks for. `None` otherwise, and until the client answered.
    pub empty_reply_to_challenge: Option<bool>,
}

/// A fake SMTP server on 127.0.0.1. Dropping it stops the server.
pub struct FakeSmtp {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    config: SmtpConfig,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    sent: Vec<SmtpMessage>,
    auths: Vec<SmtpAuth>,
    connections: usize,
    mail_failures: VecDeque<(u16, String)>,
    rcpt_failures: VecDeque<(u16, String)>,
    data_failures: VecDeque<(u16, String)>,
    auth_failures: usize,
    checks: Vec<TokenCheck>,
    refuse_passwords: bool,
}

impl FakeSmtp {
    /// Starts the fake on a free loopback port.
    pub fn start(config: SmtpConfig) -> io::Result<FakeSmtp> {
        FakeSmtp::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Starts the fake on `addr` (the demo binary uses a fixed port).
    pub fn start_on(config: SmtpConfig, addr: SocketAddr) -> io::Result<FakeSmtp> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            config,
            state: Mutex::new(State::default()),
        });
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = mpsc::channel();
        let serving = shared.clone();
        let thread = std::thread::Builder::new()
            .name("fake-smtp".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(err) => {
                        let _ = ready_tx.send(Err(err));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(err) => {
                            let _ = ready_tx.send(Err(err));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    let accept = async {
                        loop {
                            let Ok((stream, _)) = listener.accept().await else {
                                continue;
                            };
                            lock(&serving.state).connections += 1;
                            tokio::spawn(session(stream, serving.clone()));
                        }
                    };
                    tokio::select! {
                        _ = accept => {}
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime here cancels every session and closes its socket.
            })?;
        ready_rx
            .recv()
            .map_err(|_| io::Error::other("fake SMTP thread died while starting"))??;
        Ok(FakeSmtp {
            shared,
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The address the fake listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1`.
    pub fn host(&self) -> String {
        self.addr.ip().to_string()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `smtp://127.0.0.1:PORT`, for logs; clients take host and port separately.
    pub fn base_url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Every accepted message, in order.
    pub fn sent(&self) -> Vec<SmtpMessage> {
        lock(&self.shared.state).sent.clone()
    }

    /// Every AUTH exchange, accepted or not, in order.
    pub fn auth_attempts(&self) -> Vec<SmtpAuth> {
        lock(&self.shared.state).auths.clone()
    }

    /// How many connections were accepted so far.
    pub fn connections(&self) -> usize {
        lock(&self.shared.state).connections
    }

    /// Answers the next `MAIL FROM` with `code text` (e.g. `421`, `"4.7.0 Try again later"`).
    pub fn fail_next_mail(&self, code: u16, text: &str) {
        lock(&self.shared.state)
            .mail_failures
            .push_back((code, text.to_owned()));
    }

    /// Answers the next `RCPT TO` with `code text` instead of accepting the recipient, e.g.
    /// `451` / `"4.3.0 Mail server temporarily rejected message"` or `550` /
    /// `"5.1.1 The email account that you tried to reach does not exist"`.
    pub fn fail_next_rcpt(&self, code: u16, text: &str) {
        lock(&self.shared.state)
            .rcpt_failures
            .push_back((code, text.to_owned()));
    }

    /// Answers the end of the next message's data (after the final `.`) with `code text`
    /// instead of accepting it; the message is not recorded.
    pub fn fail_next_data(&self, code: u16, text: &str) {
        lock(&self.shared.state)
            .data_failures
            .push_back((code, text.to_owned()));
    }

    /// Makes the next AUTH fail whatever the credentials (each call queues one failure).
    pub fn fail_auth(&self) {
        lock(&self.shared.state).auth_failures += 1;
    }

    /// Also accepts XOAUTH2 pairs that `check` approves (several checks may be added; any one
    /// approving is enough).
    pub fn accept_tokens(&self, check: TokenCheck) {
        lock(&self.shared.state).checks.push(check);
    }

    /// Refuses AUTH PLAIN and LOGIN with `550 5.7.30 Basic authentication is not supported
    /// for Client Submission`, as Microsoft 365 does once Basic auth is off (PROVIDERS.md 4.5).
    pub fn refuse_password_auth(&self, refuse: bool) {
        lock(&self.shared.state).refuse_passwords = refuse;
    }

    /// Stops the server now (dropping the fake does the same).
    pub fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for FakeSmtp {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The state of one SMTP session.
#[derive(Default)]
struct Session {
    greeted: bool,
    user: Option<(String, String)>,
    from: Option<String>,
    recipients: Vec<String>,
}

impl Session {
    fn reset(&mut self) {
        self.from = None;
        self.recipients.clear();
    }
}

/// Reads and writes lines of one connection.
struct Conn {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

/// What reading a line gave.
enum Line {
    Text(String),
    TooLong,
    Closed,
}

impl Conn {
    async fn reply(&mut self, text: &str) -> io::Result<()> {
        self.writer.write_all(text.as_bytes()).await?;
        self.writer.write_all(b"\r\n").await?;
        self.writer.flush().await
    }

    /// One line with its terminator (CRLF or a bare LF) removed.
    async fn line(&mut self) -> io::Result<Line> {
        let mut buffer = Vec::new();
        let read = (&mut self.reader)
            .take(MAX_LINE as u64 + 2)
            .read_until(b'\n', &mut buffer)
            .await?;
        if read == 0 {
            return Ok(Line::Closed);
        }
        if !buffer.ends_with(b"\n") {
            if read > MAX_LINE {
                // Skip the rest of the overlong line.
                let mut rest = Vec::new();
                self.reader.read_until(b'\n', &mut rest).await?;
                return Ok(Line::TooLong);
            }
            return Ok(Line::Closed);
        }
        buffer.pop();
        if buffer.ends_with(b"\r") {
            buffer.pop();
        }
        Ok(Line::Text(String::from_utf8_lossy(&buffer).into_owned()))
    }
}

async fn session(stream: TcpStream, shared: Arc<Shared>) {
    let (read, write) = stream.into_split();
    let mut conn = Conn {
        reader: BufReader::new(read),
        writer: write,
    };
    let _ = serve(&mut conn, &shared).await;
}

async fn serve(conn: &mut Conn, shared: &Shared) -> io::Result<()> {
    conn.reply(&format!("220 {HOST} ESMTP pi-crm fake ready"))
        .await?;
    let mut session = Session::default();
    loop {
        let line = match conn.line().await? {
            Line::Text(line) => line,
            Line::TooLong => {
                conn.reply("500 5.5.2 Line too long").await?;
                continue;
            }
            Line::Closed => return Ok(()),
        };
        let (verb, arg) = match line.split_once(' ') {
            Some((verb, arg)) => (verb.to_ascii_uppercase(), arg.trim().to_owned()),
            None => (line.trim().to_ascii_uppercase(), String::new()),
        };
        match verb.as_str() {
            "EHLO" | "HELO" if arg.is_empty() => {
                conn.reply("501 5.5.4 Empty HELO/EHLO argument not allowed")
                    .await?;
            }
            "EHLO" => {
                session.greeted = true;
                session.reset();
                conn.reply(&format!(
                    "250-{HOST} at your service, [127.0.0.1]\r\n250-SIZE {MAX_SIZE}\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN XOAUTH2\r\n250 ENHANCEDSTATUSCODES"
                ))
                .await?;
            }
            "HELO" => {
                session.greeted = true;
                session.reset();
                conn.reply(&format!("250 {HOST} at your service")).await?;
            }
            "AUTH" => auth(conn, shared, &mut session, &arg).await?,
            "MAIL" => {
                let reply = mail(shared, &mut session, &arg);
                conn.reply(&reply).await?;
            }
            "RCPT" => {
                let reply = rcpt(shared, &mut session, &arg);
                conn.reply(&reply).await?;
            }
            "DATA" => data(conn, shared, &mut session, &arg).await?,
            "RSET" => {
                session.reset();
                conn.reply("250 2.1.5 Flushed").await?;
            }
            "NOOP" => conn.reply("250 2.0.0 OK").await?,
            "VRFY" => {
                conn.reply("252 2.1.5 Send some mail, I'll try my best")
                    .await?;
            }
            "QUIT" => {
                conn.reply("221 2.0.0 closing connection").await?;
                return Ok(());
            }
            "STARTTLS" => {
                conn.reply(
                    "502 5.5.1 STARTTLS is not offered: this fake is plain TCP (TLS mode none)",
                )
                .await?;
            }
            "" => {
                conn.reply("500 5.5.2 Syntax error, command unrecognized")
                    .await?
            }
            _ => conn.reply("502 5.5.1 Unrecognized command").await?,
        }
    }
}

/// What AUTH decoded from the client.
enum Credentials {
    Password { user: String, password: String },
    Token { user: String, token: String },
    Malformed,
}

async fn auth(
    conn: &mut Conn,
    shared: &Shared,
    session: &mut Session,
    arg: &str,
) -> io::Result<()> {
    if !session.greeted {
        return conn.reply("503 5.5.1 EHLO/HELO first").await;
    }
    if session.user.is_some() {
        return conn.reply("503 5.5.1 Already authenticated").await;
    }
    if session.from.is_some() {
        return conn
            .reply("503 5.5.1 AUTH not allowed during a mail transaction")
            .await;
    }
    let (mechanism, initial) = match arg.split_once(' ') {
        Some((mechanism, initial)) => (mechanism.to_ascii_uppercase(), Some(initial.trim())),
        None => (arg.to_ascii_uppercase(), None),
    };
    let initial = initial.map(str::to_owned);
    // The client's answer to a `334` prompt; `None` when it cancelled with `*` or hung up.
    async fn prompt(conn: &mut Conn, challenge: &str) -> io::Result<Option<String>> {
        conn.reply(&format!("334 {challenge}")).await?;
        match conn.line().await? {
            Line::Text(line) if line.trim() == "*" => {
                conn.reply("501 5.7.0 Authentication cancelled").await?;
                Ok(None)
            }
            Line::Text(line) => Ok(Some(line)),
            Line::TooLong => {
                conn.reply("500 5.5.2 Line too long").await?;
                Ok(None)
            }
            Line::Closed => Ok(None),
        }
    }
    let credentials = match mechanism.as_str() {
        "PLAIN" => {
            let response = match initial {
                Some(initial) => initial,
                None => match prompt(conn, "").await? {
                    Some(line) => line,
                    None => return Ok(()),
                },
            };
            match decode(&response)
                .map(|text| text.split('\0').map(str::to_owned).collect::<Vec<String>>())
            {
                Some(fields) if fields.len() == 3 => Credentials::Password {
                    user: fields[1].clone(),
                    password: fields[2].clone(),
                },
                _ => Credentials::Malformed,
            }
        }
        "LOGIN" => {
            let user = match initial {
                Some(initial) => initial,
                None => match prompt(conn, &STANDARD.encode("Username:")).await? {
                    Some(line) => line,
                    None => return Ok(()),
                },
            };
            let password = match prompt(conn, &STANDARD.encode("Password:")).await? {
                Some(line) => line,
                None => return Ok(()),
            };
            match (decode(&user), decode(&password)) {
                (Some(user), Some(password)) => Credentials::Password { user, password },
                _ => Credentials::Malformed,
            }
        }
        "XOAUTH2" => {
            let response = match initial {
                Some(initial) => initial,
                None => match prompt(conn, "").await? {
                    Some(line) => line,
                    None => return Ok(()),
                },
            };
            match decode(&response).as_deref().and_then(parse_xoauth2) {
                Some((user, token)) => Credentials::Token { user, token },
                None => Credentials::Malformed,
            }
        }
        "" => return conn.reply("501 5.5.4 Syntax: AUTH mechanism").await,
        _ => {
            return conn
                .reply("504 5.5.4 Unrecognized authentication type")
                .await;
        }
    };

    let (username, accepted, refused_password) = {
        let mut state = lock(&shared.state);
        let forced = state.auth_failures > 0;
        if forced {
            state.auth_failures -= 1;
        }
        let config = &shared.config;
        match &credentials {
            Credentials::Password { user, password } => {
                let ok = !forced
                    && !state.refuse_passwords
                    && *user == config.username
                    && *password == config.password;
                (user.clone(), ok, state.refuse_passwords)
            }
            Credentials::Token { user, token } => {
                let configured = config
                    .oauth_token
                    .as_ref()
                    .is_some_and(|t| t == token && *user == config.username);
                let checks = state.checks.clone();
                drop(state);
                let ok = !forced && (configured || checks.iter().any(|check| check(user, token)));
                (user.clone(), ok, false)
            }
            Credentials::Malformed => (String::new(), false, false),
        }
    };

    let record = SmtpAuth {
        mechanism: mechanism.clone(),
        username: username.clone(),
        accepted,
        empty_reply_to_challenge: None,
    };
    if accepted {
        session.user = Some((username, mechanism));
        lock(&shared.state).auths.push(record);
        return conn.reply("235 2.7.0 Accepted").await;
    }
    match credentials {
        Credentials::Malformed if mechanism != "XOAUTH2" => {
            lock(&shared.state).auths.push(record);
            conn.reply("501 5.5.2 Cannot decode the AUTH response")
                .await
        }
        Credentials::Token { .. } | Credentials::Malformed => {
            // Gmail's failure path (PROVIDERS.md 3.3): a 334 challenge with an error JSON, the
            // client's (empty) line, then 535.
            let index = {
                let mut state = lock(&shared.state);
                state.auths.push(record);
                state.auths.len() - 1
            };
            conn.reply(&format!("334 {}", STANDARD.encode(XOAUTH2_ERROR)))
                .await?;
            let answer = conn.line().await?;
            if !matches!(answer, Line::Closed) {
                lock(&shared.state).auths[index].empty_reply_to_challenge =
                    Some(matches!(&answer, Line::Text(line) if line.is_empty()));
            }
            if matches!(answer, Line::Closed) {
                return Ok(());
            }
            conn.reply(
                "535-5.7.1 Username and Password not accepted. Learn more at\r\n535 5.7.1 https://support.google.com/mail/?p=BadCredentials fake",
            )
            .await
        }
        Credentials::Password { .. } => {
            lock(&shared.state).auths.push(record);
            if refused_password {
                conn.reply("550 5.7.30 Basic authentication is not supported for Client Submission")
                    .await
            } else {
                conn.reply("535 5.7.8 Username and Password not accepted")
                    .await
            }
        }
    }
}

/// Standard base64 to text; `=` alone is the empty response.
fn decode(text: &str) -> Option<String> {
    let text = text.trim();
    if text == "=" {
        return Some(String::new());
    }
    let bytes = crate::mime::LENIENT.decode(text).ok()?;
    String::from_utf8(bytes).ok()
}

/// `user=<u>\x01auth=Bearer <token>\x01\x01` into `(u, token)`.
fn parse_xoauth2(text: &str) -> Option<(String, String)> {
    let mut user = None;
    let mut token = None;
    for field in text.split('\x01') {
        if let Some(value) = field.strip_prefix("user=") {
            user = Some(value.to_owned());
        } else if let Some(value) = field.strip_prefix("auth=") {
            let (scheme, value) = value.split_once(' ')?;
            if scheme.eq_ignore_ascii_case("bearer") {
                token = Some(value.trim().to_owned());
            }
        }
    }
    if !text.ends_with("\x01\x01") {
        return None;
    }
    Some((user?, token?))
}

/// `<address>` out of `FROM:<address> PARAM=...` (the `FROM:`/`TO:` keyword already removed),
/// and the parameters after it.
fn path_and_params(rest: &str) -> Option<(String, Vec<String>)> {
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    let address = rest[..end].trim().to_owned();
    let params = rest[end + 1..]
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    Some((address, params))
}

fn strip_keyword<'a>(arg: &'a str, keyword: &str) -> Option<&'a str> {
    let head = arg.get(..keyword.len())?;
    head.eq_ignore_ascii_case(keyword)
        .then(|| &arg[keyword.len()..])
}

fn mail(shared: &Shared, session: &mut Session, arg: &str) -> String {
    if !session.greeted {
        return "503 5.5.1 EHLO/HELO first".into();
    }
    if session.user.is_none() {
        return "530 5.7.0 Authentication Required".into();
    }
    if session.from.is_some() {
        return "503 5.5.1 Sender already specified".into();
    }
    let Some((address, params)) = strip_keyword(arg, "FROM:").and_then(path_and_params) else {
        return "501 5.5.4 Syntax: MAIL FROM:<address>".into();
    };
    if !address.is_empty() && !mime::valid_address(&address) {
        return "553 5.1.7 The sender address is not a valid address".into();
    }
    for param in &params {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        match name.to_ascii_uppercase().as_str() {
            "SIZE" => match value.parse::<usize>() {
                Ok(size) if size > MAX_SIZE => {
                    return "552 5.3.4 Message size exceeds fixed maximum message size".into();
                }
                Ok(_) => {}
                Err(_) => return "501 5.5.4 Invalid SIZE parameter".into(),
            },
            "BODY" if ["7BIT", "8BITMIME"].contains(&value.to_ascii_uppercase().as_str()) => {}
            "AUTH" => {}
            _ => return format!("555 5.5.4 Unsupported parameter {name}"),
        }
    }
    if let Some((code, text)) = lock(&shared.state).mail_failures.pop_front() {
        return format!("{code} {text}");
    }
    session.from = Some(address);
    "250 2.1.0 OK".into()
}

fn rcpt(shared: &Shared, session: &mut Session, arg: &str) -> String {
    if session.from.is_none() {
        return "503 5.5.1 need MAIL before RCPT".into();
    }
    let Some((address, params)) = strip_keyword(arg, "TO:").and_then(path_and_params) else {
        return "501 5.5.4 Syntax: RCPT TO:<address>".into();
    };
    if let Some(param) = params.first() {
        return format!("555 5.5.4 Unsupported parameter {param}");
    }
    if !mime::valid_address(&address) {
        return format!("553 5.1.3 The recipient address <{address}> is not a valid address");
    }
    if session.recipients.len() >= MAX_RECIPIENTS {
        return "452 4.5.3 Too many recipients".into();
    }
    if let Some((code, text)) = lock(&shared.state).rcpt_failures.pop_front() {
        return format!("{code} {text}");
    }
    session.recipients.push(address);
    "250 2.1.5 OK".into()
}

async fn data(
    conn: &mut Conn,
    shared: &Shared,
    session: &mut Session,
    arg: &str,
) -> io::Result<()> {
    if !arg.is_empty() {
        return conn.reply("501 5.5.4 DATA takes no arguments").await;
    }
    if session.from.is_none() {
        return conn.reply("503 5.5.1 need MAIL command").await;
    }
    if session.recipients.is_empty() {
        return conn.reply("503 5.5.1 need RCPT command").await;
    }
    conn.reply("354 Go ahead").await?;
    let mut data = String::new();
    let mut too_big = false;
    loop {
        let mut buffer = Vec::new();
        let read = conn.reader.read_until(b'\n', &mut buffer).await?;
        if read == 0 {
            return Ok(());
        }
        let content_end = buffer.len()
            - if buffer.ends_with(b"\r\n") {
                2
            } else if buffer.ends_with(b"\n") {
                1
            } else {
                0
            };
        if &buffer[..content_end] == b"." {
            break;
        }
        let line = buffer.strip_prefix(b".").unwrap_or(&buffer);
        if data.len() + line.len() > MAX_SIZE {
            too_big = true;
            continue;
        }
        data.push_str(&String::from_utf8_lossy(line));
    }
    let from = session.from.take().unwrap_or_default();
    let recipients = std::mem::take(&mut session.recipients);
    if too_big {
        return conn
            .reply("552 5.3.4 Message size exceeds fixed maximum message size")
            .await;
    }
    let failure = lock(&shared.state).data_failures.pop_front();
    if let Some((code, text)) = failure {
        return conn.reply(&format!("{code} {text}")).await;
    }
    let (authenticated_as, mechanism) = match &session.user {
        Some((user, mechanism)) => (Some(user.clone()), Some(mechanism.clone())),
        None => (None, None),
    };
    let message = SmtpMessage {
        envelope_from: from,
        recipients,
        headers: mime::message_headers(&data),
        data,
        authenticated_as,
        mechanism,
    };
    lock(&shared.state).sent.push(message);
    conn.reply(&format!("250 2.0.0 OK {:x} - gsmtp", rand::random::<u64>()))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_documented_xoauth2_examples() {
        // PROVIDERS.md 3.3 (Google's example) and 4.5 (Microsoft's pair).
        let google = "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==";
        assert_eq!(
            decode(google).as_deref().and_then(parse_xoauth2),
            Some((
                "someuser@example.com".into(),
                "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg".into()
            ))
        );
        let microsoft = "dXNlcj10ZXN0QGNvbnRvc28ub25taWNyb3NvZnQuY29tAWF1dGg9QmVhcmVyIEV3QkFBbDNCQUFVRkZwVUFvN0ozVmUwYmpMQldaV0NjbFJDM0VvQUEBAQ==";
        assert_eq!(
            decode(microsoft).as_deref().and_then(parse_xoauth2),
            Some((
                "test@contoso.onmicrosoft.com".into(),
                "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA".into()
            ))
        );
        assert_eq!(parse_xoauth2("user=a\x01auth=Bearer t"), None);
    }

    #[test]
    fn parses_envelope_paths() {
        assert_eq!(
            strip_keyword("from:<a@x.test> SIZE=10", "FROM:").and_then(path_and_params),
            Some(("a@x.test".into(), vec!["SIZE=10".into()]))
        );
        assert_eq!(
            strip_keyword("FROM: <>", "FROM:").and_then(path_and_params),
            Some((String::new(), vec![]))
        );
        assert_eq!(
            strip_keyword("TO:a@x.test", "TO:").and_then(path_and_params),
            None
        );
    }
}
