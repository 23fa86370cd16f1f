use super::*;

fn load(environment: &str, vars: &[(&str, &str)]) -> anyhow::Result<Settings> {
    let vars = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    Settings::load_from(environment, &dir, &vars)
}

#[test]
fn sectioned_variables_override_files() {
    let settings = load(
        "test",
        &[
            ("CONFAB_AUTH__ACCESS_TTL_SECS", "60"),
            ("CONFAB_SERVER__JSON_LIMIT_BYTES", "1024"),
        ],
    )
    .unwrap();
    assert_eq!(settings.auth.access_ttl_secs, 60);
    assert_eq!(settings.server.json_limit_bytes, 1024);
}

#[test]
fn clusters_on_different_databases_get_different_redis_namespaces() {
    let on = |db: &str| {
        let url = format!("postgres://postgres@127.0.0.1:5432/{db}");
        load("test", &[("DATABASE_URL", url.as_str())])
            .unwrap()
            .redis_namespace()
    };
    assert_eq!(on("chat_a"), "confab:chat_a");
    assert_ne!(on("chat_a"), on("chat_b"));
    let named = load("test", &[("CONFAB_REDIS__NAMESPACE", "eu-1")]).unwrap();
    assert_eq!(named.redis_namespace(), "eu-1");
}

#[test]
fn defaults_serve_locally_against_local_postgres() {
    let settings = load("development", &[]).unwrap();
    assert_eq!(settings.server.bind, "127.0.0.1:8080");
    assert_eq!(
        settings.database.url.expose(),
        "postgres://postgres@127.0.0.1:5432/confab"
    );
    assert_eq!(settings.redis_url(), None);
    assert_eq!(settings.redis_namespace(), "confab:confab");
    assert_eq!(settings.auth.bcrypt_cost, 12);
    assert_eq!(settings.auth.access_ttl_secs, 900);
}

#[test]
fn environment_file_overrides_defaults() {
    let settings = load("test", &[]).unwrap();
    assert_eq!(settings.auth.bcrypt_cost, 4);
    assert_eq!(settings.server.bind, "127.0.0.1:0");
}

#[test]
fn conventional_names_win_over_everything() {
    let settings = load(
        "test",
        &[
            ("DATABASE_URL", "postgres://db.example/other"),
            ("REDIS_URL", "redis://127.0.0.1:6390"),
            ("CONFAB_BIND", "127.0.0.1:9999"),
            ("CONFAB_NODE_ID", "n7"),
            ("BCRYPT_COST", "6"),
            ("JWT_SECRET", "s3cret"),
        ],
    )
    .unwrap();
    assert_eq!(
        settings.database.url.expose(),
        "postgres://db.example/other"
    );
    assert_eq!(settings.redis_url(), Some("redis://127.0.0.1:6390"));
    assert_eq!(settings.server.bind, "127.0.0.1:9999");
    assert_eq!(settings.node_id(), "n7");
    assert_eq!(settings.auth.bcrypt_cost, 6);
    assert_eq!(settings.jwt_secret().expose(), "s3cret");
}

#[test]
fn production_refuses_to_start_without_a_jwt_secret() {
    let err = load("production", &[]).unwrap_err();
    assert!(err.to_string().contains("JWT_SECRET"), "{err}");
    let long = "x".repeat(40);
    let settings = load("production", &[("JWT_SECRET", &long)]).unwrap();
    assert!(settings.auth.refresh_cookie_secure);
    // Metrics stay off the public listener in production; beside the API in development.
    assert_eq!(settings.metrics.bind, "127.0.0.1:9091");
    assert_eq!(load("development", &[]).unwrap().metrics.bind, "");
}

#[test]
fn unknown_keys_are_refused_by_name() {
    let err = load("test", &[("CONFAB_SERVER__BIDN", "127.0.0.1:1")]).unwrap_err();
    assert!(format!("{err:#}").contains("bidn"), "{err:#}");
    let err = load("test", &[("CONFAB_CAHT__TYPING_TIMEOUT_MS", "1")]).unwrap_err();
    assert!(format!("{err:#}").contains("caht"), "{err:#}");
    let dir = tempdir();
    std::fs::write(dir.join("test.toml"), "[engine]\nping_intervl_ms = 5\n").unwrap();
    let err = Settings::load_from("test", &dir, &HashMap::new()).unwrap_err();
    assert!(format!("{err:#}").contains("ping_intervl_ms"), "{err:#}");
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("confab-config-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_node_id_and_jwt_secret_are_chosen_once_at_load() {
    let settings = load("development", &[]).unwrap();
    assert!(settings.node_id().starts_with("node-"));
    assert_eq!(settings.node_id(), settings.node_id());
    assert_eq!(settings.clone().node_id(), settings.node_id());
    assert_eq!(settings.jwt_secret().expose(), DEV_JWT_SECRET);
    let other = load("development", &[]).unwrap();
    assert_ne!(other.node_id(), settings.node_id());
}

#[test]
fn chat_timers_come_from_config() {
    let settings = load(
        "test",
        &[
            ("CONFAB_CHAT__TYPING_TIMEOUT_MS", "1500"),
            ("CONFAB_CHAT__PRESENCE_GRACE_MS", "250"),
        ],
    )
    .unwrap();
    let timers = settings.chat.timers();
    assert_eq!(timers.typing_timeout, Duration::from_millis(1500));
    assert_eq!(timers.offline_grace, Duration::from_millis(250));
    assert_eq!(
        load("development", &[]).unwrap().chat.timers(),
        confab_actors::chat::ChatTimers::default()
    );
    assert!(load("test", &[("CONFAB_CHAT__TYPING_TIMEOUT_MS", "0")]).is_err());
}

#[test]
fn out_of_range_values_are_refused() {
    assert!(load("test", &[("BCRYPT_COST", "40")]).is_err());
    assert!(load("test", &[("BCRYPT_COST", "many")]).is_err());
}

#[test]
fn secrets_are_redacted_in_debug_output() {
    let settings = load(
        "test",
        &[
            ("JWT_SECRET", "topsecretvalue"),
            ("DATABASE_URL", "postgres://u:pw@h/d"),
        ],
    )
    .unwrap();
    let printed = format!("{settings:?}");
    assert!(!printed.contains("topsecretvalue"), "{printed}");
    assert!(!printed.contains("pw@h"), "{printed}");
}
