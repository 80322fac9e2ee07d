//! Scheduled jobs: housekeeping removes expired sessions and records its run.

use std::time::Duration;

use crate::harness::{sleep, spawn_app_with};

#[tokio::test]
async fn housekeeping_removes_expired_sessions_and_is_audited() {
    let app = spawn_app_with(|o| o.settings.session_idle = Duration::from_secs(1)).await;
    let _browser = app.signed_in("andy").await;
    sleep(1500).await;
    let report = app::housekeeping::run(app.app()).unwrap();
    assert_eq!(report.expired_sessions_removed, 1);
    let user = app::accounts::find_user(app.app(), "andy").unwrap();
    let caller = app::Caller::browser(user.id, None);
    let filter = domain::audit::AuditFilter {
        action_prefix: Some(app::housekeeping::ACTION.into()),
        ..Default::default()
    };
    let page = app::audit::for_account(app.app(), &caller, &filter, Default::default()).unwrap();
    assert_eq!(page.total, 1, "the run is in the audit log");
    assert_eq!(page.items[0].actor_kind, "job");
    assert_eq!(page.items[0].actor_label, "job: housekeeping");
    app.stop().await;
}

#[tokio::test]
async fn the_scheduler_runs_housekeeping_on_its_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let running = pi_crm::serve::start(pi_crm::serve::ServeOptions {
        settings: app::Settings::new(dir.path().to_owned()),
        web: web::WebConfig::default(),
        bind: "127.0.0.1:0".into(),
        // Every second, so the test sees it fire.
        housekeeping_cron: "* * * * * *".into(),
        backup_cron: "0 0 2 * * *".into(),
        tls: None,
    })
    .await
    .unwrap();
    let mut runs = 0;
    for _ in 0..50 {
        sleep(100).await;
        runs = app::housekeeping::runs(&running.app).unwrap();
        if runs > 0 {
            break;
        }
    }
    assert!(runs > 0, "housekeeping never ran");
    running.stop().await;
}

#[tokio::test]
async fn a_bad_schedule_stops_the_server_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let result = pi_crm::serve::start(pi_crm::serve::ServeOptions {
        settings: app::Settings::new(dir.path().to_owned()),
        web: web::WebConfig::default(),
        bind: "127.0.0.1:0".into(),
        housekeeping_cron: "every day please".into(),
        backup_cron: "0 0 2 * * *".into(),
        tls: None,
    })
    .await;
    let err = result.err().expect("refused");
    assert!(
        format!("{err:#}").contains("housekeeping schedule"),
        "{err:#}"
    );
}

#[tokio::test]
async fn housekeeping_empties_trash_older_than_30_days() {
    let app = spawn_app_with(|_| {}).await;
    let user = app.add_user("andy");
    let caller = app::Caller::browser(user.id, None);
    let ws = app::workspaces::create(
        app.app(),
        &caller,
        app::workspaces::CreateWorkspace {
            name: "W".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let input = |name: &str| app::contacts::ContactInput {
        first_name: name.into(),
        ..Default::default()
    };
    let old = app::contacts::create(app.app(), &caller, ws.id, input("Old")).unwrap();
    let recent = app::contacts::create(app.app(), &caller, ws.id, input("Recent")).unwrap();
    app::contacts::trash(app.app(), &caller, recent.id).unwrap();
    // Trashed 31 days ago.
    let now = chrono::Utc::now();
    app.app()
        .db()
        .write(|c| {
            storage::contacts::set_trashed(c, old.id, Some(now - chrono::Duration::days(31)), now)
        })
        .unwrap();
    let report = app::housekeeping::run(app.app()).unwrap();
    assert_eq!(report.trashed_contacts_purged, 1);
    assert!(
        app::contacts::get(app.app(), &caller, old.id).is_err(),
        "gone for good"
    );
    assert!(
        app::contacts::get(app.app(), &caller, recent.id)
            .unwrap()
            .deleted_at
            .is_some(),
        "still restorable"
    );
    app.stop().await;
}
