//! Plumbing shared by the fakes: each one is an actix-web server with one worker, bound on
//! loopback, driven by its own actix `System` on a dedicated thread. That makes a fake usable
//! from plain synchronous tests and from inside any tokio runtime alike. Also: the outgoing
//! HTTP client for webhooks, Basic auth parsing, scripted failures and random identifiers.

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Mutex, MutexGuard, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::http::header;
use actix_web::rt::System;
use actix_web::web::{self, ServiceConfig};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::Rng as _;
use rand::distributions::Alphanumeric;

use crate::{Delivery, Failure};

/// Largest request body a fake reads (Mailgun's limit is 25 MB).
const BODY_LIMIT: usize = 26 * 1024 * 1024;

/// How long after a send the automatic webhooks start, so the caller has time to record the
/// provider's answer before the first event about it arrives.
pub(crate) const WEBHOOK_DELAY: Duration = Duration::from_millis(50);

/// A running fake server. Dropping it stops the server and joins its thread.
pub(crate) struct Running {
    addr: SocketAddr,
    handle: ServerHandle,
    system: System,
    thread: Option<JoinHandle<()>>,
}

impl Running {
    /// Binds `addr` and serves the routes `configure` installs, on a new thread.
    pub(crate) fn start<F>(name: &str, addr: SocketAddr, configure: F) -> io::Result<Running>
    where
        F: Fn(&mut ServiceConfig) + Send + Clone + 'static,
    {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("fake-{name}"))
            .spawn(move || {
                System::new().block_on(async move {
                    let server = HttpServer::new(move || {
                        App::new()
                            .app_data(web::PayloadConfig::new(BODY_LIMIT))
                            .app_data(web::FormConfig::default().limit(BODY_LIMIT))
                            .configure(configure.clone())
                    })
                    .workers(1)
                    .disable_signals()
                    .shutdown_timeout(1)
                    .listen(listener);
                    let server = match server {
                        Ok(server) => server.run(),
                        Err(err) => {
                            let _ = tx.send(Err(err));
                            return;
                        }
                    };
                    let _ = tx.send(Ok((server.handle(), System::current())));
                    let _ = server.await;
                });
            })?;
        let (handle, system) = rx
            .recv()
            .map_err(|_| io::Error::other("fake server thread died while starting"))??;
        Ok(Running {
            addr,
            handle,
            system,
            thread: Some(thread),
        })
    }

    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Runs `future` on the fake's own runtime and waits for its output. Works from synchronous
    /// code and from inside another runtime (it blocks that thread meanwhile).
    pub(crate) fn block_on<T, Fut>(&self, future: Fut) -> io::Result<T>
    where
        T: Send + 'static,
        Fut: Future<Output = T> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        let spawned = self.system.arbiter().spawn(async move {
            let _ = tx.send(future.await);
        });
        if !spawned {
            return Err(io::Error::other("fake server is stopped"));
        }
        rx.recv()
            .map_err(|_| io::Error::other("fake server stopped before answering"))
    }

    /// Runs `future` on the fake's own runtime; the caller awaits its output without blocking,
    /// whatever executor it runs on.
    pub(crate) async fn run<T, Fut>(&self, future: Fut) -> io::Result<T>
    where
        T: Send + 'static,
        Fut: Future<Output = T> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let spawned = self.system.arbiter().spawn(async move {
            let _ = tx.send(future.await);
        });
        if !spawned {
            return Err(io::Error::other("fake server is stopped"));
        }
        rx.await
            .map_err(|_| io::Error::other("fake server stopped before answering"))
    }

    /// Stops the server and waits for its thread; calling it again does nothing.
    pub(crate) fn stop(&mut self) {
        if let Some(thread) = self.thread.take() {
            // The command is sent at once; the returned future only reports completion.
            drop(self.handle.stop(false));
            let _ = thread.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Locks shared state; a panic in another holder does not make the fake unusable.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The HTTP client the fakes send webhooks with: plain loopback HTTP most of the time, no proxy,
/// no pooled connections (tasks on different runtimes share it).
pub(crate) fn client() -> io::Result<reqwest::Client> {
    // reqwest is built without a default TLS crypto provider; installing twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(io::Error::other)
}

/// The user and password of an `Authorization: Basic` header, if it is well formed.
pub(crate) fn basic_auth(req: &HttpRequest) -> Option<(String, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The answer to a scripted failure: its status, its body (as JSON when it parses as JSON,
/// plain text otherwise) and `Retry-After` when set.
pub(crate) fn failure_response(failure: &Failure) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(failure.status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    if let Some(seconds) = failure.retry_after {
        response.insert_header((header::RETRY_AFTER, seconds.to_string()));
    }
    let content_type = if serde_json::from_str::<serde_json::Value>(&failure.body).is_ok() {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    response
        .content_type(content_type)
        .body(failure.body.clone())
}

/// `len` random ASCII letters and digits.
pub(crate) fn random_alnum(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

/// Records the outcome of one webhook POST.
pub(crate) fn delivery(url: &str, kind: &str, result: Result<u16, reqwest::Error>) -> Delivery {
    Delivery {
        url: url.to_owned(),
        kind: kind.to_owned(),
        status: result.map_err(|err| err.to_string()),
    }
}
