use std::time::Duration;

use serde_json::json;
use uuid::Uuid;

use crate::helpers::{assert_error, TestApp};

#[actix_web::test]
async fn register_returns_the_user_an_access_token_and_a_refresh_cookie() {
    let app = TestApp::spawn().await;
    let res = app
        .request(
            "POST",
            "/api/auth/register",
            None,
            Some(json!({ "email": "Alice@Example.com", "username": "alice", "password": "correct horse battery", "displayName": "Alice A." })),
        )
        .await;
    assert_eq!(res.status, 201, "{:?}", res.body);
    let user = &res.body["user"];
    assert_eq!(user["username"], "alice");
    assert_eq!(user["displayName"], "Alice A.");
    assert_eq!(user["avatarUrl"], serde_json::Value::Null);
    assert!(user.get("email").is_none(), "email only in /me");
    assert!(user.get("passwordHash").is_none() && user.get("password_hash").is_none());
    Uuid::parse_str(user["id"].as_str().unwrap()).unwrap();
    let created = user["createdAt"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.len() == 24, "{created}");

    let cookie = res.set_cookie_header("confab_refresh").unwrap();
    for attribute in [
        "HttpOnly",
        "SameSite=Lax",
        "Path=/api/auth",
        "Max-Age=604800",
    ] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let me = app
        .get("/api/me", res.body["accessToken"].as_str().unwrap())
        .await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["email"], "Alice@Example.com");
    assert_eq!(me.body["id"], user["id"]);
}

#[actix_web::test]
async fn register_refuses_bad_input_with_invalid() {
    let app = TestApp::spawn().await;
    let ok = json!({ "email": "a@example.com", "username": "alice", "password": "correct horse battery" });
    let mut cases = vec![];
    for (field, value) in [
        ("email", json!("not-an-email")),
        ("email", json!(42)),
        ("username", json!("a b")),
        ("username", json!("ab")),
        ("username", json!("x".repeat(33))),
        ("password", json!("short")),
        ("password", json!("x".repeat(73))),
        ("displayName", json!("")),
        ("displayName", json!("x".repeat(65))),
        ("displayName", json!(["array"])),
    ] {
        let mut body = ok.clone();
        body[field] = value;
        cases.push(body);
    }
    let mut missing = ok.clone();
    missing.as_object_mut().unwrap().remove("password");
    cases.push(missing);
    cases.push(json!([1, 2, 3]));
    for body in cases {
        let res = app
            .request("POST", "/api/auth/register", None, Some(body.clone()))
            .await;
        assert_error(&res, 400, "invalid");
    }
    assert_error(
        &app.raw(
            "POST",
            "/api/auth/register",
            None,
            "application/json",
            "{\"email\":",
        )
        .await,
        400,
        "invalid",
    );
    assert_error(
        &app.raw(
            "POST",
            "/api/auth/register",
            None,
            "text/plain",
            &ok.to_string(),
        )
        .await,
        400,
        "invalid",
    );
    // Nothing was stored: the same names are still free.
    app.register("alice").await;
}

#[actix_web::test]
async fn register_conflicts_on_a_taken_email_or_username_ignoring_case() {
    let app = TestApp::spawn().await;
    app.register("alice").await;
    for (email, username) in [
        ("ALICE@example.com", "other"),
        ("other@example.com", "ALICE"),
    ] {
        let res = app
            .request("POST", "/api/auth/register", None, Some(json!({ "email": email, "username": username, "password": "correct horse battery" })))
            .await;
        assert_error(&res, 409, "conflict");
    }
}

#[actix_web::test]
async fn login_accepts_email_or_username_in_any_case() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    for login in ["alice", "ALICE", "alice@example.com", "Alice@Example.COM"] {
        let res = app
            .request(
                "POST",
                "/api/auth/login",
                None,
                Some(json!({ "login": login, "password": "correct horse battery" })),
            )
            .await;
        assert_eq!(res.status, 200, "{login}: {:?}", res.body);
        assert_eq!(res.body["user"]["id"], alice.id.as_str());
        assert!(res.cookie("confab_refresh").is_some());
        assert_eq!(
            app.get("/api/me", res.body["accessToken"].as_str().unwrap())
                .await
                .status,
            200
        );
    }
}

#[actix_web::test]
async fn wrong_password_and_unknown_account_get_the_same_answer() {
    let app = TestApp::spawn().await;
    app.register("alice").await;
    let wrong = app
        .request(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({ "login": "alice", "password": "wrong password" })),
        )
        .await;
    let unknown = app
        .request(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({ "login": "nobody", "password": "wrong password" })),
        )
        .await;
    assert_error(&wrong, 401, "unauthorized");
    assert_eq!(wrong.body, unknown.body);
    assert_error(
        &app.request(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({ "login": "alice" })),
        )
        .await,
        400,
        "invalid",
    );
    assert_error(
        &app.request(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({ "login": 5, "password": "x" })),
        )
        .await,
        400,
        "invalid",
    );
}

/// Five failures on one account from one address refuse that address for that account, even
/// with the right password, with the time to wait.
#[actix_web::test]
async fn five_failures_refuse_the_address_for_that_account_with_retry_after() {
    let app = TestApp::spawn().await;
    app.register("alice").await;
    let attempt = |password: &'static str| {
        app.request(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({ "login": "alice", "password": password })),
        )
    };
    for _ in 0..5 {
        assert_error(&attempt("wrong password").await, 401, "unauthorized");
    }
    let limited = attempt("correct horse battery").await;
    assert_error(&limited, 429, "rate_limited");
    let retry: u64 = limited
        .headers
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    let retry_ms = limited.body["error"]["retryAfterMs"].as_u64().unwrap();
    assert!(retry_ms > 0 && retry_ms <= 900_000, "{retry_ms}");
}

/// An attacker guessing from one address is stopped by the pair limit; the owner, from their
/// own address, signs in with the right password all the same (no account lock-out).
#[actix_web::test]
async fn an_attacker_failing_from_one_address_does_not_lock_the_owner_out() {
    let app = TestApp::spawn_with(|s| s.server.trust_proxy_headers = true).await;
    app.register("alice").await;
    let mut statuses = Vec::new();
    for _ in 0..30 {
        statuses.push(
            app.login_from("10.6.6.6", "alice", "wrong password")
                .await
                .status,
        );
    }
    assert_eq!(
        statuses.iter().filter(|&&s| s == 401).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 429).count(),
        25,
        "{statuses:?}"
    );
    let owner = app
        .login_from("10.0.0.1", "alice", "correct horse battery")
        .await;
    assert_eq!(owner.status, 200, "{:?}", owner.body);
    // The attacker's address stays refused for the account, the right password included.
    assert_error(
        &app.login_from("10.6.6.6", "alice", "correct horse battery")
            .await,
        429,
        "rate_limited",
    );
}

/// Failures on one account from many addresses, far past the pair limit's total, slow the
/// account down but never lock it: every guess is checked (401, not 429), and the owner signs
/// in with the right password.
#[actix_web::test]
async fn a_crowd_of_addresses_slows_the_account_down_but_never_locks_it() {
    let app = TestApp::spawn_with(|s| {
        s.server.trust_proxy_headers = true;
        s.auth.login_account_free_failures = 3;
        s.auth.login_account_delay_ms = 1;
        s.auth.login_account_max_delay_ms = 4;
    })
    .await;
    app.register("alice").await;
    for i in 0..12 {
        for _ in 0..2 {
            let res = app
                .login_from(&format!("10.7.0.{}", i + 1), "alice", "wrong password")
                .await;
            assert_error(&res, 401, "unauthorized");
        }
    }
    let owner = app
        .login_from("10.0.0.1", "alice", "correct horse battery")
        .await;
    assert_eq!(owner.status, 200, "{:?}", owner.body);
}

/// Failures from one address over many accounts reach the address's own limit: that address
/// is refused for every account, another address is not.
#[actix_web::test]
async fn failures_from_one_address_over_many_accounts_limit_that_address() {
    let app = TestApp::spawn_with(|s| {
        s.server.trust_proxy_headers = true;
        s.auth.login_max_failures_per_address = 8;
    })
    .await;
    let bob = app.register("bob").await;
    for i in 0..8 {
        let res = app
            .login_from("10.8.0.1", &format!("ghost{i}"), "wrong password")
            .await;
        assert_error(&res, 401, "unauthorized");
    }
    let res = app
        .login_from("10.8.0.1", &bob.username, "correct horse battery")
        .await;
    assert_error(&res, 429, "rate_limited");
    let res = app
        .login_from("10.8.0.2", &bob.username, "correct horse battery")
        .await;
    assert_eq!(res.status, 200, "{:?}", res.body);
}

/// The address limit holds by default: twenty failures over accounts that do not exist, then
/// the address is refused.
#[actix_web::test]
async fn twenty_failures_from_one_address_limit_it_by_default() {
    let app = TestApp::spawn().await;
    let bob = app.register("bob").await;
    for i in 0..20 {
        let res = app
            .request(
                "POST",
                "/api/auth/login",
                None,
                Some(json!({ "login": format!("ghost{i}"), "password": "wrong password" })),
            )
            .await;
        assert_error(&res, 401, "unauthorized");
    }
    let res = app
        .request(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({ "login": bob.username, "password": "correct horse battery" })),
        )
        .await;
    assert_error(&res, 429, "rate_limited");
}

#[actix_web::test]
async fn a_successful_login_clears_the_account_failures_but_not_the_address_ones() {
    let app = TestApp::spawn_with(|s| {
        s.auth.login_max_failures_per_pair = 3;
        s.auth.login_max_failures_per_address = 3;
        s.server.trust_proxy_headers = true;
    })
    .await;
    app.register("alice").await;
    // Two failures and a success from one address, then two failures from another: the
    // pair's count restarted at the success.
    for _ in 0..2 {
        assert_error(
            &app.login_from("10.0.0.1", "alice", "wrong password").await,
            401,
            "unauthorized",
        );
    }
    assert_eq!(
        app.login_from("10.0.0.1", "alice", "correct horse battery")
            .await
            .status,
        200
    );
    for _ in 0..2 {
        assert_error(
            &app.login_from("10.0.0.2", "alice", "wrong password").await,
            401,
            "unauthorized",
        );
    }
    assert_eq!(
        app.login_from("10.0.0.3", "alice", "correct horse battery")
            .await
            .status,
        200
    );
    // The first address keeps its two failures: one more reaches its limit of three.
    assert_error(
        &app.login_from("10.0.0.1", "nobody", "wrong password").await,
        401,
        "unauthorized",
    );
    assert_error(
        &app.login_from("10.0.0.1", "alice", "correct horse battery")
            .await,
        429,
        "rate_limited",
    );
}

#[actix_web::test]
async fn refresh_rotates_the_token_and_reuse_revokes_the_family() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let first = app
        .with_cookie(
            "/api/auth/refresh",
            &format!("confab_refresh={}", alice.refresh),
        )
        .await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let access = first.body["accessToken"].as_str().unwrap();
    assert_eq!(app.get("/api/me", access).await.status, 200);
    let rotated = first.cookie("confab_refresh").unwrap();
    assert_ne!(rotated, alice.refresh);

    // The old token again: reuse. It fails and takes the whole family with it.
    let reuse = app
        .with_cookie(
            "/api/auth/refresh",
            &format!("confab_refresh={}", alice.refresh),
        )
        .await;
    assert_error(&reuse, 401, "unauthorized");
    let after = app
        .with_cookie("/api/auth/refresh", &format!("confab_refresh={rotated}"))
        .await;
    assert_error(&after, 401, "unauthorized");

    // Another login starts a new family, untouched by the revocation.
    let login = app
        .request(
            "POST",
            "/api/auth/login",
            None,
            Some(json!({ "login": "alice", "password": "correct horse battery" })),
        )
        .await;
    let fresh = login.cookie("confab_refresh").unwrap();
    let ok = app
        .request(
            "POST",
            "/api/auth/refresh",
            None,
            Some(json!({ "refreshToken": fresh })),
        )
        .await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
}

#[actix_web::test]
async fn refresh_without_or_with_a_garbled_token_is_unauthorized() {
    let app = TestApp::spawn().await;
    assert_error(
        &app.request("POST", "/api/auth/refresh", None, None).await,
        401,
        "unauthorized",
    );
    assert_error(
        &app.request(
            "POST",
            "/api/auth/refresh",
            None,
            Some(json!({ "refreshToken": "garbage" })),
        )
        .await,
        401,
        "unauthorized",
    );
    assert_error(
        &app.with_cookie("/api/auth/refresh", "confab_refresh=garbage")
            .await,
        401,
        "unauthorized",
    );
}

#[actix_web::test]
async fn logout_revokes_the_refresh_token_and_clears_the_cookie() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let res = app
        .with_cookie(
            "/api/auth/logout",
            &format!("confab_refresh={}", alice.refresh),
        )
        .await;
    assert_eq!(res.status, 204);
    let cleared = res.set_cookie_header("confab_refresh").unwrap();
    assert!(
        cleared.contains("Max-Age=0") || cleared.contains("Expires"),
        "{cleared}"
    );
    let refresh = app
        .with_cookie(
            "/api/auth/refresh",
            &format!("confab_refresh={}", alice.refresh),
        )
        .await;
    assert_error(&refresh, 401, "unauthorized");
    // Logging out with nothing to revoke is the same 204.
    assert_eq!(
        app.request("POST", "/api/auth/logout", None, None)
            .await
            .status,
        204
    );
}

#[actix_web::test]
async fn missing_garbled_foreign_and_expired_access_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    assert_error(
        &app.request("GET", "/api/me", None, None).await,
        401,
        "unauthorized",
    );
    assert_error(&app.get("/api/me", "garbage").await, 401, "unauthorized");
    let mut tampered = alice.token.clone();
    tampered.replace_range(tampered.len() - 4.., "AAAA");
    assert_error(&app.get("/api/me", &tampered).await, 401, "unauthorized");
    let foreign = confab::auth::JwtKeys::new(
        &confab::config::Secret::new("another secret"),
        Duration::from_secs(60),
    )
    .issue_access_for(alice.id.parse().unwrap(), Duration::from_secs(60));
    assert_error(&app.get("/api/me", &foreign).await, 401, "unauthorized");
    let expired = app
        .state
        .jwt
        .issue_expired(alice.id.parse().unwrap(), Duration::from_secs(30));
    assert_error(&app.get("/api/me", &expired).await, 401, "token_expired");
    let basic = app
        .client
        .get(format!("{}/api/me", app.base))
        .insert_header(("Authorization", "Basic YWxpY2U6cHc="))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status().as_u16(), 401);
}

/// The `Bearer` scheme's name is case-insensitive (RFC 7235); other schemes are refused.
#[actix_web::test]
async fn the_bearer_scheme_is_matched_in_any_case() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let res = app
            .client
            .get(format!("{}/api/me", app.base))
            .insert_header(("Authorization", format!("{scheme} {}", alice.token)))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{scheme}");
    }
    let res = app
        .client
        .get(format!("{}/api/me", app.base))
        .insert_header(("Authorization", format!("Basic {}", alice.token)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
}

/// Parallel wrong passwords for one account from one address: the limit is checked and
/// recorded atomically, so exactly the limit's worth reach the password check and the rest get
/// 429.
#[actix_web::test]
async fn parallel_failures_never_get_more_checks_than_the_limit() {
    let app = TestApp::spawn_with(|s| s.server.trust_proxy_headers = true).await;
    app.register("alice").await;
    let app = &app;
    let attempts = (0..100).map(|_| async move {
        app.login_from("10.1.0.1", "alice", "wrong password")
            .await
            .status
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let checked = statuses.iter().filter(|&&s| s == 401).count();
    let limited = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!((checked, limited), (5, 95), "{statuses:?}");
}

/// An account counts once whatever login string names it: failures by username and by email
/// from one address share one limit.
#[actix_web::test]
async fn username_and_email_failures_count_against_one_account() {
    let app = TestApp::spawn_with(|s| s.server.trust_proxy_headers = true).await;
    app.register("alice").await;
    for login in [
        "alice",
        "ALICE@example.com",
        "alice@example.com",
        "Alice",
        "alice",
    ] {
        assert_error(
            &app.login_from("10.2.0.1", login, "wrong password").await,
            401,
            "unauthorized",
        );
    }
    let res = app
        .login_from("10.2.0.1", "alice@example.com", "correct horse battery")
        .await;
    assert_error(&res, 429, "rate_limited");
}

/// Registrations from one address are limited; another address is not affected.
#[actix_web::test]
async fn registrations_are_limited_per_address() {
    let app = TestApp::spawn_with(|s| {
        s.auth.register_max_per_address = 3;
        s.server.trust_proxy_headers = true;
    })
    .await;
    let register = |ip: &'static str, name: String| {
        let req = app
            .client
            .post(format!("{}/api/auth/register", app.base))
            .insert_header(("X-Forwarded-For", ip));
        async move {
            let res = req
                .send_json(&json!({
                    "email": format!("{name}@example.com"),
                    "username": name,
                    "password": "correct horse battery",
                }))
                .await
                .unwrap();
            res.status().as_u16()
        }
    };
    for i in 0..3 {
        assert_eq!(register("10.3.0.1", format!("user{i}")).await, 201);
    }
    assert_eq!(register("10.3.0.1", "user3".into()).await, 429);
    assert_eq!(register("10.3.0.2", "user4".into()).await, 201);
}
