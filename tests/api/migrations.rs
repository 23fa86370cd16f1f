use crate::helpers::{test_settings, unique_db_name, DbGuard};

#[actix_web::test]
async fn migrations_go_up_down_and_up_again() {
    let settings = test_settings(&unique_db_name());
    let url = settings.database.url.expose().to_string();
    let _guard = DbGuard(url.clone());
    confab::db::ensure_database(&url).await.unwrap();
    // Creating an existing database is not an error (several nodes start at once).
    confab::db::ensure_database(&url).await.unwrap();

    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .filter(|entry| entry.as_ref().unwrap().path().is_dir())
        .count();
    let up = confab::db::run_migrations(&url).await.unwrap();
    assert_eq!(up.len(), migrations, "{up:?}");
    assert!(
        confab::db::run_migrations(&url).await.unwrap().is_empty(),
        "nothing pending the second time"
    );
    let down = confab::db::revert_all_migrations(&url).await.unwrap();
    assert_eq!(down.len(), migrations, "{down:?}");
    let again = confab::db::run_migrations(&url).await.unwrap();
    assert_eq!(again, up);

    // The schema is usable after the round trip.
    let app = crate::helpers::TestApp::spawn_with(|s| {
        s.database.url = confab::config::Secret::new(url.clone())
    })
    .await;
    let alice = app.register("alice").await;
    assert_eq!(app.get("/api/me", &alice.token).await.status, 200);
}
