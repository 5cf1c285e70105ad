//! The driver registry's rows, shared by every process of a scale-out: one row per driver
//! (its product key, what ZStack's inventory shows, the manifest as last scanned, the soft
//! `deleted` mark) and a registry generation bumped by every change, so each process can tell
//! cheaply that its view is stale and rescan.

use crate::{Result, Store, StoreError};
use plugboard_core::time::Micros;
use sqlx::any::AnyRow;
use sqlx::Row;

/// A driver as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct DriverRow {
    /// The product key.
    pub uuid: String,
    pub name: String,
    pub kind: String,
    pub vendor: String,
    pub version: String,
    pub description: String,
    pub license: String,
    /// A JSON object as text (`{"restart":true}`).
    pub features: String,
    /// The whole manifest as last scanned.
    pub manifest: serde_json::Value,
    /// Soft-deleted: takes no new work.
    pub deleted: bool,
    pub created_at: Micros,
    pub updated_at: Micros,
}

const COLS: &str = "uuid, name, kind, vendor, version, description, license, features, manifest, deleted, created_at, updated_at";

fn driver_from(row: &AnyRow) -> Result<DriverRow> {
    let manifest: String = row.try_get("manifest")?;
    let deleted: i64 = row.try_get("deleted")?;
    Ok(DriverRow {
        uuid: row.try_get("uuid")?,
        name: row.try_get("name")?,
        kind: row.try_get("kind")?,
        vendor: row.try_get("vendor")?,
        version: row.try_get("version")?,
        description: row.try_get("description")?,
        license: row.try_get("license")?,
        features: row.try_get("features")?,
        manifest: serde_json::from_str(&manifest).unwrap_or_default(),
        deleted: deleted != 0,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const BUMP: &str = "UPDATE driver_registry SET generation = generation + 1 WHERE id = 1";

impl Store {
    /// Insert or update drivers as a scan found them, in one transaction. `deleted` and
    /// `created_at` of existing rows stay as they were (a refresh does not undelete).
    pub async fn upsert_drivers(&self, drivers: &[DriverRow]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for d in drivers {
            sqlx::query(&format!(
                "INSERT INTO drivers ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $10) \
                 ON CONFLICT (uuid) DO UPDATE SET name = $2, kind = $3, vendor = $4, version = $5, \
                 description = $6, license = $7, features = $8, manifest = $9, updated_at = $10"
            ))
            .bind(&d.uuid)
            .bind(&d.name)
            .bind(&d.kind)
            .bind(&d.vendor)
            .bind(&d.version)
            .bind(&d.description)
            .bind(&d.license)
            .bind(&d.features)
            .bind(d.manifest.to_string())
            .bind(d.updated_at)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(BUMP).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every driver, by name.
    pub async fn list_drivers(&self) -> Result<Vec<DriverRow>> {
        let rows = sqlx::query(&format!("SELECT {COLS} FROM drivers ORDER BY name, uuid"))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(driver_from).collect()
    }

    /// One driver.
    pub async fn get_driver(&self, uuid: &str) -> Result<DriverRow> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM drivers WHERE uuid = $1"))
            .bind(uuid)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        driver_from(&row)
    }

    /// Mark a driver deleted (or not); `false` when there is no such driver.
    pub async fn set_driver_deleted(&self, uuid: &str, deleted: bool, now: Micros) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("UPDATE drivers SET deleted = $2, updated_at = $3 WHERE uuid = $1")
            .bind(uuid)
            .bind(i64::from(deleted))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(BUMP).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Remove a driver's row; `false` when there was none.
    pub async fn delete_driver(&self, uuid: &str) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query("DELETE FROM drivers WHERE uuid = $1")
            .bind(uuid)
            .execute(&mut *tx)
            .await?;
        sqlx::query(BUMP).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// The registry's generation: changes whenever a driver row does.
    pub async fn drivers_generation(&self) -> Result<i64> {
        Ok(
            sqlx::query("SELECT generation FROM driver_registry WHERE id = 1")
                .fetch_one(self.pool())
                .await?
                .try_get(0)?,
        )
    }

    /// What still uses a driver, as (what, how many) with a count above zero: the add-ons it
    /// runs, the running jobs of those add-ons, and — for the built-in drivers named by
    /// `serves` — the GaussDB instances it installs into (`"gaussdb"`) or the audited
    /// databases it probes (`"dbss"`).
    pub async fn driver_dependents(
        &self,
        uuid: &str,
        serves: Option<&str>,
    ) -> Result<Vec<(&'static str, i64)>> {
        let count = |sql: &'static str, bind: bool| async move {
            let mut q = sqlx::query(sql);
            if bind {
                q = q.bind(uuid);
            }
            let n: i64 = q.fetch_one(self.pool()).await?.try_get(0)?;
            Ok::<i64, StoreError>(n)
        };
        let mut found = vec![
            (
                "add-ons",
                count("SELECT COUNT(*) FROM ss_addons WHERE driver_uuid = $1", true).await?,
            ),
            (
                "running add-on jobs",
                count("SELECT COUNT(*) FROM jobs j JOIN ss_addons a ON j.target = 'servicestage:addon:' || a.id WHERE a.driver_uuid = $1 AND j.ended_at = 0 AND j.status IN ('queued', 'running')", true).await?,
            ),
        ];
        match serves {
            Some("gaussdb") => found.push((
                "GaussDB instances",
                count(
                    "SELECT COUNT(*) FROM gaussdb_instances WHERE install_mode = 'local'",
                    false,
                )
                .await?,
            )),
            Some("dbss") => found.push((
                "audited databases",
                count("SELECT COUNT(*) FROM dbss_databases", false).await?,
            )),
            _ => {}
        }
        found.retain(|(_, n)| *n > 0);
        Ok(found)
    }
}
