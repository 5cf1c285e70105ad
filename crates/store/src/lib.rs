//! The store: every durable row plugboard keeps, behind one `Store` type that runs on the
//! embedded SQLite (default) or on PostgreSQL (scale-out). Both back-ends go through sqlx's
//! `Any` driver with one set of portable SQL (`$n` placeholders, TEXT/BIGINT columns), so the
//! repository code is written once and one conformance suite (`tests/conformance.rs`) proves it
//! on both.

pub mod bootstrap;
pub mod dbss;
pub mod gaussdb;
pub mod identity;
pub mod jobs;
pub mod testing;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor};
use std::borrow::Cow;
use std::time::Duration;

pub use sqlx::Row;

/// Which database the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A store operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such row.
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken (`what` names it).
    #[error("already exists: {0}")]
    Conflict(String),
    /// The database failed or is unreachable.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Map a unique-constraint violation to [`StoreError::Conflict`].
    pub(crate) fn conflict_on_unique(e: sqlx::Error, what: &str) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Conflict(what.into()),
            _ => Self::Db(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The migrations, embedded in the binary. Portable SQL: one set for both back-ends.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "identity",
        include_str!("../migrations/0001_identity.sql"),
    ),
    (2, "dbss", include_str!("../migrations/0002_dbss.sql")),
    (3, "jobs", include_str!("../migrations/0003_jobs.sql")),
    (4, "gaussdb", include_str!("../migrations/0004_gaussdb.sql")),
    (
        5,
        "dbss switch generation",
        include_str!("../migrations/0005_dbss_switch_generation.sql"),
    ),
    (
        6,
        "jobs claim index",
        include_str!("../migrations/0006_jobs_claim_index.sql"),
    ),
    (
        7,
        "jobs neutral states",
        include_str!("../migrations/0007_jobs_neutral_states.sql"),
    ),
];

fn migrator() -> Migrator {
    Migrator {
        migrations: Cow::Owned(
            MIGRATIONS
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect(),
        ),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    }
}

/// The handle every service uses. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connect to `url` (`sqlite://path` or `postgres://...`). SQLite files are created when
    /// missing and run in WAL mode.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let (url, options) = match backend {
            Backend::Sqlite => {
                let url = if url.contains('?') {
                    url.to_string()
                } else {
                    format!("{url}?mode=rwc")
                };
                let options = AnyPoolOptions::new()
                    .max_connections(8)
                    .min_connections(1)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000;",
                            )
                            .await?;
                            Ok(())
                        })
                    });
                (url, options)
            }
            Backend::Postgres => (url.to_string(), AnyPoolOptions::new().max_connections(16)),
        };
        let pool = options
            .acquire_timeout(Duration::from_secs(10))
            .connect(&url)
            .await?;
        Ok(Self { pool, backend })
    }

    /// Apply pending migrations (safe when several processes start at once).
    pub async fn migrate(&self) -> Result<()> {
        migrator().run(&self.pool).await?;
        Ok(())
    }

    /// Whether the store answers and every migration is applied.
    pub async fn ready(&self) -> Result<bool> {
        let row: AnyRow = sqlx::query("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.pool)
            .await?;
        let applied: i64 = row.try_get(0)?;
        Ok(applied >= MIGRATIONS.len() as i64)
    }

    /// The back-end in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Begin a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes fails with
    /// `SQLITE_BUSY` when another writer committed in between, which busy_timeout cannot help.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// The pool, for crates that keep their own tables.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Close every connection (graceful shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
