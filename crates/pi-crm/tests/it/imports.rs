//! CSV import and export through the API and the command line, with real exports' shapes
//! (Google, Outlook, pi-crm's own), every duplicate policy, dry runs, failed rows, undo, the
//! round trip, and the nasty files.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::cli::{add_user, pi_crm};
use crate::harness::{Api, PASSWORD, TestApp, json as read_json, sleep, spawn_app};

const SCOPES: &str = "workspaces:read,workspaces:write,contacts:read,contacts:write";

/// A multipart body built by hand: the wire format the API documents, nothing hidden.
fn multipart(file: &[u8], file_name: &str, fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "pi-crm-test-boundary-5f1c";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_import(
    api: &Api,
    ws: i64,
    file: &[u8],
    file_name: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, Value) {
    let (content_type, body) = multipart(file, file_name, fields);
    read_json(
        api.request(
            reqwest::Method::POST,
            &format!("/api/v1/workspaces/{ws}/imports"),
        )
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap(),
    )
    .await
}

/// Polls until the import is no longer running.
async fn finished(api: &Api, id: i64) -> Value {
    for _ in 0..600 {
        let (status, body) = api.get(&format!("/api/v1/imports/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["status"] != "running" {
            return body;
        }
        sleep(50).await;
    }
    panic!("import {id} still running after 30 s");
}

/// Imports and waits: the finished import's JSON.
async fn import(api: &Api, ws: i64, file: &[u8], fields: &[(&str, &str)]) -> Value {
    let (status, body) = post_import(api, ws, file, "contacts.csv", fields).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["id"].as_i64().expect("an id");
    finished(api, id).await
}

async fn setup(app: &TestApp) -> (Api, i64) {
    app.add_user("andy");
    let api = app.api(&app.api_key("andy", SCOPES));
    let (status, ws) = api
        .send(
            reqwest::Method::POST,
            "/api/v1/workspaces",
            json!({"name": "Realty"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ws}");
    (api, ws["id"].as_i64().unwrap())
}

async fn contacts(api: &Api, ws: i64) -> Vec<Value> {
    let (status, body) = api
        .get(&format!(
            "/api/v1/workspaces/{ws}/contacts?per_page=200&sort=name"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}

async fn export(api: &Api, ws: i64) -> String {
    let res = api
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/workspaces/{ws}/contacts.csv"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.unwrap()
}

async fn create_field(api: &Api, ws: i64, body: Value) {
    let (status, created) = api
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/workspaces/{ws}/custom-fields"),
            body,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
}

/// The import's failed rows, as the CSV download gives them.
async fn failed_rows(api: &Api, done: &Value) -> String {
    let res = api
        .request(reqwest::Method::GET, done["failures_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    res.text().await.unwrap()
}

fn counts(body: &Value) -> (i64, i64, i64, i64) {
    (
        body["new"].as_i64().unwrap(),
        body["updated"].as_i64().unwrap(),
        body["skipped"].as_i64().unwrap(),
        body["failed"].as_i64().unwrap(),
    )
}

const GOOGLE: &str = "First Name,Middle Name,Last Name,Organization Name,Labels,E-mail 1 - Label,E-mail 1 - Value,Phone 1 - Label,Phone 1 - Value\n\
Jane,,Doe,Acme Realty,Clients ::: * myContacts ::: VIP,* Work,jane@acme.example,Mobile,(415) 555-0123\n\
Raj,K,Patel,,* starred ::: * myContacts,,raj@example.com,,\n";

#[tokio::test]
async fn a_google_contacts_export_imports_with_its_labels_as_tags() {
    let app = spawn_app().await;
    let (api, ws) = setup(&app).await;
    let done = import(&api, ws, GOOGLE.as_bytes(), &[("mapping", "auto")]).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(counts(&done), (2, 0, 0, 0));
    let people = contacts(&api, ws).await;
    let jane = people.iter().find(|c| c["first_name"] == "Jane").unwrap();
    assert_eq!(jane["last_name"], "Doe");
    assert_eq!(jane["company"], "Acme Realty");
    assert_eq!(jane["primary_email"], "jane@acme.example");
    assert_eq!(jane["primary_phone"], "+14155550123");
    assert_eq!(
        jane["tags"],
        json!(["Clients", "VIP"]),
        "system labels are not tags"
    );
    // Imported contacts are found by search, like any other.
    let (_, found) = api
        .get(&format!("/api/v1/workspaces/{ws}/contacts?q=acme"))
        .await;
    assert_eq!(found["total"], 1, "{found}");
    let (_, found) = api
        .get(&format!("/api/v1/workspaces/{ws}/contacts?q=4155550123"))
        .await;
    assert_eq!(found["total"], 1, "found by phone: {found}");
    let raj = people.iter().find(|c| c["first_name"] == "Raj").unwrap();
    assert!(raj["tags"].as_array().unwrap().is_empty());
    // The log says where the contact came from.
    let (_, log) = api
        .get(&format!("/api/v1/contacts/{}/log", jane["id"]))
        .await;
    assert!(
        log.to_string().contains("Imported from contacts.csv"),
        "{log}"
    );
    app.stop().await;
}

#[tokio::test]
async fn outlook_semicolons_and_windows_1252_are_read_right() {
    let app = spawn_app().await;
    let (api, ws) = setup(&app).await;
    // Excel on Windows in Europe: semicolons, and Windows-1252 bytes for the accents.
    let mut file =
        b"First Name;Last Name;E-mail Address;Mobile Phone;Business Phone;Company\r\n".to_vec();
    file.extend_from_slice(
        b"Jos\xe9;Mu\xf1oz;jose@example.com;+1 650 555 0199;+1 650 555 0100;Caf\xe9 Bleu\r\n",
    );
    let done = import(&api, ws, &file, &[]).await;
    assert_eq!(counts(&done), (1, 0, 0, 0), "{done}");
    let jose = &contacts(&api, ws).await[0];
    assert_eq!(jose["first_name"], "José");
    assert_eq!(jose["last_name"], "Muñoz");
    assert_eq!(jose["company"], "Café Bleu");
    assert_eq!(
        jose["primary_phone"], "+16505550199",
        "the mobile number wins"
    );
    // The same file said to be UTF-8 fails row by row, saying what to choose.
    let (_, body) = post_import(
        &api,
        ws,
        &file,
        "x.csv",
        &[("encoding", "utf-8"), ("policy", "create")],
    )
    .await;
    let done = finished(&api, body["id"].as_i64().unwrap()).await;
    assert_eq!(counts(&done), (0, 0, 0, 1), "{done}");
    let failures = failed_rows(&api, &done).await;
    assert!(failures.contains("Windows-1252"), "{failures}");
    app.stop().await;
}

#[tokio::test]
async fn a_dry_run_counts_and_explains_failures_and_changes_nothing() {
    let app = spawn_app().await;
    let (api, ws) = setup(&app).await;
    create_field(
        &api,
        ws,
        json!({"label": "Closing date", "field_type": "date"}),
    )
    .await;
    let file = "name,email,phone,Closing date\n\
Ann Lee,ann@example.com,,2026-03-01\n\
Bo Chen,not-an-email,,\n\
Cy Dunn,cy@example.com,,31/31/2026\n\
Dee Ek,ann@example.com,,\n\
,,,\n\
Flo Gray,\"flo@example.com\",415-555-0100,2026-04-02\n";
    let done = import(
        &api,
        ws,
        file.as_bytes(),
        &[("dry_run", "true"), ("policy", "skip")],
    )
    .await;
    assert_eq!(done["status"], "done");
    assert_eq!(done["dry_run"], true);
    // Ann and Flo are new; Dee repeats Ann's email (skipped); Bo, Cy and the empty row fail.
    assert_eq!(counts(&done), (2, 0, 1, 3), "{done}");
    assert!(
        contacts(&api, ws).await.is_empty(),
        "a dry run writes nothing"
    );
    let text = failed_rows(&api, &done).await;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        vec!["error", "row", "name", "email", "phone", "Closing date"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert_eq!(&rows[0][1], "3");
    assert!(rows[0][0].starts_with("email:"), "{text}");
    assert_eq!(&rows[0][3], "not-an-email", "the row as it was, to fix");
    assert!(rows[1][0].starts_with("Closing date:"), "{text}");
    assert!(rows[2][0].contains("Give the contact a name"), "{text}");
    app.stop().await;
}

#[tokio::test]
async fn duplicate_policies_skip_update_and_create() {
    let app = spawn_app().await;
    let (api, ws) = setup(&app).await;
    let first = "first_name,last_name,primary_email,company,tags\nAnn,Lee,ann@example.com,,Buyer\n";
    import(&api, ws, first.as_bytes(), &[]).await;
    let again = "first_name,last_name,primary_email,company,tags\n\
Annie,Lee,ANN@example.com,Lee Homes,Seller\n\
Ann,Lee,ann@example.com,Other Co,\n";
    // Skip: nothing changes, both rows (one repeating the other) are skipped.
    let done = import(&api, ws, again.as_bytes(), &[("policy", "skip")]).await;
    assert_eq!(counts(&done), (0, 0, 2, 0), "{done}");
    // Update, filling: the empty company is filled, the name kept, the tag added.
    let done = import(&api, ws, again.as_bytes(), &[("policy", "update")]).await;
    assert_eq!(counts(&done), (0, 2, 0, 0), "{done}");
    let ann = &contacts(&api, ws).await[0];
    assert_eq!(ann["first_name"], "Ann");
    assert_eq!(ann["company"], "Lee Homes");
    assert_eq!(ann["tags"], json!(["Buyer", "Seller"]));
    // Update, overwriting: values are replaced.
    let done = import(
        &api,
        ws,
        again.as_bytes(),
        &[("policy", "update"), ("overwrite", "true")],
    )
    .await;
    assert_eq!(done["status"], "done");
    let ann = &contacts(&api, ws).await[0];
    assert_eq!(
        ann["company"], "Other Co",
        "the last row wins when overwriting"
    );
    // Create: duplicates are created anyway.
    let done = import(&api, ws, again.as_bytes(), &[("policy", "create")]).await;
    assert_eq!(counts(&done), (2, 0, 0, 0));
    assert_eq!(contacts(&api, ws).await.len(), 3);
    app.stop().await;
}

#[tokio::test]
async fn an_import_is_undone_updated_contacts_get_their_values_back() {
    let app = spawn_app().await;
    let (api, ws) = setup(&app).await;
    import(
        &api,
        ws,
        b"first_name,primary_email,company\nAnn,ann@example.com,Old Co\n",
        &[],
    )
    .await;
    let file = "first_name,primary_email,company,tags\nAnn,ann@example.com,New Co,Hot\nBen,ben@example.com,,Hot\n";
    let done = import(
        &api,
        ws,
        file.as_bytes(),
        &[("policy", "update"), ("overwrite", "true")],
    )
    .await;
    assert_eq!(counts(&done), (1, 1, 0, 0));
    assert_eq!(contacts(&api, ws).await.len(), 2);
    let id = done["id"].as_i64().unwrap();
    let (status, body) = api
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/imports/{id}/revert"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "reverted");
    let people = contacts(&api, ws).await;
    assert_eq!(people.len(), 1, "the contact it created is gone");
    assert_eq!(
        people[0]["company"], "Old Co",
        "the updated one has its old values"
    );
    assert!(people[0]["tags"].as_array().unwrap().is_empty());
    let (_, log) = api
        .get(&format!("/api/v1/contacts/{}/log", people[0]["id"]))
        .await;
    assert!(log.to_string().contains("undone"), "{log}");
    // Twice is refused, clearly.
    let (status, body) = api
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/imports/{id}/revert"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // A contact the import made that someone has worked on since is kept by the undo.
    let done = import(
        &api,
        ws,
        b"first_name,primary_email\nCy,cy@example.com\nDi,di@example.com\n",
        &[],
    )
    .await;
    let cy = contacts(&api, ws)
        .await
        .into_iter()
        .find(|c| c["first_name"] == "Cy")
        .unwrap();
    let (status, _) = api
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/contacts/{}/notes", cy["id"]),
            json!({"body": "Called about the listing"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = api
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/imports/{}/revert", done["id"]),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("1 contact(s)"),
        "{body}"
    );
    let names: Vec<Value> = contacts(&api, ws)
        .await
        .into_iter()
        .map(|c| c["first_name"].clone())
        .collect();
    assert_eq!(names, vec![json!("Ann"), json!("Cy")], "Di went, Cy stayed");
    app.stop().await;
}

#[tokio::test]
async fn export_then_import_into_an_empty_workspace_gives_the_same_file() {
    let app = spawn_app().await;
    let (api, ws) = setup(&app).await;
    create_field(
        &api,
        ws,
        json!({"label": "Loan amount", "field_type": "number", "scope": "user"}),
    )
    .await;
    let file = "first_name,last_name,primary_email,primary_phone,company,loan_amount,primary_list,tags\n\
Ann,\"Lee, Jr.\",ann@example.com,+14155550123,\"=HYPERLINK(\"\"x\"\")\",-1250.5,Prospects,\"Buyer, VIP\"\n\
Zoë,Ng,,,\"Smith \"\"Bud\"\", Realty\",300000,Closed,\n";
    let done = import(&api, ws, file.as_bytes(), &[]).await;
    assert_eq!(counts(&done), (2, 0, 0, 0), "{done}");
    // Search finds an imported contact by its custom values too, and each by its own.
    for (words, who) in [("300000", "Zoë"), ("1250.5", "Ann"), ("zoe 1250.5", "")] {
        let (_, found) = api
            .get(&format!(
                "/api/v1/workspaces/{ws}/contacts?q={}",
                words.replace(' ', "+")
            ))
            .await;
        let names: Vec<&str> = found["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["first_name"].as_str().unwrap())
            .collect();
        let expected: Vec<&str> = [who].into_iter().filter(|w| !w.is_empty()).collect();
        assert_eq!(names, expected, "{words}: {found}");
    }
    let first = export(&api, ws).await;
    let (_, other) = api
        .send(
            reqwest::Method::POST,
            "/api/v1/workspaces",
            json!({"name": "Copy"}),
        )
        .await;
    let other = other["id"].as_i64().unwrap();
    let done = import(&api, other, first.as_bytes(), &[]).await;
    assert_eq!(counts(&done), (2, 0, 0, 0), "{done}");
    let second = export(&api, other).await;
    let without_ids = |csv: &str| -> Vec<Vec<String>> {
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let mut rows: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().skip(1).map(str::to_owned).collect())
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(first.lines().next(), second.lines().next(), "same header");
    assert_eq!(
        without_ids(&first),
        without_ids(&second),
        "{first}\n---\n{second}"
    );
    assert!(first.contains("'=HYPERLINK"), "the formula is neutralised");
    assert!(first.contains("+14155550123") && first.contains("-1250.5"));
    app.stop().await;
}

#[tokio::test]
async fn bad_files_get_clear_messages_and_lose_nothing() {
    let app = spawn_app().await;
    let (api, ws) = setup(&app).await;
    let refused: [(&[u8], &str); 4] = [
        (b"", "empty"),
        (b"\xEF\xBB\xBF\r\n", "empty"),
        (b"PK\x03\x04\x00\x00binary\x00\x01", "binary"),
        (b"first_name,email\n", "no contacts"),
    ];
    for (file, says) in refused {
        let (status, body) = post_import(&api, ws, file, "bad.csv", &[]).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{says}: {body}");
        assert_eq!(body["error"]["field"], "file");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(says),
            "{says}: {body}"
        );
    }
    let (status, body) = post_import(
        &api,
        ws,
        b"first_name\nAnn\n",
        "x.csv",
        &[("policy", "merge")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "policy");
    let (status, body) = post_import(
        &api,
        ws,
        b"first_name\nAnn\n",
        "x.csv",
        &[("mapping", "{\"Nope\": \"first_name\"}")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("first_name"),
        "lists the columns: {body}"
    );
    let (status, body) = post_import(
        &api,
        ws,
        b"first_name\nAnn\n",
        "x.csv",
        &[("mapping", "{\"first_name\": \"no_such_field\"}")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("create_fields")
    );
    let (status, body) = read_json(
        api.request(
            reqwest::Method::POST,
            &format!("/api/v1/workspaces/{ws}/imports"),
        )
        .json(&json!({"file": "x"}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not multipart: {body}"
    );

    // Ragged rows, an unterminated quote, a 10 MB cell, duplicate headers, 200 columns: the
    // good rows go in, the bad ones fail with a reason each.
    let mut file = String::from("first_name,primary_email,first_name");
    for i in 0..197 {
        file.push_str(&format!(",extra {i}"));
    }
    file.push('\n');
    let pad = ",".repeat(197);
    file.push_str(&format!("Ann,ann@example.com,Annie{pad}\n"));
    file.push_str("Ragged,rag@example.com\n");
    file.push_str(&format!(
        "{},big@example.com,{pad}\n",
        "x".repeat(10 * 1024 * 1024)
    ));
    file.push_str(&format!("Cy,cy@example.com,{pad}\n"));
    file.push_str(&format!(
        "\"Unclosed,open@example.com,x{pad}\nDee,dee@example.com,{pad}\n"
    ));
    let done = import(&api, ws, file.as_bytes(), &[]).await;
    assert_eq!(done["status"], "done", "{done}");
    let (new, _, _, failed) = counts(&done);
    assert_eq!((new, failed), (2, 3), "{done}");
    let names: Vec<String> = contacts(&api, ws)
        .await
        .iter()
        .map(|c| c["first_name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, vec!["Ann", "Cy"]);
    let failures = failed_rows(&api, &done).await;
    assert!(
        failures.contains("has 2 cells but the header has 200"),
        "ragged"
    );
    assert!(
        failures.contains("quote"),
        "unterminated quote ({} bytes): {}",
        failures.len(),
        failures
            .lines()
            .map(|l| l.chars().take(120).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(failures.contains("too long"), "the 10 MB cell");
    app.stop().await;
}

#[tokio::test]
async fn create_fields_makes_typed_fields_for_unknown_columns() {
    let app = spawn_app().await;
    let (api, ws) = setup(&app).await;
    let file = "Name,E-mail,Closing Date,Loan Amount,Website,Empty Col\n\
Ann Lee,ann@example.com,2026-05-01,\"250,000\",https://ann.example,\n\
Ben Ode,ben@example.com,2026-06-15,99000,https://ben.example,\n";
    let (status, body) = post_import(&api, ws, file.as_bytes(), "x.csv", &[]).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "without create_fields unknown columns are skipped"
    );
    let done = finished(&api, body["id"].as_i64().unwrap()).await;
    assert_eq!(counts(&done), (2, 0, 0, 0));
    let done = import(
        &api,
        ws,
        file.as_bytes(),
        &[("create_fields", "true"), ("policy", "update")],
    )
    .await;
    assert_eq!(counts(&done), (0, 2, 0, 0), "{done}");
    let (_, fields) = api
        .get(&format!("/api/v1/workspaces/{ws}/custom-fields"))
        .await;
    let types: Vec<(String, String)> = fields["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_owned(),
                f["field_type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        types.contains(&("closing_date".into(), "date".into())),
        "{types:?}"
    );
    assert!(
        types.contains(&("loan_amount".into(), "number".into())),
        "{types:?}"
    );
    assert!(
        types.contains(&("website".into(), "url".into())),
        "{types:?}"
    );
    assert!(
        !types.iter().any(|(n, _)| n == "empty_col"),
        "an empty column makes no field"
    );
    let ann = contacts(&api, ws)
        .await
        .into_iter()
        .find(|c| c["first_name"] == "Ann")
        .unwrap();
    assert_eq!(ann["last_name"], "Lee");
    assert_eq!(ann["custom"]["loan_amount"], json!(250000));
    assert_eq!(ann["custom"]["closing_date"], "2026-05-01");
    app.stop().await;
}

/// Starts importing `file` and waits until its first batch has landed (so there is something
/// to undo); answers the import's id.
async fn start_and_wait_for_first_batch(api: &Api, ws: i64, file: &str) -> i64 {
    let (status, body) = post_import(api, ws, file.as_bytes(), "big.csv", &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let id = body["id"].as_i64().unwrap();
    for _ in 0..400 {
        let (_, now) = api.get(&format!("/api/v1/imports/{id}")).await;
        if now["processed_rows"].as_i64().unwrap() > 0 {
            break;
        }
        sleep(25).await;
    }
    id
}

#[tokio::test]
async fn a_cancelled_import_leaves_nothing_behind() {
    let app = spawn_app().await;
    let (api, ws) = setup(&app).await;
    let mut file = String::from("first_name,primary_email\n");
    for i in 0..150_000 {
        file.push_str(&format!("P{i},p{i}@example.com\n"));
    }
    let id = start_and_wait_for_first_batch(&api, ws, &file).await;
    let (status, body) = api
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/imports/{id}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let done = finished(&api, id).await;
    assert_eq!(done["status"], "cancelled", "{done}");
    let (_, page) = api.get(&format!("/api/v1/workspaces/{ws}/contacts")).await;
    assert_eq!(page["total"], 0, "what it did is undone");
    app.stop().await;
}

/// The import's batches do not check foreign keys row by row; each batch checks that what its
/// rows refer to is still there. A field deleted mid-import stops it, and it is undone.
#[tokio::test]
async fn a_field_deleted_while_an_import_runs_stops_it_and_nothing_is_kept() {
    let app = spawn_app().await;
    let (api, ws) = setup(&app).await;
    create_field(
        &api,
        ws,
        json!({"label": "Loan amount", "field_type": "number", "scope": "user"}),
    )
    .await;
    let (_, fields) = api
        .get(&format!("/api/v1/workspaces/{ws}/custom-fields"))
        .await;
    let field = fields["items"][0]["id"].as_i64().unwrap();
    let mut file = String::from("first_name,primary_email,loan_amount\n");
    for i in 0..150_000 {
        file.push_str(&format!("P{i},p{i}@example.com,{i}\n"));
    }
    let id = start_and_wait_for_first_batch(&api, ws, &file).await;
    let (status, body) = api
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/custom-fields/{field}"),
            json!({}),
        )
        .await;
    assert!(status.is_success(), "{status}: {body}");
    let done = finished(&api, id).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert!(
        done["error"]
            .as_str()
            .unwrap()
            .contains("deleted while it ran"),
        "{done}"
    );
    let (_, page) = api.get(&format!("/api/v1/workspaces/{ws}/contacts")).await;
    assert_eq!(page["total"], 0, "what it did is undone");
    let orphans: i64 = app
        .app()
        .db()
        .read(|conn| {
            use diesel::RunQueryDsl;
            #[derive(diesel::QueryableByName)]
            struct Count {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            diesel::sql_query(
                "SELECT COUNT(*) AS n FROM contact_values \
                 WHERE field_id NOT IN (SELECT id FROM custom_fields)",
            )
            .get_result::<Count>(conn)
            .map(|c| c.n)
            .map_err(storage::StorageError::from)
        })
        .unwrap();
    assert_eq!(orphans, 0, "no value of the deleted field is left");
    app.stop().await;
}

#[test]
fn the_command_line_imports_prints_counts_and_a_crash_is_undone_at_start() {
    let dir = tempfile::tempdir().unwrap();
    assert!(add_user(dir.path(), "andy", PASSWORD).status.success());
    let out = pi_crm(dir.path())
        .args(["seed", "--username", "andy", "--contacts", "1"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let csv_path = dir.path().join("people.csv");
    std::fs::write(&csv_path, "name,email\nAnn Lee,ann@example.com\nBad,nope\n").unwrap();
    let out = pi_crm(dir.path())
        .args(["import", "--workspace", "1", "--file"])
        .arg(&csv_path)
        .arg("--dry-run")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("dry run") && stdout.contains("1 new, 0 updated, 0 skipped, 1 failed"),
        "{stdout}"
    );
    let out = pi_crm(dir.path())
        .args(["import", "--workspace", "1", "--policy", "update", "--file"])
        .arg(&csv_path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("done: 1 new"), "{stdout}");
    let out = pi_crm(dir.path())
        .args(["import", "--workspace", "999", "--file"])
        .arg(&csv_path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no workspace with id 999"));

    // Killed in the middle: the next start undoes what it had written.
    let mut big = String::from("first_name,primary_email\n");
    for i in 0..60_000 {
        big.push_str(&format!("K{i},k{i}@example.com\n"));
    }
    std::fs::write(&csv_path, big).unwrap();
    let mut child = pi_crm(dir.path())
        .args(["import", "--workspace", "1", "--file"])
        .arg(&csv_path)
        .spawn()
        .unwrap();
    let app = app::App::open(app::Settings::new(dir.path().to_owned())).unwrap();
    let caller = app::imports::cli_caller(&app, domain::ids::WorkspaceId(1)).unwrap();
    let mut started = false;
    for _ in 0..600 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let list = app::imports::list(&app, &caller, domain::ids::WorkspaceId(1)).unwrap();
        if list
            .first()
            .is_some_and(|r| r.processed_rows > 0 && r.status.as_str() == "running")
        {
            started = true;
            break;
        }
    }
    assert!(started, "the import got under way");
    child.kill().unwrap();
    child.wait().unwrap();
    let before = app::imports::list(&app, &caller, domain::ids::WorkspaceId(1)).unwrap()[0].clone();
    assert_eq!(before.status.as_str(), "running");
    assert_eq!(app::imports::recover(&app).unwrap(), 1);
    let after = app::imports::get(&app, &caller, before.id).unwrap();
    assert_eq!(after.status.as_str(), "failed");
    assert!(after.error.unwrap().contains("undone"));
    let left = app::contacts::search(
        &app,
        &app::Caller::browser(caller.user_id, None),
        domain::ids::WorkspaceId(1),
        &domain::contact::ContactQuery {
            text: Some("k1".into()),
            ..Default::default()
        },
        Default::default(),
    )
    .unwrap();
    assert_eq!(left.total, 0, "nothing of the killed import is left");
}

#[tokio::test]
async fn an_import_runs_once_even_when_started_twice_at_the_same_moment() {
    let app = spawn_app().await;
    let user = app.add_user("andy");
    let caller = app::Caller::browser(user.id, None);
    let ws = app::workspaces::create(
        app.app(),
        &caller,
        app::workspaces::CreateWorkspace {
            name: "Realty".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let incoming = app::imports::incoming_path(app.app()).unwrap();
    std::fs::write(&incoming, "first_name\nAnn\n").unwrap();
    let (record, _) = app::imports::upload(app.app(), &caller, ws.id, "a.csv", &incoming).unwrap();
    // The claim itself: of two runs racing past the status check, one takes the import.
    let settings = domain::import_job::ImportSettings {
        encoding: domain::csv_import::Encoding::Utf8,
        delimiter: b',',
        headers: vec!["first_name".into()],
        mapping: vec![domain::csv_import::ImportTarget::FirstName],
        policy: Default::default(),
        overwrite: false,
        new_fields: Vec::new(),
    };
    let claims: Vec<bool> = (0..2)
        .map(|_| {
            app.app()
                .db()
                .write(|conn| storage::imports::start(conn, record.id, &settings, false, 1))
                .unwrap()
        })
        .collect();
    assert_eq!(claims, vec![true, false]);
    // And through the use case, the second start is refused in words.
    let err = app::imports::start(app.app(), &caller, record.id, Default::default()).unwrap_err();
    assert!(matches!(err, app::AppError::Conflict { .. }), "{err}");
    app.stop().await;
}
