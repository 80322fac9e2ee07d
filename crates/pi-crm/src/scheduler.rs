//! Scheduled jobs, run inside the server by tokio-cron-scheduler. Jobs call `app` use cases on
//! a blocking thread; each records its run in the audit log. Later features add theirs here.

use tokio_cron_scheduler::{Job, JobScheduler};

/// The jobs this server runs, by name (for logs and tests).
pub const JOBS: &[&str] = &["housekeeping", "backup", "prune-rate-limits"];

/// How many times a failed scheduled backup is tried again, and how long apart.
const BACKUP_RETRIES: u32 = 2;
const BACKUP_RETRY_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

pub struct Scheduler {
    inner: JobScheduler,
    maintenance: web::Maintenance,
}

impl Scheduler {
    /// Registers every job and starts the scheduler.
    pub async fn start(
        app: app::App,
        web: web::Maintenance,
        housekeeping_cron: &str,
        backup_cron: &str,
    ) -> anyhow::Result<Self> {
        let inner = JobScheduler::new().await?;
        let job_app = app.clone();
        inner
            .add(
                Job::new_async(housekeeping_cron, move |_id, _lock| {
                    let app = job_app.clone();
                    Box::pin(async move {
                        match tokio::task::spawn_blocking(move || app::housekeeping::run(&app))
                            .await
                        {
                            Ok(Ok(report)) => tracing::info!(
                                removed = report.expired_sessions_removed,
                                "housekeeping done"
                            ),
                            Ok(Err(e)) => tracing::error!(cause = %e, "housekeeping failed"),
                            Err(e) => tracing::error!(cause = %e, "housekeeping task panicked"),
                        }
                    })
                })
                .map_err(|e| {
                    anyhow::anyhow!(
                        "the housekeeping schedule '{housekeeping_cron}' is not valid: {e}"
                    )
                })?,
            )
            .await?;
        let backup_app = app.clone();
        inner
            .add(
                Job::new_async(backup_cron, move |_id, _lock| {
                    let app = backup_app.clone();
                    Box::pin(async move { run_backup(app).await })
                })
                .map_err(|e| {
                    anyhow::anyhow!("the backup schedule '{backup_cron}' is not valid: {e}")
                })?,
            )
            .await?;
        let maintenance = web.clone();
        inner
            .add(Job::new("0 */10 * * * *", move |_id, _lock| {
                web.prune_rate_limits();
            })?)
            .await?;
        inner.start().await?;
        maintenance.set_scheduler_running(true);
        Ok(Self { inner, maintenance })
    }

    pub async fn shutdown(mut self) {
        self.maintenance.set_scheduler_running(false);
        if let Err(e) = self.inner.shutdown().await {
            tracing::warn!(cause = %e, "scheduler did not stop cleanly");
        }
    }
}

/// The scheduled backup, tried again a couple of times if it fails (a busy USB drive, a NAS
/// that is waking up). Every attempt is recorded, so a failure shows in the top bar.
async fn run_backup(app: app::App) {
    for attempt in 0..=BACKUP_RETRIES {
        let job = app.clone();
        match tokio::task::spawn_blocking(move || app::backup::scheduled(&job)).await {
            Ok(Ok(report)) => {
                tracing::info!(bytes = report.size_bytes, "scheduled backup done");
                return;
            }
            Ok(Err(e)) => tracing::error!(cause = %e, attempt, "scheduled backup failed"),
            Err(e) => tracing::error!(cause = %e, "scheduled backup task panicked"),
        }
        if attempt < BACKUP_RETRIES {
            tokio::time::sleep(BACKUP_RETRY_WAIT).await;
        }
    }
}
