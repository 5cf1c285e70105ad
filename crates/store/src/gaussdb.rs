//! GaussDB rows (docs/api-coverage.md → GaussDB, docs/contract.md → Admin API): the PostgreSQL-compatible
//! instances plugboard manages, the kernel plug-ins installed into them with every file and its
//! SHA-256 (so a repeat install is idempotent and a later version can replace them), plug-in
//! licenses, and the extensions switched on per database.

use crate::page::Where;
use crate::{Result, Store, StoreError};
use plugboard_core::time::Micros;
use sqlx::any::AnyRow;
use sqlx::Row;

/// A managed instance.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussDbInstance {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub host: String,
    pub port: i64,
    pub db_user: String,
    /// The password, sealed with the master key.
    pub password_sealed: String,
    pub database_name: String,
    /// `local` or `simulated`.
    pub install_mode: String,
    pub pg_config: String,
    pub sharedir: String,
    pub pkglibdir: String,
    /// The server's version string (`15.19`).
    pub version: String,
    pub pg_major: i64,
    pub status: String,
    pub created_at: Micros,
    pub updated_at: Micros,
}

/// How instances are filtered when listed.
#[derive(Debug, Clone, Default)]
pub struct InstanceFilter {
    pub id: Option<String>,
    /// Exact name, or a substring when `name_contains` is set.
    pub name: Option<String>,
    pub name_contains: bool,
}

/// A kernel plug-in installed into an instance.
#[derive(Debug, Clone, PartialEq)]
pub struct InstalledPlugin {
    pub instance_id: String,
    pub plugin_name: String,
    pub version: String,
    /// The SHA-256 of the package it came from.
    pub sha256: String,
    /// The extensions the package ships (its control files).
    pub extensions: Vec<String>,
    pub job_id: String,
    pub installed_at: Micros,
}

/// A file an install put in place, with its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginFile {
    pub path: String,
    pub sha256: String,
}

const INSTANCE_COLS: &str = "id, project_id, name, host, port, db_user, password_sealed, database_name, install_mode, pg_config, sharedir, pkglibdir, version, pg_major, status, created_at, updated_at";
const PLUGIN_COLS: &str =
    "instance_id, plugin_name, version, sha256, extensions, job_id, installed_at";

fn instance_from(row: &AnyRow) -> Result<GaussDbInstance> {
    Ok(GaussDbInstance {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        name: row.try_get("name")?,
        host: row.try_get("host")?,
        port: row.try_get("port")?,
        db_user: row.try_get("db_user")?,
        password_sealed: row.try_get("password_sealed")?,
        database_name: row.try_get("database_name")?,
        install_mode: row.try_get("install_mode")?,
        pg_config: row.try_get("pg_config")?,
        sharedir: row.try_get("sharedir")?,
        pkglibdir: row.try_get("pkglibdir")?,
        version: row.try_get("version")?,
        pg_major: row.try_get("pg_major")?,
        status: row.try_get("status")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn plugin_from(row: &AnyRow) -> Result<InstalledPlugin> {
    let extensions: String = row.try_get("extensions")?;
    Ok(InstalledPlugin {
        instance_id: row.try_get("instance_id")?,
        plugin_name: row.try_get("plugin_name")?,
        version: row.try_get("version")?,
        sha256: row.try_get("sha256")?,
        extensions: serde_json::from_str(&extensions).unwrap_or_default(),
        job_id: row.try_get("job_id")?,
        installed_at: row.try_get("installed_at")?,
    })
}

impl Store {
    /// Register an instance; a name already used in the project is a `Conflict`.
    pub async fn create_gaussdb_instance(&self, i: &GaussDbInstance) -> Result<()> {
        sqlx::query(&format!("INSERT INTO gaussdb_instances ({INSTANCE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"))
            .bind(&i.id)
            .bind(&i.project_id)
            .bind(&i.name)
            .bind(&i.host)
            .bind(i.port)
            .bind(&i.db_user)
            .bind(&i.password_sealed)
            .bind(&i.database_name)
            .bind(&i.install_mode)
            .bind(&i.pg_config)
            .bind(&i.sharedir)
            .bind(&i.pkglibdir)
            .bind(&i.version)
            .bind(i.pg_major)
            .bind(&i.status)
            .bind(i.created_at)
            .bind(i.updated_at)
            .execute(self.pool())
            .await
            .map_err(|e| StoreError::conflict_on_unique(e, "instance name"))?;
        Ok(())
    }

    /// An instance of `project_id` (another project's is `NotFound`).
    pub async fn get_gaussdb_instance(
        &self,
        project_id: &str,
        id: &str,
    ) -> Result<GaussDbInstance> {
        let row = sqlx::query(&format!(
            "SELECT {INSTANCE_COLS} FROM gaussdb_instances WHERE id = $1 AND project_id = $2"
        ))
        .bind(id)
        .bind(project_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        instance_from(&row)
    }

    /// An instance by id alone (job runners, which carry the project in the job).
    pub async fn gaussdb_instance(&self, id: &str) -> Result<GaussDbInstance> {
        let row = sqlx::query(&format!(
            "SELECT {INSTANCE_COLS} FROM gaussdb_instances WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        instance_from(&row)
    }

    /// A page of a project's instances (oldest first) and the total that match.
    pub async fn list_gaussdb_instances(
        &self,
        project_id: &str,
        filter: &InstanceFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<GaussDbInstance>, i64)> {
        let mut w = Where::new();
        w.eq("project_id", project_id);
        if let Some(id) = &filter.id {
            w.eq("id", id);
        }
        if let Some(name) = &filter.name {
            if filter.name_contains {
                let escaped = name
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                let pattern = w.mark(format!("%{escaped}%"));
                w.and(format!("name LIKE {pattern} ESCAPE '\\'"));
            } else {
                w.eq("name", name);
            }
        }
        let (rows, total) = self
            .read_page(
                "gaussdb_instances",
                INSTANCE_COLS,
                &w,
                "created_at, id",
                offset,
                limit,
            )
            .await?;
        Ok((
            rows.iter().map(instance_from).collect::<Result<_>>()?,
            total,
        ))
    }

    /// The status of each of `ids` that is an instance of `project_id` (a page of jobs shows
    /// its instances' statuses: read those, not every instance of the project).
    pub async fn gaussdb_instance_statuses(
        &self,
        project_id: &str,
        ids: &[&str],
    ) -> Result<std::collections::HashMap<String, String>> {
        let mut statuses = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(100) {
            let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT id, status FROM gaussdb_instances WHERE project_id = $1 AND id IN ({})",
                marks.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(project_id);
            for id in chunk {
                q = q.bind(*id);
            }
            for row in q.fetch_all(self.pool()).await? {
                statuses.insert(row.try_get(0)?, row.try_get(1)?);
            }
        }
        Ok(statuses)
    }

    /// Delete an instance and everything recorded about it, in one transaction.
    pub async fn delete_gaussdb_instance(&self, project_id: &str, id: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let owned =
            sqlx::query("SELECT id FROM gaussdb_instances WHERE id = $1 AND project_id = $2")
                .bind(id)
                .bind(project_id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
        if !owned {
            return Err(StoreError::NotFound);
        }
        for table in [
            "gaussdb_extensions",
            "gaussdb_plugin_licenses",
            "gaussdb_plugin_files",
            "gaussdb_plugins",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE instance_id = $1"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM gaussdb_instances WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Record a finished install: the plug-in row and the files it put in place, replacing
    /// what an earlier install of the same plug-in recorded. `files: None` records no files and
    /// leaves any recorded ones alone (a `simulated` instance writes none).
    pub async fn record_plugin_install(
        &self,
        plugin: &InstalledPlugin,
        files: Option<&[PluginFile]>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        record_plugin_install_in(&mut tx, plugin, files).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The plug-ins installed into an instance, by name.
    pub async fn list_installed_plugins(&self, instance_id: &str) -> Result<Vec<InstalledPlugin>> {
        let rows = sqlx::query(&format!(
            "SELECT {PLUGIN_COLS} FROM gaussdb_plugins WHERE instance_id = $1 ORDER BY plugin_name"
        ))
        .bind(instance_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(plugin_from).collect()
    }

    /// The files recorded for an instance's plug-in.
    pub async fn list_plugin_files(
        &self,
        instance_id: &str,
        plugin_name: &str,
    ) -> Result<Vec<PluginFile>> {
        let rows = sqlx::query("SELECT path, sha256 FROM gaussdb_plugin_files WHERE instance_id = $1 AND plugin_name = $2 ORDER BY path")
            .bind(instance_id)
            .bind(plugin_name)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(PluginFile {
                    path: r.try_get(0)?,
                    sha256: r.try_get(1)?,
                })
            })
            .collect()
    }

    /// Store (or replace) a plug-in license, sealed by the caller.
    pub async fn set_plugin_license(
        &self,
        instance_id: &str,
        plugin_name: &str,
        license_sealed: &str,
        at: Micros,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "DELETE FROM gaussdb_plugin_licenses WHERE instance_id = $1 AND plugin_name = $2",
        )
        .bind(instance_id)
        .bind(plugin_name)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO gaussdb_plugin_licenses (instance_id, plugin_name, license_sealed, set_at) VALUES ($1, $2, $3, $4)")
            .bind(instance_id)
            .bind(plugin_name)
            .bind(license_sealed)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether a license was set for an instance's plug-in.
    pub async fn has_plugin_license(&self, instance_id: &str, plugin_name: &str) -> Result<bool> {
        Ok(sqlx::query(
            "SELECT 1 FROM gaussdb_plugin_licenses WHERE instance_id = $1 AND plugin_name = $2",
        )
        .bind(instance_id)
        .bind(plugin_name)
        .fetch_optional(self.pool())
        .await?
        .is_some())
    }

    /// The extensions recorded as on in one database of an instance.
    pub async fn list_extensions_on(
        &self,
        instance_id: &str,
        db_name: &str,
    ) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT extension_name FROM gaussdb_extensions WHERE instance_id = $1 AND db_name = $2 ORDER BY extension_name")
            .bind(instance_id)
            .bind(db_name)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// How many databases of an instance have at least one extension on.
    pub async fn count_extension_databases(&self, instance_id: &str) -> Result<i64> {
        Ok(sqlx::query(
            "SELECT COUNT(DISTINCT db_name) FROM gaussdb_extensions WHERE instance_id = $1",
        )
        .bind(instance_id)
        .fetch_one(self.pool())
        .await?
        .try_get(0)?)
    }

    /// Record an extension as on (`on = true`) or off in the listed databases, in one
    /// transaction.
    pub async fn set_extensions(
        &self,
        instance_id: &str,
        plugin_name: &str,
        extension_name: &str,
        databases: &[String],
        on: bool,
        at: Micros,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for db in databases {
            sqlx::query("DELETE FROM gaussdb_extensions WHERE instance_id = $1 AND db_name = $2 AND extension_name = $3")
                .bind(instance_id)
                .bind(db)
                .bind(extension_name)
                .execute(&mut *tx)
                .await?;
            if on {
                sqlx::query("INSERT INTO gaussdb_extensions (instance_id, db_name, extension_name, plugin_name, updated_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(instance_id)
                    .bind(db)
                    .bind(extension_name)
                    .bind(plugin_name)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

/// [`Store::record_plugin_install`] inside the caller's transaction (a job's completion, say).
pub(crate) async fn record_plugin_install_in(
    conn: &mut sqlx::AnyConnection,
    plugin: &InstalledPlugin,
    files: Option<&[PluginFile]>,
) -> Result<()> {
    let upsert_sql = format!(
        "INSERT INTO gaussdb_plugins ({PLUGIN_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (instance_id, plugin_name) DO UPDATE SET version = excluded.version, sha256 = excluded.sha256, extensions = excluded.extensions, job_id = excluded.job_id, installed_at = excluded.installed_at"
    );
    let extensions = serde_json::to_string(&plugin.extensions).unwrap_or_else(|_| "[]".into());
    if let Some(files) = files {
        sqlx::query("DELETE FROM gaussdb_plugin_files WHERE instance_id = $1 AND plugin_name = $2")
            .bind(&plugin.instance_id)
            .bind(&plugin.plugin_name)
            .execute(&mut *conn)
            .await?;
        for f in files {
            // A file another plug-in recorded at the same path now belongs to this one.
            sqlx::query("DELETE FROM gaussdb_plugin_files WHERE instance_id = $1 AND path = $2")
                .bind(&plugin.instance_id)
                .bind(&f.path)
                .execute(&mut *conn)
                .await?;
            sqlx::query("INSERT INTO gaussdb_plugin_files (instance_id, path, plugin_name, sha256) VALUES ($1, $2, $3, $4)")
                .bind(&plugin.instance_id)
                .bind(&f.path)
                .bind(&plugin.plugin_name)
                .bind(&f.sha256)
                .execute(&mut *conn)
                .await?;
        }
    }
    sqlx::query(&upsert_sql)
        .bind(&plugin.instance_id)
        .bind(&plugin.plugin_name)
        .bind(&plugin.version)
        .bind(&plugin.sha256)
        .bind(extensions)
        .bind(&plugin.job_id)
        .bind(plugin.installed_at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Install records one statement writes at most (a power of two).
const RECORDS_CHUNK: usize = 64;

/// The columns of an install record, in the order [`record_plugin_installs_in`] binds them.
const RECORD_COLS: usize = 7;

/// Record several installs that put no files in place (the group commit of their jobs' ends:
/// one statement for up to [`RECORDS_CHUNK`], not one each), as
/// [`record_plugin_install_in`] with `None` would one by one: of two for the same plug-in on
/// the same instance the later wins. Each statement is padded to a power of two with rows
/// that record nothing, so a connection prepares a handful of shapes.
pub(crate) async fn record_plugin_installs_in(
    conn: &mut sqlx::AnyConnection,
    plugins: &[InstalledPlugin],
) -> Result<()> {
    let mut last = std::collections::HashMap::with_capacity(plugins.len());
    for (i, p) in plugins.iter().enumerate() {
        last.insert((p.instance_id.as_str(), p.plugin_name.as_str()), i);
    }
    let rows: Vec<&InstalledPlugin> = plugins
        .iter()
        .enumerate()
        .filter(|(i, p)| last.get(&(p.instance_id.as_str(), p.plugin_name.as_str())) == Some(i))
        .map(|(_, p)| p)
        .collect();
    for chunk in rows.chunks(RECORDS_CHUNK) {
        let n = chunk.len().next_power_of_two();
        let sql = records_sql(n);
        let mut q = sqlx::query(&sql);
        for p in chunk {
            q = q
                .bind(p.instance_id.as_str())
                .bind(p.plugin_name.as_str())
                .bind(p.version.as_str())
                .bind(p.sha256.as_str())
                .bind(serde_json::to_string(&p.extensions).unwrap_or_else(|_| "[]".into()))
                .bind(p.job_id.as_str())
                .bind(p.installed_at);
        }
        // padding: rows with no instance, left out by the statement
        for _ in chunk.len()..n {
            q = q
                .bind("")
                .bind("")
                .bind("")
                .bind("")
                .bind("")
                .bind("")
                .bind(0i64);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The upsert of `rows` install records (see [`record_plugin_installs_in`]).
fn records_sql(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let first = 1 + r * RECORD_COLS;
            let cols: Vec<String> = (first..first + RECORD_COLS)
                .map(|i| format!("${i}"))
                .collect();
            format!("({})", cols.join(", "))
        })
        .collect();
    format!(
        "WITH v(r_instance, r_plugin, r_version, r_sha256, r_extensions, r_job, r_at) AS (VALUES {}) \
         INSERT INTO gaussdb_plugins ({PLUGIN_COLS}) \
         SELECT r_instance, r_plugin, r_version, r_sha256, r_extensions, r_job, r_at FROM v WHERE r_instance <> '' \
         ON CONFLICT (instance_id, plugin_name) DO UPDATE SET version = excluded.version, sha256 = excluded.sha256, \
         extensions = excluded.extensions, job_id = excluded.job_id, installed_at = excluded.installed_at",
        values.join(", ")
    )
}
