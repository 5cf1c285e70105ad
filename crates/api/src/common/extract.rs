//! Extractors that reject malformed input with a `CommonError` (so the family's 400 envelope,
//! naming the field) instead of axum's plain-text rejections.

use super::error::CommonError;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::{header, request::Parts};
use bytes::Bytes;
use serde::de::DeserializeOwned;

/// A JSON body. Requires a JSON content type and a non-empty body; deserialization errors
/// name the path of the offending field, and so does an array where an object belongs.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + utoipa::ToSchema> FromRequest<S> for JsonBody<T> {
    type Rejection = CommonError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let v = v.trim().to_ascii_lowercase();
                v.starts_with("application/json") || v.starts_with("application/merge-patch+json")
            });
        if json_type == Some(false) {
            return Err(CommonError::BadRequest(
                "Content-Type must be application/json".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e: BytesRejection| match e.status().as_u16() {
                413 => CommonError::TooLarge,
                _ => CommonError::BadRequest(format!("request body could not be read: {e}")),
            })?;
        let body = parse_json(&bytes)?;
        // serde reads a struct from an array too; the wire (and the document) say object.
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        if let Some(path) = super::openapi::array_for_object::<T>(&value) {
            return Err(CommonError::BadRequest(format!(
                "{path}: invalid type: sequence, expected an object"
            )));
        }
        Ok(JsonBody(body))
    }
}

/// Whether the JSON text holds a `\u0000` escape (a NUL character in a string). Raw NUL
/// bytes are not valid JSON; the escape is, but no store keeps NUL in text the same way
/// (PostgreSQL refuses it), so it is refused for every family.
fn has_nul_escape(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i + 6 <= bytes.len() {
        if bytes[i] == b'\\' {
            if bytes[i + 1] == b'u' && &bytes[i + 2..i + 6] == b"0000" {
                return true;
            }
            // Skip the escaped character, so `\\u0000` (a backslash, then text) is not a NUL.
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// The path (`database.name`, `items[2]`) of the first string (or key) holding a NUL.
fn nul_path(value: &serde_json::Value, at: String) -> Option<String> {
    let join = |key: &str| {
        if at.is_empty() {
            key.to_string()
        } else {
            format!("{at}.{key}")
        }
    };
    match value {
        serde_json::Value::String(s) if s.contains('\0') => Some(at),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                Some(join(&k.replace('\0', "\\u0000")))
            } else {
                nul_path(v, join(k))
            }
        }),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_path(v, format!("{at}[{i}]"))),
        _ => None,
    }
}

/// Parse JSON bytes, naming the offending field on error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CommonError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(CommonError::EmptyBody);
    }
    if has_nul_escape(bytes) {
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| CommonError::BadRequest(format!("malformed JSON: {e}")))?;
        let path = nul_path(&value, String::new()).unwrap_or_else(|| ".".into());
        return Err(CommonError::BadRequest(format!(
            "{path}: text must not contain NUL characters (\\u0000)"
        )));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let what = if inner.is_syntax() || inner.is_eof() {
            format!("malformed JSON: {inner}")
        } else {
            inner.to_string()
        };
        if path == "." || path.is_empty() {
            CommonError::BadRequest(what)
        } else {
            CommonError::BadRequest(format!("{path}: {what}"))
        }
    })
}

/// Query parameters.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = CommonError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| QueryParams(q))
            .map_err(|e: QueryRejection| {
                CommonError::BadRequest(format!("invalid query: {}", e.body_text()))
            })
    }
}

/// Path parameters.
pub struct PathParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = CommonError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(p)| PathParams(p))
            .map_err(|e: PathRejection| {
                CommonError::BadRequest(format!("invalid path: {}", e.body_text()))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_escapes_are_found_and_escaped_backslashes_are_not() {
        assert!(has_nul_escape(br#"{"a": "x\u0000y"}"#));
        assert!(
            !has_nul_escape(br#"{"a": "x\\u0000y"}"#),
            "an escaped backslash, then text"
        );
        assert!(
            has_nul_escape(br#"{"a": "\\\u0000"}"#),
            "a backslash, then a NUL"
        );
        assert!(!has_nul_escape(br#"{"a": "\u0001"}"#));
        let err =
            parse_json::<serde_json::Value>(br#"{"database": {"name": "a\u0000b"}}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "database.name: text must not contain NUL characters (\\u0000)"
        );
        let err = parse_json::<serde_json::Value>(br#"{"list": ["ok", "\u0000"]}"#).unwrap_err();
        assert!(err.to_string().starts_with("list[1]: "), "{err}");
    }
}
