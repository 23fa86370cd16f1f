use std::process::Command;

use confab::cli::SeedArgs;
use serde_json::Value;

use crate::helpers::{test_settings, unique_db_name, DbGuard, TestApp};

/// Seeds `n` users into the app's database (no bcrypt per user) and returns their ids.
pub async fn seed_users(app: &TestApp, n: u32) -> Vec<String> {
    let args = SeedArgs {
        users: n,
        group_size: 300,
        out: "-".into(),
        token_ttl_hours: 1,
        workspace_channels: 0,
    };
    let output = confab::seed::seed(&app.state.settings, &args)
        .await
        .unwrap();
    output.users.iter().map(|u| u.id.to_string()).collect()
}

#[actix_web::test]
async fn seeded_users_are_grouped_and_their_tokens_work() {
    let app = TestApp::spawn().await;
    let args = SeedArgs {
        users: 25,
        group_size: 10,
        out: "-".into(),
        token_ttl_hours: 2,
        workspace_channels: 0,
    };
    let output = confab::seed::seed(&app.state.settings, &args)
        .await
        .unwrap();
    assert_eq!(output.users.len(), 25);
    let sizes: Vec<usize> = output.groups.iter().map(|g| g.member_ids.len()).collect();
    assert_eq!(sizes, [10, 10, 5]);

    let first = &output.users[0];
    let me = app.get("/api/me", &first.token).await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    assert_eq!(me.body["username"], first.username.as_str());
    let list = app.get("/api/conversations", &first.token).await;
    let conversations = list.body["conversations"].as_array().unwrap();
    assert_eq!(conversations.len(), 1);
    assert_eq!(conversations[0]["id"], output.groups[0].id.to_string());
    assert_eq!(conversations[0]["members"].as_array().unwrap().len(), 10);
    let last = &output.users[24];
    let last = crate::helpers::TestUser {
        id: last.id.to_string(),
        username: last.username.clone(),
        token: last.token.clone(),
        refresh: String::new(),
    };
    let group = output.groups[2].id.to_string();
    assert_eq!(app.send(&last, &group, "seeded", "hello").await.status, 201);
}

#[actix_web::test]
async fn a_seeded_workspace_has_public_channels_its_members_find() {
    let app = TestApp::spawn().await;
    let args = SeedArgs {
        users: 3,
        group_size: 3,
        out: "-".into(),
        token_ttl_hours: 1,
        workspace_channels: 40,
    };
    let output = confab::seed::seed(&app.state.settings, &args)
        .await
        .unwrap();
    let workspace = output.workspace.expect("a workspace");
    assert_eq!(workspace.channels, 40);
    let token = &output.users[2].token;
    let page = app
        .get(
            &format!("/api/workspaces/{}/channels?limit=50", workspace.id),
            token,
        )
        .await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    let channels = page.body["channels"].as_array().unwrap();
    assert_eq!(channels.len(), 40);
    assert!(channels
        .iter()
        .all(|c| c["memberCount"] == 1 && c["joined"] == false));
    let design = app
        .get(
            &format!("/api/workspaces/{}/channels?q=design", workspace.id),
            token,
        )
        .await;
    let titles: Vec<&str> = design.body["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["design-00001", "design-00017", "design-00033"]);
}

#[test]
fn the_seed_command_writes_users_and_tokens_to_a_file() {
    let settings = test_settings(&unique_db_name());
    let url = settings.database.url.expose().to_string();
    let _guard = DbGuard(url.clone());
    let out = std::env::temp_dir().join(format!("{}.json", unique_db_name()));
    let status = Command::new(env!("CARGO_BIN_EXE_confab"))
        .args(["seed", "--users", "12", "--group-size", "5", "--out"])
        .arg(&out)
        .env("CONFAB_ENV", "test")
        .env("DATABASE_URL", &url)
        .env(
            "CONFAB_CONFIG_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config"),
        )
        .env("RUST_LOG", "warn")
        .status()
        .unwrap();
    let written = std::fs::read(&out);
    let _ = std::fs::remove_file(&out);
    assert!(status.success());
    let json: Value = serde_json::from_slice(&written.unwrap()).unwrap();
    assert_eq!(json["users"].as_array().unwrap().len(), 12);
    assert_eq!(json["groups"].as_array().unwrap().len(), 3);
    let keys =
        confab::auth::JwtKeys::new(settings.jwt_secret(), std::time::Duration::from_secs(900));
    for user in json["users"].as_array().unwrap() {
        let id = keys.verify_access(user["token"].as_str().unwrap()).unwrap();
        assert_eq!(id.to_string(), user["id"].as_str().unwrap());
    }
}
