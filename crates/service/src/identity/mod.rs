//! Identity, the domain (docs/api-coverage.md → IAM): token issue with its scoping rules, projects, users,
//! groups, role grants and access keys, each with the vendor's rules ([`rules`]). Resources
//! of another domain are invisible: they are reported exactly like missing ones. Seeding
//! (system roles, the first identity) is in [`seed`].

pub mod regions;
pub mod rules;
pub mod seed;
pub mod users;

pub use users::UserUpdate;

use plugboard_auth::identity::{AuthError, LoginError, Subject};
use plugboard_core::{ids, password, time};
use plugboard_store::identity::{
    Credential, Domain, Group, Project, ProjectFilter, Role, Scope, TokenRecord, User,
};
use plugboard_store::{Store, StoreError};
use std::sync::Arc;

/// At most this many access keys per user [vendor].
pub const MAX_KEYS_PER_USER: usize = 2;

/// What an identity operation can fail with; the IAM family's error enum maps it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Something on plugboard's side failed.
    #[error("{0}")]
    Internal(String),
    /// Invalid input; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// Wrong credentials or a scope the user may not have (one answer for every cause).
    #[error("The request you have made requires authentication.")]
    Unauthorized,
    /// Outside the caller's domain.
    #[error("not authorized")]
    Forbidden,
    /// A rule of the domain forbids this (e.g. deleting the domain owner).
    #[error("{0}")]
    Refused(String),
    /// No such resource; the message names it.
    #[error("{0}")]
    NotFound(String),
    /// A name or key already in use.
    #[error("{0}")]
    Conflict(String),
}

impl From<rules::Invalid> for Error {
    fn from(e: rules::Invalid) -> Self {
        Self::Invalid(e.0)
    }
}

type Result<T, E = Error> = std::result::Result<T, E>;

/// A store error, with `what` naming the resource for not-found and conflicts.
pub(crate) fn store(what: &str) -> impl Fn(StoreError) -> Error + '_ {
    move |e| match e {
        StoreError::NotFound => Error::NotFound(format!("Could not find {what}.")),
        StoreError::Conflict(c) => Error::Conflict(format!(
            "Conflict occurred attempting to store {what}: {c} is already in use."
        )),
        e => Error::Store(e),
    }
}

/// Who a password token is asked for.
#[derive(Debug, Clone, Default)]
pub struct PasswordLogin {
    pub domain_id: Option<String>,
    pub domain_name: Option<String>,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub password: String,
    pub scope: TokenScope,
}

/// The scope a token is asked for.
#[derive(Debug, Clone, Default)]
pub enum TokenScope {
    /// The user's domain.
    #[default]
    Unscoped,
    /// A project, by id or by name in the user's domain.
    Project {
        id: Option<String>,
        name: Option<String>,
    },
    /// The user's domain, named.
    Domain {
        id: Option<String>,
        name: Option<String>,
    },
}

/// An issued token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub record: TokenRecord,
    pub subject: Subject,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: String,
    pub domain_id: String,
    pub password: Option<String>,
    pub email: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// The identity service. Cheap to clone.
#[derive(Clone)]
pub struct IdentityService {
    pub(crate) store: Store,
    pub(crate) auth: Arc<plugboard_auth::identity::Identity>,
    pub(crate) region: String,
}

/// Hash a password for storage, bounded like every hash (see `plugboard_core::password`).
pub(crate) async fn hash(plain: String) -> Result<String> {
    password::hash(&plain)
        .await
        .map_err(|e| Error::Internal(e.to_string()))
}

impl IdentityService {
    pub fn new(
        store: Store,
        auth: Arc<plugboard_auth::identity::Identity>,
        region: String,
    ) -> Self {
        Self {
            store,
            auth,
            region,
        }
    }

    // -- tokens -----------------------------------------------------------------------------

    /// Issue a password token: the domain resolved, the password checked, then the scope —
    /// a project must be one the user may use (in the user's domain, with some role there).
    pub async fn login(&self, login: &PasswordLogin) -> Result<IssuedToken> {
        let domain =
            match (&login.domain_id, &login.domain_name, &login.user_id) {
                (Some(id), _, _) => self.store.get_domain(id).await,
                (None, Some(name), _) => self.store.find_domain_by_name(name).await,
                (None, None, Some(uid)) => match self.store.get_user(uid).await {
                    Ok(u) => self.store.get_domain(&u.domain_id).await,
                    Err(e) => Err(e),
                },
                _ => return Err(Error::Invalid(
                    "auth.identity.password.user.domain: required when the user is given by name"
                        .into(),
                )),
            };
        let domain = match domain {
            Ok(d) => d,
            Err(StoreError::NotFound) => {
                // As slow as a real check, so the time does not tell which domains exist.
                self.auth.refuse_login(&login.password).await;
                return Err(Error::Unauthorized);
            }
            Err(e) => return Err(e.into()),
        };
        let user = self
            .auth
            .password_login(
                &domain.id,
                login.user_name.as_deref(),
                login.user_id.as_deref(),
                &login.password,
            )
            .await
            .map_err(|e| match e {
                LoginError::Unauthorized => Error::Unauthorized,
                LoginError::Store(e) => e.into(),
            })?;
        let subject = self.auth.subject(&user).await?;
        let project_id = match &login.scope {
            TokenScope::Project { id, name } => {
                let project = match (id, name) {
                    (Some(id), _) => self.store.get_project(id).await,
                    (None, Some(name)) => self
                        .store
                        .list_projects(&ProjectFilter {
                            name: Some(name.clone()),
                            domain_id: Some(domain.id.clone()),
                            enabled: None,
                        })
                        .await
                        .and_then(|v| v.into_iter().next().ok_or(StoreError::NotFound)),
                    (None, None) => {
                        return Err(Error::Invalid(
                            "auth.scope.project: give `id` or `name`".into(),
                        ))
                    }
                };
                let project = match project {
                    Ok(p) => p,
                    Err(StoreError::NotFound) => return Err(Error::Unauthorized),
                    Err(e) => return Err(e.into()),
                };
                if !subject.may_use_project(&project.id, &project.domain_id) {
                    return Err(Error::Unauthorized);
                }
                Some(project.id)
            }
            TokenScope::Domain { id, name } => {
                let matches = id.as_deref().is_none_or(|id| id == domain.id)
                    && name.as_deref().is_none_or(|n| n == domain.name);
                if !matches {
                    return Err(Error::Unauthorized);
                }
                None
            }
            TokenScope::Unscoped => None,
        };
        let (token, record) = self.auth.issue_token(&user, project_id).await?;
        Ok(IssuedToken {
            token,
            record,
            subject,
        })
    }

    /// The project a token is scoped to, and the roles (id, name) it carries there, sorted.
    pub async fn token_scope(
        &self,
        subject: &Subject,
        record: &TokenRecord,
    ) -> Result<(Option<Project>, Vec<(String, String)>)> {
        let project = match &record.project_id {
            Some(pid) => Some(self.store.get_project(pid).await?),
            None => None,
        };
        let role_ids: std::collections::HashMap<String, String> = self
            .store
            .list_roles()
            .await?
            .into_iter()
            .map(|r| (r.name, r.id))
            .collect();
        let mut roles: Vec<(String, String)> = subject
            .grants
            .iter()
            .filter(|g| match (&g.scope, &record.project_id) {
                (Scope::Domain(_), _) => true,
                (Scope::Project(p), Some(scope)) => p == scope,
                (Scope::Project(_), None) => false,
            })
            .map(|g| {
                (
                    role_ids.get(&g.role).cloned().unwrap_or_default(),
                    g.role.clone(),
                )
            })
            .collect();
        roles.sort_by(|a, b| a.1.cmp(&b.1));
        roles.dedup_by(|a, b| a.1 == b.1);
        Ok((project, roles))
    }

    /// A token's record and user; `None` when it is not a live token.
    pub async fn validate_token(&self, token: &str) -> Option<(TokenRecord, Arc<Subject>)> {
        let found: Result<_, AuthError> = self.auth.validate_token(token).await;
        found.ok()
    }

    /// Revoke a token.
    pub async fn revoke_token(&self, token: &str) -> Result<()> {
        self.auth.revoke_token(token).await.map_err(store("token"))
    }

    // -- projects and domains ---------------------------------------------------------------

    /// The projects of a domain.
    pub async fn list_projects(
        &self,
        domain_id: &str,
        name: Option<String>,
        enabled: Option<bool>,
    ) -> Result<Vec<Project>> {
        Ok(self
            .store
            .list_projects(&ProjectFilter {
                name,
                domain_id: Some(domain_id.to_string()),
                enabled,
            })
            .await?)
    }

    /// A domain.
    pub async fn domain(&self, id: &str) -> Result<Domain> {
        Ok(self.store.get_domain(id).await?)
    }

    /// Project `id` of domain `domain_id`.
    pub async fn visible_project(&self, domain_id: &str, id: &str) -> Result<Project> {
        match self.store.get_project(id).await {
            Ok(p) if p.domain_id == domain_id => Ok(p),
            Ok(_) | Err(StoreError::NotFound) => {
                Err(Error::NotFound(format!("Could not find project: {id}.")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Create a project in `domain_id` (the caller's), under `parent_id` (default: the
    /// domain). Names are `<region>_<suffix>`, as on Huawei Cloud.
    pub async fn create_project(
        &self,
        caller_domain: &str,
        name: &str,
        domain_id: Option<String>,
        parent_id: Option<String>,
        description: Option<String>,
    ) -> Result<Project> {
        let name = rules::project_name(&self.region, name)?;
        let domain_id = domain_id.unwrap_or_else(|| caller_domain.to_string());
        if domain_id != caller_domain {
            return Err(Error::Forbidden);
        }
        let parent_id = parent_id.unwrap_or_else(|| domain_id.clone());
        if parent_id != domain_id {
            match self.store.get_project(&parent_id).await {
                Ok(parent) if parent.domain_id == domain_id => {}
                Ok(_) | Err(StoreError::NotFound) => {
                    return Err(Error::NotFound(format!(
                        "Could not find project: {parent_id}."
                    )))
                }
                Err(e) => return Err(e.into()),
            }
        }
        let project = Project {
            id: ids::hex32(),
            domain_id,
            name,
            parent_id,
            description: description.unwrap_or_default(),
            enabled: true,
            created_at: time::now_micros(),
        };
        self.store
            .create_project(&project)
            .await
            .map_err(store("project"))?;
        Ok(project)
    }

    // -- users ------------------------------------------------------------------------------

    /// User `id` of domain `domain_id`.
    pub async fn visible_user(&self, domain_id: &str, id: &str) -> Result<User> {
        match self.store.get_user(id).await {
            Ok(u) if u.domain_id == domain_id => Ok(u),
            Ok(_) | Err(StoreError::NotFound) => {
                Err(Error::NotFound(format!("Could not find user: {id}.")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Create a user in the caller's domain.
    pub async fn create_user(&self, caller_domain: &str, u: NewUser) -> Result<User> {
        let name = rules::name("user.name", &u.name)?;
        if u.domain_id != caller_domain {
            return Err(Error::Forbidden);
        }
        let password_hash = match u.password {
            Some(p) => {
                rules::password(&p)?;
                Some(hash(p).await?)
            }
            None => None,
        };
        let user = User {
            id: ids::hex32(),
            domain_id: u.domain_id,
            name,
            password_hash,
            email: u.email.unwrap_or_default(),
            description: u.description.unwrap_or_default(),
            enabled: u.enabled.unwrap_or(true),
            is_owner: false,
            created_at: time::now_micros(),
            tokens_valid_after: 0,
        };
        self.store.create_user(&user).await.map_err(store("user"))?;
        Ok(user)
    }

    /// The users of a domain (by exact name when given).
    pub async fn list_users(&self, domain_id: &str, name: Option<&str>) -> Result<Vec<User>> {
        Ok(self.store.list_users(domain_id, name).await?)
    }

    /// Delete a user with its tokens, keys and memberships (never the domain owner).
    pub async fn delete_user(&self, user: &User) -> Result<()> {
        if user.is_owner {
            return Err(Error::Refused("The domain owner cannot be deleted.".into()));
        }
        self.store
            .delete_user(&user.id)
            .await
            .map_err(store("user"))?;
        self.auth.invalidate();
        Ok(())
    }

    // -- groups and grants ------------------------------------------------------------------

    /// Group `id` of domain `domain_id`.
    pub async fn visible_group(&self, domain_id: &str, id: &str) -> Result<Group> {
        match self.store.get_group(id).await {
            Ok(g) if g.domain_id == domain_id => Ok(g),
            Ok(_) | Err(StoreError::NotFound) => {
                Err(Error::NotFound(format!("Could not find group: {id}.")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Create a group in the caller's domain.
    pub async fn create_group(
        &self,
        caller_domain: &str,
        name: &str,
        domain_id: Option<String>,
        description: Option<String>,
    ) -> Result<Group> {
        let name = rules::name("group.name", name)?;
        let domain_id = domain_id.unwrap_or_else(|| caller_domain.to_string());
        if domain_id != caller_domain {
            return Err(Error::Forbidden);
        }
        let group = Group {
            id: ids::hex32(),
            domain_id,
            name,
            description: description.unwrap_or_default(),
            created_at: time::now_micros(),
        };
        self.store
            .create_group(&group)
            .await
            .map_err(store("group"))?;
        Ok(group)
    }

    /// The groups of a domain (by exact name when given).
    pub async fn list_groups(&self, domain_id: &str, name: Option<&str>) -> Result<Vec<Group>> {
        Ok(self.store.list_groups(domain_id, name).await?)
    }

    /// Add a user to a group (both of the caller's domain).
    pub async fn add_member(&self, group: &Group, user: &User) -> Result<()> {
        self.store.add_group_member(&group.id, &user.id).await?;
        self.auth.invalidate();
        Ok(())
    }

    /// Every role.
    pub async fn list_roles(&self) -> Result<Vec<Role>> {
        Ok(self.store.list_roles().await?)
    }

    /// Role `id`.
    pub async fn role(&self, id: &str) -> Result<Role> {
        self.store
            .get_role(id)
            .await
            .map_err(store(&format!("role: {id}")))
    }

    /// Grant `role` to `group` on `scope`.
    pub async fn grant(&self, group: &Group, role: &Role, scope: Scope) -> Result<()> {
        self.store.grant(&group.id, &role.id, &scope).await?;
        self.auth.invalidate();
        Ok(())
    }

    // -- access keys ------------------------------------------------------------------------

    /// A new access key for `user`; the credential and its secret (shown once).
    pub async fn create_key(
        &self,
        domain_id: &str,
        user: &User,
        description: Option<String>,
    ) -> Result<(Credential, String)> {
        let existing = self
            .store
            .list_credentials(domain_id, Some(&user.id))
            .await?;
        if existing.len() >= MAX_KEYS_PER_USER {
            return Err(Error::Invalid(format!(
                "credential.user_id: the user already has {MAX_KEYS_PER_USER} access keys, the maximum."
            )));
        }
        let description = description.unwrap_or_default();
        if description.chars().count() > 255 {
            return Err(Error::Invalid(
                "credential.description: at most 255 characters.".into(),
            ));
        }
        let secret = ids::secret_key();
        let credential = Credential {
            access: ids::access_key(),
            user_id: user.id.clone(),
            secret_sealed: self.auth.key().seal(secret.as_bytes()),
            status: "active".into(),
            description,
            created_at: time::now_micros(),
        };
        self.store
            .insert_credential(&credential)
            .await
            .map_err(store("credential"))?;
        Ok((credential, secret))
    }

    /// The access keys of a user of the domain.
    pub async fn list_keys(&self, domain_id: &str, user_id: &str) -> Result<Vec<Credential>> {
        Ok(self
            .store
            .list_credentials(domain_id, Some(user_id))
            .await?)
    }

    /// The owner (of the domain `domain_id`) of access key `access`.
    pub async fn key_owner(&self, domain_id: &str, access: &str) -> Result<User> {
        let not_found = || Error::NotFound(format!("Could not find credential: {access}."));
        let credential = match self.store.get_credential(access).await {
            Ok(c) => c,
            Err(StoreError::NotFound) => return Err(not_found()),
            Err(e) => return Err(e.into()),
        };
        match self.store.get_user(&credential.user_id).await {
            Ok(u) if u.domain_id == domain_id => Ok(u),
            Ok(_) | Err(StoreError::NotFound) => Err(not_found()),
            Err(e) => Err(e.into()),
        }
    }

    /// Delete access key `access`.
    pub async fn delete_key(&self, access: &str) -> Result<()> {
        self.store
            .delete_credential(access)
            .await
            .map_err(store("credential"))?;
        self.auth.invalidate();
        Ok(())
    }

    /// The users and access keys of `domain_id` with failed attempts or a lock.
    pub async fn lockouts(
        &self,
        domain_id: &str,
        now: time::Micros,
    ) -> Result<Vec<plugboard_store::lockout::LockoutEntry>, StoreError> {
        self.auth.lockouts(domain_id, now).await
    }

    /// Lift a user's lock (`NotFound`: nothing to lift in this domain).
    pub async fn unlock_user(&self, domain_id: &str, user_id: &str) -> Result<(), StoreError> {
        self.auth.unlock_user(domain_id, user_id).await
    }

    /// Lift an access key's lock (`NotFound`: nothing to lift in this domain).
    pub async fn unlock_access_key(&self, domain_id: &str, access: &str) -> Result<(), StoreError> {
        self.auth.unlock_access_key(domain_id, access).await
    }
}
