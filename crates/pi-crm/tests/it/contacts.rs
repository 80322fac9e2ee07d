//! Contacts through the API: custom fields, stages and tags, search and filters, duplicates,
//! the log, the trash.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Api, TestApp, assert_envelope, spawn_app};

const SCOPES: &str = "workspaces:read,workspaces:write,contacts:read,contacts:write";

async fn setup(app: &TestApp) -> (Api, i64) {
    app.add_user("andy");
    let api = app.api(&app.api_key("andy", SCOPES));
    let (status, ws) = api
        .send(
            Method::POST,
            "/api/v1/workspaces",
            json!({"name": "Loan Factory"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    (api, ws["id"].as_i64().unwrap())
}

async fn field(api: &Api, ws: i64, body: Value) -> Value {
    let (status, def) = api
        .send(
            Method::POST,
            &format!("/api/v1/workspaces/{ws}/custom-fields"),
            body.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body} -> {def}");
    def
}

async fn contact(api: &Api, ws: i64, body: Value) -> Value {
    let (status, c) = api
        .send(
            Method::POST,
            &format!("/api/v1/workspaces/{ws}/contacts"),
            body.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body} -> {c}");
    c
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["first_name"].as_str().unwrap(),
                c["last_name"].as_str().unwrap()
            )
            .trim()
            .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_new_workspace_has_the_default_stages() {
    let app = spawn_app().await;
    let (api, ws) = setup(&app).await;
    let (status, lists) = api.get(&format!("/api/v1/workspaces/{ws}/lists")).await;
    assert_eq!(status, StatusCode::OK);
    let stages: Vec<&str> = lists["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"] == "primary")
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        ["Leads", "Prospects", "Applications", "Closed", "Lost"]
    );
    let (status, tag) = api
        .send(
            Method::POST,
            &format!("/api/v1/workspaces/{ws}/lists"),
            json!({"name": "Hot Leads", "kind": "secondary"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(tag["kind"], "secondary");
    let (status, _) = api
        .send(
            Method::POST,
            &format!("/api/v1/workspaces/{ws}/lists"),
            json!({"name": "hot leads", "kind": "secondary"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    app.stop().await;
}

#[tokio::test]
async fn contacts_with_custom_fields_stages_and_tags() {
    let app = spawn_app().await;
    let (api, ws) = setup(&app).await;
    field(
        &api,
        ws,
        json!({"label": "Closing date", "field_type": "date"}),
    )
    .await;
    field(
        &api,
        ws,
        json!({"label": "Loan amount", "field_type": "number"}),
    )
    .await;
    let link = field(
        &api,
        ws,
        json!({"label": "Loan file link", "field_type": "url", "transaction_related": true}),
    )
    .await;
    assert_eq!(link["name"], "loan_file_link");

    let mona = contact(&api, ws, json!({
        "first_name": "Monalisa", "last_name": "Nguyen", "primary_email": "Mona@Example.com",
        "primary_phone": "(415) 555-0123", "company": "Coldwell", "primary_list": "Prospects",
        "tags": ["Hot Leads", "Referred by John"],
        "custom": {"closing_date": "3/15/2026", "loan_amount": "450,000", "loan_file_link": "drive.example.com/f/1"}
    })).await;
    for key in [
        "id",
        "workspace_id",
        "created_on",
        "first_name",
        "last_name",
        "primary_email",
        "primary_phone",
        "company",
        "primary_list",
        "tags",
        "custom",
    ] {
        assert!(mona.get(key).is_some(), "{key} missing: {mona}");
    }
    assert_eq!(mona["primary_phone"], "+14155550123");
    assert_eq!(mona["primary_list"], "Prospects");
    assert_eq!(mona["tags"], json!(["Hot Leads", "Referred by John"]));
    assert_eq!(mona["custom"]["closing_date"], "2026-03-15");
    assert_eq!(mona["custom"]["loan_amount"], 450000);
    assert_eq!(
        mona["custom"]["loan_file_link"],
        "https://drive.example.com/f/1"
    );
    contact(&api, ws, json!({"first_name": "Bob", "last_name": "Smith", "primary_list": "Leads", "custom": {"loan_amount": 120000, "closing_date": "2026-09-01"}})).await;
    contact(
        &api,
        ws,
        json!({"first_name": "Carol", "last_name": "Adams", "tags": ["Hot Leads"]}),
    )
    .await;

    let list = |query: &str| {
        let path = format!("/api/v1/workspaces/{ws}/contacts?{query}");
        let api = &api;
        async move {
            let (status, body) = api.get(&path).await;
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
            names(&body)
        }
    };
    assert_eq!(
        list("").await,
        ["Carol Adams", "Monalisa Nguyen", "Bob Smith"]
    );
    assert_eq!(
        list("q=mona").await,
        ["Monalisa Nguyen"],
        "a prefix finds Monalisa"
    );
    assert_eq!(list("q=coldw").await, ["Monalisa Nguyen"]);
    assert_eq!(list("q=555-01").await, ["Monalisa Nguyen"], "phone digits");
    assert_eq!(list("q=mona%40example").await, ["Monalisa Nguyen"]);
    assert_eq!(list("q=nobody").await, Vec::<String>::new());
    assert_eq!(
        list("list=Leads").await,
        ["Carol Adams", "Bob Smith"],
        "new contacts start in the first stage"
    );
    assert_eq!(
        list("tag=hot%20leads").await,
        ["Carol Adams", "Monalisa Nguyen"]
    );
    assert_eq!(list("cf.loan_amount.gt=200000").await, ["Monalisa Nguyen"]);
    assert_eq!(list("cf.loan_amount=120%2C000").await, ["Bob Smith"]);
    assert_eq!(
        list("cf.closing_date.before=2026-06-01").await,
        ["Monalisa Nguyen"]
    );
    assert_eq!(list("cf.closing_date.empty=1").await, ["Carol Adams"]);
    assert_eq!(
        list("cf.loan_file_link.contains=DRIVE").await,
        ["Monalisa Nguyen"]
    );
    assert_eq!(
        list("cf_field=loan_amount&cf_op=gt&cf_value=200000").await,
        ["Monalisa Nguyen"],
        "the page's filter form"
    );
    assert_eq!(
        list("cf_field=closing_date&cf_op=empty&cf_value=").await,
        ["Carol Adams"]
    );
    assert_eq!(
        list("tag=Hot%20Leads&cf.loan_amount.gt=1").await,
        ["Monalisa Nguyen"],
        "filters combine"
    );
    assert_eq!(
        list("sort=newest").await,
        ["Carol Adams", "Bob Smith", "Monalisa Nguyen"]
    );
    let (status, body) = api
        .get(&format!("/api/v1/workspaces/{ws}/contacts?cf.nope=1"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, page) = api
        .get(&format!(
            "/api/v1/workspaces/{ws}/contacts?per_page=2&page=2"
        ))
        .await;
    assert_eq!(
        (
            page["total"].as_i64(),
            page["page"].as_i64(),
            page["per_page"].as_i64()
        ),
        (Some(3), Some(2), Some(2))
    );
    assert_eq!(names(&page), ["Bob Smith"]);

    // Stage change and a transaction-related change are both in the log.
    let id = mona["id"].as_i64().unwrap();
    let (status, patched) = api
        .send(Method::PATCH, &format!("/api/v1/contacts/{id}"), json!({"primary_list": "Applications", "custom": {"loan_file_link": "https://drive.example.com/f/2", "loan_amount": null}}))
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["primary_list"], "Applications");
    assert!(
        patched["custom"].get("loan_amount").is_none(),
        "null clears a value"
    );
    assert_eq!(patched["first_name"], "Monalisa", "fields not sent stay");
    let (_, log) = api.get(&format!("/api/v1/contacts/{id}/log")).await;
    let summaries: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["summary"].as_str().unwrap())
        .collect();
    assert!(
        summaries.contains(&"Stage: Prospects -> Applications"),
        "{summaries:?}"
    );
    assert!(
        summaries.iter().any(|s| s.starts_with(
            "Loan file link: https://drive.example.com/f/1 -> https://drive.example.com/f/2"
        )),
        "{summaries:?}"
    );
    let (_, stage_only) = api
        .get(&format!("/api/v1/contacts/{id}/log?kind=stage"))
        .await;
    assert_eq!(stage_only["items"].as_array().unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn bad_values_answer_422_naming_the_field_and_write_nothing() {
    let app = spawn_app().await;
    let (api, ws) = setup(&app).await;
    field(
        &api,
        ws,
        json!({"label": "Closing date", "field_type": "date"}),
    )
    .await;
    field(&api, ws, json!({"label": "Referral source", "field_type": "text", "required": true, "default_value": "website"})).await;
    let path = format!("/api/v1/workspaces/{ws}/contacts");
    let cases = [
        (
            json!({"first_name": "A", "custom": {"closing_date": "someday"}}),
            "closing_date",
        ),
        (
            json!({"first_name": "A", "custom": {"closing_date": 5}}),
            "closing_date",
        ),
        (
            json!({"first_name": "A", "custom": {"no_such_field": "x"}}),
            "no_such_field",
        ),
        (
            json!({"first_name": "A", "primary_email": "not an email"}),
            "primary_email",
        ),
        (
            json!({"first_name": "A", "primary_phone": "12"}),
            "primary_phone",
        ),
        (
            json!({"first_name": "A", "primary_list": "Nowhere"}),
            "primary_list",
        ),
        (
            json!({"first_name": "A", "workspace_id": 99}),
            "workspace_id",
        ),
        (json!({}), "first_name"),
    ];
    for (body, field) in cases {
        let (status, answer) = api.send(Method::POST, &path, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body} -> {answer}"
        );
        assert_envelope(&answer, "validation_failed");
        assert_eq!(answer["error"]["field"], field, "{body} -> {answer}");
    }
    let (_, list) = api.get(&path).await;
    assert_eq!(list["total"], 0, "nothing was written");
    // The required field's default fills it in.
    let c = contact(&api, ws, json!({"first_name": "A"})).await;
    assert_eq!(c["custom"]["referral_source"], "website");
    // And a required field cannot be cleared.
    let (status, answer) = api
        .send(
            Method::PATCH,
            &format!("/api/v1/contacts/{}", c["id"]),
            json!({"custom": {"referral_source": null}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["error"]["field"], "referral_source");
    app.stop().await;
}

#[tokio::test]
async fn duplicates_answer_409_with_the_existing_contact() {
    let app = spawn_app().await;
    let (api, ws) = setup(&app).await;
    let first = contact(&api, ws, json!({"first_name": "Mona", "primary_email": "mona@example.com", "primary_phone": "415-555-0123"})).await;
    let path = format!("/api/v1/workspaces/{ws}/contacts");
    for body in [
        json!({"first_name": "Other", "primary_email": "  MONA@example.COM "}),
        json!({"first_name": "Other", "primary_phone": "+1 (415) 555 0123"}),
    ] {
        let (status, answer) = api.send(Method::POST, &path, body.clone()).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body} -> {answer}");
        assert_envelope(&answer, "duplicate");
        assert_eq!(answer["error"]["existing_id"], first["id"]);
    }
    let (status, _) = api.send(Method::POST, &path, json!({"first_name": "Twin", "primary_email": "mona@example.com", "allow_duplicate": true})).await;
    assert_eq!(status, StatusCode::CREATED);
    app.stop().await;
}

#[tokio::test]
async fn trash_notes_and_restore() {
    let app = spawn_app().await;
    let (api, ws) = setup(&app).await;
    let c = contact(&api, ws, json!({"first_name": "Dana", "last_name": "Lee"})).await;
    let id = c["id"].as_i64().unwrap();
    let (status, note) = api
        .send(
            Method::POST,
            &format!("/api/v1/contacts/{id}/notes"),
            json!({"body": "Prefers texts after 5pm; pre-approval in progress"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{note}");
    assert_eq!(note["kind"], "note");
    let (status, _) = api
        .send(
            Method::POST,
            &format!("/api/v1/contacts/{id}/notes"),
            json!({"body": "   "}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, found) = api
        .get(&format!("/api/v1/workspaces/{ws}/contacts?q=pre-appro"))
        .await;
    assert_eq!(found["total"], 1, "notes are searchable");

    let (status, trashed) = api
        .send(
            Method::DELETE,
            &format!("/api/v1/contacts/{id}"),
            json!(null),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(trashed["deleted_at"].is_string());
    let (_, live) = api.get(&format!("/api/v1/workspaces/{ws}/contacts")).await;
    assert_eq!(live["total"], 0);
    let (_, trash) = api
        .get(&format!("/api/v1/workspaces/{ws}/contacts?trash=true"))
        .await;
    assert_eq!(trash["total"], 1);
    assert!(trash["items"][0]["deleted_at"].is_string());
    let (status, restored) = api
        .send(
            Method::POST,
            &format!("/api/v1/contacts/{id}/restore"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(restored["deleted_at"].is_null());
    let (_, log) = api.get(&format!("/api/v1/contacts/{id}/log?limit=2")).await;
    assert_eq!(log["items"].as_array().unwrap().len(), 2);
    let next = log["next"].as_str().expect("more entries");
    let (_, older) = api
        .get(&format!("/api/v1/contacts/{id}/log?limit=2&after={next}"))
        .await;
    let all: Vec<Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(older["items"].as_array().unwrap())
        .cloned()
        .collect();
    let summaries: Vec<&str> = all.iter().map(|e| e["summary"].as_str().unwrap()).collect();
    assert_eq!(
        summaries,
        [
            "Restored from the trash",
            "Moved to the trash",
            "Prefers texts after 5pm; pre-approval in progress",
            "Contact created"
        ]
    );
    app.stop().await;
}

#[tokio::test]
async fn duplicates_are_listed_and_merged() {
    let app = spawn_app().await;
    let (api, ws) = setup(&app).await;
    field(
        &api,
        ws,
        json!({"label": "Referral source", "field_type": "text"}),
    )
    .await;
    field(
        &api,
        ws,
        json!({"label": "Loan amount", "field_type": "number"}),
    )
    .await;
    let target = contact(&api, ws, json!({
        "first_name": "Mona", "last_name": "Nguyen", "primary_email": "mona@example.com", "company": "Old Co",
        "tags": ["Hot Leads"], "custom": {"loan_amount": 100}
    })).await;
    let source = contact(&api, ws, json!({
        "first_name": "Monalisa", "primary_email": "MONA@example.com", "primary_phone": "415 555 0123", "company": "New Co",
        "primary_list": "Prospects", "tags": ["Referred by John"], "custom": {"referral_source": "John", "loan_amount": 250},
        "allow_duplicate": true
    })).await;
    let (tid, sid) = (
        target["id"].as_i64().unwrap(),
        source["id"].as_i64().unwrap(),
    );
    api.send(
        Method::POST,
        &format!("/api/v1/contacts/{sid}/notes"),
        json!({"body": "Met at the open house"}),
    )
    .await;

    let (status, dups) = api
        .get(&format!("/api/v1/workspaces/{ws}/duplicates"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(dups["items"].as_array().unwrap().len(), 1, "{dups}");
    assert_eq!(dups["items"][0]["reason"], "primary_email");
    assert_eq!(dups["items"][0]["contacts"].as_array().unwrap().len(), 2);

    let (status, bad) = api
        .send(
            Method::POST,
            &format!("/api/v1/contacts/{tid}/merge"),
            json!({"source_id": sid, "resolutions": {"company": "maybe"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let (status, merged) = api
        .send(
            Method::POST,
            &format!("/api/v1/contacts/{tid}/merge"),
            json!({"source_id": sid, "resolutions": {"first_name": "source", "primary_list": "source", "loan_amount": "target"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    assert_eq!(merged["first_name"], "Monalisa", "resolved to the source");
    assert_eq!(merged["last_name"], "Nguyen", "only the target had it");
    assert_eq!(
        merged["company"], "Old Co",
        "a conflict not named keeps the target's"
    );
    assert_eq!(
        merged["primary_phone"], "+14155550123",
        "only the source had it"
    );
    assert_eq!(merged["primary_list"], "Prospects");
    assert_eq!(merged["tags"], json!(["Hot Leads", "Referred by John"]));
    assert_eq!(merged["custom"]["referral_source"], "John");
    assert_eq!(merged["custom"]["loan_amount"], 100);
    let (_, log) = api
        .get(&format!("/api/v1/contacts/{tid}/log?limit=50"))
        .await;
    let summaries: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["summary"].as_str().unwrap())
        .collect();
    assert!(
        summaries.contains(&"Merged Monalisa into Mona Nguyen"),
        "{summaries:?}"
    );
    assert!(
        summaries.contains(&"Met at the open house"),
        "the source's log moved over: {summaries:?}"
    );
    let (_, gone) = api.get(&format!("/api/v1/contacts/{sid}")).await;
    assert!(
        gone["deleted_at"].is_string(),
        "the source is in the trash, recoverable"
    );
    let (_, dups) = api
        .get(&format!("/api/v1/workspaces/{ws}/duplicates"))
        .await;
    assert_eq!(dups["items"].as_array().unwrap().len(), 0);

    // Another user's contact cannot be pulled in as the source.
    app.add_user("bob");
    let bob = app.api(&app.api_key("bob", SCOPES));
    let (_, bws) = bob
        .send(Method::POST, "/api/v1/workspaces", json!({"name": "Bob's"}))
        .await;
    let theirs = contact(
        &bob,
        bws["id"].as_i64().unwrap(),
        json!({"first_name": "Bob's client"}),
    )
    .await;
    let (status, answer) = api
        .send(
            Method::POST,
            &format!("/api/v1/contacts/{tid}/merge"),
            json!({"source_id": theirs["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let (status, untouched) = bob.get(&format!("/api/v1/contacts/{}", theirs["id"])).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        untouched["deleted_at"].is_null(),
        "Bob's contact is not merged away: {untouched}"
    );
    let (_, bob_log) = bob
        .get(&format!("/api/v1/contacts/{}/log", theirs["id"]))
        .await;
    assert_eq!(
        bob_log["items"].as_array().unwrap().len(),
        1,
        "Bob's log is intact"
    );
    app.stop().await;
}

#[tokio::test]
async fn sharing_save_as_and_revoke() {
    let app = spawn_app().await;
    let (andy, ws) = setup(&app).await;
    field(
        &andy,
        ws,
        json!({"label": "Closing date", "field_type": "date"}),
    )
    .await;
    let c = contact(&andy, ws, json!({"first_name": "Mona", "primary_email": "mona@example.com", "custom": {"closing_date": "2026-12-01"}})).await;
    let id = c["id"].as_i64().unwrap();
    andy.send(
        Method::POST,
        &format!("/api/v1/contacts/{id}/notes"),
        json!({"body": "private note"}),
    )
    .await;

    app.add_user("monalisa");
    let mona = app.api(&app.api_key("monalisa", SCOPES));
    let (_, mws) = mona
        .send(
            Method::POST,
            "/api/v1/workspaces",
            json!({"name": "Coldwell"}),
        )
        .await;
    let mws = mws["id"].as_i64().unwrap();
    let (_, shared) = mona.get("/api/v1/shared-contacts").await;
    assert_eq!(shared["items"].as_array().unwrap().len(), 0);

    let (status, answer) = andy
        .send(
            Method::POST,
            &format!("/api/v1/contacts/{id}/shares"),
            json!({"username": "nobody"}),
        )
        .await;
    assert_eq!(
        (status, answer["error"]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("username"))
    );
    let (status, share) = andy
        .send(
            Method::POST,
            &format!("/api/v1/contacts/{id}/shares"),
            json!({"username": "monalisa"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{share}");
    let (status, _) = andy
        .send(
            Method::POST,
            &format!("/api/v1/contacts/{id}/shares"),
            json!({"username": "monalisa"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (_, shared) = mona.get("/api/v1/shared-contacts").await;
    let item = &shared["items"][0];
    assert_eq!(item["first_name"], "Mona");
    assert_eq!(item["custom"]["closing_date"], "2026-12-01");
    assert!(
        item.get("workspace_id").is_none(),
        "nothing of the owner's workspace"
    );
    assert!(item["log"].is_null(), "the log was not shared");
    let share_id = item["id"].as_i64().unwrap();
    // The recipient cannot reach the original contact itself.
    let (status, _) = mona.get(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = mona
        .send(
            Method::POST,
            &format!("/api/v1/shared-contacts/{share_id}/save-as"),
            json!({"workspace_id": ws}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not into the owner's workspace"
    );

    let (status, copy) = mona
        .send(
            Method::POST,
            &format!("/api/v1/shared-contacts/{share_id}/save-as"),
            json!({"workspace_id": mws}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{copy}");
    assert_ne!(copy["id"], c["id"]);
    assert_eq!(copy["workspace_id"], mws);
    let (_, log) = mona
        .get(&format!("/api/v1/contacts/{}/log", copy["id"]))
        .await;
    let first = &log["items"].as_array().unwrap().last().unwrap()["summary"];
    assert_eq!(first, "Saved from a share by andy");
    assert!(
        log["items"][0]["body"]
            .as_str()
            .unwrap()
            .contains("Closing date"),
        "values without a field are kept: {log}"
    );

    let status = andy
        .request(
            Method::DELETE,
            &format!("/api/v1/contacts/{id}/shares/monalisa"),
        )
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, shared) = mona.get("/api/v1/shared-contacts").await;
    assert_eq!(
        shared["items"].as_array().unwrap().len(),
        0,
        "the view disappears at once"
    );
    let (status, _) = mona
        .get(&format!("/api/v1/shared-contacts/{share_id}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = mona.get(&format!("/api/v1/contacts/{}", copy["id"])).await;
    assert_eq!(status, StatusCode::OK, "the saved copy stays hers");
    let (_, owner_log) = andy.get(&format!("/api/v1/contacts/{id}/log")).await;
    let summaries: Vec<&str> = owner_log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["summary"].as_str().unwrap())
        .collect();
    assert!(
        summaries.contains(&"Shared with monalisa")
            && summaries.contains(&"Stopped sharing with monalisa"),
        "{summaries:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn bulk_actions_and_csv_export() {
    let app = spawn_app().await;
    let (api, ws) = setup(&app).await;
    field(
        &api,
        ws,
        json!({"label": "Loan amount", "field_type": "number"}),
    )
    .await;
    let a = contact(&api, ws, json!({"first_name": "Ann", "last_name": "Adams", "primary_phone": "415-555-0100", "custom": {"loan_amount": 500000}})).await;
    let b = contact(&api, ws, json!({"first_name": "Ben", "last_name": "Baker", "company": "=HYPERLINK(\"http://evil\")"})).await;
    contact(
        &api,
        ws,
        json!({"first_name": "Cat", "last_name": "Cole", "tags": ["VIP"]}),
    )
    .await;
    let bulk = format!("/api/v1/workspaces/{ws}/contacts/bulk");

    let (status, r) = api
        .send(
            Method::POST,
            &bulk,
            json!({"action": "add_tag", "tag": "Q3 Campaign", "ids": [a["id"], b["id"]]}),
        )
        .await;
    assert_eq!(
        (status, r["changed"].clone()),
        (StatusCode::OK, json!(2)),
        "{r}"
    );
    let (_, tagged) = api
        .get(&format!(
            "/api/v1/workspaces/{ws}/contacts?tag=Q3%20Campaign"
        ))
        .await;
    assert_eq!(names(&tagged), ["Ann Adams", "Ben Baker"]);

    let (status, r) = api
        .send(
            Method::POST,
            &bulk,
            json!({"action": "set_stage", "stage": "Closed", "filter": {"tag": "Q3 Campaign"}}),
        )
        .await;
    assert_eq!(
        (status, r["changed"].clone()),
        (StatusCode::OK, json!(2)),
        "{r}"
    );
    let (_, log) = api
        .get(&format!("/api/v1/contacts/{}/log?kind=stage", a["id"]))
        .await;
    assert_eq!(log["items"][0]["summary"], "Stage: Leads -> Closed");

    // Another user's id in the list: nothing happens at all.
    app.add_user("bob");
    let bob = app.api(&app.api_key("bob", SCOPES));
    let (_, bws) = bob
        .send(Method::POST, "/api/v1/workspaces", json!({"name": "Bob's"}))
        .await;
    let theirs = contact(
        &bob,
        bws["id"].as_i64().unwrap(),
        json!({"first_name": "Bob's client"}),
    )
    .await;
    let (status, _) = api
        .send(
            Method::POST,
            &bulk,
            json!({"action": "trash", "ids": [a["id"], theirs["id"]]}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, still) = api.get(&format!("/api/v1/contacts/{}", a["id"])).await;
    assert!(still["deleted_at"].is_null(), "not half done");
    let (status, _) = api
        .send(
            Method::POST,
            &bulk,
            json!({"action": "explode", "ids": [a["id"]]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let res = api
        .request(
            Method::GET,
            &format!("/api/v1/workspaces/{ws}/contacts.csv?bom=1"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let body = res.text().await.unwrap();
    assert!(body.starts_with('\u{feff}'), "byte-order mark");
    let mut lines = body.trim_start_matches('\u{feff}').lines();
    assert_eq!(
        lines.next().unwrap(),
        "id,first_name,last_name,primary_email,primary_phone,company,loan_amount,primary_list,tags"
    );
    assert!(body.contains("+14155550100"), "phones stay numbers: {body}");
    assert!(
        body.contains("\"'=HYPERLINK"),
        "formulas are neutralised: {body}"
    );
    assert!(body.contains(",500000,Closed,Q3 Campaign"), "{body}");
    let res = api
        .request(
            Method::GET,
            &format!("/api/v1/workspaces/{ws}/contacts.csv?tag=VIP"),
        )
        .send()
        .await
        .unwrap();
    let body = res.text().await.unwrap();
    assert_eq!(body.lines().count(), 2, "header and Cat only: {body}");
    let (status, _) = bob
        .get(&format!("/api/v1/workspaces/{ws}/contacts.csv"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn stages_and_tags_by_id_must_belong_to_the_workspace() {
    let app = spawn_app().await;
    let (api, ws) = setup(&app).await;
    let (_, other) = api
        .send(Method::POST, "/api/v1/workspaces", json!({"name": "Other"}))
        .await;
    let (_, lists) = api
        .get(&format!("/api/v1/workspaces/{}/lists", other["id"]))
        .await;
    let foreign_stage = lists["items"][0]["id"].clone();
    let path = format!("/api/v1/workspaces/{ws}/contacts");
    let cases = [
        (
            json!({"first_name": "A", "primary_list": foreign_stage}),
            "primary_list",
        ),
        (json!({"first_name": "A", "tags": [999_999]}), "tags"),
        (json!({"first_name": "A", "tags": ["Q3, 2026"]}), "tags"),
    ];
    for (body, field) in cases {
        let (status, answer) = api.send(Method::POST, &path, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body} -> {answer}"
        );
        assert_eq!(answer["error"]["field"], field);
    }
    // A tag named like a number is a name, not an id.
    let c = contact(&api, ws, json!({"first_name": "A", "tags": ["2026"]})).await;
    assert_eq!(c["tags"], json!(["2026"]));
    app.stop().await;
}
