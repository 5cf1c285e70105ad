//! The one trait every family's error implements ([`ApiError`], after Garage's): the error
//! names a row of its family's table of codes (`plugboard_core::codes`) and the detail for
//! it, and [`render`] puts a row on the wire in its envelope — each envelope written once,
//! here. Also the language of a request's messages (`X-Language`, GaussDB).

use super::error::{envelope, json_response, CommonError};
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use plugboard_core::codes::{Code, Envelope};
use std::borrow::Cow;

/// What a family's error is: a row of a table of codes and the text for the row's `{}`.
pub trait ApiError: Sized {
    /// The row this error answers with, and the detail for its message (for ZStack, its
    /// `details`).
    fn row(&self) -> (&'static Code, Cow<'_, str>);

    /// The vendor code (`DBS.200001`; the title for IAM; empty for plain text).
    fn code(&self) -> &'static str {
        self.row().0.code
    }

    /// The HTTP status.
    fn status(&self) -> StatusCode {
        status_of(self.row().0)
    }

    /// The common error this is, if it is one: answered by the running family (and logged
    /// when internal).
    fn as_common(&self) -> Option<&CommonError> {
        None
    }

    /// The response: the row in its envelope.
    fn render(self) -> Response {
        if let Some(common) = self.as_common() {
            return common.respond();
        }
        let (code, detail) = self.row();
        render(code, &detail)
    }
}

/// The HTTP status of a row.
pub fn status_of(code: &Code) -> StatusCode {
    StatusCode::from_u16(code.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// `code` with `detail`, in its envelope (ZStack over REST: HTTP 503).
pub fn render(code: &Code, detail: &str) -> Response {
    let status = status_of(code);
    let msg = || code.message(detail, language() == Language::Zh);
    match code.envelope {
        Envelope::Gateway => envelope::gateway(status, code.code, &msg()),
        Envelope::Flat => envelope::flat(status, code.code, &msg()),
        Envelope::Nested => envelope::nested(status, code.code, &msg()),
        Envelope::Keystone => envelope::keystone(status, code.code, &msg()),
        Envelope::ZStack => json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &crate::zstack::error::rest_error_body(&zstack_error(code, detail)),
        ),
        Envelope::Text => (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            msg(),
        )
            .into_response(),
    }
}

/// A ZStack row with its `details`.
pub fn zstack_error(code: &Code, details: &str) -> plugboard_service::zstack::ErrorCode {
    plugboard_service::zstack::ErrorCode::of(code, details)
}

/// The language of `error_msg`, from the request's `X-Language`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    En,
    Zh,
}

tokio::task_local! {
    static LANGUAGE: Language;
}

/// The language of the request being served (English outside a route that reads it).
pub fn language() -> Language {
    LANGUAGE.try_with(|l| *l).unwrap_or(Language::En)
}

/// Route layer: serve the request in the language its `X-Language` asks for (`zh-cn`, any
/// case, gives the rows' Chinese messages; anything else English).
pub async fn with_language(request: Request, next: Next) -> Response {
    let zh = request
        .headers()
        .get("x-language")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("zh-cn"));
    let language = if zh { Language::Zh } else { Language::En };
    LANGUAGE.scope(language, next.run(request)).await
}
