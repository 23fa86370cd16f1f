//! The OpenAPI 3.1 description of `/api`, generated from each handler's `#[utoipa::path]`
//! as the routes are mounted (a route cannot be served without being described), with the
//! contract's error object and its responses described once and referenced everywhere.
//!
//! The description also answers the requests that match no operation: a path it describes
//! with a method it does not is `405` with `Allow`, anything else `404`.

use std::collections::BTreeSet;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Components, OpenApi as Document, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::OpenApiFactory;

use crate::error::{ApiError, ErrorBody, ErrorCodeSchema, ErrorDetail};

/// The name of the bearer security scheme, for `security(("bearer" = []))`.
pub const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Confab HTTP API",
        description = "The HTTP half of the Confab wire contract (docs/PROTOCOL.md, section 7). \
            JSON in and out; ids are strings, times RFC 3339 in UTC with milliseconds. Every \
            error is `{\"error\": {\"code\", \"message\"}}` with one of the contract's codes; \
            `rate_limited` also carries `retryAfterMs` and a `Retry-After` header. \
            Authenticated operations take `Authorization: Bearer <accessToken>`; the refresh \
            token travels in the HttpOnly cookie `confab_refresh`. The realtime half (Socket.IO \
            events) is described in docs/asyncapi.yaml.",
        license(name = "MIT", identifier = "MIT"),
    ),
    components(schemas(ErrorBody, ErrorDetail, ErrorCodeSchema)),
    modifiers(&Contract),
    tags(
        (name = "auth", description = "Accounts, sessions and refresh tokens"),
        (name = "users", description = "The signed-in user and public profiles"),
        (name = "conversations", description = "DMs, groups and channels, and their members"),
        (name = "messages", description = "History, sends, edits, deletes, reactions, receipts"),
        (name = "attachments", description = "Image uploads and downloads"),
        (name = "search", description = "Full-text search over the caller's conversations"),
        (name = "invites", description = "Invite links of groups and workspaces"),
        (name = "workspaces", description = "Workspaces and their public channels"),
        (name = "contacts", description = "Contact requests and contacts"),
        (name = "safety", description = "Blocks and reports"),
    )
)]
struct ApiDoc;

/// The contract's error responses, each described once under `components/responses`:
/// the name, the status and when it is answered.
const ERRORS: [(&str, u16, &str); 10] = [
    (
        "Invalid",
        400,
        "`invalid`: a parameter or the body is malformed, missing or out of range",
    ),
    (
        "InvalidOrTooBroad",
        400,
        "`invalid`: a parameter is malformed, missing or out of range; or `too_broad`: the \
         search cannot be answered within its time limit, add words to narrow it",
    ),
    (
        "Unauthorized",
        401,
        "`unauthorized` (no valid credentials) or `token_expired`",
    ),
    (
        "Forbidden",
        403,
        "`forbidden`: the caller lacks the role, or a block forbids it",
    ),
    (
        "NotFound",
        404,
        "`not_found`: it does not exist, or the caller may not know that it does",
    ),
    (
        "Conflict",
        409,
        "`conflict`: the request clashes with the current state",
    ),
    ("TooLarge", 413, "`too_large`: the body is over its limit"),
    (
        "RateLimited",
        429,
        "`rate_limited`: over a rate limit; wait `retryAfterMs`",
    ),
    (
        "Internal",
        500,
        "`internal`: an unexpected fault, logged on the server",
    ),
    (
        "Unavailable",
        503,
        "`unavailable`: storage is unreachable; nothing was stored, retry",
    ),
];

/// A reference to one of `ERRORS` for `responses(...)`: `(status = 404, response = NotFound)`.
macro_rules! error_responses {
    ($($name:ident),* $(,)?) => {$(
        #[doc = concat!("The `", stringify!($name), "` error response.")]
        pub struct $name;
        impl<'r> utoipa::ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<utoipa::openapi::Response>) {
                (stringify!($name), error_response(stringify!($name)).into())
            }
        }
    )*};
}

/// The error response `name` of `ERRORS`: its description and the error object.
fn error_response(name: &str) -> utoipa::openapi::Response {
    let description = ERRORS
        .iter()
        .find(|(known, ..)| *known == name)
        .map_or("an error", |(_, _, description)| description);
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content("application/json", content)
        .build()
}

error_responses!(
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    RateLimited,
    InvalidOrTooBroad
);

/// Declares the security schemes and the error responses, and adds to every operation the
/// errors any request can get: `invalid` where it takes input, `unauthorized` where it needs
/// a token, `too_large` where it takes a body, `internal` and `unavailable` everywhere.
struct Contract;

impl Modify for Contract {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Components::new);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("The access token of register, login or refresh"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "refreshCookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "confab_refresh",
                "The refresh token (HttpOnly, rotated on every use)",
            ))),
        );
        for (name, ..) in ERRORS {
            components
                .responses
                .insert(name.to_string(), error_response(name).into());
        }
        for item in doc.paths.paths.values_mut() {
            for operation in operations_mut(item) {
                add_common_errors(operation);
            }
        }
    }
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

fn add_common_errors(operation: &mut Operation) {
    let takes_input = operation.request_body.is_some()
        || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let needs_token = operation.security.as_ref().is_some_and(|requirements| {
        serde_json::to_value(requirements)
            .map(|value| value.to_string().contains(BEARER))
            .unwrap_or(false)
    });
    let mut wanted = vec!["Internal", "Unavailable"];
    if takes_input {
        wanted.push("Invalid");
    }
    if needs_token {
        wanted.push("Unauthorized");
    }
    if operation.request_body.is_some() {
        wanted.push("TooLarge");
    }
    for (name, status, _) in ERRORS.iter().filter(|(name, ..)| wanted.contains(name)) {
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(*name)));
    }
}

/// The description of the API mounted by `api`: the handlers' operations and schemas, the
/// contract's errors and security schemes.
pub fn document(api: &impl OpenApiFactory) -> Document {
    let mut generated = Document::default();
    generated.paths = api.paths();
    let mut schemas = Vec::new();
    api.schemas(&mut schemas);
    generated
        .components
        .get_or_insert_with(Components::new)
        .schemas
        .extend(schemas);
    let mut doc = ApiDoc::openapi();
    doc.merge(generated);
    Contract.modify(&mut doc);
    doc
}

/// White space as `char::is_whitespace` (and so `str::trim`) has it, as the inside of a regex
/// character class.
const WHITE_SPACE: &str = r"\t-\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// The description as JSON text, with `\s` and `\S` in its patterns spelled out as the
/// server's white space: regex dialects disagree on what `\s` matches (U+0085, U+001C), and
/// a pattern must mean to every client exactly what the validators check.
pub fn to_json(doc: &Document) -> Result<String, serde_json::Error> {
    let mut value = serde_json::to_value(doc)?;
    spell_out_patterns(&mut value);
    let mut json = serde_json::to_string_pretty(&value)?;
    json.push('\n');
    Ok(json)
}

fn spell_out_patterns(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(fields) => {
            for (key, field) in fields.iter_mut() {
                match field {
                    Value::String(pattern) if key == "pattern" => {
                        *pattern = spell_out_white_space(pattern);
                    }
                    other => spell_out_patterns(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(spell_out_patterns),
        _ => {}
    }
}

/// `pattern` with `\s` as `[WHITE_SPACE]` (inside a class, its ranges) and `\S` as
/// `[^WHITE_SPACE]`. A `\S` inside a class has no such spelling: patterns use `(?:[^\n]|\n)`
/// for "any character".
fn spell_out_white_space(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut in_class = false;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('s') if in_class => out.push_str(WHITE_SPACE),
                Some('s') => out.push_str(&format!("[{WHITE_SPACE}]")),
                Some('S') if !in_class => out.push_str(&format!("[^{WHITE_SPACE}]")),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// The description as served, and the paths it knows for telling `405` from `404`.
pub struct Served {
    json: web::Bytes,
    /// Each path as its segments (`None` for a parameter), with its methods.
    paths: Vec<(Vec<Option<String>>, BTreeSet<&'static str>)>,
}

impl Served {
    pub fn new(doc: &Document) -> Result<Served, serde_json::Error> {
        let json = to_json(doc)?;
        let paths = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| (template(path), methods(item)))
            .collect();
        Ok(Served {
            json: json.into(),
            paths,
        })
    }

    /// The methods of the described path that `path` matches, if any; where several match
    /// (`/contacts/requests`, `/contacts/{userId}`), the one with the most literal segments.
    fn methods_of(&self, path: &str) -> Option<&BTreeSet<&'static str>> {
        let segments: Vec<&str> = path.split('/').collect();
        self.paths
            .iter()
            .filter(|(template, _)| {
                template.len() == segments.len()
                    && template.iter().zip(&segments).all(|(t, s)| match t {
                        Some(literal) => literal == s,
                        None => !s.is_empty(),
                    })
            })
            .max_by_key(|(template, _)| template.iter().filter(|t| t.is_some()).count())
            .map(|(_, methods)| methods)
    }
}

fn template(path: &str) -> Vec<Option<String>> {
    path.split('/')
        .map(|segment| (!segment.starts_with('{')).then(|| segment.to_string()))
        .collect()
}

fn methods(item: &PathItem) -> BTreeSet<&'static str> {
    [
        ("GET", &item.get),
        ("PUT", &item.put),
        ("POST", &item.post),
        ("DELETE", &item.delete),
        ("PATCH", &item.patch),
    ]
    .into_iter()
    .filter(|(_, operation)| operation.is_some())
    .map(|(method, _)| method)
    .collect()
}

/// `GET /api/openapi.json`: this description.
pub async fn serve(served: web::Data<Served>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(served.json.clone())
}

/// Every `/api` request that no operation took: `405` with `Allow` on a described path,
/// `404` elsewhere; both with the contract's error object.
pub async fn unmatched(req: HttpRequest, served: web::Data<Served>) -> HttpResponse {
    match served.methods_of(req.path()) {
        Some(methods) if !methods.contains(req.method().as_str()) => {
            let allow = methods.iter().copied().collect::<Vec<_>>().join(", ");
            let mut response = actix_web::ResponseError::error_response(&ApiError::invalid(
                format!("method not allowed; this path takes {allow}"),
            ));
            *response.status_mut() = actix_web::http::StatusCode::METHOD_NOT_ALLOWED;
            response.headers_mut().insert(
                header::ALLOW,
                header::HeaderValue::from_str(&allow)
                    .unwrap_or(header::HeaderValue::from_static("GET")),
            );
            response
        }
        // A method the path takes, refused by the route's own pattern (a malformed id).
        Some(_) => actix_web::ResponseError::error_response(&ApiError::not_found("not found")),
        None => actix_web::ResponseError::error_response(&ApiError::not_found("no such endpoint")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn white_space_is_spelled_out_as_the_server_trims_it() {
        let ws = WHITE_SPACE;
        assert_eq!(spell_out_white_space(r"\S"), format!("[^{ws}]"));
        assert_eq!(
            spell_out_white_space(r"^https?://[^\s]+$"),
            format!("^https?://[^{ws}]+$")
        );
        assert_eq!(
            spell_out_white_space(r"a\sb\.c\\s"),
            format!(r"a[{ws}]b\.c\\s")
        );
        assert_eq!(spell_out_white_space(r"^[A-Z]{3}$"), r"^[A-Z]{3}$");
        // Every character Rust counts as white space is in the class, and no other.
        let listed = |c: char| {
            matches!(c, '\t'..='\r' | ' ' | '\u{85}' | '\u{A0}' | '\u{1680}' | '\u{2000}'..='\u{200A}'
                | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}')
        };
        for c in (0..=0x3000u32).filter_map(char::from_u32) {
            assert_eq!(c.is_whitespace(), listed(c), "{:?}", c);
        }
    }
}
