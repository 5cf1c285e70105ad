//! Token and access-key rows (docs/api-coverage.md → IAM): tokens stored under the hash of
//! their string, revoked and pruned; access keys with their secret sealed, listed and deleted.
//! The rows' types are in `identity.rs`.

use crate::identity::{credential_from, Credential, TokenRecord};
use crate::{Result, Store, StoreError};
use plugboard_core::time::Micros;
use sqlx::Row;

impl Store {
    // ----- tokens -----

    /// Store a token under the hash of its string.
    pub async fn insert_token(&self, hash: &str, t: &TokenRecord) -> Result<()> {
        sqlx::query("INSERT INTO tokens (hash, user_id, project_id, methods, issued_at, expires_at, revoked) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(hash)
            .bind(&t.user_id)
            .bind(t.project_id.clone())
            .bind(&t.methods)
            .bind(t.issued_at)
            .bind(t.expires_at)
            .bind(t.revoked as i64)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// A token by hash.
    pub async fn get_token(&self, hash: &str) -> Result<TokenRecord> {
        let row = sqlx::query("SELECT user_id, project_id, methods, issued_at, expires_at, revoked FROM tokens WHERE hash = $1")
            .bind(hash)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(TokenRecord {
            user_id: row.try_get(0)?,
            project_id: row.try_get(1)?,
            methods: row.try_get(2)?,
            issued_at: row.try_get(3)?,
            expires_at: row.try_get(4)?,
            revoked: row.try_get::<i64, _>(5)? != 0,
        })
    }

    /// Revoke a token.
    pub async fn revoke_token(&self, hash: &str) -> Result<()> {
        let done = sqlx::query("UPDATE tokens SET revoked = 1 WHERE hash = $1")
            .bind(hash)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Remove tokens that expired before `before`; returns how many.
    pub async fn prune_tokens(&self, before: Micros) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM tokens WHERE expires_at < $1")
            .bind(before)
            .execute(self.pool())
            .await?
            .rows_affected())
    }

    // ----- access keys -----

    /// Store an access key.
    pub async fn insert_credential(&self, c: &Credential) -> Result<()> {
        sqlx::query("INSERT INTO credentials (access, user_id, secret_sealed, status, description, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&c.access)
            .bind(&c.user_id)
            .bind(&c.secret_sealed)
            .bind(&c.status)
            .bind(&c.description)
            .bind(c.created_at)
            .execute(self.pool())
            .await
            .map_err(|e| StoreError::conflict_on_unique(e, "access key"))?;
        Ok(())
    }

    /// An access key by its AK.
    pub async fn get_credential(&self, access: &str) -> Result<Credential> {
        let row = sqlx::query("SELECT access, user_id, secret_sealed, status, description, created_at FROM credentials WHERE access = $1")
            .bind(access)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        credential_from(&row)
    }

    /// The oldest access key's sealed secret, if any: what a starting process opens to check
    /// that it has the master key the store's secrets were sealed with.
    pub async fn oldest_sealed_secret(&self) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT secret_sealed FROM credentials ORDER BY created_at, access LIMIT 1",
        )
        .fetch_optional(self.pool())
        .await?;
        Ok(match row {
            Some(r) => Some(r.try_get("secret_sealed")?),
            None => None,
        })
    }

    /// Access keys of a user (or of every user in `domain_id` when `user_id` is `None`).
    pub async fn list_credentials(
        &self,
        domain_id: &str,
        user_id: Option<&str>,
    ) -> Result<Vec<Credential>> {
        let rows = sqlx::query("SELECT c.access, c.user_id, c.secret_sealed, c.status, c.description, c.created_at FROM credentials c JOIN users u ON u.id = c.user_id WHERE u.domain_id = $1 AND ($2 = '' OR c.user_id = $2) ORDER BY c.created_at, c.access")
            .bind(domain_id)
            .bind(user_id.unwrap_or_default())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(credential_from).collect()
    }

    /// Delete an access key.
    pub async fn delete_credential(&self, access: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM credentials WHERE access = $1")
            .bind(access)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
