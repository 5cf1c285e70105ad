//! The IAM operations: path, method, vendor operation name and IAM action of each.

use super::handlers;
use crate::common::openapi::OpDoc;
use crate::common::ops::{op, Access, Operation};
use crate::routing::{op_route, OpRoute};
use axum::http::StatusCode;

op!(
    Iam,
    CREATE_TOKEN,
    "KeystoneCreateUserTokenByPassword",
    POST,
    "/v3/auth/tokens",
    Access::Public,
    "Create a token with a password"
);
op!(
    Iam,
    VALIDATE_TOKEN,
    "KeystoneValidateToken",
    GET,
    "/v3/auth/tokens",
    Access::Authenticated,
    "Validate the token in X-Subject-Token"
);
op!(
    Iam,
    REVOKE_TOKEN,
    "KeystoneRevokeToken",
    DELETE,
    "/v3/auth/tokens",
    Access::Authenticated,
    "Revoke the token in X-Subject-Token"
);
op!(
    Iam,
    LIST_AUTH_PROJECTS,
    "KeystoneListAuthProjects",
    GET,
    "/v3/auth/projects",
    Access::Authenticated,
    "List the projects the caller can use"
);
op!(
    Iam,
    LIST_AUTH_DOMAINS,
    "KeystoneListAuthDomains",
    GET,
    "/v3/auth/domains",
    Access::Authenticated,
    "List the caller's domain"
);
op!(
    Iam,
    LIST_PROJECTS,
    "KeystoneListProjects",
    GET,
    "/v3/projects",
    Access::Action("iam:projects:listProjects"),
    "List projects"
);
op!(
    Iam,
    CREATE_PROJECT,
    "KeystoneCreateProject",
    POST,
    "/v3/projects",
    Access::Action("iam:projects:createProject"),
    "Create a project"
);
op!(
    Iam,
    SHOW_PROJECT,
    "KeystoneShowProject",
    GET,
    "/v3/projects/{project_id}",
    Access::Action("iam:projects:getProject"),
    "Show a project"
);
op!(
    Iam,
    CREATE_USER,
    "CreateUser",
    POST,
    "/v3.0/OS-USER/users",
    Access::Action("iam:users:createUser"),
    "Create a user"
);
op!(
    Iam,
    UPDATE_USER,
    "UpdateUser",
    PUT,
    "/v3.0/OS-USER/users/{user_id}",
    Access::Action("iam:users:updateUser"),
    "Change a user's password or enabled flag"
);
op!(
    Iam,
    LIST_USERS,
    "KeystoneListUsers",
    GET,
    "/v3/users",
    Access::Action("iam:users:listUsers"),
    "List users"
);
op!(
    Iam,
    LIST_REGIONS,
    "KeystoneListRegions",
    GET,
    "/v3/regions",
    Access::Authenticated,
    "List the regions (the one this server serves)"
);
op!(
    Iam,
    SHOW_REGION,
    "KeystoneShowRegion",
    GET,
    "/v3/regions/{region_id}",
    Access::Authenticated,
    "Show a region"
);
op!(
    Iam,
    LIST_GROUPS_FOR_USER,
    "KeystoneListGroupsForUser",
    GET,
    "/v3/users/{user_id}/groups",
    Access::Authenticated,
    "List a user's groups (own, or iam:users:listGroupsForUser)"
);
op!(
    Iam,
    SHOW_USER,
    "KeystoneShowUser",
    GET,
    "/v3/users/{user_id}",
    Access::Action("iam:users:getUser"),
    "Show a user"
);
op!(
    Iam,
    DELETE_USER,
    "KeystoneDeleteUser",
    DELETE,
    "/v3/users/{user_id}",
    Access::Action("iam:users:deleteUser"),
    "Delete a user"
);
op!(
    Iam,
    CREATE_GROUP,
    "KeystoneCreateGroup",
    POST,
    "/v3/groups",
    Access::Action("iam:groups:createGroup"),
    "Create a group"
);
op!(
    Iam,
    LIST_GROUPS,
    "KeystoneListGroups",
    GET,
    "/v3/groups",
    Access::Action("iam:groups:listGroups"),
    "List groups"
);
op!(
    Iam,
    ADD_USER_TO_GROUP,
    "KeystoneAddUserToGroup",
    PUT,
    "/v3/groups/{group_id}/users/{user_id}",
    Access::Action("iam:groups:addUserToGroup"),
    "Add a user to a group"
);
op!(
    Iam,
    LIST_ROLES,
    "KeystoneListPermissions",
    GET,
    "/v3/roles",
    Access::Action("iam:roles:listRoles"),
    "List roles"
);
op!(
    Iam,
    GRANT_ON_PROJECT,
    "KeystoneAssociateGroupWithProjectPermission",
    PUT,
    "/v3/projects/{project_id}/groups/{group_id}/roles/{role_id}",
    Access::Action("iam:permissions:grantRoleToGroupOnProject"),
    "Grant a role to a group on a project"
);
op!(
    Iam,
    GRANT_ON_DOMAIN,
    "KeystoneAssociateGroupWithDomainPermission",
    PUT,
    "/v3/domains/{domain_id}/groups/{group_id}/roles/{role_id}",
    Access::Action("iam:permissions:grantRoleToGroupOnDomain"),
    "Grant a role to a group on the whole domain"
);
op!(
    Iam,
    CREATE_CREDENTIAL,
    "CreatePermanentAccessKey",
    POST,
    "/v3.0/OS-CREDENTIAL/credentials",
    Access::Authenticated,
    "Create an access key (own, or iam:credentials:createCredential)"
);
op!(
    Iam,
    LIST_CREDENTIALS,
    "ListPermanentAccessKeys",
    GET,
    "/v3.0/OS-CREDENTIAL/credentials",
    Access::Authenticated,
    "List access keys (own, or iam:credentials:listCredentials)"
);
op!(
    Iam,
    DELETE_CREDENTIAL,
    "DeletePermanentAccessKey",
    DELETE,
    "/v3.0/OS-CREDENTIAL/credentials/{access_key}",
    Access::Authenticated,
    "Delete an access key (own, or iam:credentials:deleteCredential)"
);

/// Every IAM route.
pub fn routes() -> Vec<OpRoute> {
    vec![
        op_route(
            &CREATE_TOKEN,
            handlers::keystone_create_user_token_by_password,
        ),
        op_route(&VALIDATE_TOKEN, handlers::keystone_validate_token),
        op_route(&REVOKE_TOKEN, handlers::keystone_revoke_token),
        op_route(&LIST_AUTH_PROJECTS, handlers::keystone_list_auth_projects),
        op_route(&LIST_AUTH_DOMAINS, handlers::keystone_list_auth_domains),
        op_route(&LIST_PROJECTS, handlers::keystone_list_projects),
        op_route(&CREATE_PROJECT, handlers::keystone_create_project),
        op_route(&SHOW_PROJECT, handlers::keystone_show_project),
        op_route(&CREATE_USER, handlers::create_user),
        op_route(&UPDATE_USER, handlers::update_user),
        op_route(&LIST_USERS, handlers::keystone_list_users),
        op_route(&SHOW_USER, handlers::keystone_show_user),
        op_route(&LIST_REGIONS, handlers::keystone_list_regions),
        op_route(&SHOW_REGION, handlers::keystone_show_region),
        op_route(
            &LIST_GROUPS_FOR_USER,
            handlers::keystone_list_groups_for_user,
        ),
        op_route(&DELETE_USER, handlers::keystone_delete_user),
        op_route(&CREATE_GROUP, handlers::keystone_create_group),
        op_route(&LIST_GROUPS, handlers::keystone_list_groups),
        op_route(&ADD_USER_TO_GROUP, handlers::keystone_add_user_to_group),
        op_route(&LIST_ROLES, handlers::keystone_list_permissions),
        op_route(
            &GRANT_ON_PROJECT,
            handlers::keystone_associate_group_with_project_permission,
        ),
        op_route(
            &GRANT_ON_DOMAIN,
            handlers::keystone_associate_group_with_domain_permission,
        ),
        op_route(&CREATE_CREDENTIAL, handlers::create_permanent_access_key),
        op_route(&LIST_CREDENTIALS, handlers::list_permanent_access_keys),
        op_route(&DELETE_CREDENTIAL, handlers::delete_permanent_access_key),
    ]
}

/// What `/openapi.json` says of each IAM operation (`common::openapi`).
pub fn docs() -> Vec<(&'static Operation, OpDoc)> {
    use super::dto::*;
    use StatusCode as S;
    const SUBJECT: &str = "The token to validate or revoke";
    const TOKEN: &str = "The new token (its body says what it is for)";
    vec![
        (
            &CREATE_TOKEN,
            OpDoc::new()
                .query::<TokenQuery>()
                .body::<CreateTokenRequest>()
                .json::<TokenResponse>(S::CREATED)
                .response_header("X-Subject-Token", TOKEN)
                .errors(&[S::UNAUTHORIZED]),
        ),
        (
            &VALIDATE_TOKEN,
            OpDoc::new()
                .header("X-Subject-Token", true, SUBJECT)
                .query::<TokenQuery>()
                .json::<TokenResponse>(S::OK)
                .response_header("X-Subject-Token", SUBJECT)
                .errors(&[S::NOT_FOUND]),
        ),
        (
            &REVOKE_TOKEN,
            OpDoc::new()
                .header("X-Subject-Token", true, SUBJECT)
                .empty(S::NO_CONTENT)
                .errors(&[S::NOT_FOUND, S::CONFLICT]),
        ),
        (&LIST_AUTH_PROJECTS, OpDoc::new().json::<ProjectList>(S::OK)),
        (&LIST_AUTH_DOMAINS, OpDoc::new().json::<DomainList>(S::OK)),
        (
            &LIST_PROJECTS,
            OpDoc::new()
                .query::<ListProjectsQuery>()
                .json::<ProjectList>(S::OK),
        ),
        (
            &CREATE_PROJECT,
            OpDoc::new()
                .body::<CreateProjectRequest>()
                .json::<ProjectResponse>(S::CREATED)
                .errors(&[S::NOT_FOUND, S::CONFLICT]),
        ),
        (
            &SHOW_PROJECT,
            OpDoc::new()
                .json::<ProjectResponse>(S::OK)
                .errors(&[S::NOT_FOUND]),
        ),
        (
            &CREATE_USER,
            OpDoc::new()
                .body::<CreateUserRequest>()
                .json::<UserResponse>(S::CREATED)
                .errors(&[S::NOT_FOUND, S::CONFLICT]),
        ),
        (
            &UPDATE_USER,
            OpDoc::new()
                .body::<UpdateUserRequest>()
                .json::<UserResponse>(S::OK)
                .errors(&[S::FORBIDDEN, S::NOT_FOUND, S::CONFLICT]),
        ),
        (
            &LIST_USERS,
            OpDoc::new().query::<NameQuery>().json::<UserList>(S::OK),
        ),
        (
            &SHOW_USER,
            OpDoc::new()
                .json::<UserResponse>(S::OK)
                .errors(&[S::NOT_FOUND]),
        ),
        (&LIST_REGIONS, OpDoc::new().json::<RegionList>(S::OK)),
        (
            &SHOW_REGION,
            OpDoc::new()
                .json::<RegionResponse>(S::OK)
                .errors(&[S::NOT_FOUND]),
        ),
        (
            &LIST_GROUPS_FOR_USER,
            OpDoc::new()
                .json::<GroupList>(S::OK)
                .errors(&[S::FORBIDDEN, S::NOT_FOUND]),
        ),
        (
            &DELETE_USER,
            OpDoc::new()
                .empty(S::NO_CONTENT)
                .errors(&[S::FORBIDDEN, S::NOT_FOUND, S::CONFLICT]),
        ),
        (
            &CREATE_GROUP,
            OpDoc::new()
                .body::<CreateGroupRequest>()
                .json::<GroupResponse>(S::CREATED)
                .errors(&[S::NOT_FOUND, S::CONFLICT]),
        ),
        (
            &LIST_GROUPS,
            OpDoc::new().query::<NameQuery>().json::<GroupList>(S::OK),
        ),
        (
            &ADD_USER_TO_GROUP,
            OpDoc::new()
                .empty(S::NO_CONTENT)
                .errors(&[S::NOT_FOUND, S::CONFLICT]),
        ),
        (
            &LIST_ROLES,
            OpDoc::new().query::<RoleQuery>().json::<RoleList>(S::OK),
        ),
        (
            &GRANT_ON_PROJECT,
            OpDoc::new()
                .empty(S::NO_CONTENT)
                .errors(&[S::NOT_FOUND, S::CONFLICT]),
        ),
        (
            &GRANT_ON_DOMAIN,
            OpDoc::new()
                .empty(S::NO_CONTENT)
                .errors(&[S::NOT_FOUND, S::CONFLICT]),
        ),
        (
            &CREATE_CREDENTIAL,
            OpDoc::new()
                .body::<CreateCredentialRequest>()
                .json::<NewCredentialResponse>(S::CREATED)
                .errors(&[S::NOT_FOUND, S::CONFLICT]),
        ),
        (
            &LIST_CREDENTIALS,
            OpDoc::new()
                .query::<CredentialQuery>()
                .json::<CredentialList>(S::OK)
                .errors(&[S::NOT_FOUND]),
        ),
        (
            &DELETE_CREDENTIAL,
            OpDoc::new()
                .empty(S::NO_CONTENT)
                .errors(&[S::NOT_FOUND, S::CONFLICT]),
        ),
    ]
}
