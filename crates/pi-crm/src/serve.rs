//! `pi-crm serve`: open the data directory, bind, print the real address, run the server and
//! the scheduler, and on SIGTERM or SIGINT stop taking requests, finish those in flight, stop
//! the jobs and checkpoint the database.

use anyhow::Context;
use std::io::Write;

use crate::scheduler::Scheduler;

pub struct ServeOptions {
    pub settings: app::Settings,
    pub web: web::WebConfig,
    pub bind: String,
    pub housekeeping_cron: String,
    pub backup_cron: String,
    /// HTTPS, when set; plain HTTP otherwise (fine on loopback).
    pub tls: Option<crate::tls::TlsSource>,
}

/// An exclusive lock on `DATA_DIR/pi-crm.lock`, held while a server runs, so a second server
/// or a restore cannot take the same data directory from under it.
pub struct DataDirLock {
    _file: std::fs::File,
}

impl DataDirLock {
    const FILE: &'static str = "pi-crm.lock";

    pub fn acquire(data_dir: &std::path::Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(data_dir.join(Self::FILE))?;
        file.try_lock().map_err(|_| {
            anyhow::anyhow!(
                "another pi-crm server is already running on {}",
                data_dir.display()
            )
        })?;
        Ok(Self { _file: file })
    }
}

/// A server that is running; tests hold one and stop it at the end.
pub struct Running {
    pub port: u16,
    pub host: String,
    pub https: bool,
    pub app: app::App,
    handle: actix_web::dev::ServerHandle,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    scheduler: Scheduler,
    sender: crate::sender::Sender,
    _lock: DataDirLock,
}

impl Running {
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}:{}", self.host, self.port)
    }

    /// Stops gracefully: no new connections, requests in flight finish, jobs stop, the WAL is
    /// checkpointed so the database file alone is complete.
    pub async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.server.await;
        self.scheduler.shutdown().await;
        let sender = self.sender;
        let _ = tokio::task::spawn_blocking(move || sender.stop()).await;
        let app = self.app.clone();
        let _ = tokio::task::spawn_blocking(move || app.db().checkpoint()).await;
    }
}

/// Starts everything and returns once the port is bound and the scheduler runs.
pub async fn start(options: ServeOptions) -> anyhow::Result<Running> {
    let data_dir = options.settings.data_dir.clone();
    let lock = DataDirLock::acquire(&data_dir)?;
    let listener = web::bind(&options.bind)
        .with_context(|| format!("could not listen on {}", options.bind))?;
    let addr = listener.local_addr()?;
    let https = options.tls.is_some();
    let mut settings = options.settings;
    // Links in emails need an address; without PI_CRM_PUBLIC_URL, the one we listen on.
    if settings.public_url.is_none() {
        let host = match addr.ip() {
            ip if ip.is_unspecified() => "localhost".to_owned(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            ip => ip.to_string(),
        };
        let scheme = if https { "https" } else { "http" };
        settings.public_url = Some(format!("{scheme}://{host}:{}", addr.port()));
    }
    let app = tokio::task::spawn_blocking(move || app::App::open(settings))
        .await?
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("could not open the data directory {}", data_dir.display()))?;
    // An import a crash or a stop left half done is undone before anyone sees it.
    let recovering = app.clone();
    match tokio::task::spawn_blocking(move || app::imports::recover(&recovering)).await? {
        Ok(0) => {}
        Ok(n) => tracing::warn!(imports = n, "undid imports left running by the last stop"),
        Err(e) => tracing::error!(cause = %e, "could not undo imports left running"),
    }
    let tls = match &options.tls {
        Some(source) => Some(crate::tls::server_config(source, &data_dir)?),
        None => None,
    };
    let web_config = web::WebConfig {
        tls: https,
        ..options.web
    };
    let built = web::server(app.clone(), web_config, listener, tls)?;
    let handle = built.server.handle();
    let scheduler = Scheduler::start(
        app.clone(),
        built.maintenance,
        &options.housekeeping_cron,
        &options.backup_cron,
    )
    .await?;
    let sending = app.clone();
    let sender =
        tokio::task::spawn_blocking(move || crate::sender::Sender::start(sending)).await??;
    let task = tokio::spawn(built.server);
    Ok(Running {
        port: addr.port(),
        host: addr.ip().to_string(),
        https,
        app,
        handle,
        server: task,
        scheduler,
        sender,
        _lock: lock,
    })
}

pub async fn run(options: ServeOptions) -> anyhow::Result<()> {
    // Listen for signals before announcing the address, so a stop sent right away is graceful.
    let signals = Signals::listen()?;
    let running = start(options).await?;
    println!("listening on {}", running.url());
    std::io::stdout().flush().ok();
    tracing::info!(port = running.port, "pi-crm is serving");
    signals.wait().await;
    tracing::info!("shutting down: finishing requests in flight");
    running.stop().await;
    tracing::info!("stopped");
    Ok(())
}

/// SIGTERM (systemd) and SIGINT (PM2, Ctrl-C) both mean: stop gracefully.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn listen() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                term: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
                int: signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn wait(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {},
            _ = self.int.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
