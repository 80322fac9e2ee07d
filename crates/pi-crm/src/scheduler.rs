//! Scheduled jobs, run inside the server by tokio-cron-scheduler. Jobs call `app` use cases on
//! a blocking thread; each records its run in the audit log. Later features add theirs here.

use tokio_cron_scheduler::{Job, JobScheduler};

/// The jobs this server runs, by name (for logs and tests).
pub const JOBS: &[&str] = &["housekeeping", "prune-rate-limits"];

pub struct Scheduler {
    inner: JobScheduler,
}

impl Scheduler {
    /// Registers every job and starts the scheduler.
    pub async fn start(
        app: app::App,
        web: web::Maintenance,
        housekeeping_cron: &str,
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
        inner
            .add(Job::new("0 */10 * * * *", move |_id, _lock| {
                web.prune_rate_limits();
            })?)
            .await?;
        inner.start().await?;
        Ok(Self { inner })
    }

    pub async fn shutdown(mut self) {
        if let Err(e) = self.inner.shutdown().await {
            tracing::warn!(cause = %e, "scheduler did not stop cleanly");
        }
    }
}
