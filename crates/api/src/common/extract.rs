//! Extractors that reject malformed input with a `CommonError` (so the family's 400 envelope,
//! naming the field) instead of axum's plain-text rejections.

use super::error::CommonError;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::{header, request::Parts};
use bytes::Bytes;
use serde::de::DeserializeOwned;

/// A JSON body. Requires a JSON content type and a non-empty body; deserialization errors
/// name the path of the offending field.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
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
        parse_json(&bytes).map(JsonBody)
    }
}

/// Parse JSON bytes, naming the offending field on error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CommonError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(CommonError::EmptyBody);
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
