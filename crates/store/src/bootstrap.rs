//! First-start bootstrap (docs/contract.md → Bootstrap): the domain, its owner `admin`, the
//! region's project, group `admin` holding `te_admin` on the domain and one access key — all in
//! one transaction guarded by a `meta` row, so exactly one process bootstraps even when several
//! start at once on one PostgreSQL database.

use crate::identity::{Credential, Domain, Group, Project, User};
use crate::{Result, Store, StoreError};
use sqlx::Row;

/// Everything the bootstrap writes, prepared (ids, hashes, sealed secrets) by the caller.
#[derive(Debug, Clone)]
pub struct BootstrapSeed {
    pub domain: Domain,
    pub admin: User,
    pub project: Project,
    pub group: Group,
    pub credential: Credential,
    /// Name of the role granted to the group on the domain (`te_admin`).
    pub admin_role: String,
    pub created_at: i64,
}

const MARK: &str = "bootstrapped";

impl Store {
    /// Whether this store has been bootstrapped.
    pub async fn is_bootstrapped(&self) -> Result<bool> {
        Ok(sqlx::query("SELECT value FROM meta WHERE key = $1")
            .bind(MARK)
            .fetch_optional(self.pool())
            .await?
            .is_some())
    }

    /// Write `seed` if and only if no process has bootstrapped this store yet. Returns whether
    /// this call did it.
    pub async fn bootstrap_once(&self, seed: &BootstrapSeed) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let claimed =
            sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(MARK)
                .bind(&seed.domain.id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if claimed == 0 {
            return Ok(false);
        }
        let role_id: String = sqlx::query("SELECT id FROM roles WHERE name = $1")
            .bind(&seed.admin_role)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?
            .try_get(0)?;
        let t = seed.created_at;
        sqlx::query("INSERT INTO domains (id, name, enabled, created_at) VALUES ($1, $2, 1, $3)")
            .bind(&seed.domain.id)
            .bind(&seed.domain.name)
            .bind(t)
            .execute(&mut *tx)
            .await?;
        let u = &seed.admin;
        sqlx::query("INSERT INTO users (id, domain_id, name, password_hash, email, description, enabled, is_owner, created_at, tokens_valid_after) VALUES ($1, $2, $3, $4, '', 'domain owner', 1, 1, $5, 0)")
            .bind(&u.id)
            .bind(&u.domain_id)
            .bind(&u.name)
            .bind(u.password_hash.clone())
            .bind(t)
            .execute(&mut *tx)
            .await?;
        let p = &seed.project;
        sqlx::query("INSERT INTO projects (id, domain_id, name, parent_id, description, enabled, created_at) VALUES ($1, $2, $3, $4, $5, 1, $6)")
            .bind(&p.id)
            .bind(&p.domain_id)
            .bind(&p.name)
            .bind(&p.parent_id)
            .bind(&p.description)
            .bind(t)
            .execute(&mut *tx)
            .await?;
        let g = &seed.group;
        sqlx::query("INSERT INTO groups_ (id, domain_id, name, description, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&g.id)
            .bind(&g.domain_id)
            .bind(&g.name)
            .bind(&g.description)
            .bind(t)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)")
            .bind(&g.id)
            .bind(&u.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO grants (group_id, role_id, scope_kind, scope_id) VALUES ($1, $2, 'domain', $3)")
            .bind(&g.id)
            .bind(&role_id)
            .bind(&seed.domain.id)
            .execute(&mut *tx)
            .await?;
        let c = &seed.credential;
        sqlx::query("INSERT INTO credentials (access, user_id, secret_sealed, status, description, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&c.access)
            .bind(&c.user_id)
            .bind(&c.secret_sealed)
            .bind(&c.status)
            .bind(&c.description)
            .bind(t)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}
