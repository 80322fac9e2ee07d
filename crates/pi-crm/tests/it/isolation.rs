//! The promise between the two users: nothing of Alice's is visible to, or changeable by, Bob.
//!
//! This walks `web::routes::all()`, the same table the server is built from, so a route added
//! later is covered without anyone remembering to add it here. Every route that takes an id is
//! called by Bob with Alice's ids and must answer 404; every page without an id must not show
//! Alice's data. A path parameter this test does not know fails the test: teach it the new kind
//! of id (and give Alice one) when you add one.

use reqwest::{Method, StatusCode};
use web::routes::{Access, params};

use crate::harness::{TestApp, assert_envelope, json, spawn_app};

const ALL_SCOPES: &str = "workspaces:read,workspaces:write,contacts:read,contacts:write,audit:read,messages:read,messages:write,settings:write";
const MARKER: &str = "Alice Private Ledger 7f3a";
/// A third user Alice shares her contact with; Bob must still see nothing of it.
const SHARED_WITH: &str = "carol";

struct AliceIds {
    workspace_id: i64,
    session_id: i64,
    api_key_id: i64,
    contact_id: i64,
    custom_field_id: i64,
    list_id: i64,
    share_id: i64,
    backup_id: i64,
    import_id: i64,
    message_id: i64,
    inbound_id: i64,
}

impl AliceIds {
    fn fill(&self, path: &str) -> String {
        let mut filled = path.to_owned();
        for name in params(path) {
            let value = match name {
                "workspace_id" => self.workspace_id,
                "session_id" => self.session_id,
                "api_key_id" => self.api_key_id,
                "contact_id" => self.contact_id,
                "custom_field_id" => self.custom_field_id,
                "list_id" => self.list_id,
                "share_id" => self.share_id,
                "backup_id" => self.backup_id,
                "import_id" => self.import_id,
                "message_id" => self.message_id,
                "inbound_id" => self.inbound_id,
                // Fill a username with the user Alice shares with, so a share exists to hit.
                "username" => {
                    filled = filled.replace("{username}", SHARED_WITH);
                    continue;
                }
                other => panic!(
                    "the isolation test does not know the path parameter {{{other}}} in {path}: \
                     give Alice a record of that kind in `alice()` and map the name in `fill()`"
                ),
            };
            filled = filled.replace(&format!("{{{name}}}"), &value.to_string());
        }
        filled
    }
}

async fn alice(app: &TestApp) -> (AliceIds, crate::harness::Browser) {
    let mut browser = app.signed_in("alice").await;
    let workspace_id = browser.create_workspace(MARKER).await;
    let key = app::api_keys::create_for_username(app.app(), "alice", MARKER, ALL_SCOPES).unwrap();
    let user = app::accounts::find_user(app.app(), "alice").unwrap();
    let session_id = app::sessions::list(app.app(), user.id).unwrap()[0].id.0;
    // Leave a trace in her audit log and settings, so leaks have something to show.
    let res = browser
        .post(
            &format!("/w/{workspace_id}/settings"),
            &[
                ("name", MARKER),
                ("color", "#7c3aed"),
                ("time_zone", "America/Chicago"),
                ("postal_address", "12 Secret Lane"),
                ("help_text", ""),
                ("approvers", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let caller = app::Caller::browser(user.id, None);
    let ws = domain::ids::WorkspaceId(workspace_id);
    let field = app::custom_fields::create(
        app.app(),
        &caller,
        app::custom_fields::FieldInput {
            label: MARKER.into(),
            field_type: "text".into(),
            workspace: Some(ws),
            ..Default::default()
        },
    )
    .unwrap();
    let contact = app::contacts::create(
        app.app(),
        &caller,
        ws,
        app::contacts::ContactInput {
            first_name: MARKER.into(),
            custom: vec![(
                field.name.as_str().to_owned(),
                app::contacts::RawValue::Text(MARKER.into()),
            )],
            ..Default::default()
        },
    )
    .unwrap();
    app::contacts::add_note(app.app(), &caller, contact.id, MARKER).unwrap();
    app.add_user(SHARED_WITH);
    let share = app::shares::share(app.app(), &caller, contact.id, SHARED_WITH, true).unwrap();
    let import_id = {
        let incoming = app::imports::incoming_path(app.app()).unwrap();
        std::fs::write(
            &incoming,
            format!("First Name,Email\n{MARKER},ledger@example.com\n{MARKER} 2,bad-email\n"),
        )
        .unwrap();
        let (record, _) =
            app::imports::upload(app.app(), &caller, ws, &format!("{MARKER}.csv"), &incoming)
                .unwrap();
        let done =
            app::imports::run_now(app.app(), &caller, record.id, Default::default()).unwrap();
        assert_eq!(
            done.counts.failed, 1,
            "a failed row for the failures download"
        );
        done.id.0
    };
    let message_id = {
        let written = app::contacts::create(
            app.app(),
            &caller,
            ws,
            app::contacts::ContactInput {
                first_name: format!("{MARKER} mail"),
                primary_email: "marker@example.com".into(),
                ..Default::default()
            },
        )
        .unwrap();
        let draft = app::messaging::Draft {
            channel: domain::messaging::Channel::Email,
            subject: format!("{MARKER} subject"),
            body: format!("{MARKER} body"),
        };
        app::messaging::compose::queue_for_contact(
            app.app(),
            &caller,
            written.id,
            &draft,
            "isolation",
            false,
        )
        .unwrap()
        .id
        .0
    };
    let inbound_id = app
        .app()
        .db()
        .write(|conn| {
            storage::inbound::insert(
                conn,
                &storage::inbound::NewInbound {
                    user: user.id,
                    workspace: None,
                    contact: None,
                    channel: domain::messaging::Channel::Sms,
                    provider_message_id: "SM-isolation",
                    sender: "+14155550142",
                    recipient: "+14155550100",
                    body: MARKER,
                },
                chrono::Utc::now(),
            )
        })
        .unwrap();
    let ids = AliceIds {
        workspace_id,
        import_id,
        message_id,
        inbound_id,
        session_id,
        api_key_id: key.key.id.0,
        contact_id: contact.id.0,
        custom_field_id: field.id.0,
        list_id: contact.primary_list.id.0,
        share_id: share.id.0,
        backup_id: {
            let actor = domain::audit::Actor::User { user_id: user.id };
            app::backup::create(app.app(), actor, None, "manual").unwrap();
            app::backup::recent(app.app(), 1).unwrap()[0].id
        },
    };
    (ids, browser)
}

#[tokio::test]
async fn bob_gets_404_for_every_route_with_alices_ids() {
    let app = spawn_app().await;
    let (ids, alice_browser) = alice(&app).await;
    let alice_api = app.api(&app.api_key("alice", ALL_SCOPES));
    let mut bob = app.signed_in("bob").await;
    bob.create_workspace("Bob's Workspace").await;
    let bob_api = app.api(&app.api_key("bob", ALL_SCOPES));

    let mut checked = 0;
    for route in web::routes::all() {
        let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
        let has_ids = !params(route.path).is_empty();
        let path = match route.access {
            Access::Public => continue,
            _ if has_ids => ids.fill(route.path),
            _ => route.path.to_owned(),
        };
        match (route.access, has_ids) {
            (Access::Session, true) => {
                let plain = if method == Method::GET {
                    bob.get(&path).await
                } else {
                    bob.post(
                        &path,
                        &[
                            ("name", "hijack"),
                            ("code", "123456"),
                            ("current_password", "x"),
                        ],
                    )
                    .await
                };
                assert_eq!(
                    plain.status(),
                    StatusCode::NOT_FOUND,
                    "{} {path} must be 404 for Bob",
                    route.method
                );
                let body = plain.text().await.unwrap();
                assert!(
                    !body.contains(MARKER),
                    "{} {path} leaked Alice's data",
                    route.method
                );
                if method == Method::GET {
                    // The same handler answers htmx fragments; check that flavour too.
                    let fragment = bob
                        .client
                        .get(format!("{}{path}", bob.base))
                        .header("HX-Request", "true")
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(fragment.status(), StatusCode::NOT_FOUND, "htmx {path}");
                    assert!(
                        !fragment.text().await.unwrap().contains(MARKER),
                        "htmx {path} leaked"
                    );
                    // Control: the route is not simply 404 for everyone. (A share is opened by its
                    // recipient, not by Alice: no control there.)
                    if path.starts_with("/shared/") {
                        checked += 1;
                        continue;
                    }
                    let (status, body) = alice_browser.get_text(&path).await;
                    assert!(
                        status == StatusCode::OK || status.is_redirection(),
                        "control: Alice can open her own {path}: {status}"
                    );
                    // A backup download is a binary archive: its status is the control.
                    if status == StatusCode::OK && !path.ends_with("/download") {
                        assert!(
                            body.contains(MARKER),
                            "control: {path} shows Alice her data"
                        );
                    }
                }
            }
            (Access::ApiKey, true) => {
                let request = bob_api.request(method.clone(), &path);
                let request = if method == Method::GET {
                    request
                } else {
                    request.json(&serde_json::json!({"name": "hijack"}))
                };
                let (status, body) = json(request.send().await.unwrap()).await;
                assert_eq!(
                    status,
                    StatusCode::NOT_FOUND,
                    "{} {path} must be 404 for Bob: {body}",
                    route.method
                );
                assert_envelope(&body, "not_found");
                // Shared contacts are read by their recipient, not by Alice: no control there.
                if method == Method::GET && !path.contains("/shared-contacts/") {
                    let (status, _) = alice_api.get(&path).await;
                    assert_eq!(
                        status,
                        StatusCode::OK,
                        "control: Alice's key reads her own {path}"
                    );
                }
            }
            (Access::Session, false) if method == Method::GET => {
                let (status, body) = bob.get_text(&path).await;
                assert!(
                    status.is_success() || status.is_redirection(),
                    "{path}: {status}"
                );
                assert!(
                    !body.contains(MARKER) && !body.contains("12 Secret Lane"),
                    "GET {path} shows Alice's data to Bob"
                );
            }
            (Access::ApiKey, false) if method == Method::GET => {
                let (status, body) = bob_api.get(&path).await;
                assert_eq!(status, StatusCode::OK, "{path}");
                assert!(
                    !body.to_string().contains(MARKER),
                    "GET {path} shows Alice's data to Bob"
                );
            }
            // Routes without ids that change things act on Bob's own data by construction.
            _ => continue,
        }
        checked += 1;
    }
    assert!(
        checked >= 15,
        "only {checked} routes were checked: is the route table empty?"
    );

    // Nothing of Alice's changed, and her session and key still work.
    let alice_user = app::accounts::find_user(app.app(), "alice").unwrap();
    let ws = app::workspaces::get(
        app.app(),
        alice_user.id,
        domain::ids::WorkspaceId(ids.workspace_id),
    )
    .unwrap();
    assert_eq!(ws.name.as_str(), MARKER);
    assert!(!ws.is_archived());
    let keys = app::api_keys::list(app.app(), &app::Caller::browser(alice_user.id, None)).unwrap();
    assert!(
        keys.iter().all(|k| k.revoked_at.is_none()),
        "Bob revoked Alice's key"
    );
    let sessions = app::sessions::list(app.app(), alice_user.id).unwrap();
    assert!(
        sessions.iter().any(|s| s.id.0 == ids.session_id),
        "Bob ended Alice's session"
    );
    app.stop().await;
}

#[test]
fn the_walker_refuses_an_unknown_kind_of_id() {
    let ids = AliceIds {
        workspace_id: 1,
        session_id: 2,
        api_key_id: 3,
        contact_id: 4,
        custom_field_id: 5,
        list_id: 6,
        share_id: 7,
        backup_id: 8,
        import_id: 9,
        message_id: 10,
        inbound_id: 11,
    };
    assert_eq!(ids.fill("/w/{workspace_id}/audit"), "/w/1/audit");
    let unknown = std::panic::catch_unwind(|| ids.fill("/w/{workspace_id}/things/{thing_id}"));
    assert!(
        unknown.is_err(),
        "a new kind of id must fail the walker until it is taught"
    );
}
