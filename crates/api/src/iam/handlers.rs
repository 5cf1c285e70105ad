//! IAM handlers: each one validates, calls the identity service or the store, and builds the
//! view. Resources of other domains are invisible: they answer exactly like missing ones.

use super::dto::*;
use super::error::IamError;
use crate::common::auth::Caller;
use crate::common::error::json_response;
use crate::common::extract::{JsonBody, PathParams, QueryParams};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use plugboard_auth::identity::Subject;
use plugboard_core::ids::{self, is_hex32};
use plugboard_core::{password, time};
use plugboard_service::identity::rules;
use plugboard_store::identity::{Credential, Group, Project, Role, Scope, TokenRecord, User};
use plugboard_store::StoreError;
use std::collections::HashMap;

type Result<T> = std::result::Result<T, IamError>;

fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    json_response(status, &serde_json::to_value(body).unwrap_or_default())
}

fn links(state: &AppState, path: &str) -> Links {
    Links {
        self_: state.link(path),
        previous: None,
        next: None,
    }
}

fn require_id(kind: &str, id: &str) -> Result<()> {
    if is_hex32(id) {
        Ok(())
    } else {
        Err(IamError::BadRequest(format!(
            "{kind} `{id}` is not a valid id (32 hex characters)."
        )))
    }
}

fn project_view(state: &AppState, p: Project) -> ProjectView {
    ProjectView {
        links: SelfLink {
            self_: state.link(&format!("/v3/projects/{}", p.id)),
        },
        id: p.id,
        name: p.name,
        domain_id: p.domain_id,
        parent_id: p.parent_id,
        enabled: p.enabled,
        is_domain: false,
        description: p.description,
    }
}

fn user_view(state: &AppState, u: User) -> UserView {
    UserView {
        links: SelfLink {
            self_: state.link(&format!("/v3/users/{}", u.id)),
        },
        pwd_status: u.password_hash.is_some(),
        id: u.id,
        name: u.name,
        domain_id: u.domain_id,
        enabled: u.enabled,
        email: u.email,
        description: u.description,
        create_time: time::iam(u.created_at),
        is_domain_owner: u.is_owner,
        access_mode: "default".into(),
        password_expires_at: None,
    }
}

fn group_view(state: &AppState, g: Group) -> GroupView {
    GroupView {
        links: SelfLink {
            self_: state.link(&format!("/v3/groups/{}", g.id)),
        },
        id: g.id,
        name: g.name,
        domain_id: g.domain_id,
        description: g.description,
        create_time: time::millis(g.created_at),
    }
}

fn role_view(state: &AppState, r: Role) -> RoleView {
    RoleView {
        links: SelfLink {
            self_: state.link(&format!("/v3/roles/{}", r.id)),
        },
        policy: serde_json::from_str(&r.policy).unwrap_or_default(),
        created_time: time::millis(r.created_at).to_string(),
        updated_time: time::millis(r.created_at).to_string(),
        id: r.id,
        name: r.name,
        display_name: r.display_name,
        description_cn: r.description.clone(),
        description: r.description,
        domain_id: None,
        kind: r.kind,
        catalog: "BASE".into(),
        flag: "fine_grained".into(),
    }
}

fn check_password(p: &str) -> Result<()> {
    rules::password(p).map_err(|e| IamError::BadRequest(e.0))
}

/// A user or group name, trimmed (blank ones refused).
fn check_name(field: &str, name: &str) -> Result<String> {
    rules::name(field, name).map_err(|e| IamError::BadRequest(e.0))
}

async fn hash(plain: String) -> Result<String> {
    tokio::task::spawn_blocking(move || password::hash_password(&plain))
        .await
        .map_err(|e| IamError::Common(crate::common::error::CommonError::Internal(e.to_string())))?
        .map_err(|e| IamError::Common(crate::common::error::CommonError::Internal(e.to_string())))
}

// ----- tokens -----

async fn token_body(
    state: &AppState,
    subject: &Subject,
    record: &TokenRecord,
    with_catalog: bool,
) -> Result<TokenResponse> {
    let domain = Ref {
        id: subject.domain_id.clone(),
        name: subject.domain_name.clone(),
    };
    let project = match &record.project_id {
        Some(pid) => Some(state.store.get_project(pid).await?),
        None => None,
    };
    let role_ids: HashMap<String, String> = state
        .store
        .list_roles()
        .await?
        .into_iter()
        .map(|r| (r.name, r.id))
        .collect();
    let mut roles: Vec<Ref> = subject
        .grants
        .iter()
        .filter(|g| match (&g.scope, &record.project_id) {
            (Scope::Domain(_), _) => true,
            (Scope::Project(p), Some(scope)) => p == scope,
            (Scope::Project(_), None) => false,
        })
        .map(|g| Ref {
            id: role_ids.get(&g.role).cloned().unwrap_or_default(),
            name: g.role.clone(),
        })
        .collect();
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    roles.dedup_by(|a, b| a.name == b.name);
    Ok(TokenResponse {
        token: Token {
            expires_at: time::iam(record.expires_at),
            issued_at: time::iam(record.issued_at),
            methods: record.methods.split(',').map(str::to_string).collect(),
            catalog: with_catalog.then(|| state.catalog(project.as_ref().map(|p| p.id.as_str()))),
            domain: project.is_none().then(|| domain.clone()),
            project: project.map(|p| TokenProject {
                id: p.id,
                name: p.name,
                domain: domain.clone(),
            }),
            roles,
            user: TokenUser {
                id: subject.user_id.clone(),
                name: subject.user_name.clone(),
                domain,
                password_expires_at: String::new(),
            },
        },
    })
}

fn with_subject_token(mut response: Response, token: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(token) {
        response.headers_mut().insert("x-subject-token", v);
    }
    response
}

/// `POST /v3/auth/tokens` (KeystoneCreateUserTokenByPassword).
pub async fn create_token(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<TokenQuery>,
    JsonBody(req): JsonBody<CreateTokenRequest>,
) -> Result<Response> {
    let identity = req.auth.identity;
    if !identity.methods.iter().any(|m| m == "password") {
        return Err(IamError::BadRequest(
            "auth.identity.methods: only the `password` method is supported.".into(),
        ));
    }
    let user = identity
        .password
        .ok_or_else(|| IamError::BadRequest("auth.identity.password: missing field".into()))?
        .user;
    let domain = match (&user.domain, &user.id) {
        (Some(NameOrId { id: Some(id), .. }), _) => state.store.get_domain(id).await,
        (
            Some(NameOrId {
                name: Some(name), ..
            }),
            _,
        ) => state.store.find_domain_by_name(name).await,
        (_, Some(uid)) => match state.store.get_user(uid).await {
            Ok(u) => state.store.get_domain(&u.domain_id).await,
            Err(e) => Err(e),
        },
        _ => {
            return Err(IamError::BadRequest(
                "auth.identity.password.user.domain: required when the user is given by name"
                    .into(),
            ))
        }
    };
    let domain = match domain {
        Ok(d) => d,
        Err(StoreError::NotFound) => return Err(IamError::Unauthorized),
        Err(e) => return Err(e.into()),
    };
    let user = state
        .identity
        .password_login(
            &domain.id,
            user.name.as_deref(),
            user.id.as_deref(),
            &user.password,
        )
        .await
        .map_err(|e| match e {
            plugboard_auth::identity::LoginError::Unauthorized => IamError::Unauthorized,
            plugboard_auth::identity::LoginError::Store(e) => e.into(),
        })?;
    let subject = state.identity.subject(&user).await?;
    let scope = req.auth.scope.unwrap_or(ScopeBody {
        project: None,
        domain: None,
    });
    let project_id = match (scope.project, scope.domain) {
        (Some(p), _) => {
            let project = match (p.id, p.name) {
                (Some(id), _) => state.store.get_project(&id).await,
                (None, Some(name)) => state
                    .store
                    .list_projects(&plugboard_store::identity::ProjectFilter {
                        name: Some(name),
                        domain_id: Some(domain.id.clone()),
                        enabled: None,
                    })
                    .await
                    .and_then(|v| v.into_iter().next().ok_or(StoreError::NotFound)),
                (None, None) => {
                    return Err(IamError::BadRequest(
                        "auth.scope.project: give `id` or `name`".into(),
                    ))
                }
            };
            let project = match project {
                Ok(p) => p,
                Err(StoreError::NotFound) => return Err(IamError::Unauthorized),
                Err(e) => return Err(e.into()),
            };
            let principal = plugboard_auth::identity::Principal {
                subject: std::sync::Arc::new(subject.clone()),
                method: plugboard_auth::identity::Method::AccessKey(String::new()),
                token_project: None,
                token_expires_at: None,
            };
            if !principal.may_use_project(&project.id, &project.domain_id) {
                return Err(IamError::Unauthorized);
            }
            Some(project.id)
        }
        (None, Some(d)) => {
            let matches = d.id.as_deref().is_none_or(|id| id == domain.id)
                && d.name.as_deref().is_none_or(|n| n == domain.name);
            if !matches {
                return Err(IamError::Unauthorized);
            }
            None
        }
        (None, None) => None,
    };
    let (token, record) = state.identity.issue_token(&user, project_id).await?;
    let nocatalog = query.nocatalog.is_some_and(|v| v != "false");
    let body = token_body(&state, &subject, &record, !nocatalog).await?;
    Ok(with_subject_token(json(StatusCode::CREATED, &body), &token))
}

fn subject_token(headers: &HeaderMap) -> Result<String> {
    headers
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
        .ok_or_else(|| IamError::BadRequest("X-Subject-Token header is required.".into()))
}

/// `GET /v3/auth/tokens` (KeystoneValidateToken).
pub async fn validate_token(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    QueryParams(query): QueryParams<TokenQuery>,
) -> Result<Response> {
    let token = subject_token(&headers)?;
    let (record, subject) = state
        .identity
        .validate_token(&token)
        .await
        .map_err(|_| IamError::NotFound("Could not find token.".into()))?;
    if subject.user_id != caller.user_id() && !caller.allows("iam:tokens:validateToken") {
        return Err(IamError::Forbidden);
    }
    let nocatalog = query.nocatalog.is_some_and(|v| v != "false");
    let body = token_body(&state, &subject, &record, !nocatalog).await?;
    Ok(with_subject_token(json(StatusCode::OK, &body), &token))
}

/// `DELETE /v3/auth/tokens` (KeystoneRevokeToken... revoke the subject token).
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<StatusCode> {
    let token = subject_token(&headers)?;
    let (_, subject) = state
        .identity
        .validate_token(&token)
        .await
        .map_err(|_| IamError::NotFound("Could not find token.".into()))?;
    if subject.user_id != caller.user_id() && !caller.allows("iam:tokens:revokeToken") {
        return Err(IamError::Forbidden);
    }
    state
        .identity
        .revoke_token(&token)
        .await
        .map_err(IamError::store("token"))?;
    Ok(StatusCode::NO_CONTENT)
}

// ----- projects and domains -----

fn page<T>(items: Vec<T>, page: Option<u32>, per_page: Option<u32>) -> Result<Vec<T>> {
    match (page, per_page) {
        (None, None) => Ok(items),
        (page, per_page) => {
            let page = page.unwrap_or(1);
            let per_page = per_page.unwrap_or(5000);
            if page == 0 || !(1..=5000).contains(&per_page) {
                return Err(IamError::BadRequest(
                    "page must be ≥ 1 and per_page 1 to 5000.".into(),
                ));
            }
            Ok(items
                .into_iter()
                .skip(((page - 1) * per_page) as usize)
                .take(per_page as usize)
                .collect())
        }
    }
}

/// `GET /v3/projects` (KeystoneListProjects): the projects of the caller's domain.
pub async fn list_projects(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<ListProjectsQuery>,
) -> Result<Response> {
    if q.domain_id
        .as_deref()
        .is_some_and(|d| d != caller.domain_id())
    {
        return Err(IamError::Forbidden);
    }
    let projects = state
        .store
        .list_projects(&plugboard_store::identity::ProjectFilter {
            name: q.name.clone(),
            domain_id: Some(caller.domain_id().to_string()),
            enabled: q.enabled,
        })
        .await?
        .into_iter()
        .filter(|p| q.parent_id.as_deref().is_none_or(|id| id == p.parent_id))
        .collect();
    let projects = page(projects, q.page, q.per_page)?;
    Ok(json(
        StatusCode::OK,
        &ProjectList {
            links: links(&state, "/v3/projects"),
            projects: projects
                .into_iter()
                .map(|p| project_view(&state, p))
                .collect(),
        },
    ))
}

/// `GET /v3/auth/projects` (KeystoneListAuthProjects): the projects the caller can use.
pub async fn list_auth_projects(State(state): State<AppState>, caller: Caller) -> Result<Response> {
    let projects = state
        .domain_projects(caller.domain_id())
        .await?
        .iter()
        .filter(|p| p.enabled && caller.principal.may_use_project(&p.id, &p.domain_id))
        .map(|p| project_view(&state, p.clone()))
        .collect();
    Ok(json(
        StatusCode::OK,
        &ProjectList {
            links: links(&state, "/v3/auth/projects"),
            projects,
        },
    ))
}

/// `GET /v3/auth/domains` (KeystoneListAuthDomains).
pub async fn list_auth_domains(State(state): State<AppState>, caller: Caller) -> Result<Response> {
    let d = state.store.get_domain(caller.domain_id()).await?;
    Ok(json(
        StatusCode::OK,
        &DomainList {
            domains: vec![DomainView {
                links: SelfLink {
                    self_: state.link(&format!("/v3/domains/{}", d.id)),
                },
                id: d.id,
                name: d.name,
                enabled: d.enabled,
                description: String::new(),
            }],
            links: links(&state, "/v3/auth/domains"),
        },
    ))
}

/// `POST /v3/projects` (KeystoneCreateProject). Names are `<region>_<suffix>`, as on Huawei
/// Cloud.
pub async fn create_project(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<CreateProjectRequest>,
) -> Result<Response> {
    let p = req.project;
    let region = &state.config.region;
    let name = rules::project_name(region, &p.name).map_err(|e| IamError::BadRequest(e.0))?;
    let domain_id = p
        .domain_id
        .unwrap_or_else(|| caller.domain_id().to_string());
    if domain_id != caller.domain_id() {
        return Err(IamError::Forbidden);
    }
    let parent_id = p.parent_id.unwrap_or_else(|| domain_id.clone());
    if parent_id != domain_id {
        match state.store.get_project(&parent_id).await {
            Ok(parent) if parent.domain_id == domain_id => {}
            Ok(_) | Err(StoreError::NotFound) => {
                return Err(IamError::NotFound(format!(
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
        description: p.description.unwrap_or_default(),
        enabled: true,
        created_at: time::now_micros(),
    };
    state
        .store
        .create_project(&project)
        .await
        .map_err(IamError::store("project"))?;
    state.projects_changed();
    Ok(json(
        StatusCode::CREATED,
        &ProjectResponse {
            project: project_view(&state, project),
        },
    ))
}

/// `GET /v3/projects/{project_id}` (KeystoneShowProject).
pub async fn show_project(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(project_id): PathParams<String>,
) -> Result<Response> {
    require_id("project_id", &project_id)?;
    let project = visible_project(&state, &caller, &project_id).await?;
    Ok(json(
        StatusCode::OK,
        &ProjectResponse {
            project: project_view(&state, project),
        },
    ))
}

async fn visible_project(state: &AppState, caller: &Caller, id: &str) -> Result<Project> {
    match state.store.get_project(id).await {
        Ok(p) if p.domain_id == caller.domain_id() => Ok(p),
        Ok(_) | Err(StoreError::NotFound) => {
            Err(IamError::NotFound(format!("Could not find project: {id}.")))
        }
        Err(e) => Err(e.into()),
    }
}

// ----- users -----

async fn visible_user(state: &AppState, caller: &Caller, id: &str) -> Result<User> {
    require_id("user_id", id)?;
    match state.store.get_user(id).await {
        Ok(u) if u.domain_id == caller.domain_id() => Ok(u),
        Ok(_) | Err(StoreError::NotFound) => {
            Err(IamError::NotFound(format!("Could not find user: {id}.")))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /v3.0/OS-USER/users` (CreateUser).
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<CreateUserRequest>,
) -> Result<Response> {
    let u = req.user;
    let name = check_name("user.name", &u.name)?;
    if u.domain_id != caller.domain_id() {
        return Err(IamError::Forbidden);
    }
    let password_hash = match u.password {
        Some(p) => {
            check_password(&p)?;
            Some(hash(p).await?)
        }
        None => None,
    };
    let now = time::now_micros();
    let user = User {
        id: ids::hex32(),
        domain_id: u.domain_id,
        name,
        password_hash,
        email: u.email.unwrap_or_default(),
        description: u.description.unwrap_or_default(),
        enabled: u.enabled.unwrap_or(true),
        is_owner: false,
        created_at: now,
        tokens_valid_after: 0,
    };
    state
        .store
        .create_user(&user)
        .await
        .map_err(IamError::store("user"))?;
    Ok(json(
        StatusCode::CREATED,
        &UserResponse {
            user: user_view(&state, user),
        },
    ))
}

/// `GET /v3/users` (KeystoneListUsers).
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<NameQuery>,
) -> Result<Response> {
    if q.domain_id
        .as_deref()
        .is_some_and(|d| d != caller.domain_id())
    {
        return Err(IamError::Forbidden);
    }
    let users = state
        .store
        .list_users(caller.domain_id(), q.name.as_deref())
        .await?;
    Ok(json(
        StatusCode::OK,
        &UserList {
            links: links(&state, "/v3/users"),
            users: users.into_iter().map(|u| user_view(&state, u)).collect(),
        },
    ))
}

/// `GET /v3/users/{user_id}` (KeystoneShowUser).
pub async fn show_user(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(user_id): PathParams<String>,
) -> Result<Response> {
    let user = visible_user(&state, &caller, &user_id).await?;
    Ok(json(
        StatusCode::OK,
        &UserResponse {
            user: user_view(&state, user),
        },
    ))
}

/// `PUT /v3.0/OS-USER/users/{user_id}` (UpdateUser): password and enabled. Either change
/// ends the user's tokens at once.
pub async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(user_id): PathParams<String>,
    JsonBody(req): JsonBody<UpdateUserRequest>,
) -> Result<Response> {
    let user = visible_user(&state, &caller, &user_id).await?;
    if user.is_owner && req.user.enabled == Some(false) {
        return Err(IamError::Refused(
            "The domain owner cannot be disabled.".into(),
        ));
    }
    let password_hash = match req.user.password {
        Some(p) => {
            check_password(&p)?;
            Some(hash(p).await?)
        }
        None => None,
    };
    state
        .store
        .update_user_credentials(&user.id, password_hash.as_deref(), req.user.enabled)
        .await
        .map_err(IamError::store("user"))?;
    state.identity.invalidate();
    let user = state.store.get_user(&user.id).await?;
    Ok(json(
        StatusCode::OK,
        &UserResponse {
            user: user_view(&state, user),
        },
    ))
}

/// `DELETE /v3/users/{user_id}` (KeystoneDeleteUser): with its tokens, keys and memberships.
pub async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(user_id): PathParams<String>,
) -> Result<StatusCode> {
    let user = visible_user(&state, &caller, &user_id).await?;
    if user.is_owner {
        return Err(IamError::Refused(
            "The domain owner cannot be deleted.".into(),
        ));
    }
    state
        .store
        .delete_user(&user.id)
        .await
        .map_err(IamError::store("user"))?;
    state.identity.invalidate();
    Ok(StatusCode::NO_CONTENT)
}

// ----- groups -----

async fn visible_group(state: &AppState, caller: &Caller, id: &str) -> Result<Group> {
    require_id("group_id", id)?;
    match state.store.get_group(id).await {
        Ok(g) if g.domain_id == caller.domain_id() => Ok(g),
        Ok(_) | Err(StoreError::NotFound) => {
            Err(IamError::NotFound(format!("Could not find group: {id}.")))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /v3/groups` (KeystoneCreateGroup).
pub async fn create_group(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<CreateGroupRequest>,
) -> Result<Response> {
    let g = req.group;
    let name = check_name("group.name", &g.name)?;
    let domain_id = g
        .domain_id
        .unwrap_or_else(|| caller.domain_id().to_string());
    if domain_id != caller.domain_id() {
        return Err(IamError::Forbidden);
    }
    let group = Group {
        id: ids::hex32(),
        domain_id,
        name,
        description: g.description.unwrap_or_default(),
        created_at: time::now_micros(),
    };
    state
        .store
        .create_group(&group)
        .await
        .map_err(IamError::store("group"))?;
    Ok(json(
        StatusCode::CREATED,
        &GroupResponse {
            group: group_view(&state, group),
        },
    ))
}

/// `GET /v3/groups` (KeystoneListGroups).
pub async fn list_groups(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<NameQuery>,
) -> Result<Response> {
    if q.domain_id
        .as_deref()
        .is_some_and(|d| d != caller.domain_id())
    {
        return Err(IamError::Forbidden);
    }
    let groups = state
        .store
        .list_groups(caller.domain_id(), q.name.as_deref())
        .await?;
    Ok(json(
        StatusCode::OK,
        &GroupList {
            links: links(&state, "/v3/groups"),
            groups: groups.into_iter().map(|g| group_view(&state, g)).collect(),
        },
    ))
}

/// `PUT /v3/groups/{group_id}/users/{user_id}` (KeystoneAddUserToGroup).
pub async fn add_user_to_group(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((group_id, user_id)): PathParams<(String, String)>,
) -> Result<StatusCode> {
    let group = visible_group(&state, &caller, &group_id).await?;
    let user = visible_user(&state, &caller, &user_id).await?;
    state.store.add_group_member(&group.id, &user.id).await?;
    state.identity.invalidate();
    Ok(StatusCode::NO_CONTENT)
}

// ----- roles and grants -----

/// `GET /v3/roles` (KeystoneListPermissions).
pub async fn list_roles(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<RoleQuery>,
) -> Result<Response> {
    let roles: Vec<Role> = state
        .store
        .list_roles()
        .await?
        .into_iter()
        .filter(|r| q.name.as_deref().is_none_or(|n| n == r.name))
        .filter(|r| {
            q.display_name
                .as_deref()
                .is_none_or(|n| n == r.display_name)
        })
        .collect();
    let total_number = roles.len();
    let roles = page(roles, q.page, q.per_page)?;
    Ok(json(
        StatusCode::OK,
        &RoleList {
            links: links(&state, "/v3/roles"),
            roles: roles.into_iter().map(|r| role_view(&state, r)).collect(),
            total_number,
        },
    ))
}

async fn existing_role(state: &AppState, id: &str) -> Result<Role> {
    require_id("role_id", id)?;
    state
        .store
        .get_role(id)
        .await
        .map_err(IamError::store(&format!("role: {id}")))
}

/// `PUT /v3/projects/{project_id}/groups/{group_id}/roles/{role_id}`
/// (KeystoneAssociateGroupWithProjectPermission).
pub async fn grant_on_project(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((project_id, group_id, role_id)): PathParams<(String, String, String)>,
) -> Result<StatusCode> {
    require_id("project_id", &project_id)?;
    let project = visible_project(&state, &caller, &project_id).await?;
    let group = visible_group(&state, &caller, &group_id).await?;
    let role = existing_role(&state, &role_id).await?;
    state
        .store
        .grant(&group.id, &role.id, &Scope::Project(project.id))
        .await?;
    state.identity.invalidate();
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /v3/domains/{domain_id}/groups/{group_id}/roles/{role_id}`
/// (KeystoneAssociateGroupWithDomainPermission): the role applies on the whole domain.
pub async fn grant_on_domain(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((domain_id, group_id, role_id)): PathParams<(String, String, String)>,
) -> Result<StatusCode> {
    require_id("domain_id", &domain_id)?;
    if domain_id != caller.domain_id() {
        return Err(IamError::NotFound(format!(
            "Could not find domain: {domain_id}."
        )));
    }
    let group = visible_group(&state, &caller, &group_id).await?;
    let role = existing_role(&state, &role_id).await?;
    state
        .store
        .grant(&group.id, &role.id, &Scope::Domain(domain_id))
        .await?;
    state.identity.invalidate();
    Ok(StatusCode::NO_CONTENT)
}

// ----- access keys -----

/// Users manage their own keys; managing another user's needs `action`.
fn may_manage_keys(caller: &Caller, user_id: &str, action: &str) -> Result<()> {
    if caller.user_id() == user_id || caller.allows(action) {
        Ok(())
    } else {
        Err(IamError::Forbidden)
    }
}

/// How many access keys a user may hold (as on Huawei Cloud).
pub const MAX_KEYS_PER_USER: usize = 2;

/// `POST /v3.0/OS-CREDENTIAL/credentials` (CreatePermanentAccessKey).
pub async fn create_credential(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<CreateCredentialRequest>,
) -> Result<Response> {
    let c = req.credential;
    may_manage_keys(&caller, &c.user_id, "iam:credentials:createCredential")?;
    let user = visible_user(&state, &caller, &c.user_id).await?;
    let existing = state
        .store
        .list_credentials(caller.domain_id(), Some(&user.id))
        .await?;
    if existing.len() >= MAX_KEYS_PER_USER {
        return Err(IamError::BadRequest(format!(
            "credential.user_id: the user already has {MAX_KEYS_PER_USER} access keys, the maximum."
        )));
    }
    let description = c.description.unwrap_or_default();
    if description.chars().count() > 255 {
        return Err(IamError::BadRequest(
            "credential.description: at most 255 characters.".into(),
        ));
    }
    let secret = ids::secret_key();
    let credential = Credential {
        access: ids::access_key(),
        user_id: user.id,
        secret_sealed: state.identity.key().seal(secret.as_bytes()),
        status: "active".into(),
        description,
        created_at: time::now_micros(),
    };
    state
        .store
        .insert_credential(&credential)
        .await
        .map_err(IamError::store("credential"))?;
    Ok(json(
        StatusCode::CREATED,
        &NewCredentialResponse {
            credential: NewCredential {
                access: credential.access,
                secret,
                status: credential.status,
                user_id: credential.user_id,
                create_time: time::iam(credential.created_at),
                description: credential.description,
            },
        },
    ))
}

/// `GET /v3.0/OS-CREDENTIAL/credentials` (ListPermanentAccessKeys).
pub async fn list_credentials(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(q): QueryParams<CredentialQuery>,
) -> Result<Response> {
    let user_id = q.user_id.unwrap_or_else(|| caller.user_id().to_string());
    may_manage_keys(&caller, &user_id, "iam:credentials:listCredentials")?;
    let credentials = state
        .store
        .list_credentials(caller.domain_id(), Some(&user_id))
        .await?
        .into_iter()
        .map(|c| CredentialView {
            access: c.access,
            status: c.status,
            user_id: c.user_id,
            create_time: time::iam(c.created_at),
            description: c.description,
        })
        .collect();
    Ok(json(StatusCode::OK, &CredentialList { credentials }))
}

/// `DELETE /v3.0/OS-CREDENTIAL/credentials/{access_key}` (DeletePermanentAccessKey).
pub async fn delete_credential(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(access): PathParams<String>,
) -> Result<StatusCode> {
    let not_found = || IamError::NotFound(format!("Could not find credential: {access}."));
    let credential = match state.store.get_credential(&access).await {
        Ok(c) => c,
        Err(StoreError::NotFound) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    let owner = match state.store.get_user(&credential.user_id).await {
        Ok(u) if u.domain_id == caller.domain_id() => u,
        Ok(_) | Err(StoreError::NotFound) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    may_manage_keys(&caller, &owner.id, "iam:credentials:deleteCredential")?;
    state
        .store
        .delete_credential(&access)
        .await
        .map_err(IamError::store("credential"))?;
    state.identity.invalidate();
    Ok(StatusCode::NO_CONTENT)
}
