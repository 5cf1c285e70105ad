//! Identity rows: domains, projects, users, groups, roles and grants, and the types of tokens
//! and access keys, whose rows are in `identity_tokens.rs` (docs/api-coverage.md → IAM). Only
//! hashes of tokens and sealed secret keys are stored.

use crate::{Result, Store, StoreError};
use plugboard_core::time::{now_micros, Micros};
use sqlx::any::AnyRow;
use sqlx::Row;

/// A domain (account).
#[derive(Debug, Clone, PartialEq)]
pub struct Domain {
    pub id: String,
    pub name: String,
    pub enabled: bool,
}

/// A project inside a domain.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    pub id: String,
    pub domain_id: String,
    pub name: String,
    pub parent_id: String,
    pub description: String,
    pub enabled: bool,
    pub created_at: Micros,
}

/// A user. `password_hash` is the stored credential (`plugboard_core::password`).
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub domain_id: String,
    pub name: String,
    pub password_hash: Option<String>,
    pub email: String,
    pub description: String,
    pub enabled: bool,
    /// The domain owner may do everything in the domain.
    pub is_owner: bool,
    pub created_at: Micros,
    pub tokens_valid_after: Micros,
}

/// A user group.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: String,
    pub domain_id: String,
    pub name: String,
    pub description: String,
    pub created_at: Micros,
}

/// A role: a named policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub kind: String,
    /// The policy, as JSON text.
    pub policy: String,
    pub created_at: Micros,
}

/// Where a grant applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    Project(String),
    Domain(String),
}

impl Scope {
    fn parts(&self) -> (&'static str, &str) {
        match self {
            Scope::Project(id) => ("project", id),
            Scope::Domain(id) => ("domain", id),
        }
    }
}

/// One role a user holds through a group, with its scope and policy.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveGrant {
    pub scope: Scope,
    pub role_name: String,
    pub policy: String,
}

/// A stored token (looked up by the hash of the token string).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    pub user_id: String,
    pub project_id: Option<String>,
    pub methods: String,
    pub issued_at: Micros,
    pub expires_at: Micros,
    pub revoked: bool,
}

/// A permanent access key; the secret stays sealed.
#[derive(Debug, Clone, PartialEq)]
pub struct Credential {
    pub access: String,
    pub user_id: String,
    pub secret_sealed: String,
    pub status: String,
    pub description: String,
    pub created_at: Micros,
}

pub(crate) fn flag(row: &AnyRow, col: &str) -> Result<bool> {
    Ok(row.try_get::<i64, _>(col)? != 0)
}

fn project_from(row: &AnyRow) -> Result<Project> {
    Ok(Project {
        id: row.try_get("id")?,
        domain_id: row.try_get("domain_id")?,
        name: row.try_get("name")?,
        parent_id: row.try_get("parent_id")?,
        description: row.try_get("description")?,
        enabled: flag(row, "enabled")?,
        created_at: row.try_get("created_at")?,
    })
}

fn user_from(row: &AnyRow) -> Result<User> {
    Ok(User {
        id: row.try_get("id")?,
        domain_id: row.try_get("domain_id")?,
        name: row.try_get("name")?,
        password_hash: row.try_get("password_hash")?,
        email: row.try_get("email")?,
        description: row.try_get("description")?,
        enabled: flag(row, "enabled")?,
        is_owner: flag(row, "is_owner")?,
        created_at: row.try_get("created_at")?,
        tokens_valid_after: row.try_get("tokens_valid_after")?,
    })
}

pub(crate) fn group_from(row: &AnyRow) -> Result<Group> {
    Ok(Group {
        id: row.try_get("id")?,
        domain_id: row.try_get("domain_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        created_at: row.try_get("created_at")?,
    })
}

fn role_from(row: &AnyRow) -> Result<Role> {
    Ok(Role {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        description: row.try_get("description")?,
        kind: row.try_get("type")?,
        policy: row.try_get("policy")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) fn credential_from(row: &AnyRow) -> Result<Credential> {
    Ok(Credential {
        access: row.try_get("access")?,
        user_id: row.try_get("user_id")?,
        secret_sealed: row.try_get("secret_sealed")?,
        status: row.try_get("status")?,
        description: row.try_get("description")?,
        created_at: row.try_get("created_at")?,
    })
}

const USER_COLS: &str = "id, domain_id, name, password_hash, email, description, enabled, is_owner, created_at, tokens_valid_after";
const PROJECT_COLS: &str = "id, domain_id, name, parent_id, description, enabled, created_at";

/// Filters for listing projects.
#[derive(Debug, Default, Clone)]
pub struct ProjectFilter {
    pub name: Option<String>,
    pub domain_id: Option<String>,
    pub enabled: Option<bool>,
}

impl Store {
    // ----- domains -----

    /// A domain by id.
    pub async fn get_domain(&self, id: &str) -> Result<Domain> {
        let row = sqlx::query("SELECT id, name, enabled FROM domains WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(Domain {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            enabled: flag(&row, "enabled")?,
        })
    }

    /// A domain by name.
    pub async fn find_domain_by_name(&self, name: &str) -> Result<Domain> {
        let row = sqlx::query("SELECT id FROM domains WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        self.get_domain(&row.try_get::<String, _>("id")?).await
    }

    // ----- projects -----

    /// Create a project (names are unique across the server, as on Huawei Cloud).
    pub async fn create_project(&self, p: &Project) -> Result<()> {
        sqlx::query("INSERT INTO projects (id, domain_id, name, parent_id, description, enabled, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&p.id)
            .bind(&p.domain_id)
            .bind(&p.name)
            .bind(&p.parent_id)
            .bind(&p.description)
            .bind(p.enabled as i64)
            .bind(p.created_at)
            .execute(self.pool())
            .await
            .map_err(|e| StoreError::conflict_on_unique(e, "project name"))?;
        Ok(())
    }

    /// A project by id.
    pub async fn get_project(&self, id: &str) -> Result<Project> {
        let row = sqlx::query(&format!(
            "SELECT {PROJECT_COLS} FROM projects WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        project_from(&row)
    }

    /// Projects matching `filter`, ordered by name.
    pub async fn list_projects(&self, filter: &ProjectFilter) -> Result<Vec<Project>> {
        let rows = sqlx::query(&format!(
            "SELECT {PROJECT_COLS} FROM projects WHERE ($1 = '' OR name = $1) AND ($2 = '' OR domain_id = $2) AND ($3 < 0 OR enabled = $3) ORDER BY name"
        ))
        .bind(filter.name.clone().unwrap_or_default())
        .bind(filter.domain_id.clone().unwrap_or_default())
        .bind(filter.enabled.map(i64::from).unwrap_or(-1))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(project_from).collect()
    }

    // ----- users -----

    /// Create a user.
    pub async fn create_user(&self, u: &User) -> Result<()> {
        sqlx::query(&format!(
            "INSERT INTO users ({USER_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(&u.id)
        .bind(&u.domain_id)
        .bind(&u.name)
        .bind(u.password_hash.clone())
        .bind(&u.email)
        .bind(&u.description)
        .bind(u.enabled as i64)
        .bind(u.is_owner as i64)
        .bind(u.created_at)
        .bind(u.tokens_valid_after)
        .execute(self.pool())
        .await
        .map_err(|e| StoreError::conflict_on_unique(e, "user name"))?;
        Ok(())
    }

    /// A user by id.
    pub async fn get_user(&self, id: &str) -> Result<User> {
        let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        user_from(&row)
    }

    /// A user by domain and name.
    pub async fn find_user_by_name(&self, domain_id: &str, name: &str) -> Result<User> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLS} FROM users WHERE domain_id = $1 AND name = $2"
        ))
        .bind(domain_id)
        .bind(name)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        user_from(&row)
    }

    /// Users of a domain, optionally by name, ordered by name.
    pub async fn list_users(&self, domain_id: &str, name: Option<&str>) -> Result<Vec<User>> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLS} FROM users WHERE domain_id = $1 AND ($2 = '' OR name = $2) ORDER BY name"
        ))
        .bind(domain_id)
        .bind(name.unwrap_or_default())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(user_from).collect()
    }

    /// Change a user's password or enabled flag; either change ends the user's tokens.
    pub async fn update_user_credentials(
        &self,
        id: &str,
        password_hash: Option<&str>,
        enabled: Option<bool>,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE users SET password_hash = COALESCE($2, password_hash), enabled = COALESCE($3, enabled), tokens_valid_after = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(password_hash.map(str::to_string))
        .bind(enabled.map(i64::from))
        .bind(now_micros())
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Delete a user with its memberships, tokens and access keys, in one transaction.
    pub async fn delete_user(&self, id: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for sql in [
            "DELETE FROM tokens WHERE user_id = $1",
            "DELETE FROM credentials WHERE user_id = $1",
            "DELETE FROM group_members WHERE user_id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        let done = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    // ----- groups -----

    /// Create a group.
    pub async fn create_group(&self, g: &Group) -> Result<()> {
        sqlx::query("INSERT INTO groups_ (id, domain_id, name, description, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&g.id)
            .bind(&g.domain_id)
            .bind(&g.name)
            .bind(&g.description)
            .bind(g.created_at)
            .execute(self.pool())
            .await
            .map_err(|e| StoreError::conflict_on_unique(e, "group name"))?;
        Ok(())
    }

    /// A group by id.
    pub async fn get_group(&self, id: &str) -> Result<Group> {
        let row = sqlx::query(
            "SELECT id, domain_id, name, description, created_at FROM groups_ WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        group_from(&row)
    }

    /// Groups of a domain, optionally by name.
    pub async fn list_groups(&self, domain_id: &str, name: Option<&str>) -> Result<Vec<Group>> {
        let rows = sqlx::query("SELECT id, domain_id, name, description, created_at FROM groups_ WHERE domain_id = $1 AND ($2 = '' OR name = $2) ORDER BY name")
            .bind(domain_id)
            .bind(name.unwrap_or_default())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(group_from).collect()
    }

    /// Add a user to a group (idempotent).
    pub async fn add_group_member(&self, group_id: &str, user_id: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(group_id)
        .bind(user_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    // ----- roles and grants -----

    /// Insert a role or update the one with the same name (system roles are kept in step with
    /// the code at every start). Returns the role's id.
    pub async fn upsert_role(&self, r: &Role) -> Result<String> {
        sqlx::query("INSERT INTO roles (id, name, display_name, description, type, policy, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO UPDATE SET display_name = excluded.display_name, description = excluded.description, type = excluded.type, policy = excluded.policy")
            .bind(&r.id)
            .bind(&r.name)
            .bind(&r.display_name)
            .bind(&r.description)
            .bind(&r.kind)
            .bind(&r.policy)
            .bind(r.created_at)
            .execute(self.pool())
            .await?;
        Ok(self.find_role_by_name(&r.name).await?.id)
    }

    /// A role by id.
    pub async fn get_role(&self, id: &str) -> Result<Role> {
        let row = sqlx::query("SELECT id, name, display_name, description, type, policy, created_at FROM roles WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        role_from(&row)
    }

    /// A role by name.
    pub async fn find_role_by_name(&self, name: &str) -> Result<Role> {
        let row = sqlx::query("SELECT id, name, display_name, description, type, policy, created_at FROM roles WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        role_from(&row)
    }

    /// All roles, by name.
    pub async fn list_roles(&self) -> Result<Vec<Role>> {
        let rows = sqlx::query("SELECT id, name, display_name, description, type, policy, created_at FROM roles ORDER BY name")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(role_from).collect()
    }

    /// Grant `role_id` to `group_id` on `scope` (idempotent).
    pub async fn grant(&self, group_id: &str, role_id: &str, scope: &Scope) -> Result<()> {
        let (kind, id) = scope.parts();
        sqlx::query("INSERT INTO grants (group_id, role_id, scope_kind, scope_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
            .bind(group_id)
            .bind(role_id)
            .bind(kind)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Every role the user holds through its groups, with scope and policy.
    pub async fn effective_grants(&self, user_id: &str) -> Result<Vec<EffectiveGrant>> {
        let rows = sqlx::query("SELECT g.scope_kind, g.scope_id, r.name, r.policy FROM group_members m JOIN grants g ON g.group_id = m.group_id JOIN roles r ON r.id = g.role_id WHERE m.user_id = $1 ORDER BY g.scope_kind, g.scope_id, r.name")
            .bind(user_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get(0)?;
                let id: String = row.try_get(1)?;
                Ok(EffectiveGrant {
                    scope: if kind == "domain" {
                        Scope::Domain(id)
                    } else {
                        Scope::Project(id)
                    },
                    role_name: row.try_get(2)?,
                    policy: row.try_get(3)?,
                })
            })
            .collect()
    }
}
