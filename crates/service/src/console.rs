//! The web console's domain (docs/console.md): signing in with an IAM user (the same password
//! check, lockout and timing as `POST /v3/auth/tokens`), its server-side sessions (an opaque
//! id whose SHA-256 is stored; idle expiry; ended when the user is disabled, deleted or
//! changes password), the projects a user may see, and the job listing across families.

use plugboard_auth::identity::{Identity, LoginError, Method, Principal};
use plugboard_core::config::ConsoleConfig;
use plugboard_core::ids;
use plugboard_core::time::{now_micros, Micros};
use plugboard_store::console::{ConsoleSessionRow, JobsQuery};
use plugboard_store::identity::{Project, ProjectFilter};
use plugboard_store::jobs::Job;
use plugboard_store::{Store, StoreError};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Activity on a session is written at most this often (micros): pages stay off the database.
const TOUCH_EVERY: Micros = 15_000_000;

/// What a console operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Wrong account, user name or password, or a disabled or locked user: one answer.
    #[error("The account, user name or password is wrong, or the user is locked.")]
    SignInRefused,
    /// No such job among those the user may see.
    #[error("no such job")]
    NoSuchJob,
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T, E = Error> = std::result::Result<T, E>;

/// A session just opened: the id for the cookie (never stored) and who it is.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: String,
    pub principal: Principal,
}

/// A live session: who it is, and the CSRF token its forms carry.
#[derive(Debug, Clone)]
pub struct LiveSession {
    pub principal: Principal,
    pub csrf: String,
}

/// The console service. Cheap to clone.
#[derive(Clone)]
pub struct Console {
    store: Store,
    identity: Arc<Identity>,
    idle: Micros,
}

/// The stored hash of a session id.
fn id_hash(id: &str) -> String {
    plugboard_auth::token::token_hash(id)
}

/// The CSRF token of a session: derived from its id, so it is never stored and cannot be
/// computed without the cookie.
pub fn csrf_token(id: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"plugboard-console-csrf\0");
    h.update(id.as_bytes());
    hex::encode(h.finalize())
}

impl Console {
    pub fn new(store: Store, identity: Arc<Identity>, config: &ConsoleConfig) -> Self {
        Self {
            store,
            identity,
            idle: config.session_idle_micros(),
        }
    }

    /// Sign in with the domain's name, the user's name and the password; a new session.
    pub async fn sign_in(
        &self,
        account: &str,
        user_name: &str,
        password: &str,
    ) -> Result<NewSession> {
        let domain = match self.store.find_domain_by_name(account.trim()).await {
            Ok(d) => d,
            Err(StoreError::NotFound) => {
                // As slow as a real check, so the time does not tell which accounts exist.
                self.identity.refuse_login(password).await;
                return Err(Error::SignInRefused);
            }
            Err(e) => return Err(e.into()),
        };
        let user = match self
            .identity
            .password_login(&domain.id, Some(user_name.trim()), None, password)
            .await
        {
            Ok(u) => u,
            Err(LoginError::Unauthorized) => return Err(Error::SignInRefused),
            Err(LoginError::Store(e)) => return Err(e.into()),
        };
        let now = now_micros();
        let id = format!("{}{}", ids::hex32(), ids::hex32());
        self.store
            .create_console_session(&ConsoleSessionRow {
                id_hash: id_hash(&id),
                user_id: user.id.clone(),
                domain_id: domain.id,
                created_at: now,
                last_seen_at: now,
            })
            .await?;
        let subject = self.identity.subject(&user).await?;
        Ok(NewSession {
            id,
            principal: principal(subject),
        })
    }

    /// The session behind a cookie's id, or `None` when it is unknown, idle too long, or its
    /// user is gone, disabled or changed password since it began (it is then removed).
    pub async fn session(&self, id: &str) -> Result<Option<LiveSession>> {
        if id.len() != 64 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let hash = id_hash(id);
        let Some(row) = self.store.get_console_session(&hash).await? else {
            return Ok(None);
        };
        let now = now_micros();
        if row.last_seen_at.saturating_add(self.idle) <= now {
            self.store.delete_console_session(&hash).await?;
            return Ok(None);
        }
        let user = match self.store.get_user(&row.user_id).await {
            Ok(u) if u.enabled && row.created_at >= u.tokens_valid_after => u,
            Ok(_) | Err(StoreError::NotFound) => {
                self.store.delete_console_session(&hash).await?;
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        if now - row.last_seen_at >= TOUCH_EVERY {
            self.store.touch_console_session(&hash, now).await?;
        }
        let subject = self.identity.subject(&user).await?;
        Ok(Some(LiveSession {
            principal: principal(subject),
            csrf: csrf_token(id),
        }))
    }

    /// End a session (an unknown one too is fine).
    pub async fn sign_out(&self, id: &str) -> Result<()> {
        self.store.delete_console_session(&id_hash(id)).await?;
        Ok(())
    }

    /// Remove sessions idle past the limit; how many.
    pub async fn prune(&self) -> Result<u64> {
        Ok(self
            .store
            .prune_console_sessions(now_micros().saturating_sub(self.idle))
            .await?)
    }

    /// The projects of the user's domain that the user may act in, by name.
    pub async fn visible_projects(&self, principal: &Principal) -> Result<Vec<Project>> {
        let s = &principal.subject;
        let mut projects: Vec<Project> = self
            .store
            .list_projects(&ProjectFilter {
                domain_id: Some(s.domain_id.clone()),
                ..Default::default()
            })
            .await?
            .into_iter()
            .filter(|p| s.may_use_project(&p.id, &p.domain_id))
            .collect();
        projects.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(projects)
    }

    /// A page of jobs (newest first) and the total that match.
    pub async fn jobs(&self, q: &JobsQuery, offset: i64, limit: i64) -> Result<(Vec<Job>, i64)> {
        Ok(self.store.list_jobs_across(q, offset, limit).await?)
    }

    /// A job of one of `projects` (`""`: jobs of no project).
    pub async fn job(&self, projects: &[String], id: &str) -> Result<Job> {
        match self.store.job_by_id(id).await {
            Ok(j) if projects.contains(&j.project_id) => Ok(j),
            Ok(_) | Err(StoreError::NotFound) => Err(Error::NoSuchJob),
            Err(e) => Err(e.into()),
        }
    }
}

fn principal(subject: plugboard_auth::identity::Subject) -> Principal {
    Principal {
        subject: Arc::new(subject),
        method: Method::Session,
        token_project: None,
        token_expires_at: None,
    }
}
