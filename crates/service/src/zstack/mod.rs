//! ZStack (`docs/api-coverage.md` → ZStack): sessions for the domain's IAM users, and the
//! plug-in-driver APIs over plugboard's driver registry — Query (the grammar in [`query`]),
//! Refresh and Delete, the latter two async "api-jobs" run by the job engine ([`jobs`]), with
//! web hooks delivered as durable jobs of their own. Errors are ZStack `ErrorCode`s
//! ([`ErrorCode`]); each API style (REST, RPC) renders them its own way.

mod error;
pub mod jobs;
pub mod query;

pub use error::{api_failure_of, codes, job_uuid, Error, ErrorCode};

use crate::drivers::{Registry, PGINSTALL_UUID, PROBES_UUID};
use jobs::{
    DeletePluginDrivers, DeletePluginDriversInput, RefreshPluginDrivers, RefreshPluginDriversInput,
};
use plugboard_auth::identity::{Identity, LoginError, Method, Principal};
use plugboard_core::config::ZStackConfig;
use plugboard_core::ids;
use plugboard_core::time::{self, now_micros, Micros};
use plugboard_drivers::netpolicy::NetworkPolicy;
use plugboard_jobs::JobKind;
use plugboard_store::jobs::{Job, NewJob};
use plugboard_store::zstack::{CreateSessionError, SessionRow, SubmitApiJobError};
use plugboard_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use tokio::sync::Notify;

type Result<T, E = Error> = std::result::Result<T, E>;

/// A session's inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub uuid: String,
    /// The IAM user (a ZStack account is a user of the configured domain).
    pub account_uuid: String,
    pub user_uuid: String,
    pub user_type: String,
    pub created_at: Micros,
    pub expires_at: Micros,
}

/// The async APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AsyncApi {
    RefreshPluginDrivers,
    DeletePluginDrivers,
}

/// Where an api-job is.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiJobState {
    Running,
    /// The event's fields (`{}` for Refresh and Delete).
    Done(Map<String, Value>),
    Failed(ErrorCode),
}

/// An api-job, as polled.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiJob {
    pub uuid: String,
    pub api: AsyncApi,
    pub state: ApiJobState,
    pub created_at: Micros,
    pub ended_at: Micros,
}

/// How an async call was made.
#[derive(Debug, Clone, Default)]
pub struct AsyncCall {
    /// The calling account (its IAM user id): the api-job is counted against it.
    pub account: String,
    /// `X-Job-UUID` (REST), else a fresh id.
    pub job_uuid: Option<String>,
    /// `X-Web-Hook` (REST).
    pub web_hook: Option<String>,
}

/// The fields of a PluginDriverInventory and their types, for queries.
pub const INVENTORY_FIELDS: &[(&str, query::FieldType)] = &[
    ("uuid", query::FieldType::Text),
    ("name", query::FieldType::Text),
    ("type", query::FieldType::Text),
    ("vendor", query::FieldType::Text),
    ("version", query::FieldType::Version),
    ("description", query::FieldType::Text),
    ("license", query::FieldType::Text),
    ("features", query::FieldType::Text),
    ("deleted", query::FieldType::Bool),
    ("createDate", query::FieldType::Date),
    ("lastOpDate", query::FieldType::Date),
];

/// The ZStack service. Cheap to clone.
#[derive(Clone)]
pub struct ZStack {
    pub(crate) store: Store,
    pub(crate) identity: Arc<Identity>,
    pub(crate) registry: Registry,
    pub(crate) config: ZStackConfig,
    pub(crate) network: Arc<NetworkPolicy>,
    pub(crate) waker: Arc<Notify>,
}

impl ZStack {
    pub fn new(
        store: Store,
        identity: Arc<Identity>,
        registry: Registry,
        config: ZStackConfig,
        network: Arc<NetworkPolicy>,
        waker: Arc<Notify>,
    ) -> Self {
        Self {
            store,
            identity,
            registry,
            config,
            network,
            waker,
        }
    }

    /// How long an async call may take, for the REST answer's `apiTimeout` (ms).
    pub fn api_timeout_ms(&self) -> i64 {
        (self.config.api_job_expiry_seconds as i64).saturating_mul(1000)
    }

    // -- sessions --------------------------------------------------------------------------

    /// `LogInByAccount`: `password` is the SHA-512 hex of the account's password.
    pub async fn login(&self, account_name: &str, password: &str) -> Result<Session> {
        let domain = match self.store.find_domain_by_name(&self.config.domain).await {
            Ok(d) => d,
            Err(StoreError::NotFound) => {
                self.identity.refuse_login(password).await;
                return Err(ErrorCode::authentication().into());
            }
            Err(e) => return Err(e.into()),
        };
        let user = match self
            .identity
            .digest_login(&domain.id, account_name, password)
            .await
        {
            Ok(u) => u,
            Err(LoginError::Unauthorized) => return Err(ErrorCode::authentication().into()),
            Err(LoginError::Store(e)) => return Err(e.into()),
        };
        let now = now_micros();
        let uuid = ids::hex32();
        let row = SessionRow {
            uuid_hash: plugboard_auth::token::token_hash(&uuid),
            user_id: user.id.clone(),
            domain_id: domain.id,
            created_at: now,
            expires_at: now
                + (self.config.session_timeout_seconds.max(1) as i64).saturating_mul(1_000_000),
        };
        let max = self.config.max_sessions_per_account.max(1) as i64;
        match self.store.create_zstack_session(&row, max, now).await {
            Ok(()) => {}
            Err(CreateSessionError::TooMany(n)) => {
                return Err(ErrorCode::too_many_sessions(format!(
                    "account[{account_name}] already has {n} sessions, the maximum is {max}; log out of some first"
                ))
                .into())
            }
            Err(CreateSessionError::Store(e)) => return Err(e.into()),
        }
        Ok(Session {
            uuid,
            account_uuid: user.id.clone(),
            user_uuid: user.id,
            user_type: "Account".into(),
            created_at: row.created_at,
            expires_at: row.expires_at,
        })
    }

    /// `LogOut`: an unknown session too is a success [vendor].
    pub async fn logout(&self, uuid: &str) -> Result<()> {
        self.store
            .delete_zstack_session(&plugboard_auth::token::token_hash(uuid.trim()))
            .await?;
        Ok(())
    }

    /// `ValidateSession`.
    pub async fn valid(&self, uuid: &str) -> Result<bool> {
        Ok(self.principal(uuid).await.is_ok())
    }

    /// Who a session is (ID.1001 when it is unknown, expired, or its user is disabled).
    pub async fn principal(&self, uuid: &str) -> Result<Principal> {
        let uuid = uuid.trim();
        if uuid.is_empty() {
            return Err(ErrorCode::invalid_session("missing session uuid").into());
        }
        let Some(row) = self
            .store
            .get_zstack_session(&plugboard_auth::token::token_hash(uuid))
            .await?
        else {
            return Err(ErrorCode::invalid_session(format!("no session[uuid:{uuid}]")).into());
        };
        if row.expires_at <= now_micros() {
            return Err(ErrorCode::invalid_session("Session expired").into());
        }
        let user = match self.store.get_user(&row.user_id).await {
            Ok(u) if u.enabled => u,
            Ok(_) | Err(StoreError::NotFound) => {
                return Err(
                    ErrorCode::invalid_session("the session's account is disabled or gone").into(),
                )
            }
            Err(e) => return Err(e.into()),
        };
        let subject = self.identity.subject(&user).await?;
        Ok(Principal {
            subject: Arc::new(subject),
            method: Method::Session,
            token_project: None,
            token_expires_at: Some(row.expires_at),
        })
    }

    // -- plug-in drivers -------------------------------------------------------------------

    /// `QueryPluginDrivers` over the registry's rows (soft-deleted drivers included).
    pub async fn query_plugin_drivers(&self, q: &query::Query) -> Result<query::QueryResult> {
        let rows = self.store.list_drivers().await?;
        let inventories = rows.iter().map(inventory).collect();
        let date = |t: &str| time::parse_zstack(t);
        query::run(q, inventories, INVENTORY_FIELDS, &date)
            .map_err(|e| ErrorCode::invalid_argument(e).into())
    }

    /// `RefreshPluginDrivers` (async): the api-job's uuid.
    pub async fn refresh_plugin_drivers(
        &self,
        name: Option<String>,
        call: &AsyncCall,
    ) -> Result<String> {
        let id = self.job_id(call).await?;
        let web_hook = self.web_hook(call).await?;
        let input = RefreshPluginDriversInput {
            name: name.filter(|n| !n.trim().is_empty()),
            web_hook,
        };
        let job = RefreshPluginDrivers::new_job(
            id.clone(),
            call.account.clone(),
            &jobs::RefreshTarget(id.clone()),
            input.name.clone().unwrap_or_else(|| "*".into()),
            &input,
            now_micros(),
        )
        .map_err(|e| ErrorCode::internal(e.to_string()))?;
        self.submit(job).await?;
        Ok(id)
    }

    /// `DeletePluginDrivers` (async): the api-job's uuid. An id that is not UUID-shaped is
    /// SYS.1003; a `deleteMode` other than `Permissive` (default) or `Enforcing` SYS.1007.
    pub async fn delete_plugin_drivers(
        &self,
        uuid: &str,
        delete_mode: Option<&str>,
        call: &AsyncCall,
    ) -> Result<String> {
        if !plugboard_drivers::manifest::is_uuid_shaped(uuid) {
            return Err(ErrorCode::invalid_resource(format!(
                "invalid value[{uuid}] of field [uuid]"
            ))
            .into());
        }
        let mode = match delete_mode.filter(|m| !m.is_empty()) {
            None | Some("Permissive") => jobs::DeleteMode::Permissive,
            Some("Enforcing") => jobs::DeleteMode::Enforcing,
            Some(other) => {
                return Err(ErrorCode::invalid_argument(format!(
                    "invalid value[{other}] of field [deleteMode], valid values are [Permissive, Enforcing]"
                ))
                .into())
            }
        };
        let id = self.job_id(call).await?;
        let web_hook = self.web_hook(call).await?;
        let input = DeletePluginDriversInput {
            uuid: uuid.to_string(),
            mode,
            web_hook,
        };
        let job = DeletePluginDrivers::new_job(
            id.clone(),
            call.account.clone(),
            &jobs::DriverTarget(uuid.to_string()),
            uuid.to_string(),
            &input,
            now_micros(),
        )
        .map_err(|e| ErrorCode::internal(e.to_string()))?;
        self.submit(job).await?;
        Ok(id)
    }

    /// Submit an api-job, counted against its account (`job.project_id`).
    async fn submit(&self, job: NewJob) -> Result<()> {
        let max = i64::try_from(self.config.max_api_jobs_per_account.max(1)).unwrap_or(i64::MAX);
        let kinds = [RefreshPluginDrivers::KIND, DeletePluginDrivers::KIND];
        match self.store.submit_api_job(&job, &kinds, max).await {
            Ok(()) => {
                self.waker.notify_one();
                Ok(())
            }
            Err(SubmitApiJobError::TooMany(open)) => {
                Err(ErrorCode::too_many_api_jobs(&job.project_id, open, max).into())
            }
            Err(SubmitApiJobError::TargetBusy) => {
                if self.store.job_exists(&job.id).await? {
                    return Err(Error::DuplicateJobUuid(job.id));
                }
                Err(ErrorCode::operation_error(format!(
                    "another job is running on {}; wait for it to end",
                    job.target_name
                ))
                .into())
            }
            Err(SubmitApiJobError::Store(e)) => Err(e.into()),
        }
    }

    /// The api-job id: `X-Job-UUID` (32 hexadecimal digits, the vendor's UUID with '-'
    /// stripped, read case-insensitively and kept in lower case; not used before) or a fresh
    /// one.
    async fn job_id(&self, call: &AsyncCall) -> Result<String> {
        let Some(id) = call.job_uuid.as_deref() else {
            return Ok(ids::hex32());
        };
        let Some(id) = job_uuid(id) else {
            return Err(Error::BadJobUuid);
        };
        if self.store.job_exists(&id).await? {
            return Err(Error::DuplicateJobUuid(id));
        }
        Ok(id)
    }

    /// `X-Web-Hook`, checked against the network policy now (a refused URL is never called).
    async fn web_hook(&self, call: &AsyncCall) -> Result<Option<String>> {
        let Some(url) = call
            .web_hook
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        else {
            return Ok(None);
        };
        plugboard_drivers::fetch::check_package_url(&self.network, url)
            .await
            .map_err(|e| {
                ErrorCode::invalid_argument(format!("X-Web-Hook {url} is not allowed: {e}"))
            })?;
        Ok(Some(url.to_string()))
    }

    /// An api-job by uuid (any case); `None` when unknown, of another kind, or expired.
    /// Polled without a session, as the vendor's clients do: what it carries is safe for
    /// anyone holding the uuid (see [`job_state`]).
    pub async fn api_job(&self, uuid: &str) -> Result<Option<ApiJob>> {
        let Some(uuid) = job_uuid(uuid) else {
            return Ok(None);
        };
        let job = match self.store.job_by_id(&uuid).await {
            Ok(j) => j,
            Err(StoreError::NotFound) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let api = match job.kind.as_str() {
            RefreshPluginDrivers::KIND => AsyncApi::RefreshPluginDrivers,
            DeletePluginDrivers::KIND => AsyncApi::DeletePluginDrivers,
            _ => return Ok(None),
        };
        let expiry = (self.config.api_job_expiry_seconds as i64).saturating_mul(1_000_000);
        if job.created_at + expiry <= now_micros() {
            return Ok(None);
        }
        Ok(Some(ApiJob {
            uuid: job.id.clone(),
            api,
            state: job_state(&job),
            created_at: job.created_at,
            ended_at: job.ended_at,
        }))
    }

    /// The driver registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

/// Where a job of an async API is.
fn job_state(job: &Job) -> ApiJobState {
    match job.status.as_str() {
        plugboard_store::jobs::COMPLETED => ApiJobState::Done(
            job.context
                .get(jobs::EVENT)
                .and_then(|e| e.as_object().cloned())
                .unwrap_or_default(),
        ),
        plugboard_store::jobs::FAILED => {
            ApiJobState::Failed(api_failure_of(&job.id, &job.fail_reason))
        }
        _ => ApiJobState::Running,
    }
}

/// A driver row as ZStack's PluginDriverInventory.
fn inventory(r: &plugboard_store::drivers::DriverRow) -> Map<String, Value> {
    let options: Vec<Value> = r
        .manifest
        .get("options")
        .and_then(|o| o.as_array())
        .map(|opts| {
            opts.iter()
                .map(|o| {
                    let text = |k: &str| o.get(k).cloned().unwrap_or(Value::Null);
                    json!({
                        "name": text("name"),
                        "code": text("name"),
                        "category": text("category"),
                        "required": o.get("required").and_then(|v| v.as_bool()).unwrap_or(false),
                        "inputType": text("input_type"),
                        "defaultValue": text("default_value"),
                        "helpText": text("help_text"),
                        "values": o.get("values").cloned().unwrap_or(json!([])),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let mut m = Map::new();
    m.insert("uuid".into(), json!(r.uuid));
    m.insert("name".into(), json!(r.name));
    m.insert("type".into(), json!(r.kind));
    m.insert("vendor".into(), json!(r.vendor));
    m.insert("version".into(), json!(r.version));
    m.insert("description".into(), json!(r.description));
    m.insert("license".into(), json!(r.license));
    m.insert("features".into(), json!(r.features));
    m.insert("optionTypes".into(), Value::Array(options));
    m.insert("deleted".into(), json!(r.deleted));
    m.insert("createDate".into(), json!(time::zstack(r.created_at)));
    m.insert("lastOpDate".into(), json!(time::zstack(r.updated_at)));
    m
}

/// What a built-in driver serves (for Permissive delete's dependents).
pub(crate) fn serves(uuid: &str) -> Option<&'static str> {
    match uuid {
        PGINSTALL_UUID => Some("gaussdb"),
        PROBES_UUID => Some("dbss"),
        _ => None,
    }
}

/// Register the ZStack job kinds with `engine`.
pub fn register(engine: &mut plugboard_jobs::Engine, svc: &ZStack) {
    engine.register::<RefreshPluginDrivers>(Arc::new(jobs::RefreshHandler {
        registry: svc.registry.clone(),
    }));
    engine.register::<DeletePluginDrivers>(Arc::new(jobs::DeleteHandler {
        store: svc.store.clone(),
        registry: svc.registry.clone(),
    }));
    engine.register::<jobs::DeliverWebHook>(Arc::new(jobs::WebHookHandler {
        network: svc.network.clone(),
    }));
}
