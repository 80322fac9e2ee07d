//! The send queue's worker thread and the reply reader's: settles what a crash left in flight, then sends due
//! messages, sleeping until the next one falls due or a new one is queued (at most a second,
//! so a message queued by another process still leaves within moments).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use app::messaging::queue::{self, Pacer};

/// Most messages handled before looking at the clock and the stop flag again.
const BATCH: i64 = 50;
/// The longest the worker sleeps.
const IDLE: Duration = Duration::from_secs(1);

pub struct Sender {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    reader: Option<JoinHandle<()>>,
    app: app::App,
}

impl Sender {
    /// Turns messages left in `sending` into `unknown`, then starts the worker.
    pub fn start(app: app::App) -> std::io::Result<Self> {
        match queue::recover(&app) {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                messages = n,
                "messages were being sent when pi-crm stopped: marked unknown for a person to settle"
            ),
            Err(e) => {
                tracing::error!(cause = %e, "could not check the send queue after the last stop")
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, worker_app) = (stop.clone(), app.clone());
        let thread = std::thread::Builder::new()
            .name("send-queue".into())
            .spawn(move || run(&worker_app, &flag))?;
        let (flag, reader_app) = (stop.clone(), app.clone());
        let reader = std::thread::Builder::new()
            .name("read-replies".into())
            .spawn(move || read_replies(&reader_app, &flag))?;
        Ok(Self {
            stop,
            thread: Some(thread),
            reader: Some(reader),
            app,
        })
    }

    /// Stops after the message being sent (if any) is recorded.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.app.queue_signal().notify();
        for thread in [self.thread.take(), self.reader.take()]
            .into_iter()
            .flatten()
        {
            let _ = thread.join();
        }
    }
}

fn run(app: &app::App, stop: &AtomicBool) {
    let mut pacer = Pacer::default();
    while !stop.load(Ordering::SeqCst) {
        let wait = match queue::run_due(app, &mut pacer, BATCH) {
            Ok(n) if n as i64 == BATCH => continue,
            // Something was sent: look again when the next one falls due.
            Ok(n) if n > 0 => queue::sleep_for(app, IDLE),
            // Nothing was due (or only in paused workspaces): rest, unless woken.
            Ok(_) => IDLE,
            Err(e) => {
                tracing::error!(cause = %e, "the send queue could not send");
                IDLE
            }
        };
        if !wait.is_zero() {
            app.queue_signal().wait(wait);
        }
    }
}

/// Reads connected mailboxes for replies every `mail_poll_interval`, checking the stop flag
/// each second so a shutdown is not held up.
fn read_replies(app: &app::App, stop: &AtomicBool) {
    let interval = app
        .settings()
        .mail_poll_interval
        .max(Duration::from_secs(1));
    let mut waited = interval;
    while !stop.load(Ordering::SeqCst) {
        if waited >= interval {
            waited = Duration::ZERO;
            match app::messaging::replies::poll(app) {
                Ok(0) => {}
                Ok(n) => tracing::info!(emails = n, "read new replies"),
                Err(e) => tracing::error!(cause = %e, "could not read replies"),
            }
        }
        std::thread::sleep(Duration::from_secs(1).min(interval));
        waited += Duration::from_secs(1).min(interval);
    }
}
