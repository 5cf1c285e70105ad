//! User updates that go beyond credentials (UpdateUser's name, e-mail and description, with its
//! password and enabled flag in one transaction) and the groups a user belongs to; the rest of
//! identity's rows are in `identity.rs`.

use crate::identity::{group_from, Group};
use crate::{Result, Store, StoreError};
use plugboard_core::time::now_micros;

/// What an update changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub name: Option<String>,
    pub email: Option<String>,
    pub description: Option<String>,
    /// A new password's hash.
    pub password_hash: Option<String>,
    pub enabled: Option<bool>,
}

impl UserChange {
    /// Whether the change ends the user's tokens (a new password, or the enabled flag set).
    pub fn ends_tokens(&self) -> bool {
        self.password_hash.is_some() || self.enabled.is_some()
    }
}

impl Store {
    /// Apply `change` to user `id` in one transaction. `NotFound` for no such user;
    /// `Conflict("user name")` when the new name is taken in the domain. A new password or an
    /// `enabled` value ends the tokens issued before it.
    pub async fn update_user(&self, id: &str, change: &UserChange) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE users SET name = COALESCE($2, name), email = COALESCE($3, email), description = COALESCE($4, description), password_hash = COALESCE($5, password_hash), enabled = COALESCE($6, enabled), tokens_valid_after = CASE WHEN $7 = 1 THEN $8 ELSE tokens_valid_after END WHERE id = $1",
        )
        .bind(id)
        .bind(change.name.clone())
        .bind(change.email.clone())
        .bind(change.description.clone())
        .bind(change.password_hash.clone())
        .bind(change.enabled.map(i64::from))
        .bind(i64::from(change.ends_tokens()))
        .bind(now_micros())
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::conflict_on_unique(e, "user name"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    /// The groups user `user_id` belongs to, by name.
    pub async fn groups_of_user(&self, user_id: &str) -> Result<Vec<Group>> {
        let rows = sqlx::query("SELECT g.id, g.domain_id, g.name, g.description, g.created_at FROM groups_ g JOIN group_members m ON m.group_id = g.id WHERE m.user_id = $1 ORDER BY g.name, g.id")
            .bind(user_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(group_from).collect()
    }
}
