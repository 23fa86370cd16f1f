//! The OpenAPI description: generated from the handlers, committed as `docs/openapi.json`, served
//! at `/api/openapi.json`, and in agreement with what the routes answer.

use std::path::Path;

use serde_json::Value;

use crate::helpers::{assert_error, TestApp};

const COMMITTED: &str = "docs/openapi.json";

/// The description the code generates, as `confab openapi` prints it.
fn generated() -> String {
    confab::http::openapi::to_json(&confab::http::description()).unwrap()
}

#[test]
fn the_committed_description_is_the_generated_one() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(COMMITTED);
    let generated = generated();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{COMMITTED} is not what the handlers describe: run \
         `UPDATE_OPENAPI=1 cargo test --test api openapi` and commit the change"
    );
}

#[test]
fn operation_ids_are_unique_and_every_error_is_the_contract_object() {
    let doc: Value = serde_json::from_str(&generated()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        assert!(path.starts_with("/api/"), "{path}");
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap();
            assert!(ids.insert(id.to_string()), "{id} twice");
            for (status, response) in operation["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    let name = response["$ref"].as_str().unwrap_or_default();
                    assert!(
                        name.starts_with("#/components/responses/"),
                        "{method} {path} {status} is not a shared error response"
                    );
                }
            }
        }
    }
    assert_eq!(ids.len(), 51, "every /api operation is described");
    let codes = &doc["components"]["schemas"]["ErrorCode"]["enum"];
    let described: Vec<&str> = codes
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let contract: Vec<&str> = confab::error::ErrorCode::ALL
        .iter()
        .map(|code| code.as_str())
        .collect();
    assert_eq!(described, contract);
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["refreshCookie"]["in"], "cookie");
    assert_eq!(schemes["refreshCookie"]["name"], "confab_refresh");
}

#[actix_web::test]
async fn the_node_serves_the_description_and_answers_405_by_it() {
    let app = TestApp::spawn().await;
    let served = app.request("GET", "/api/openapi.json", None, None).await;
    assert_eq!(served.status, 200);
    let generated: Value = serde_json::from_str(&generated()).unwrap();
    assert_eq!(served.body, generated);

    // A described path with a method it does not take: 405 naming the ones it does.
    let wrong = app.request("PUT", "/api/me", None, None).await;
    assert_eq!(wrong.status, 405, "{:?}", wrong.body);
    assert_eq!(wrong.headers.get("allow").unwrap(), "DELETE, GET, PATCH");
    let wrong = app
        .request(
            "POST",
            "/api/conversations/x/messages/y/reactions/z",
            None,
            None,
        )
        .await;
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.headers.get("allow").unwrap(), "DELETE, PUT");
    // No such path: 404, as before.
    assert_error(
        &app.request("GET", "/api/nothing/here", None, None).await,
        404,
        "not_found",
    );
    assert_error(
        &app.request("GET", "/api/users/a/b/c", None, None).await,
        404,
        "not_found",
    );
}

/// What fuzzing the description found, each fixed.
#[actix_web::test]
async fn defects_found_by_fuzzing_stay_fixed() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;

    // A JSON array is no body of this API, although serde builds a struct from one.
    let array = app
        .raw(
            "POST",
            "/api/auth/register",
            None,
            "application/json",
            r#"["a@example.com", "arrayuser", "correct horse battery", null]"#,
        )
        .await;
    assert_error(&array, 400, "invalid");
    let group = app.group(&alice, "g", &[]).await;
    let invites = format!("/api/conversations/{group}/invites");
    let create_invite = |body: &'static str| {
        app.raw(
            "POST",
            &invites,
            Some(&alice.token),
            "application/json",
            body,
        )
    };
    assert_error(&create_invite("[null, null]").await, 400, "invalid");

    // JSON null is the optional body left out.
    let empty = create_invite("null").await;
    assert_eq!(empty.status, 201, "{:?}", empty.body);
    let logout = app
        .raw("POST", "/api/auth/logout", None, "application/json", "null")
        .await;
    assert_eq!(logout.status, 204, "{:?}", logout.body);

    // An integral float is an integer, as JSON Schema counts them.
    let floats = create_invite(r#"{"expiresInSecs": 3600.0, "maxUses": 2.0}"#).await;
    assert_eq!(floats.status, 201, "{:?}", floats.body);
    assert_eq!(floats.body["maxUses"], 2);
    let fraction = create_invite(r#"{"maxUses": 2.5}"#).await;
    assert_error(&fraction, 400, "invalid");

    // The shortest http URL is an avatar URL.
    let me = app
        .request(
            "PATCH",
            "/api/me",
            Some(&alice.token),
            Some(serde_json::json!({"avatarUrl": "http://a"})),
        )
        .await;
    assert_eq!(me.status, 200, "{:?}", me.body);

    // `DELETE /contacts/requests` is a method that path does not take, not a contact named
    // "requests".
    let wrong = app.delete("/api/contacts/requests", &alice.token).await;
    assert_eq!(wrong.status, 405, "{:?}", wrong.body);
    assert_eq!(wrong.headers.get("allow").unwrap(), "GET, POST");
    assert_error(
        &app.delete("/api/contacts/not-a-uuid", &alice.token).await,
        404,
        "not_found",
    );
}
