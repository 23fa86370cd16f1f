//! Body and query extractors that check text once at the edge: a NUL or an unpaired surrogate
//! in any field is `invalid` naming the field, before any handler or the database sees it.

use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use confab_actors::protocol::text;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::error::ApiError;

/// A JSON body of type `T`, read with `web::JsonConfig`'s content type and size rules.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // A raw value skips over string escapes without judging them, so a body with an
        // unpaired surrogate gets this far and is refused by name below.
        let raw = web::Json::<Box<RawValue>>::from_request(req, payload);
        Box::pin(async move {
            let raw = raw.await?.into_inner();
            decode(raw.get()).map(Json).map_err(Into::into)
        })
    }
}

/// `T` from a JSON document, with its text checked.
pub fn decode<T: DeserializeOwned>(json: &str) -> Result<T, ApiError> {
    let mut value = text::parse_json(json)
        .map_err(|err| ApiError::invalid(format!("invalid JSON body: {err}")))?;
    if let Some(field) = text::find_nul(&value) {
        return Err(bad_text(&field));
    }
    integral_floats_as_integers(&mut value);
    // Every body of the API is an object; serde would also take a struct from an array.
    if !value.is_object() {
        return Err(ApiError::invalid("the body must be a JSON object"));
    }
    serde_json::from_value(value)
        .map_err(|err| ApiError::invalid(format!("invalid JSON body: {err}")))
}

/// `154.0` as `154`, in place: JSON Schema counts a number with no fraction as an integer, and
/// so do the integer fields of bodies.
fn integral_floats_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
                if f.fract() == 0.0 && f.abs() < 9.0e15 {
                    *value = Value::from(f as i64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

/// A query string of type `T`; a NUL in any parameter is `invalid` naming it (an unpaired
/// surrogate cannot be percent-encoded as UTF-8, and fails as a malformed query).
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Query<T> {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(query(req.query_string()).map(Query).map_err(Into::into))
    }
}

fn query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let invalid = |err: serde_urlencoded::de::Error| {
        ApiError::invalid(format!("invalid query string: {err}"))
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).map_err(invalid)?;
    if let Some((key, _)) = pairs
        .iter()
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        return Err(bad_text(&key.replace('\0', "\\u0000")));
    }
    serde_urlencoded::from_str(query).map_err(invalid)
}

fn bad_text(field: &str) -> ApiError {
    if field.is_empty() {
        ApiError::invalid(format!("the body {}", text::NOT_ALLOWED))
    } else {
        ApiError::invalid(format!("{field} {}", text::NOT_ALLOWED))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Body {
        #[allow(dead_code)]
        name: String,
    }

    #[test]
    fn nul_and_unpaired_surrogates_are_invalid_by_name() {
        for json in [r#"{"name":"a\u0000"}"#, r#"{"name":"cut \ud83d"}"#] {
            let err = decode::<Body>(json).unwrap_err();
            assert_eq!(err.code, confab_actors::ErrorCode::Invalid);
            assert!(
                err.message.starts_with("name must not contain"),
                "{}",
                err.message
            );
        }
        assert!(decode::<Body>(r#"{"name":"\ud83d\ude00"}"#).is_ok());
        let err = query::<std::collections::HashMap<String, String>>("q=a%00b").unwrap_err();
        assert!(
            err.message.starts_with("q must not contain"),
            "{}",
            err.message
        );
    }
}
