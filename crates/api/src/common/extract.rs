//! Extractors that reject malformed input with a `CommonError` (so the family's 400 envelope,
//! naming the field) instead of axum's plain-text rejections.
//!
//! Text no store can keep is refused here, at the edge, for every route: a NUL character
//! (PostgreSQL refuses it in `text`) in a JSON string, a query parameter or a path parameter,
//! and percent-encoded bytes that are not UTF-8. JSON bodies are strict: only whitespace may
//! follow the value.

use super::error::CommonError;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, RawPathParams, Request};
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
        // serde reads a struct from an array too (or fails on its length first); the wire
        // (and the document) say object, whatever the array's length.
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        if let Some(path) = super::openapi::array_for_object::<T>(&value) {
            return Err(CommonError::BadRequest(format!(
                "{path}: invalid type: sequence, expected an object"
            )));
        }
        let body = parse_json(&bytes)?;
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
    // Most bodies are good: parsed once without tracking the path, which only the message
    // of a bad one needs (it is parsed again for that).
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
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
    })?;
    // Strict: `{...} trailing` is not a JSON document, whatever its first value says.
    de.end().map_err(|e| {
        CommonError::BadRequest(format!(
            "malformed JSON: {e} (only whitespace may follow the JSON value)"
        ))
    })?;
    Ok(value)
}

/// A parameter name for messages: as sent, with a NUL shown as `%00` and bytes that are not
/// UTF-8 replaced.
fn shown(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).replace('\0', "%00")
}

/// Refuse a query string a store could not keep: every name and value, percent-decoded (`+`
/// as a space, as `application/x-www-form-urlencoded` reads it), must be UTF-8 without NUL.
/// The message names the parameter.
pub fn check_query(query: Option<&str>) -> Result<(), CommonError> {
    let Some(query) = query else {
        return Ok(());
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |raw: &str| -> Vec<u8> {
            let spaced = raw.replace('+', " ");
            percent_encoding::percent_decode_str(&spaced).collect()
        };
        let name_bytes = decode(name);
        let value_bytes = decode(value);
        let label = shown(&name_bytes);
        for (what, bytes) in [("name", &name_bytes), ("value", &value_bytes)] {
            if bytes.contains(&0) {
                return Err(CommonError::BadRequest(format!(
                    "query parameter `{label}`: the {what} must not contain NUL characters (%00)"
                )));
            }
            if std::str::from_utf8(bytes).is_err() {
                return Err(CommonError::BadRequest(format!(
                    "query parameter `{label}`: the {what} is not valid UTF-8 once percent-decoded"
                )));
            }
        }
    }
    Ok(())
}

/// Refuse path parameters a store could not keep (NUL, percent-encoded bytes that are not
/// UTF-8), naming the parameter. Outside a matched route there are none.
pub async fn check_path_params(parts: &mut Parts) -> Result<(), CommonError> {
    use axum::extract::rejection::RawPathParamsRejection;
    let params = match RawPathParams::from_request_parts(parts, &()).await {
        Ok(p) => p,
        Err(RawPathParamsRejection::InvalidUtf8InPathParam(e)) => {
            return Err(CommonError::BadRequest(format!(
                "path parameter: {} once percent-decoded",
                e.body_text()
            )))
        }
        Err(_) => return Ok(()),
    };
    for (name, value) in &params {
        if value.contains('\0') {
            return Err(CommonError::BadRequest(format!(
                "path parameter `{name}` must not contain NUL characters (%00)"
            )));
        }
    }
    Ok(())
}

/// Both checks on a request's parts: its query string and its path parameters.
pub async fn check_request_text(parts: &mut Parts) -> Result<(), CommonError> {
    check_query(parts.uri.query())?;
    check_path_params(parts).await
}

/// Query parameters.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = CommonError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        check_query(parts.uri.query())?;
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
        check_path_params(parts).await?;
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

    #[test]
    fn only_whitespace_may_follow_the_json_value() {
        let err = parse_json::<serde_json::Value>(br#"{"name":"tg"} trailing"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "malformed JSON: trailing characters at line 1 column 15 (only whitespace may follow the JSON value)"
        );
        assert!(parse_json::<serde_json::Value>(br#"{"a":1}{"b":2}"#).is_err());
        assert!(parse_json::<serde_json::Value>(b"{\"a\":1} \r\n\t ").is_ok());
    }

    #[test]
    fn query_text_a_store_cannot_keep_is_refused_by_name() {
        assert!(check_query(None).is_ok());
        assert!(check_query(Some("name=a%20b&limit=10&flag&=x")).is_ok());
        assert!(check_query(Some("name=%E4%B8%AD")).is_ok(), "UTF-8 is fine");
        let err = check_query(Some("limit=1&name=a%00b")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "query parameter `name`: the value must not contain NUL characters (%00)"
        );
        let err = check_query(Some("na%00me=x")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "query parameter `na%00me`: the name must not contain NUL characters (%00)"
        );
        let err = check_query(Some("name=%FF")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "query parameter `name`: the value is not valid UTF-8 once percent-decoded"
        );
    }
}
