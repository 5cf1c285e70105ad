//! IAM wire types, exactly as Keystone and Huawei IAM name them (docs/api-coverage.md → IAM).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// `{"id"}` or `{"name"}` references in token requests.
#[derive(Debug, Deserialize, Default, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct NameOrId {
    pub id: Option<String>,
    pub name: Option<String>,
}

/// `POST /v3/auth/tokens` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct CreateTokenRequest {
    pub auth: AuthBody,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct AuthBody {
    pub identity: IdentityBody,
    pub scope: Option<ScopeBody>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct IdentityBody {
    pub methods: Vec<String>,
    pub password: Option<PasswordBody>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct PasswordBody {
    pub user: PasswordUser,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct PasswordUser {
    pub id: Option<String>,
    pub name: Option<String>,
    pub password: String,
    pub domain: Option<NameOrId>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct ScopeBody {
    pub project: Option<NameOrId>,
    pub domain: Option<NameOrId>,
}

/// `{"id", "name"}`.
#[derive(Debug, Serialize, Clone, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct Ref {
    pub id: String,
    pub name: String,
}

/// A token's project.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct TokenProject {
    pub id: String,
    pub name: String,
    pub domain: Ref,
}

/// A token's user.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct TokenUser {
    pub id: String,
    pub name: String,
    pub domain: Ref,
    pub password_expires_at: String,
}

/// One catalog endpoint.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct Endpoint {
    pub id: String,
    pub interface: String,
    pub region: String,
    pub region_id: String,
    pub url: String,
}

/// One catalog service.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct CatalogEntry {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub endpoints: Vec<Endpoint>,
}

/// The token body.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct Token {
    pub expires_at: String,
    pub issued_at: String,
    pub methods: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalog: Option<Vec<CatalogEntry>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<Ref>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<TokenProject>,
    pub roles: Vec<Ref>,
    pub user: TokenUser,
}

/// `{"token": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct TokenResponse {
    pub token: Token,
}

/// `{"self"}` links.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct SelfLink {
    #[serde(rename = "self")]
    pub self_: String,
}

/// Collection links.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct Links {
    #[serde(rename = "self")]
    pub self_: String,
    pub previous: Option<String>,
    pub next: Option<String>,
}

/// A project.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct ProjectView {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub parent_id: String,
    pub enabled: bool,
    pub is_domain: bool,
    pub description: String,
    pub links: SelfLink,
}

/// `GET /v3/projects`, `GET /v3/auth/projects`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct ProjectList {
    pub links: Links,
    pub projects: Vec<ProjectView>,
}

/// [`ProjectList`] with views already written as JSON (the same text on the wire).
#[derive(Debug, Serialize)]
pub struct ProjectListOf<'a> {
    pub links: Links,
    pub projects: Vec<&'a serde_json::value::RawValue>,
}

/// `{"project": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct ProjectResponse {
    pub project: ProjectView,
}

/// `GET /v3/projects` query.
#[derive(Debug, Deserialize, Default, IntoParams)]
#[serde(rename_all = "snake_case")]
pub struct ListProjectsQuery {
    pub name: Option<String>,
    pub domain_id: Option<String>,
    pub enabled: Option<bool>,
    pub parent_id: Option<String>,
    /// From 1 (to 2^32 - 1).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 4294967295_u64)]
    pub page: Option<u32>,
    /// From 1 to 5000.
    #[param(minimum = 1, maximum = 5000)]
    pub per_page: Option<u32>,
}

/// `POST /v3/projects` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct CreateProjectRequest {
    pub project: CreateProject,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct CreateProject {
    pub name: String,
    pub domain_id: Option<String>,
    pub parent_id: Option<String>,
    pub description: Option<String>,
}

/// A domain.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct DomainView {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub description: String,
    pub links: SelfLink,
}

/// `GET /v3/auth/domains`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct DomainList {
    pub domains: Vec<DomainView>,
    pub links: Links,
}

/// A user.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct UserView {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub enabled: bool,
    pub email: String,
    pub description: String,
    pub create_time: String,
    pub pwd_status: bool,
    pub is_domain_owner: bool,
    pub access_mode: String,
    pub password_expires_at: Option<String>,
    pub links: SelfLink,
}

/// `{"user": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct UserResponse {
    pub user: UserView,
}

/// `GET /v3/users`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct UserList {
    pub links: Links,
    pub users: Vec<UserView>,
}

/// `GET /v3/users` and `GET /v3/groups` query.
#[derive(Debug, Deserialize, Default, IntoParams)]
#[serde(rename_all = "snake_case")]
pub struct NameQuery {
    pub name: Option<String>,
    pub domain_id: Option<String>,
}

/// `POST /v3.0/OS-USER/users` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct CreateUserRequest {
    pub user: CreateUser,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct CreateUser {
    pub name: String,
    pub domain_id: String,
    pub password: Option<String>,
    pub email: Option<String>,
    pub enabled: Option<bool>,
    pub description: Option<String>,
    pub areacode: Option<String>,
    pub phone: Option<String>,
    pub pwd_status: Option<bool>,
    pub xuser_type: Option<String>,
    pub xuser_id: Option<String>,
    pub access_mode: Option<String>,
}

/// `PUT /v3.0/OS-USER/users/{user_id}` body: plugboard changes `password` and `enabled`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct UpdateUserRequest {
    pub user: UpdateUser,
}

/// UpdateUser's fields plugboard keeps; the vendor's others (`phone`, `areacode`,
/// `access_mode`, `pwd_status`, `xuser_type`, `xuser_id`) are refused by name.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct UpdateUser {
    /// A user name (1–64 letters, digits, spaces, `-`, `_`, `.`), unique in the domain.
    pub name: Option<String>,
    /// At most 255 characters, `name@domain`; empty clears it.
    pub email: Option<String>,
    /// At most 255 characters; empty clears it.
    pub description: Option<String>,
    pub password: Option<String>,
    pub enabled: Option<bool>,
}

/// A region's names by language (the vendor's `zh-cn`, `en-us`).
#[derive(Debug, Serialize, ToSchema)]
pub struct RegionLocales {
    #[serde(rename = "zh-cn")]
    pub zh_cn: String,
    #[serde(rename = "en-us")]
    pub en_us: String,
}

/// A region.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct RegionView {
    pub id: String,
    /// `public`.
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    pub parent_region_id: Option<String>,
    pub locales: RegionLocales,
    pub links: SelfLink,
}

/// `GET /v3/regions`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct RegionList {
    pub links: Links,
    pub regions: Vec<RegionView>,
}

/// `GET /v3/regions/{region_id}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct RegionResponse {
    pub region: RegionView,
}

/// A group.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct GroupView {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub description: String,
    pub create_time: i64,
    pub links: SelfLink,
}

/// `{"group": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct GroupResponse {
    pub group: GroupView,
}

/// `GET /v3/groups`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct GroupList {
    pub links: Links,
    pub groups: Vec<GroupView>,
}

/// `POST /v3/groups` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct CreateGroupRequest {
    pub group: CreateGroup,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct CreateGroup {
    pub name: String,
    pub domain_id: Option<String>,
    pub description: Option<String>,
}

/// A role (system-defined policy).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct RoleView {
    pub id: String,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub description_cn: String,
    pub domain_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub catalog: String,
    pub flag: String,
    pub policy: Value,
    pub links: SelfLink,
    pub created_time: String,
    pub updated_time: String,
}

/// `GET /v3/roles`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct RoleList {
    pub links: Links,
    pub roles: Vec<RoleView>,
    pub total_number: usize,
}

/// `GET /v3/roles` query.
#[derive(Debug, Deserialize, Default, IntoParams)]
#[serde(rename_all = "snake_case")]
pub struct RoleQuery {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub domain_id: Option<String>,
    /// From 1 (to 2^32 - 1).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 4294967295_u64)]
    pub page: Option<u32>,
    /// From 1 to 5000.
    #[param(minimum = 1, maximum = 5000)]
    pub per_page: Option<u32>,
}

/// `POST /v3.0/OS-CREDENTIAL/credentials` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct CreateCredentialRequest {
    pub credential: CreateCredential,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct CreateCredential {
    pub user_id: String,
    pub description: Option<String>,
}

/// A new access key, with its secret (shown only once).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct NewCredential {
    pub access: String,
    pub secret: String,
    pub status: String,
    pub user_id: String,
    pub create_time: String,
    pub description: String,
}

/// `{"credential": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct NewCredentialResponse {
    pub credential: NewCredential,
}

/// A listed access key (no secret).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct CredentialView {
    pub access: String,
    pub status: String,
    pub user_id: String,
    pub create_time: String,
    pub description: String,
}

/// `GET /v3.0/OS-CREDENTIAL/credentials`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub struct CredentialList {
    pub credentials: Vec<CredentialView>,
}

/// `GET /v3.0/OS-CREDENTIAL/credentials` query.
#[derive(Debug, Deserialize, Default, IntoParams)]
#[serde(rename_all = "snake_case")]
pub struct CredentialQuery {
    pub user_id: Option<String>,
}

/// `POST /v3/auth/tokens` query.
#[derive(Debug, Deserialize, Default, IntoParams)]
#[serde(rename_all = "snake_case")]
pub struct TokenQuery {
    pub nocatalog: Option<String>,
}
