//! Image attachments end to end against real storage: the local store through the node's own
//! port, and S3 (an in-process `s3s` server that verifies signatures). Bad input gets the
//! contract's error and leaves nothing behind; the cleanup job removes what nobody claims.

use std::io::Cursor;

use awc::http::header::HeaderMap;
use chrono::Utc;
use image::{ImageBuffer, ImageFormat, Rgb};
use serde_json::{json, Value};

use crate::common::s3::S3Server;
use crate::helpers::{assert_error, TestApp, TestUser};
use crate::sockets::{frame_starting, socket_of};

pub fn png(width: u32, height: u32) -> Vec<u8> {
    encode(width, height, ImageFormat::Png)
}

pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    encode(width, height, ImageFormat::Jpeg)
}

fn encode(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
    let image = ImageBuffer::from_fn(width, height, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// A valid 1 × 1 PNG whose header claims `width` × `height` (CRC fixed): a decompression bomb
/// in miniature.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = png(1, 1);
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

pub struct Fetched {
    pub status: u16,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

pub async fn fetch(method: &str, url: &str, headers: &[(&str, String)], body: Vec<u8>) -> Fetched {
    let client = awc::Client::builder().disable_redirects().finish();
    let mut req = client.request(method.parse().unwrap(), url);
    for (name, value) in headers {
        if !name.eq_ignore_ascii_case("content-length") {
            req = req.insert_header((*name, value.as_str()));
        }
    }
    let mut res = req.send_body(body).await.expect("storage answers");
    let bytes = res.body().limit(32 << 20).await.unwrap().to_vec();
    Fetched {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        bytes,
    }
}

/// `POST /uploads` for `bytes`.
pub async fn start(
    app: &TestApp,
    user: &TestUser,
    content_type: &str,
    size: usize,
    name: &str,
) -> crate::helpers::Resp {
    app.post(
        "/api/uploads",
        &user.token,
        json!({ "contentType": content_type, "size": size, "name": name }),
    )
    .await
}

/// Sends `bytes` as the ticket says.
pub async fn put(ticket: &Value, bytes: Vec<u8>) -> Fetched {
    assert_eq!(ticket["method"], "PUT");
    let headers: Vec<(&str, String)> = ticket["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap().to_string()))
        .collect();
    fetch(
        "PUT",
        ticket["uploadUrl"].as_str().unwrap(),
        &headers,
        bytes,
    )
    .await
}

pub async fn complete(app: &TestApp, user: &TestUser, id: &str) -> crate::helpers::Resp {
    app.post(
        &format!("/api/uploads/{id}/complete"),
        &user.token,
        json!({}),
    )
    .await
}

/// Uploads `bytes` as `content_type` through the whole flow → the ready Attachment.
pub async fn upload(
    app: &TestApp,
    user: &TestUser,
    bytes: Vec<u8>,
    content_type: &str,
    name: &str,
) -> Value {
    let ticket = start(app, user, content_type, bytes.len(), name).await;
    assert_eq!(ticket.status, 201, "{:?}", ticket.body);
    let stored = put(&ticket.body, bytes).await;
    assert_eq!(
        stored.status,
        200,
        "{}",
        String::from_utf8_lossy(&stored.bytes)
    );
    let id = ticket.body["attachmentId"].as_str().unwrap();
    let done = complete(app, user, id).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    done.body
}

fn send_with(conversation: &str, client_id: &str, ids: &[&str]) -> Value {
    json!({ "conversationId": conversation, "clientMessageId": client_id, "body": "", "attachmentIds": ids })
}

/// The payload of the next `event` frame on `ws`.
async fn next_event(ws: &mut crate::common::Ws, event: &str) -> Value {
    let text = frame_starting(ws, &format!(r#"42["{event}""#)).await;
    let frame: Value = serde_json::from_str(&text[2..]).unwrap();
    frame[1].clone()
}

/// Files under the local store's directory (objects and thumbnails), by name.
fn local_objects(app: &TestApp) -> Vec<String> {
    let mut names = Vec::new();
    let Ok(dirs) = std::fs::read_dir(&app.state.settings.storage.dir) else {
        return names;
    };
    for dir in dirs.filter_map(|d| d.ok()) {
        if dir.file_name() == ".incoming" {
            continue;
        }
        for file in std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|f| f.ok())
        {
            names.push(file.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    names
}

/// Two images go up through the local store, out in one message (empty body) to another
/// member's socket, and down again: the original byte for byte with safe headers, then the
/// thumbnail, announced by `message:updated` with a new rev. Expired or tampered URLs are
/// refused.
#[actix_web::test]
async fn images_go_up_and_out_and_down_through_the_local_store() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let group = app.group(&alice, "pics", &[&bob]).await;
    let mut bob_ws = socket_of(&app, &bob.token).await;
    let original = png(1000, 500);
    let first = upload(&app, &alice, original.clone(), "image/png", "wide cat.png").await;
    assert_eq!(first["width"], 1000);
    assert_eq!(first["height"], 500);
    assert_eq!(first["size"], original.len());
    assert_eq!(first["contentType"], "image/png");
    assert_eq!(first["name"], "wide cat.png");
    let second = upload(&app, &alice, jpeg(64, 64), "image/jpeg", "small.jpg").await;
    let ids = [
        first["id"].as_str().unwrap(),
        second["id"].as_str().unwrap(),
    ];

    let sent = app
        .post(
            &format!("/api/conversations/{group}/messages"),
            &alice.token,
            send_with(&group, "pics-1", &ids),
        )
        .await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    let new = next_event(&mut bob_ws, "message:new").await;
    assert_eq!(new["attachments"].as_array().unwrap().len(), 2);
    assert_eq!(new["attachments"][0]["id"], ids[0], "in the order given");
    assert_eq!(new["attachments"][1]["id"], ids[1]);
    let expires =
        chrono::DateTime::parse_from_rfc3339(new["attachments"][0]["expiresAt"].as_str().unwrap())
            .unwrap();
    assert!(
        expires > Utc::now() + chrono::Duration::minutes(59),
        "{expires}"
    );

    let url = new["attachments"][0]["url"].as_str().unwrap();
    assert!(url.starts_with(&app.base), "{url}");
    let down = fetch("GET", url, &[], Vec::new()).await;
    assert_eq!(down.status, 200);
    assert_eq!(
        down.bytes, original,
        "the original comes back byte for byte"
    );
    assert_eq!(down.headers.get("content-type").unwrap(), "image/png");
    assert_eq!(
        down.headers.get("x-content-type-options").unwrap(),
        "nosniff"
    );
    let disposition = down
        .headers
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(disposition.starts_with("inline;"), "{disposition}");

    // A thumbnail made after the send appears as a change of the message, with the next rev.
    let mut rev = new["rev"].as_i64().unwrap();
    let mut thumbnails = thumbnail_urls(&new);
    while thumbnails.len() < 2 {
        let updated = next_event(&mut bob_ws, "message:updated").await;
        assert_eq!(updated["rev"].as_i64().unwrap(), rev + 1, "{updated}");
        rev += 1;
        thumbnails = thumbnail_urls(&updated);
    }
    let thumb = fetch("GET", &thumbnails[ids[0]], &[], Vec::new()).await;
    assert_eq!(thumb.status, 200);
    assert_eq!(thumb.headers.get("content-type").unwrap(), "image/jpeg");
    let small = image::load_from_memory(&thumb.bytes).unwrap();
    assert_eq!((small.width(), small.height()), (320, 160));

    // The API redirects members to freshly signed URLs.
    let located = fetch_with_token(&app, &format!("/api/attachments/{}", ids[0]), &bob.token).await;
    assert_eq!(located.status, 302);
    let location = located
        .headers
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        fetch("GET", &location, &[], Vec::new()).await.bytes,
        original
    );
    let located = fetch_with_token(
        &app,
        &format!("/api/attachments/{}?thumbnail=true", ids[0]),
        &bob.token,
    )
    .await;
    assert_eq!(located.status, 302);

    // A tampered or expired URL is refused.
    let tampered = url.replace("type=image%2Fpng", "type=text%2Fhtml");
    assert_ne!(tampered, url);
    assert_eq!(fetch("GET", &tampered, &[], Vec::new()).await.status, 403);
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(url.split_once('?').unwrap().1).unwrap();
    let past: Vec<(String, String)> = query
        .into_iter()
        .map(|(k, v)| {
            if k == "expires" {
                (k, (Utc::now().timestamp() - 10).to_string())
            } else {
                (k, v)
            }
        })
        .collect();
    let expired = format!(
        "{}?{}",
        url.split_once('?').unwrap().0,
        serde_urlencoded::to_string(&past).unwrap()
    );
    assert_eq!(fetch("GET", &expired, &[], Vec::new()).await.status, 403);
    let signed_for_a_while = app.state.attachments.local().unwrap();
    let key = key_of(url);
    let past_query: confab::storage::local::SignedQuery =
        serde_urlencoded::from_str(expired.split_once('?').unwrap().1).unwrap();
    assert!(signed_for_a_while
        .verify("GET", key, &past_query, Utc::now())
        .is_err());
    assert!(signed_for_a_while
        .verify("GET", key, &query_of(url), Utc::now())
        .is_ok());

    // Catch-up by rev sees the thumbnails too.
    let changes = app
        .get(
            &format!("/api/conversations/{group}/changes?afterRev=0"),
            &bob.token,
        )
        .await;
    let latest = &changes.body["messages"][0];
    assert_eq!(latest["rev"].as_i64().unwrap(), rev);
    assert!(
        latest["attachments"][1]["thumbnailUrl"].is_string(),
        "{latest}"
    );
}

/// The storage key a signed URL names.
fn key_of(url: &str) -> &str {
    let path = url.split_once('?').unwrap().0;
    path.rsplit('/').next().unwrap()
}

fn query_of(url: &str) -> confab::storage::local::SignedQuery {
    serde_urlencoded::from_str(url.split_once('?').unwrap().1).unwrap()
}

/// The thumbnail URLs of a Message's attachments, by attachment id.
fn thumbnail_urls(message: &Value) -> std::collections::HashMap<String, String> {
    message["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| {
            Some((
                a["id"].as_str()?.to_string(),
                a["thumbnailUrl"].as_str()?.to_string(),
            ))
        })
        .collect()
}

/// Waits until the thumbnail of `id` exists (made off the request path, with no event to
/// await while no message holds the upload).
async fn thumbnail_made(app: &TestApp, user: &TestUser, id: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while fetch_with_token(
        app,
        &format!("/api/attachments/{id}?thumbnail=true"),
        &user.token,
    )
    .await
    .status
        != 302
    {
        assert!(std::time::Instant::now() < deadline, "no thumbnail of {id}");
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A message sent before its thumbnail exists shows `thumbnailUrl: null`; once the thumbnail
/// is made (here queued by the cleanup job, as after a lost job), members get
/// `message:updated` with the next rev and the URL.
#[actix_web::test]
async fn a_thumbnail_made_after_the_send_updates_the_message() {
    let app = TestApp::spawn_with(|settings| settings.storage.thumbnail_queue = 0).await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let group = app.group(&alice, "g", &[&bob]).await;
    let mut ws = socket_of(&app, &bob.token).await;
    let ready = upload(&app, &alice, png(640, 640), "image/png", "square.png").await;
    assert!(ready["thumbnailUrl"].is_null());
    let id = ready["id"].as_str().unwrap();
    let path = format!("/api/conversations/{group}/messages");
    assert_eq!(
        app.post(&path, &alice.token, send_with(&group, "t", &[id]))
            .await
            .status,
        201
    );
    let new = next_event(&mut ws, "message:new").await;
    assert!(new["attachments"][0]["thumbnailUrl"].is_null(), "{new}");
    let swept = app
        .state
        .attachments
        .cleanup()
        .run(Utc::now() + chrono::Duration::minutes(3))
        .await
        .unwrap();
    assert_eq!(swept.requeued, 1, "{swept:?}");
    let updated = next_event(&mut ws, "message:updated").await;
    assert_eq!(
        updated["rev"].as_i64().unwrap(),
        new["rev"].as_i64().unwrap() + 1
    );
    let thumb = fetch(
        "GET",
        updated["attachments"][0]["thumbnailUrl"].as_str().unwrap(),
        &[],
        Vec::new(),
    )
    .await;
    let small = image::load_from_memory(&thumb.bytes).unwrap();
    assert_eq!((small.width(), small.height()), (320, 320));
}

async fn fetch_with_token(app: &TestApp, path: &str, token: &str) -> Fetched {
    fetch(
        "GET",
        &format!("{}{path}", app.base),
        &[("Authorization", format!("Bearer {token}"))],
        Vec::new(),
    )
    .await
}

/// Every kind of bad upload or bad attachment gets its contract error and leaves nothing
/// behind: no row that could be sent, no object in storage.
#[actix_web::test]
async fn bad_uploads_and_bad_attachments_are_refused_and_leave_nothing() {
    let app = TestApp::spawn().await;
    let (alice, bob, eve) = (
        app.register("alice").await,
        app.register("bob").await,
        app.register("eve").await,
    );
    let group = app.group(&alice, "g", &[&bob]).await;

    // Refused before anything is signed.
    assert_error(
        &start(&app, &alice, "image/png", 10 * 1024 * 1024 + 1, "big.png").await,
        413,
        "too_large",
    );
    assert_error(
        &start(&app, &alice, "text/html", 10, "x.html").await,
        400,
        "invalid",
    );
    assert_error(
        &start(&app, &alice, "image/png", 0, "x.png").await,
        400,
        "invalid",
    );
    assert_error(
        &start(&app, &alice, "image/png", 10, "").await,
        400,
        "invalid",
    );
    assert_error(
        &start(&app, &alice, "image/png", 10, &"n".repeat(256)).await,
        400,
        "invalid",
    );
    let wrong_type = app
        .post(
            "/api/uploads",
            &alice.token,
            json!({ "contentType": "image/png", "size": "10", "name": "a" }),
        )
        .await;
    assert_error(&wrong_type, 400, "invalid");

    // A PNG declared as JPEG, text declared as an image, a canvas of 20,000 × 20,000 px.
    for (bytes, declared) in [
        (png(20, 20), "image/jpeg"),
        (
            b"<html><script>alert(1)</script></html>".to_vec(),
            "image/png",
        ),
        (png_claiming(20_000, 20_000), "image/png"),
    ] {
        let ticket = start(&app, &alice, declared, bytes.len(), "x").await;
        assert_eq!(put(&ticket.body, bytes).await.status, 200);
        let id = ticket.body["attachmentId"].as_str().unwrap();
        assert_error(&complete(&app, &alice, id).await, 400, "invalid");
        assert_error(&complete(&app, &alice, id).await, 404, "not_found");
    }
    assert!(local_objects(&app).is_empty(), "{:?}", local_objects(&app));

    // A body of another size than declared is refused by storage; one that got there anyway
    // is refused by complete.
    let bytes = png(30, 30);
    let ticket = start(&app, &alice, "image/png", bytes.len(), "x.png").await;
    let mut longer = bytes.clone();
    longer.push(0);
    let url = ticket.body["uploadUrl"].as_str().unwrap();
    assert_eq!(
        fetch(
            "PUT",
            url,
            &[("Content-Type", "image/png".into())],
            longer.clone()
        )
        .await
        .status,
        403
    );
    assert_eq!(
        fetch(
            "PUT",
            url,
            &[("Content-Type", "image/jpeg".into())],
            bytes.clone()
        )
        .await
        .status,
        403
    );
    let id = ticket.body["attachmentId"].as_str().unwrap();
    assert_error(&complete(&app, &alice, id).await, 400, "invalid");
    let store = app.state.messaging.signer().store.clone();
    store.write(id, longer, "image/png").await.unwrap();
    assert_error(&complete(&app, &alice, id).await, 400, "invalid");
    assert!(local_objects(&app).is_empty(), "{:?}", local_objects(&app));

    // Only the uploader completes; six attachments, someone else's, or one used twice: invalid.
    let mut ids = Vec::new();
    for n in 0..6 {
        let ticket = start(&app, &alice, "image/png", bytes.len(), &format!("{n}.png")).await;
        assert_eq!(put(&ticket.body, bytes.clone()).await.status, 200);
        let id = ticket.body["attachmentId"].as_str().unwrap().to_string();
        assert_error(&complete(&app, &bob, &id).await, 404, "not_found");
        assert_eq!(complete(&app, &alice, &id).await.status, 200);
        ids.push(id);
    }
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let path = format!("/api/conversations/{group}/messages");
    assert_error(
        &app.post(&path, &alice.token, send_with(&group, "six", &id_refs))
            .await,
        400,
        "invalid",
    );
    assert_error(
        &app.post(
            &path,
            &bob.token,
            send_with(&group, "theirs", &id_refs[..1]),
        )
        .await,
        400,
        "invalid",
    );
    let sent = app
        .post(
            &path,
            &alice.token,
            send_with(&group, "five", &id_refs[..5]),
        )
        .await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    assert_eq!(sent.body["seq"], 1, "the refused sends stored nothing");
    assert_error(
        &app.post(
            &path,
            &alice.token,
            send_with(&group, "again", &id_refs[..1]),
        )
        .await,
        400,
        "invalid",
    );
    let empty = json!({ "conversationId": group, "clientMessageId": "empty", "body": "  " });
    assert_error(&app.post(&path, &alice.token, empty).await, 400, "invalid");

    // Members may fetch it; anyone else gets 404, as for no attachment at all.
    assert_eq!(
        fetch_with_token(&app, &format!("/api/attachments/{}", ids[0]), &bob.token)
            .await
            .status,
        302
    );
    assert_eq!(
        fetch_with_token(&app, &format!("/api/attachments/{}", ids[0]), &eve.token)
            .await
            .status,
        404
    );
    assert_eq!(
        fetch_with_token(&app, &format!("/api/attachments/{}", ids[5]), &bob.token)
            .await
            .status,
        404,
        "not sent yet"
    );
    assert_eq!(
        fetch_with_token(&app, &format!("/api/attachments/{}", ids[5]), &alice.token)
            .await
            .status,
        302,
        "its uploader"
    );
    assert_eq!(
        fetch_with_token(&app, "/api/attachments/not-an-id", &alice.token)
            .await
            .status,
        404
    );
}

/// A user has at most 20 uploads waiting to be sent: past them, 429 before anything is
/// stored or signed, also when asked all at once.
#[actix_web::test]
async fn unclaimed_uploads_are_bounded_per_user() {
    let app = TestApp::spawn().await;
    let alice = app.register("alice").await;
    let names: Vec<String> = (0..25).map(|n| format!("{n}.png")).collect();
    let asks = names
        .iter()
        .map(|name| start(&app, &alice, "image/png", 100, name));
    let answers = futures_util::future::join_all(asks).await;
    let created = answers.iter().filter(|r| r.status == 201).count();
    let refused: Vec<_> = answers.iter().filter(|r| r.status != 201).collect();
    assert_eq!(created, 20);
    for res in refused {
        assert_error(res, 429, "rate_limited");
    }
}

/// The cleanup job removes an upload never completed after its URL expired, one completed
/// but never sent, and a deleted message's image with its thumbnail, from the database and
/// from storage; a live attachment stays.
#[actix_web::test]
async fn cleanup_removes_what_nobody_claims_and_what_was_deleted() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let group = app.group(&alice, "g", &[&bob]).await;
    let mut ws = socket_of(&app, &bob.token).await;

    let abandoned = start(&app, &alice, "image/png", 100, "never.png").await;
    assert_eq!(
        put(&abandoned.body, png(5, 5)[..].to_vec()).await.status,
        403,
        "another size than declared"
    );
    let bytes = png(5, 5);
    let stored_only = start(&app, &alice, "image/png", bytes.len(), "stored.png").await;
    assert_eq!(put(&stored_only.body, bytes).await.status, 200);
    let unsent = upload(&app, &alice, png(8, 8), "image/png", "unsent.png").await;
    let doomed = upload(&app, &alice, png(400, 400), "image/png", "doomed.png").await;
    let kept = upload(&app, &alice, png(9, 9), "image/png", "kept.png").await;
    let path = format!("/api/conversations/{group}/messages");
    let doomed_message = app
        .post(
            &path,
            &alice.token,
            send_with(&group, "d", &[doomed["id"].as_str().unwrap()]),
        )
        .await;
    next_event(&mut ws, "message:new").await;
    let kept_message = app
        .post(
            &path,
            &alice.token,
            send_with(&group, "k", &[kept["id"].as_str().unwrap()]),
        )
        .await;
    assert_eq!(kept_message.status, 201);
    next_event(&mut ws, "message:new").await;
    thumbnail_made(&app, &alice, doomed["id"].as_str().unwrap()).await;
    thumbnail_made(&app, &alice, kept["id"].as_str().unwrap()).await;
    let message_id = doomed_message.body["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("{path}/{message_id}"), &alice.token)
            .await
            .status,
        200
    );
    let before = local_objects(&app);
    // The checked images are under keys of their own, with their thumbnails beside them.
    let doomed_key = key_of(doomed["url"].as_str().unwrap());
    assert_ne!(doomed_key, doomed["id"].as_str().unwrap());
    assert_eq!(
        before.iter().filter(|k| k.starts_with(doomed_key)).count(),
        2,
        "{before:?}"
    );

    // Now, nothing is old enough but the deleted message's image.
    let cleanup = app.state.attachments.cleanup();
    let swept = cleanup.run(Utc::now()).await.unwrap();
    assert_eq!((swept.rows, swept.objects), (1, 2), "{swept:?}");
    assert!(!local_objects(&app)
        .iter()
        .any(|k| k.starts_with(doomed_key)));
    // A day later: the abandoned, the uncompleted and the unsent uploads go too, and what
    // the completed uploads' URLs wrote (by then, no URL can write it again).
    let swept = cleanup
        .run(Utc::now() + chrono::Duration::hours(25))
        .await
        .unwrap();
    assert_eq!(swept.rows, 3, "{swept:?}");
    let left = local_objects(&app);
    let kept_key = key_of(kept["url"].as_str().unwrap());
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.iter().all(|k| k.starts_with(kept_key)), "{left:?}");
    assert_error(
        &complete(&app, &alice, unsent["id"].as_str().unwrap()).await,
        404,
        "not_found",
    );
    let history = app.get(&format!("{path}?afterSeq=0"), &bob.token).await;
    assert_eq!(
        history.body["messages"][1]["attachments"][0]["id"],
        kept["id"]
    );
    let metrics = app.request("GET", "/metrics", None, None).await;
    let text = metrics.body.as_str().unwrap();
    // 2 of the deleted message; the abandoned, the uncompleted, and the unsent upload with
    // its thumbnail; the keys the URLs of the three completed uploads wrote.
    assert!(
        text.contains("confab_storage_objects_reaped_total 9"),
        "{text}"
    );
    assert!(
        text.contains("confab_uploads_rejected_total{reason=\"size_mismatch\"} 0"),
        "{text}"
    );
}

/// The same flow against S3: presigned PUT (the signed headers must be sent exactly),
/// verification by HEAD and a ranged GET, presigned GET with the response's type and
/// disposition, thumbnails written by the node, and cleanup.
#[actix_web::test]
async fn images_go_through_s3_with_presigned_urls() {
    let s3 = S3Server::start();
    let app = TestApp::spawn_with(|settings| s3.configure(&mut settings.storage)).await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let group = app.group(&alice, "g", &[&bob]).await;
    let mut ws = socket_of(&app, &bob.token).await;
    let original = jpeg(800, 600);
    let ticket = start(&app, &alice, "image/jpeg", original.len(), "photo.jpg").await;
    let url = ticket.body["uploadUrl"].as_str().unwrap().to_string();
    assert!(url.starts_with(&s3.endpoint), "{url}");
    assert!(url.contains("X-Amz-Signature="), "{url}");
    // The page may upload to S3 and show its images, and nothing else of another origin.
    let page = app.request("GET", "/", None, None).await;
    let csp = page
        .headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    let origin = s3.endpoint.trim_end_matches('/');
    assert!(
        csp.contains(&format!("img-src 'self' data: {origin};"))
            && csp.contains(&format!("connect-src 'self' {origin};")),
        "{csp}"
    );
    // The signature binds the type: another one is refused by S3 itself.
    let other = fetch(
        "PUT",
        &url,
        &[("Content-Type", "image/png".into())],
        original.clone(),
    )
    .await;
    assert_eq!(
        other.status,
        403,
        "{}",
        String::from_utf8_lossy(&other.bytes)
    );
    assert_eq!(put(&ticket.body, original.clone()).await.status, 200);
    let id = ticket.body["attachmentId"].as_str().unwrap();
    let ready = complete(&app, &alice, id).await;
    assert_eq!(ready.status, 200, "{:?}", ready.body);
    assert_eq!(
        (ready.body["width"].as_i64(), ready.body["height"].as_i64()),
        (Some(800), Some(600))
    );

    let sent = app
        .post(
            &format!("/api/conversations/{group}/messages"),
            &alice.token,
            send_with(&group, "s3", &[id]),
        )
        .await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    let mut shown = next_event(&mut ws, "message:new").await;
    if shown["attachments"][0]["thumbnailUrl"].is_null() {
        shown = next_event(&mut ws, "message:updated").await;
    }
    let attachment = &shown["attachments"][0];
    let down = fetch("GET", attachment["url"].as_str().unwrap(), &[], Vec::new()).await;
    assert_eq!(down.status, 200);
    assert_eq!(down.bytes, original);
    assert_eq!(down.headers.get("content-type").unwrap(), "image/jpeg");
    assert!(down
        .headers
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("inline;"));
    let thumb = fetch(
        "GET",
        attachment["thumbnailUrl"].as_str().unwrap(),
        &[],
        Vec::new(),
    )
    .await;
    let small = image::load_from_memory(&thumb.bytes).unwrap();
    assert_eq!((small.width(), small.height()), (320, 240));
    // A tampered presigned URL is refused by S3.
    let tampered = attachment["url"]
        .as_str()
        .unwrap()
        .replace("X-Amz-Expires=", "X-Amz-Expires=9");
    assert_eq!(fetch("GET", &tampered, &[], Vec::new()).await.status, 403);

    // A PNG declared as JPEG is refused and deleted from the bucket.
    let bytes = png(10, 10);
    let ticket = start(&app, &alice, "image/jpeg", bytes.len(), "liar.jpg").await;
    assert_eq!(put(&ticket.body, bytes).await.status, 200);
    let liar = ticket.body["attachmentId"].as_str().unwrap();
    assert!(s3.keys().contains(&liar.to_string()));
    assert_error(&complete(&app, &alice, liar).await, 400, "invalid");
    assert!(!s3.keys().contains(&liar.to_string()));

    // Deleting the message and cleaning up empties the bucket.
    let message_id = sent.body["id"].as_str().unwrap();
    app.delete(
        &format!("/api/conversations/{group}/messages/{message_id}"),
        &alice.token,
    )
    .await;
    // The checked copy, its thumbnail, and what the upload URL wrote.
    assert_eq!(s3.keys().len(), 3, "{:?}", s3.keys());
    let cleanup = app.state.attachments.cleanup();
    let swept = cleanup.run(Utc::now()).await.unwrap();
    assert_eq!(swept.objects, 2, "{swept:?}");
    assert_eq!(s3.keys(), [id.to_string()], "kept while its URL works");
    cleanup
        .run(Utc::now() + chrono::Duration::minutes(26))
        .await
        .unwrap();
    assert!(s3.keys().is_empty(), "{:?}", s3.keys());
}

/// A PUT sent over a connection of its own in two parts, so that it can be held open: the
/// request and the first bytes of its body go at once, the rest with `finish`.
struct OpenPut {
    stream: tokio::net::TcpStream,
    rest: Vec<u8>,
}

impl OpenPut {
    /// Starts a PUT of `body` to `url` with `headers` (those of a ticket), sending all but its
    /// last `held` bytes.
    async fn start(url: &str, headers: &[(&str, String)], body: Vec<u8>, held: usize) -> OpenPut {
        use tokio::io::AsyncWriteExt;
        let rest = url.strip_prefix("http://").unwrap();
        let (host, target) = rest.split_at(rest.find('/').unwrap());
        let mut head = format!(
            "PUT {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            if !name.eq_ignore_ascii_case("content-length") {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        head.push_str("\r\n");
        let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
        let (now, later) = body.split_at(body.len() - held);
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(now).await.unwrap();
        stream.flush().await.unwrap();
        OpenPut {
            stream,
            rest: later.to_vec(),
        }
    }

    /// Sends the rest of the body → the response's status.
    async fn finish(mut self) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        self.stream.write_all(&self.rest).await.unwrap();
        let mut response = Vec::new();
        tokio::time::timeout(
            crate::common::PATIENCE,
            self.stream.read_to_end(&mut response),
        )
        .await
        .expect("storage answers")
        .unwrap();
        let text = String::from_utf8_lossy(&response);
        text.split(' ').nth(1).unwrap().parse().unwrap()
    }
}

/// A ticket's headers, as sent.
fn ticket_headers(ticket: &Value) -> Vec<(&str, String)> {
    ticket["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap().to_string()))
        .collect()
}

/// A page of HTML exactly `len` bytes long: what an attacker would swap in for an image.
fn html_of(len: usize) -> Vec<u8> {
    let mut page = b"<html><script>alert(document.domain)</script>".to_vec();
    page.resize(len, b' ');
    page
}

/// What a member gets for attachment `id`, through the API's redirect to a signed URL.
async fn downloaded(app: &TestApp, user: &TestUser, id: &str) -> Vec<u8> {
    let located = fetch_with_token(app, &format!("/api/attachments/{id}"), &user.token).await;
    assert_eq!(located.status, 302);
    let location = located.headers.get("location").unwrap().to_str().unwrap();
    let got = fetch("GET", location, &[], Vec::new()).await;
    assert_eq!(got.status, 200);
    got.bytes
}

/// A checked image cannot be changed through its upload URL on the local store: a second
/// PUT held open while `complete` checks the first one's bytes, then finished, changes
/// nothing any reader gets (and is refused), and a PUT after `complete` is refused.
#[actix_web::test]
async fn a_checked_upload_stays_as_checked_on_the_local_store() {
    let app = TestApp::spawn().await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let group = app.group(&alice, "g", &[&bob]).await;
    let image = png(48, 48);
    let ticket = start(&app, &alice, "image/png", image.len(), "cat.png").await;
    assert_eq!(put(&ticket.body, image.clone()).await.status, 200);
    let id = ticket.body["attachmentId"].as_str().unwrap();
    let url = ticket.body["uploadUrl"].as_str().unwrap();
    let headers = ticket_headers(&ticket.body);

    let second = OpenPut::start(url, &headers, html_of(image.len()), 10).await;
    let store = app.state.attachments.local().unwrap().clone();
    let deadline = std::time::Instant::now() + crate::common::PATIENCE;
    while !store.is_receiving(id) {
        assert!(
            std::time::Instant::now() < deadline,
            "the second PUT never began"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let ready = complete(&app, &alice, id).await;
    assert_eq!(ready.status, 200, "{:?}", ready.body);
    let late = second.finish().await;

    let sent = app
        .post(
            &format!("/api/conversations/{group}/messages"),
            &alice.token,
            send_with(&group, "c", &[id]),
        )
        .await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    assert_eq!(
        downloaded(&app, &bob, id).await,
        image,
        "readers get what complete checked"
    );
    let shown = fetch(
        "GET",
        sent.body["attachments"][0]["url"].as_str().unwrap(),
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(shown.bytes, image);
    assert_eq!(late, 403, "a PUT that ends after complete is refused");

    let after = put(&ticket.body, html_of(image.len())).await;
    assert_eq!(after.status, 403);
    let error: Value = serde_json::from_slice(&after.bytes).unwrap();
    assert_eq!(error["error"]["code"], "forbidden", "{error}");
    assert_eq!(downloaded(&app, &bob, id).await, image);
    // The thumbnail is made of the checked image too.
    thumbnail_made(&app, &alice, id).await;
}

/// The same on S3: the upload URL stores once (`If-None-Match: *`), so a replay after
/// `complete` is refused by the bucket; a PUT that was under way during `complete` and ends
/// after it changes nothing readers get, since they read the checked copy; the upload URL's
/// object goes only once the URL is dead.
#[actix_web::test]
async fn a_checked_upload_stays_as_checked_on_s3() {
    let s3 = S3Server::start();
    let app = TestApp::spawn_with(|settings| s3.configure(&mut settings.storage)).await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let group = app.group(&alice, "g", &[&bob]).await;
    let image = png(48, 48);
    let ticket = start(&app, &alice, "image/png", image.len(), "cat.png").await;
    let id = ticket.body["attachmentId"].as_str().unwrap();
    let url = ticket.body["uploadUrl"].as_str().unwrap();
    let headers = ticket_headers(&ticket.body);
    assert!(
        headers.contains(&("If-None-Match", "*".to_string())),
        "{headers:?}"
    );

    // A PUT of HTML begins first and is held open; the image's PUT passes it.
    let racing = OpenPut::start(url, &headers, html_of(image.len()), 10).await;
    assert_eq!(put(&ticket.body, image.clone()).await.status, 200);
    let ready = complete(&app, &alice, id).await;
    assert_eq!(ready.status, 200, "{:?}", ready.body);
    // Whatever the held PUT did to the upload URL's object (this server checks the
    // condition when a PUT begins, S3 when it ends), readers get the checked image.
    let racing = racing.finish().await;
    assert!(matches!(racing, 200 | 412), "{racing}");
    let sent = app
        .post(
            &format!("/api/conversations/{group}/messages"),
            &alice.token,
            send_with(&group, "c", &[id]),
        )
        .await;
    assert_eq!(sent.status, 201, "{:?}", sent.body);
    assert_eq!(downloaded(&app, &bob, id).await, image);
    let shown = fetch(
        "GET",
        sent.body["attachments"][0]["url"].as_str().unwrap(),
        &[],
        Vec::new(),
    )
    .await;
    assert_eq!(shown.bytes, image);
    let replayed = put(&ticket.body, html_of(image.len())).await;
    assert_eq!(
        replayed.status,
        412,
        "{}",
        String::from_utf8_lossy(&replayed.bytes)
    );
    assert_eq!(downloaded(&app, &bob, id).await, image);

    // The upload URL's object stays (refusing replays) until the URL is dead, then goes.
    let cleanup = app.state.attachments.cleanup();
    cleanup.run(Utc::now()).await.unwrap();
    assert!(s3.keys().contains(&id.to_string()), "{:?}", s3.keys());
    cleanup
        .run(Utc::now() + chrono::Duration::minutes(26))
        .await
        .unwrap();
    assert!(!s3.keys().contains(&id.to_string()), "{:?}", s3.keys());
    assert_eq!(downloaded(&app, &bob, id).await, image);
}

/// How many of `ids` have their thumbnails made.
async fn thumbnails_made(app: &TestApp, ids: &[String]) -> usize {
    let mut conn = app.state.pool.get().await.unwrap();
    let mut made = 0;
    for id in ids {
        let upload = confab::models::attachment::find(&mut conn, id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        made += usize::from(upload.thumbnailed_at.is_some());
    }
    made
}

/// One user's flood of large images does not hold back another user's thumbnail: the queue
/// serves uploaders in turn, so with one worker the small image's thumbnail is made after at
/// most the flood's image in progress and the one whose turn came first, not after the rest
/// of the flood. What is asserted is the order in which thumbnails were made, not how long
/// they took.
#[actix_web::test]
async fn one_users_flood_does_not_hold_back_anothers_thumbnail() {
    const FLOOD: usize = 12;
    // Encoded first: it holds the test's thread for a while, which idle connections might not
    // survive.
    let large = png(4000, 4000);
    let app = TestApp::spawn_with(|settings| settings.storage.thumbnail_workers = 1).await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let mut flood = Vec::new();
    for n in 0..FLOOD {
        let ticket = start(&app, &alice, "image/png", large.len(), &format!("{n}.png")).await;
        assert_eq!(put(&ticket.body, large.clone()).await.status, 200);
        flood.push(ticket.body["attachmentId"].as_str().unwrap().to_string());
    }
    let small = png(10, 10);
    let ticket = start(&app, &bob, "image/png", small.len(), "small.png").await;
    assert_eq!(put(&ticket.body, small).await.status, 200);
    let bobs = ticket.body["attachmentId"].as_str().unwrap().to_string();

    let completes = flood.iter().map(|id| complete(&app, &alice, id));
    for done in futures_util::future::join_all(completes).await {
        assert_eq!(done.status, 200, "{:?}", done.body);
    }
    assert_eq!(complete(&app, &bob, &bobs).await.status, 200);
    let made_when_queued = thumbnails_made(&app, &flood).await;
    thumbnail_made(&app, &bob, &bobs).await;
    let made_before = thumbnails_made(&app, &flood).await;
    assert!(
        made_before - made_when_queued <= 2 && made_before < FLOOD / 2,
        "{made_when_queued} of the flood's {FLOOD} thumbnails were made when the small one was \
         queued, {made_before} before it was made"
    );
    let metrics = app.request("GET", "/metrics", None, None).await;
    let text = metrics.body.as_str().unwrap();
    assert!(text.contains("confab_thumbnail_queue_uploaders "), "{text}");
}
