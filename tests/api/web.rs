use crate::helpers::TestApp;

/// The page, its scripts and styles from the node itself, the page locked to its origin.
#[actix_web::test]
async fn the_web_client_is_served_from_the_binary() {
    let app = TestApp::spawn().await;
    let page = app.request("GET", "/", None, None).await;
    assert_eq!(page.status, 200);
    let header = |res: &crate::helpers::Resp, name: &str| {
        res.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert!(header(&page, "content-type").starts_with("text/html"));
    let csp = header(&page, "content-security-policy");
    assert!(
        csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    // With the local store, images and uploads are this origin's too.
    assert!(
        csp.contains("img-src 'self' data:;") && csp.contains("connect-src 'self';"),
        "{csp}"
    );
    assert_eq!(header(&page, "x-frame-options"), "DENY");
    let html = page.body.as_str().unwrap().to_string();
    assert_eq!(html.as_bytes(), std::fs::read("web/index.html").unwrap());
    // Scripts come from files of this origin only, never inline.
    assert_eq!(html.matches("<script").count(), 1, "{html}");
    assert!(html.contains(r#"<script type="module" src="/app.js"></script>"#));
    assert!(!html.contains("http://") && !html.contains("https://"));
    for name in [
        "Username or email",
        "Password",
        "Log in",
        "Email",
        "Username",
        "Create account",
        "Message",
        "Send",
        "New group",
        "Log out",
    ] {
        assert!(html.contains(name), "the page names {name:?}");
    }

    // Every script and style sheet of web/ is served, as it is on disk.
    for file in web_files("web") {
        let kind = if file.ends_with(".css") {
            "text/css"
        } else {
            "text/javascript"
        };
        let path = file.trim_start_matches("web");
        let res = app.request("GET", path, None, None).await;
        assert_eq!(res.status, 200, "{path}");
        assert!(header(&res, "content-type").starts_with(kind), "{path}");
        assert_eq!(
            res.body.as_str().unwrap().as_bytes(),
            std::fs::read(&file).unwrap(),
            "{path}"
        );
        // Revalidation: the same ETag is a 304 with no body.
        let etag = header(&res, "etag");
        assert!(etag.starts_with('"'), "{path}: {etag}");
        let req = app
            .client
            .get(format!("{}{path}", app.base))
            .insert_header(("If-None-Match", etag.as_str()));
        let revalidated = req.send().await.unwrap();
        assert_eq!(revalidated.status().as_u16(), 304, "{path}");
    }

    // An invite link opens the page; unknown paths are still the API's 404.
    let invite = app.request("GET", "/invite/some-code", None, None).await;
    assert_eq!(invite.body.as_str().unwrap(), html);
    assert_eq!(app.request("GET", "/nope.js", None, None).await.status, 404);
}

/// Each file goes gzipped to a client that takes it (made once, with its own ETag), and as it
/// is to one that does not.
#[actix_web::test]
async fn the_web_client_is_sent_gzipped_to_clients_that_take_it() {
    use std::io::Read as _;
    let app = TestApp::spawn().await;
    let get = |accept: &'static str| {
        app.client
            .get(format!("{}/app/messages.js", app.base))
            .insert_header(("Accept-Encoding", accept))
            .no_decompress()
            .send()
    };
    let file = std::fs::read("web/app/messages.js").unwrap();
    let mut res = get("br, gzip;q=0.8").await.unwrap();
    assert_eq!(res.headers().get("content-encoding").unwrap(), "gzip");
    assert_eq!(res.headers().get("vary").unwrap(), "accept-encoding");
    let etag = res
        .headers()
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let zipped = res.body().await.unwrap();
    assert!(
        zipped.len() * 2 < file.len(),
        "{} of {}",
        zipped.len(),
        file.len()
    );
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&zipped[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, file);
    for accept in ["identity", "gzip;q=0", "deflate"] {
        let mut plain = get(accept).await.unwrap();
        assert!(
            plain.headers().get("content-encoding").is_none(),
            "{accept}"
        );
        assert_ne!(plain.headers().get("etag").unwrap(), etag.as_str());
        assert_eq!(plain.body().await.unwrap(), file, "{accept}");
    }
    let revalidated = app
        .client
        .get(format!("{}/app/messages.js", app.base))
        .insert_header(("Accept-Encoding", "gzip"))
        .insert_header(("If-None-Match", etag.as_str()))
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status().as_u16(), 304);
}

/// A group of 1,000 messages over three days (written into PostgreSQL), scrolled in Chromium
/// to its first message and back: one request per page, a bounded page, every message once.
#[actix_web::test]
async fn a_long_history_scrolls_a_page_at_a_time() {
    use diesel_async::SimpleAsyncConnection as _;
    let app = TestApp::spawn().await;
    let reader = app.register("reader").await;
    let group = app.group(&reader, "Long history", &[]).await;
    let mut conn = app.state.pool.get().await.unwrap();
    conn.batch_execute(&format!(
        "INSERT INTO messages (conversation_id, seq, rev, sender_id, client_message_id, body, created_at)
           SELECT '{group}', n, n, '{id}', 'seeded-' || n, 'Message ' || n,
                  now() - interval '3 days' + n * interval '3 days' / 1000
           FROM generate_series(1, 1000) n;
         UPDATE conversations SET last_seq = 1000, last_rev = 1000, last_message_at = now()
           WHERE id = '{group}'",
        id = reader.id
    ))
    .await
    .unwrap();
    crate::common::run_node_tests(
        &["browser/history.test.mjs"],
        &[
            ("CONFAB_URL", &app.base),
            ("CONFAB_HISTORY_USER", &reader.username),
            ("CONFAB_HISTORY_MESSAGES", "1000"),
        ],
    )
    .await;
}

/// The `.js` and `.css` files under `dir`, as paths from the crate's root.
fn web_files(dir: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.to_str().unwrap().to_string();
        if path.is_dir() {
            found.extend(web_files(&name));
        } else if name.ends_with(".js") || name.ends_with(".css") {
            found.push(name);
        }
    }
    assert!(!found.is_empty() || dir != "web");
    found
}

/// The page in Debian's Chromium (tests/js/browser, playwright-core): two people use every
/// feature of the page against this server, every screen passes axe-core at 1280 and 320 px,
/// and user content stays text. Screenshots of the screens go to target/screenshots.
#[actix_web::test]
async fn the_page_works_in_a_real_browser() {
    let app = TestApp::spawn().await;
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    crate::common::run_node_tests(
        &["browser/page.test.mjs", "browser/screens.test.mjs"],
        &[
            ("CONFAB_URL", &app.base),
            ("CONFAB_SCREENSHOTS", shots.to_str().unwrap()),
        ],
    )
    .await;
    for shot in ["conversation-320.png", "dm-1280.png", "workspaces-320.png"] {
        assert!(shots.join(shot).exists(), "{shot}");
    }
}
