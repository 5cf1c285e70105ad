//! GaussDB errors, rendered in the flat `{"error_code", "error_msg"}` envelope: the vendor's
//! `DBS.2000xx` codes and plugboard's own `DBS.280xxx` for plug-in specifics, in one table
//! ([`codes`], listed in `docs/error-codes.md`). `X-Language: zh-cn` gives each code's fixed
//! text in Chinese (the vendor's other language); anything else, or no header, English.

use crate::common::api_error::ApiError;
use crate::common::error::{CommonError, CommonKind};
use axum::response::{IntoResponse, Response};
use plugboard_core::codes::Code;
use plugboard_service::gaussdb::Error as Domain;
use std::borrow::Cow;

/// Every GaussDB code.
pub mod codes {
    plugboard_core::error_codes! {
        /// Every GaussDB code, with the vendor's Chinese text.
        pub static GAUSSDB in Flat;
        INTERNAL = 500 "DBS.200000" "Internal error." / "内部错误。";
        INVALID = 400 "DBS.200001" "Parameter error. {}" / "参数错误。{}";
        INSTANCE_NOT_FOUND = 404 "DBS.200002" "The DB instance does not exist." / "实例不存在。";
        EMPTY_BODY = 400 "DBS.200006" "The request is null. Enter a request parameter."
            / "请求为空，请输入请求参数。";
        BUSY = 409 "DBS.200011"
            "Another operation is being performed on the DB instance or the DB instance is faulty. {}"
            / "该实例有其他操作正在进行或实例故障。{}";
        UNSUPPORTED_PLUGIN = 400 "DBS.280001" "The plug-in is not supported: {}"
            / "不支持该插件：{}";
        LICENSE_REQUIRED = 400 "DBS.280002"
            "A license is required before installing {}: set it with kernel-plugin-license."
            / "安装该插件前需要先设置许可证（kernel-plugin-license）：{}";
        URL_NOT_ALLOWED = 400 "DBS.280003" "The plug-in package URL is not allowed: {}"
            / "插件包的URL不被允许：{}";
        PLUGIN_NOT_INSTALLED = 400 "DBS.280004" "The plug-in {} is not installed on the DB instance."
            / "该插件未安装在实例上：{}";
        UNKNOWN_EXTENSION = 400 "DBS.280005" "{}" / "该扩展不属于此插件。{}";
        TOO_MANY_DATABASES = 400 "DBS.280006" "{}" / "数据库数量超出限制。{}";
        JOB_NOT_FOUND = 404 "DBS.280007" "The job does not exist: {}" / "任务不存在：{}";
        JOB_RUNNING = 409 "DBS.280008" "The job {} is still running and cannot be deleted."
            / "任务正在运行，不能删除：{}";
        DATABASE_NOT_FOUND = 400 "DBS.280009" "{}" / "数据库不存在。{}";
        EXTENSION_FAILED = 400 "DBS.280010" "{}" / "扩展操作失败。{}";
    }
}

/// What a GaussDB operation can fail with: a common error or the service's.
#[derive(Debug, thiserror::Error)]
pub enum GaussDbError {
    #[error(transparent)]
    Common(#[from] CommonError),
    #[error(transparent)]
    Service(Domain),
}

impl GaussDbError {
    /// A parameter is missing or invalid; `msg` names it.
    pub fn invalid(msg: impl Into<String>) -> Self {
        Self::Service(Domain::Invalid(msg.into()))
    }
}

impl From<plugboard_store::StoreError> for GaussDbError {
    fn from(e: plugboard_store::StoreError) -> Self {
        Self::Common(e.into())
    }
}

impl From<Domain> for GaussDbError {
    fn from(e: Domain) -> Self {
        match e {
            Domain::Store(e) => Self::Common(e.into()),
            Domain::Internal(d) => Self::Common(CommonError::Internal(d)),
            e => Self::Service(e),
        }
    }
}

impl ApiError for GaussDbError {
    fn row(&self) -> (&'static Code, Cow<'_, str>) {
        use codes::*;
        let e = match self {
            Self::Common(e) => return e.row(),
            Self::Service(e) => e,
        };
        let (code, detail): (&'static Code, Cow<'_, str>) = match e {
            Domain::Store(_) | Domain::Internal(_) => (&INTERNAL, "".into()),
            Domain::Invalid(d) => (&INVALID, d.into()),
            Domain::BadInstanceId(_) => (&INVALID, format!("{e}.").into()),
            Domain::InstanceNotFound(_) => (&INSTANCE_NOT_FOUND, "".into()),
            Domain::Busy(d) | Domain::Conflict(d) => (&BUSY, d.into()),
            Domain::UnsupportedPlugin(d) => (&UNSUPPORTED_PLUGIN, d.into()),
            Domain::LicenseRequired(d) => (&LICENSE_REQUIRED, d.into()),
            Domain::UrlNotAllowed(d) => (&URL_NOT_ALLOWED, d.into()),
            Domain::PluginNotInstalled(d) => (&PLUGIN_NOT_INSTALLED, d.into()),
            Domain::UnknownExtension(d) => (&UNKNOWN_EXTENSION, d.into()),
            Domain::TooManyDatabases(d) => (&TOO_MANY_DATABASES, d.into()),
            Domain::JobNotFound(d) => (&JOB_NOT_FOUND, d.into()),
            Domain::JobRunning(d) => (&JOB_RUNNING, d.into()),
            Domain::DatabaseNotFound(d) => (&DATABASE_NOT_FOUND, d.into()),
            Domain::ExtensionFailed(d) => (&EXTENSION_FAILED, d.into()),
        };
        (code, detail)
    }

    fn as_common(&self) -> Option<&CommonError> {
        match self {
            Self::Common(e) => Some(e),
            Self::Service(_) => None,
        }
    }
}

impl IntoResponse for GaussDbError {
    fn into_response(self) -> Response {
        self.render()
    }
}

/// GaussDB's row for a common error.
pub fn common(kind: CommonKind) -> &'static Code {
    match kind {
        CommonKind::Internal => &codes::INTERNAL,
        CommonKind::EmptyBody => &codes::EMPTY_BODY,
        CommonKind::BadRequest => &codes::INVALID,
    }
}
