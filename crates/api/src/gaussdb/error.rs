//! GaussDB errors, rendered in the flat `{"error_code", "error_msg"}` envelope with the DBS
//! codes of docs/api-coverage.md → GaussDB (and plugboard's own `DBS.280xxx` for plug-in specifics, listed
//! in `docs/error-codes.md`). `X-Language: zh-cn` gives the messages in Chinese (the
//! vendor's other language); anything else, or no header, English.

use crate::common::error::{envelope, CommonError, CommonKind};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The language of `error_msg`, from the request's `X-Language`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    En,
    Zh,
}

tokio::task_local! {
    static LANGUAGE: Language;
}

/// The language of the request being served (English outside a GaussDB route).
pub fn language() -> Language {
    LANGUAGE.try_with(|l| *l).unwrap_or(Language::En)
}

/// Route layer: serve the request in the language its `X-Language` asks for.
pub async fn with_language(request: Request, next: Next) -> Response {
    let zh = request
        .headers()
        .get("x-language")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("zh-cn"));
    let language = if zh { Language::Zh } else { Language::En };
    LANGUAGE.scope(language, next.run(request)).await
}

/// Render a GaussDB error: `english` is the message, `detail` what follows the code's fixed
/// text (a field name, an id), which stays as it is in either language.
pub fn render(status: StatusCode, code: &str, english: &str, detail: &str) -> Response {
    if language() == Language::Zh {
        if let Some(zh) = chinese(code) {
            let msg = if detail.is_empty() {
                zh.to_string()
            } else {
                format!("{zh}{detail}")
            };
            return envelope::flat(status, code, &msg);
        }
    }
    envelope::flat(status, code, english)
}

/// The fixed Chinese text of each code.
fn chinese(code: &str) -> Option<&'static str> {
    Some(match code {
        "DBS.200000" => "内部错误。",
        "DBS.200001" => "参数错误。",
        "DBS.200002" => "实例不存在。",
        "DBS.200006" => "请求为空，请输入请求参数。",
        "DBS.200011" => "该实例有其他操作正在进行或实例故障。",
        "DBS.280001" => "不支持该插件：",
        "DBS.280002" => "安装该插件前需要先设置许可证（kernel-plugin-license）：",
        "DBS.280003" => "插件包的URL不被允许：",
        "DBS.280004" => "该插件未安装在实例上：",
        "DBS.280005" => "该扩展不属于此插件。",
        "DBS.280006" => "数据库数量超出限制。",
        "DBS.280007" => "任务不存在：",
        "DBS.280008" => "任务正在运行，不能删除：",
        "DBS.280009" => "数据库不存在。",
        "DBS.280010" => "扩展操作失败。",
        _ => return None,
    })
}

/// What a GaussDB operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum GaussDbError {
    #[error(transparent)]
    Common(#[from] CommonError),
    /// A parameter is missing or invalid; the message names it.
    #[error("Parameter error. {0}")]
    Invalid(String),
    /// No such instance in this project.
    #[error("The DB instance does not exist.")]
    InstanceNotFound,
    /// Another job runs on the instance, or the instance cannot be reached.
    #[error(
        "Another operation is being performed on the DB instance or the DB instance is faulty. {0}"
    )]
    Busy(String),
    /// The plug-in is not in the catalog (`[gaussdb] supported_plugins`).
    #[error("The plug-in is not supported: {0}")]
    UnsupportedPlugin(String),
    /// The plug-in needs `kernel-plugin-license` first.
    #[error("A license is required before installing {0}: set it with kernel-plugin-license.")]
    LicenseRequired(String),
    /// The package URL is refused by the network policy.
    #[error("The plug-in package URL is not allowed: {0}")]
    UrlNotAllowed(String),
    /// The plug-in is not installed on the instance.
    #[error("The plug-in {0} is not installed on the DB instance.")]
    PluginNotInstalled(String),
    /// The extension does not belong to the plug-in.
    #[error("{0}")]
    UnknownExtension(String),
    /// Too many databases in one call or on the instance.
    #[error("{0}")]
    TooManyDatabases(String),
    /// No such job in this project.
    #[error("The job does not exist: {0}")]
    JobNotFound(String),
    /// The job has not ended and cannot be deleted.
    #[error("The job {0} is still running and cannot be deleted.")]
    JobRunning(String),
    /// A database named in the request does not exist on the instance.
    #[error("{0}")]
    DatabaseNotFound(String),
    /// The server refused the extension change.
    #[error("{0}")]
    ExtensionFailed(String),
}

impl From<plugboard_store::StoreError> for GaussDbError {
    fn from(e: plugboard_store::StoreError) -> Self {
        Self::Common(e.into())
    }
}

impl IntoResponse for GaussDbError {
    fn into_response(self) -> Response {
        let msg = self.to_string();
        let bad = StatusCode::BAD_REQUEST;
        let (status, code, detail) = match self {
            Self::Common(e) => return e.into_response(),
            Self::Invalid(d) => (bad, "DBS.200001", d),
            Self::InstanceNotFound => (StatusCode::NOT_FOUND, "DBS.200002", String::new()),
            Self::Busy(d) => (StatusCode::CONFLICT, "DBS.200011", d),
            Self::UnsupportedPlugin(d) => (bad, "DBS.280001", d),
            Self::LicenseRequired(d) => (bad, "DBS.280002", d),
            Self::UrlNotAllowed(d) => (bad, "DBS.280003", d),
            Self::PluginNotInstalled(d) => (bad, "DBS.280004", d),
            Self::UnknownExtension(d) => (bad, "DBS.280005", d),
            Self::TooManyDatabases(d) => (bad, "DBS.280006", d),
            Self::JobNotFound(d) => (StatusCode::NOT_FOUND, "DBS.280007", d),
            Self::JobRunning(d) => (StatusCode::CONFLICT, "DBS.280008", d),
            Self::DatabaseNotFound(d) => (bad, "DBS.280009", d),
            Self::ExtensionFailed(d) => (bad, "DBS.280010", d),
        };
        render(status, code, &msg, &detail)
    }
}

impl From<plugboard_service::gaussdb::Error> for GaussDbError {
    fn from(e: plugboard_service::gaussdb::Error) -> Self {
        use plugboard_service::gaussdb::Error as E;
        match e {
            E::Store(e) => Self::Common(e.into()),
            E::Internal(d) => Self::Common(CommonError::Internal(d)),
            E::Invalid(d) => Self::Invalid(d),
            e @ E::BadInstanceId(_) => Self::Invalid(format!("{e}.")),
            E::InstanceNotFound(_) => Self::InstanceNotFound,
            E::Busy(d) | E::Conflict(d) => Self::Busy(d),
            E::UnsupportedPlugin(d) => Self::UnsupportedPlugin(d),
            E::LicenseRequired(d) => Self::LicenseRequired(d),
            E::UrlNotAllowed(d) => Self::UrlNotAllowed(d),
            E::PluginNotInstalled(d) => Self::PluginNotInstalled(d),
            E::UnknownExtension(d) => Self::UnknownExtension(d),
            E::TooManyDatabases(d) => Self::TooManyDatabases(d),
            E::JobNotFound(d) => Self::JobNotFound(d),
            E::JobRunning(d) => Self::JobRunning(d),
            E::DatabaseNotFound(d) => Self::DatabaseNotFound(d),
            E::ExtensionFailed(d) => Self::ExtensionFailed(d),
        }
    }
}

/// The common errors in GaussDB's envelope (and language).
pub fn render_common(kind: CommonKind, msg: &str) -> Response {
    let bad = StatusCode::BAD_REQUEST;
    match kind {
        CommonKind::Internal => render(
            StatusCode::INTERNAL_SERVER_ERROR,
            "DBS.200000",
            "Internal error.",
            "",
        ),
        CommonKind::EmptyBody => render(bad, "DBS.200006", msg, ""),
        CommonKind::BadRequest => {
            render(bad, "DBS.200001", &format!("Parameter error. {msg}"), msg)
        }
    }
}
