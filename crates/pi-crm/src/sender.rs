//! The send queue's worker thread and the reply reader's: settles what a crash left in flight, then sends due
//! messages, sleeping until the next one falls due or a new one is queued (at most a second,
//! so a message queued by another process still leaves within moments).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use app::messaging::queue::{self, Pacer};

/// Most messages handled before looking at the clock and the stop flag again.
const BATCH: i64 = 50;
/// The longest the worker sleeps.
const IDLE: Duration = Duration::from_secs(1);

pub struct Sender {
    stop: Arc<AtomicBool>,
    reader_stop: Arc<StopSignal>,
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
        let reader_stop = Arc::new(StopSignal::default());
        let (signal, reader_app) = (reader_stop.clone(), app.clone());
        let reader = std::thread::Builder::new()
            .name("read-replies".into())
            .spawn(move || read_replies(&reader_app, &signal))?;
        Ok(Self {
            stop,
            reader_stop,
            thread: Some(thread),
            reader: Some(reader),
            app,
        })
    }

    /// Stops after the message being sent (if any) is recorded.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.reader_stop.set();
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

/// Reads connected mailboxes for replies every `mail_poll_interval`, waiting in between on
/// the stop signal, so a shutdown is not held up.
fn read_replies(app: &app::App, stop: &StopSignal) {
    let interval = app
        .settings()
        .mail_poll_interval
        .max(Duration::from_secs(1));
    loop {
        match app::messaging::replies::poll(app) {
            Ok(0) => {}
            Ok(n) => tracing::info!(emails = n, "read new replies"),
            Err(e) => tracing::error!(cause = %e, "could not read replies"),
        }
        if stop.wait(interval) {
            return;
        }
    }
}

/// Tells the reply reader to stop, waking it from its wait.
#[derive(Default)]
struct StopSignal {
    stopped: Mutex<bool>,
    woken: Condvar,
}

impl StopSignal {
    fn set(&self) {
        *self.stopped.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.woken.notify_all();
    }

    /// Waits up to `timeout`; answers whether the stop was asked for.
    fn wait(&self, timeout: Duration) -> bool {
        let stopped = self.stopped.lock().unwrap_or_else(|e| e.into_inner());
        let (stopped, _) = self
            .woken
            .wait_timeout_while(stopped, timeout, |stopped| !*stopped)
            .unwrap_or_else(|e| e.into_inner());
        *stopped
    }
}
