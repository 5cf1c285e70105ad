//! The identity service: password login, token issue and validation, AK/SK verification and
//! the principal a request acts as, with the policies it holds. A small per-process cache keeps
//! authentication off the database on the hot path; changes made through this process clear it
//! at once, changes made by other processes are seen within `auth_cache_seconds`.

use crate::lockout::Lockout;
use crate::policy::{self, Decision, Policy};
use crate::signing::{self, Authorization, RequestParts, SigningError, SigningKey};
use crate::token;
use plugboard_core::config::IamConfig;
use plugboard_core::password;
use plugboard_core::secrets::MasterKey;
use plugboard_core::time::{now_micros, Micros};
use plugboard_store::identity::{Scope, TokenRecord, User};
use plugboard_store::lockout::{LockKind, LockoutEntry};
use plugboard_store::{Store, StoreError};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The system role that makes its holder a tenant administrator.
pub const TENANT_ADMIN_ROLE: &str = "te_admin";

/// How a request authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    Token,
    AccessKey(String),
    /// A ZStack session (`Authorization: OAuth <uuid>`, or the RPC body's `session`).
    Session,
}

/// One policy the user holds, and where.
#[derive(Debug, Clone)]
pub struct Grant {
    pub scope: Scope,
    pub role: String,
    pub policy: Policy,
}

/// The user behind a request.
#[derive(Debug, Clone)]
pub struct Subject {
    pub user_id: String,
    pub user_name: String,
    pub domain_id: String,
    pub domain_name: String,
    pub is_owner: bool,
    pub grants: Vec<Grant>,
}

impl Subject {
    /// Whether the user may act in `project_id` of `project_domain` at all, whatever the
    /// credential: the project is in the user's domain and the user holds some role there
    /// (on the project or on the whole domain), or owns the domain.
    pub fn may_use_project(&self, project_id: &str, project_domain: &str) -> bool {
        if project_domain != self.domain_id {
            return false;
        }
        self.is_owner
            || self.grants.iter().any(|g| match &g.scope {
                Scope::Project(p) => p == project_id,
                Scope::Domain(d) => d == &self.domain_id,
            })
    }
}

/// Who a request acts as.
#[derive(Debug, Clone)]
pub struct Principal {
    pub subject: Arc<Subject>,
    pub method: Method,
    /// The project a token is scoped to (`None`: domain-scoped token, or AK/SK).
    pub token_project: Option<String>,
    /// When the token expires (tokens only).
    pub token_expires_at: Option<Micros>,
}

impl Principal {
    /// Whether the principal may act in `project_id` of `project_domain` at all (before any
    /// action is checked): the project is in the principal's domain, a token is scoped to it,
    /// and the user holds some role there (on the project or on the whole domain).
    pub fn may_use_project(&self, project_id: &str, project_domain: &str) -> bool {
        match (&self.method, &self.token_project) {
            (Method::Token, Some(p)) if p != project_id => return false,
            (Method::Token, None) => return false,
            _ => {}
        }
        self.subject.may_use_project(project_id, project_domain)
    }

    /// Whether the principal is a tenant administrator where the request acts: the domain
    /// owner, or a holder of the `te_admin` system role on the whole domain or on `project`.
    /// plugboard's admin API requires this on top of its action (docs/contract.md → Admin
    /// API), so a policy that merely matches a `plugboard:*` action (`readonly`'s
    /// `*:*:list*`) is not enough.
    pub fn is_tenant_admin(&self, project: Option<&str>) -> bool {
        let s = &self.subject;
        s.is_owner
            || s.grants.iter().any(|g| {
                g.role == TENANT_ADMIN_ROLE
                    && match &g.scope {
                        Scope::Domain(d) => d == &s.domain_id,
                        Scope::Project(p) => Some(p.as_str()) == project,
                    }
            })
    }

    /// Whether policies allow `action`. `project` is the project the request acts in (the
    /// path's, or for domain-level APIs the token's / `X-Project-Id`'s); grants on the whole
    /// domain always count. The domain owner may do everything in the domain.
    pub fn allows(&self, action: &str, project: Option<&str>) -> bool {
        let s = &self.subject;
        if s.is_owner {
            return true;
        }
        let policies = s.grants.iter().filter_map(|g| match &g.scope {
            Scope::Domain(d) if d == &s.domain_id => Some(&g.policy),
            Scope::Project(p) if Some(p.as_str()) == project => Some(&g.policy),
            _ => None,
        });
        policy::evaluate(policies, action) == Decision::Allow
    }
}

/// Why authentication failed (mapped to gateway codes by the HTTP layer).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no such token")]
    BadToken,
    #[error("token expired or revoked")]
    TokenExpired,
    #[error("unknown, inactive or locked access key")]
    UnknownAccessKey,
    #[error("signature does not verify: {0}")]
    BadSignature(SigningError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a password login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Wrong domain, user or password, or a disabled or locked user: one answer for all.
    #[error("The request you have made requires authentication.")]
    Unauthorized,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
enum Cached {
    Token(Arc<Subject>, Arc<TokenRecord>),
    /// The opened secret, as the HMAC's keyed state.
    AccessKey(Arc<Subject>, Arc<SigningKey>),
}

struct CacheEntry {
    at: Instant,
    generation: u64,
    value: Cached,
}

const CACHE_CAP: usize = 50_000;

/// How long one process trusts an access key's lockout state read from the store (signed
/// requests are the hot path): a lock set by another process is seen within this time. Every
/// failure is counted in the store at once regardless.
const AK_LOCK_RECHECK: Duration = Duration::from_secs(1);

/// The identity service. Cheap to share behind an `Arc`.
pub struct Identity {
    store: Store,
    key: MasterKey,
    cfg: IamConfig,
    ak_lockout: Lockout,
    user_lockout: Lockout,
    generation: AtomicU64,
    /// Tokens by their SHA-256.
    cache: RwLock<CacheMap<[u8; 32]>>,
    /// Access keys by their id.
    key_cache: RwLock<CacheMap<String>>,
}

/// A cache's map. Its keys are digests and ids that exist, not text a client chooses freely
/// (a token is looked up by its SHA-256; an access key only once it matched `is_access_key`),
/// so the fast non-cryptographic hash (randomly seeded per map) is enough.
type CacheMap<K> = HashMap<K, CacheEntry, foldhash::fast::RandomState>;

/// What a login proves the password with.
enum Secret<'a> {
    Plain(&'a str),
    /// The lowercase hex SHA-512 of the password.
    Sha512Hex(&'a str),
}

impl Identity {
    pub fn new(store: Store, key: MasterKey, cfg: IamConfig) -> Self {
        Self {
            ak_lockout: Lockout::new(
                store.clone(),
                LockKind::AccessKey,
                cfg.ak_lockout_threshold,
                Duration::from_secs(cfg.ak_lockout_seconds),
                AK_LOCK_RECHECK,
            ),
            user_lockout: Lockout::new(
                store.clone(),
                LockKind::User,
                cfg.user_lockout_threshold,
                Duration::from_secs(cfg.user_lockout_seconds),
                Duration::ZERO,
            ),
            store,
            key,
            cfg,
            generation: AtomicU64::new(0),
            cache: RwLock::new(CacheMap::default()),
            key_cache: RwLock::new(CacheMap::default()),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The master key.
    pub fn key(&self) -> &MasterKey {
        &self.key
    }

    /// The IAM settings.
    pub fn config(&self) -> &IamConfig {
        &self.cfg
    }

    /// Forget everything cached: call after any change to users, groups, grants, tokens or keys.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut cache) = self.cache.write() {
            cache.clear();
        }
        if let Ok(mut cache) = self.key_cache.write() {
            cache.clear();
        }
    }

    /// The entry of `map` under `key` while it is fresh: younger than `auth_cache_seconds`
    /// and written since the last [`Self::invalidate`].
    fn cached<K, Q>(&self, map: &RwLock<CacheMap<K>>, key: &Q) -> Option<Cached>
    where
        K: Hash + Eq + Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let ttl = Duration::from_secs(self.cfg.auth_cache_seconds);
        let generation = self.generation.load(Ordering::SeqCst);
        let cache = map.read().ok()?;
        let entry = cache.get(key)?;
        (entry.generation == generation && entry.at.elapsed() < ttl).then(|| entry.value.clone())
    }

    fn cache_put<K: Hash + Eq>(
        &self,
        map: &RwLock<CacheMap<K>>,
        key: K,
        value: Cached,
        generation: u64,
    ) {
        if self.cfg.auth_cache_seconds == 0 {
            return;
        }
        if let Ok(mut cache) = map.write() {
            if cache.len() >= CACHE_CAP {
                cache.clear();
            }
            cache.insert(
                key,
                CacheEntry {
                    at: Instant::now(),
                    generation,
                    value,
                },
            );
        }
    }

    /// Load the subject (user, domain, grants) for a user id.
    pub async fn subject(&self, user: &User) -> Result<Subject, StoreError> {
        let domain = self.store.get_domain(&user.domain_id).await?;
        let grants = self
            .store
            .effective_grants(&user.id)
            .await?
            .into_iter()
            .filter_map(|g| {
                serde_json::from_str::<Policy>(&g.policy)
                    .ok()
                    .map(|policy| Grant {
                        scope: g.scope,
                        role: g.role_name,
                        policy,
                    })
            })
            .collect();
        Ok(Subject {
            user_id: user.id.clone(),
            user_name: user.name.clone(),
            domain_id: domain.id,
            domain_name: domain.name,
            is_owner: user.is_owner,
            grants,
        })
    }

    /// Check a password login. Repeated failures lock the user for a while.
    ///
    /// Every attempt costs one password verification through the bounded hashing path,
    /// whether the user exists or not, is disabled or locked: an unknown name (or a user
    /// that cannot log in) is checked against a dummy credential with the same parameters,
    /// so the time taken does not tell which names exist.
    pub async fn password_login(
        &self,
        domain_id: &str,
        user_name: Option<&str>,
        user_id: Option<&str>,
        password: &str,
    ) -> Result<User, LoginError> {
        self.login_with(domain_id, user_name, user_id, Secret::Plain(password))
            .await
    }

    /// [`Self::password_login`] with the SHA-512 hex of the password (what ZStack clients
    /// send), under the same lockout and timing rules.
    pub async fn digest_login(
        &self,
        domain_id: &str,
        user_name: &str,
        sha512_hex: &str,
    ) -> Result<User, LoginError> {
        self.login_with(
            domain_id,
            Some(user_name),
            None,
            Secret::Sha512Hex(sha512_hex),
        )
        .await
    }

    async fn login_with(
        &self,
        domain_id: &str,
        user_name: Option<&str>,
        user_id: Option<&str>,
        secret: Secret<'_>,
    ) -> Result<User, LoginError> {
        let user = match (user_id, user_name) {
            (Some(id), _) => self.store.get_user(id).await,
            (None, Some(name)) => self.store.find_user_by_name(domain_id, name).await,
            (None, None) => Err(StoreError::NotFound),
        };
        let user = match user {
            Ok(u) if u.domain_id == domain_id => Some(u),
            Ok(_) | Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        let usable = match user {
            Some(u) if u.enabled && !self.user_lockout.is_locked(&u.id).await? => Some(u),
            _ => None,
        };
        let stored = usable.as_ref().and_then(|u| u.password_hash.as_deref());
        let ok = match secret {
            Secret::Plain(p) => password::verify(stored, p).await,
            Secret::Sha512Hex(d) => password::verify_digest(stored, d).await,
        };
        match (usable, ok) {
            (Some(user), true) => {
                self.user_lockout.record_success(&user.id).await?;
                Ok(user)
            }
            (Some(user), false) => {
                self.user_lockout.record_failure(&user.id).await?;
                Err(LoginError::Unauthorized)
            }
            (None, _) => Err(LoginError::Unauthorized),
        }
    }

    /// Refuse a login that failed before any user was looked at (an unknown domain), at the
    /// cost of a real one: one verification against the dummy credential.
    pub async fn refuse_login(&self, password: &str) -> LoginError {
        password::verify(None, password).await;
        LoginError::Unauthorized
    }

    /// Issue a token for `user`, scoped to `project_id` (or the domain).
    pub async fn issue_token(
        &self,
        user: &User,
        project_id: Option<String>,
    ) -> Result<(String, TokenRecord), StoreError> {
        let token = token::new_token();
        let now = now_micros();
        let record = TokenRecord {
            user_id: user.id.clone(),
            project_id,
            methods: "password".into(),
            issued_at: now,
            expires_at: now + (self.cfg.token_ttl_seconds as i64) * 1_000_000,
            revoked: false,
        };
        self.store
            .insert_token(&token::token_hash(&token), &record)
            .await?;
        Ok((token, record))
    }

    /// Revoke a token (204 on success, NotFound otherwise).
    pub async fn revoke_token(&self, token: &str) -> Result<(), StoreError> {
        self.store.revoke_token(&token::token_hash(token)).await?;
        self.invalidate();
        Ok(())
    }

    /// Resolve a token to the record and its user, checking expiry and revocation.
    pub async fn validate_token(
        &self,
        token: &str,
    ) -> Result<(TokenRecord, Arc<Subject>), AuthError> {
        let (record, subject) = self.valid_token(token).await?;
        Ok((TokenRecord::clone(&record), subject))
    }

    /// [`Self::validate_token`], the record shared with the cache.
    async fn valid_token(
        &self,
        token: &str,
    ) -> Result<(Arc<TokenRecord>, Arc<Subject>), AuthError> {
        if !token::plausible(token) {
            return Err(AuthError::BadToken);
        }
        let digest = token::token_digest(token);
        let (subject, record) = match self.cached(&self.cache, &digest) {
            Some(Cached::Token(s, r)) => (s, r),
            _ => {
                let generation = self.generation.load(Ordering::SeqCst);
                let record = match self.store.get_token(&hex::encode(digest)).await {
                    Ok(r) => r,
                    Err(StoreError::NotFound) => return Err(AuthError::BadToken),
                    Err(e) => return Err(e.into()),
                };
                let user = match self.store.get_user(&record.user_id).await {
                    Ok(u) => u,
                    Err(StoreError::NotFound) => return Err(AuthError::TokenExpired),
                    Err(e) => return Err(e.into()),
                };
                if !user.enabled || record.issued_at < user.tokens_valid_after {
                    return Err(AuthError::TokenExpired);
                }
                let subject = Arc::new(self.subject(&user).await?);
                let record = Arc::new(record);
                self.cache_put(
                    &self.cache,
                    digest,
                    Cached::Token(subject.clone(), record.clone()),
                    generation,
                );
                (subject, record)
            }
        };
        if record.revoked || record.expires_at <= now_micros() {
            return Err(AuthError::TokenExpired);
        }
        Ok((record, subject))
    }

    /// Authenticate a token.
    pub async fn authenticate_token(&self, token: &str) -> Result<Principal, AuthError> {
        let (record, subject) = self.valid_token(token).await?;
        Ok(Principal {
            subject,
            method: Method::Token,
            token_project: record.project_id.clone(),
            token_expires_at: Some(record.expires_at),
        })
    }

    /// Authenticate an AK/SK-signed request. Failures count towards the access key's lockout.
    pub async fn authenticate_signature(
        &self,
        req: &RequestParts<'_>,
        auth: &Authorization<'_>,
    ) -> Result<Principal, AuthError> {
        if !plugboard_core::ids::is_access_key(&auth.access) {
            return Err(AuthError::UnknownAccessKey);
        }
        let (subject, secret) = match self.cached(&self.key_cache, &*auth.access) {
            Some(Cached::AccessKey(s, secret)) => (s, secret),
            _ => {
                let generation = self.generation.load(Ordering::SeqCst);
                let credential = match self.store.get_credential(&auth.access).await {
                    Ok(c) if c.status == "active" => c,
                    Ok(_) | Err(StoreError::NotFound) => return Err(AuthError::UnknownAccessKey),
                    Err(e) => return Err(e.into()),
                };
                let user = self.store.get_user(&credential.user_id).await?;
                if !user.enabled {
                    return Err(AuthError::UnknownAccessKey);
                }
                let secret = Arc::new(SigningKey::new(
                    &self
                        .key
                        .open(&credential.secret_sealed)
                        .map_err(|_| AuthError::UnknownAccessKey)?,
                ));
                let subject = Arc::new(self.subject(&user).await?);
                self.cache_put(
                    &self.key_cache,
                    auth.access.to_string(),
                    Cached::AccessKey(subject.clone(), secret.clone()),
                    generation,
                );
                (subject, secret)
            }
        };
        // Checked once the key is known to exist, so made-up keys cost no lockout state.
        if self.ak_lockout.is_locked(&auth.access).await? {
            return Err(AuthError::UnknownAccessKey);
        }
        let skew = chrono::Duration::seconds(self.cfg.signature_max_skew_seconds as i64);
        match signing::verify_with(req, auth, &secret, chrono::Utc::now(), skew) {
            Ok(()) => {
                self.ak_lockout.record_success(&auth.access).await?;
                Ok(Principal {
                    subject,
                    method: Method::AccessKey(auth.access.to_string()),
                    token_project: None,
                    token_expires_at: None,
                })
            }
            Err(e) => {
                self.ak_lockout.record_failure(&auth.access).await?;
                Err(AuthError::BadSignature(e))
            }
        }
    }

    /// The users of `domain_id` and their access keys that are locked at `now` or have
    /// failures that still count (the last one within the lock time).
    pub async fn lockouts(
        &self,
        domain_id: &str,
        now: Micros,
    ) -> Result<Vec<LockoutEntry>, StoreError> {
        let window = |kind| {
            let seconds = match kind {
                LockKind::User => self.cfg.user_lockout_seconds,
                LockKind::AccessKey => self.cfg.ak_lockout_seconds,
            };
            i64::try_from(seconds).unwrap_or(i64::MAX / 2_000_000) * 1_000_000
        };
        let mut all = self.store.list_lockouts(domain_id).await?;
        all.retain(|e| e.state.locked_at(now) || now - e.state.last_failure_at <= window(e.kind));
        Ok(all)
    }

    /// Lift the lock of user `user_id` of `domain_id` and forget its failures. `NotFound`:
    /// no such user in the domain, or nothing to lift.
    pub async fn unlock_user(&self, domain_id: &str, user_id: &str) -> Result<(), StoreError> {
        let user = self.store.get_user(user_id).await?;
        if user.domain_id != domain_id || !self.store.unlock(LockKind::User, user_id).await? {
            return Err(StoreError::NotFound);
        }
        self.user_lockout.forget(user_id);
        tracing::info!(user_id = %user_id, "user unlocked");
        Ok(())
    }

    /// Lift the lock of access key `access` of a user of `domain_id` and forget its
    /// failures. `NotFound`: no such key in the domain, or nothing to lift.
    pub async fn unlock_access_key(&self, domain_id: &str, access: &str) -> Result<(), StoreError> {
        let credential = self.store.get_credential(access).await?;
        let user = self.store.get_user(&credential.user_id).await?;
        if user.domain_id != domain_id || !self.store.unlock(LockKind::AccessKey, access).await? {
            return Err(StoreError::NotFound);
        }
        self.ak_lockout.forget(access);
        tracing::info!(access_key = %access, "access key unlocked");
        Ok(())
    }
}
