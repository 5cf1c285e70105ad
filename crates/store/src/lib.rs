//! The store: every durable row plugboard keeps, behind one `Store` type that runs on the
//! embedded SQLite (default) or on PostgreSQL (scale-out). Both back-ends go through sqlx's
//! `Any` driver with one set of portable SQL (`$n` placeholders, TEXT/BIGINT columns), so the
//! repository code is written once and one conformance suite (`tests/conformance_*.rs`) proves
//! it on both.

pub mod bootstrap;
pub mod console;
pub mod dbss;
pub mod dbss_audit;
pub mod drivers;
pub mod gaussdb;
pub mod gaussdb_submit;
pub mod identity;
pub mod identity_tokens;
pub mod identity_users;
pub mod job_announce;
pub mod job_claims;
pub mod job_ends;
pub mod job_listing;
pub mod job_state;
pub mod jobs;
pub mod lockout;
mod migrations;
pub mod notify;
mod page;
pub mod retry;
pub mod servicestage;
#[cfg(feature = "testing")]
pub mod testing;
pub mod zstack;

use migrations::{migrator, MIGRATIONS};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, Connection, Executor};
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

/// The pool's release check, the second line behind [`Store::begin_write`]: a connection
/// that comes back still inside a transaction (whatever left it there) is closed, which rolls
/// the transaction back, instead of going back to the pool holding locks.
async fn returns_outside_transaction(
    conn: &mut AnyConnection,
    backend: Backend,
) -> Result<bool, sqlx::Error> {
    if backend == Backend::Sqlite {
        // The SQLite worker applies the rollback a dropped `Transaction` queued in order:
        // one round trip behind it, its transaction depth is current.
        conn.ping().await?;
    }
    if conn.is_in_transaction() {
        tracing::warn!("a pooled database connection came back inside a transaction; closing it");
        return Ok(false);
    }
    Ok(true)
}

/// A SQLite pool's options: WAL, `synchronous = NORMAL`, a 10 s busy timeout on each
/// connection.
fn sqlite_pool_options() -> AnyPoolOptions {
    AnyPoolOptions::new().after_connect(|conn, _| {
        Box::pin(async move {
            conn.execute(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000;",
            )
            .await?;
            Ok(())
        })
    })
}

/// The handle every service uses. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    /// SQLite: the one connection audit statements are written on ([`Store::begin_ingest_write`]).
    ingest_pool: Option<AnyPool>,
    backend: Backend,
    /// Transactions run again after a conflict ([`retry`]).
    conflict_retries: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Where a PostgreSQL listener connects ([`Store::listen`]); `None` on SQLite.
    listen_url: Option<notify::ListenUrl>,
    /// Submitted jobs waiting to be announced ([`Store::announce_jobs`]).
    announcer: std::sync::Arc<job_announce::Announcer>,
    /// PostgreSQL: the connections claims run on, which keep one plan per claim shape
    /// ([`job_claims`]); opened at the first claim.
    claim_pool: Option<AnyPool>,
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
                (
                    url,
                    sqlite_pool_options().max_connections(8).min_connections(1),
                )
            }
            Backend::Postgres => {
                // The pool retries a refused connection until its acquire timeout and then
                // says only "pool timed out"; one plain TCP connect first fails in seconds
                // and names the host and port. (A Unix socket directory is left to the pool.)
                use std::str::FromStr;
                let options = sqlx::postgres::PgConnectOptions::from_str(url)?;
                let (host, port) = (options.get_host().to_string(), options.get_port());
                if !host.starts_with('/') {
                    let reach = tokio::time::timeout(
                        Duration::from_secs(3),
                        tokio::net::TcpStream::connect((host.as_str(), port)),
                    )
                    .await;
                    let why = match reach {
                        Ok(Ok(_)) => None,
                        Ok(Err(e)) => Some(e.to_string()),
                        Err(_) => Some("no answer within 3 s".to_string()),
                    };
                    if let Some(why) = why {
                        return Err(StoreError::Db(sqlx::Error::Io(std::io::Error::other(
                            format!("cannot reach PostgreSQL at {host}:{port}: {why}"),
                        ))));
                    }
                }
                (url.to_string(), AnyPoolOptions::new().max_connections(16))
            }
        };
        let pool = options
            .after_release(move |conn, _| Box::pin(returns_outside_transaction(conn, backend)))
            .acquire_timeout(Duration::from_secs(10))
            .connect(&url)
            .await?;
        let ingest_pool = match backend {
            Backend::Sqlite => Some(
                sqlite_pool_options()
                    .max_connections(1)
                    .min_connections(0)
                    .after_release(move |conn, _| {
                        Box::pin(returns_outside_transaction(conn, backend))
                    })
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_lazy(&url)?,
            ),
            Backend::Postgres => None,
        };
        let listen_url = (backend == Backend::Postgres).then(|| notify::ListenUrl::new(&url));
        let claim_pool = match backend {
            Backend::Postgres => Some(job_claims::claim_pool(&url)?),
            Backend::Sqlite => None,
        };
        Ok(Self {
            pool,
            ingest_pool,
            backend,
            conflict_retries: Default::default(),
            listen_url,
            announcer: std::sync::Arc::new(job_announce::Announcer::new()),
            claim_pool,
        })
    }

    /// How many transactions this handle ran again after a serialization failure or a
    /// deadlock ([`retry`]).
    pub fn conflicts_retried(&self) -> u64 {
        self.conflict_retries
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn count_conflict_retry(&self) {
        self.conflict_retries
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Apply pending migrations (safe when several processes start at once).
    pub async fn migrate(&self) -> Result<()> {
        migrator(self.backend).run(&self.pool).await?;
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

    /// Whether the store can take a write now, found within `within`: a write transaction is
    /// begun (on SQLite `BEGIN IMMEDIATE`, which needs the write lock) and rolled back.
    /// `Err` says why not (the write lock is held, the database is read-only, the probe timed
    /// out). The probe runs in a task of its own so a cancelled caller cannot leave it half
    /// done; on SQLite it waits for the lock at most `within` (not the pool's busy timeout).
    pub async fn write_probe(&self, within: Duration) -> Result<(), String> {
        let pool = self.pool.clone();
        let backend = self.backend;
        let busy_ms = within.as_millis().max(1);
        let probe = tokio::spawn(async move {
            let mut conn = pool.acquire().await?;
            match backend {
                Backend::Sqlite => {
                    conn.execute(format!("PRAGMA busy_timeout = {busy_ms}").as_str())
                        .await?;
                    let rolled_back = match conn.begin_with("BEGIN IMMEDIATE").await {
                        Ok(tx) => tx.rollback().await,
                        Err(e) => Err(e),
                    };
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    rolled_back?;
                    Ok(None)
                }
                Backend::Postgres => {
                    let mut tx = conn.begin().await?;
                    let row: AnyRow = sqlx::query("SHOW transaction_read_only")
                        .fetch_one(&mut *tx)
                        .await?;
                    let read_only: String = row.try_get(0)?;
                    tx.rollback().await?;
                    Ok((read_only == "on").then(|| "the database is read-only".to_string()))
                }
            }
        });
        let within = within + Duration::from_millis(500);
        match tokio::time::timeout(within, probe).await {
            Ok(Ok(Ok(None))) => Ok(()),
            Ok(Ok(Ok(Some(why)))) => Err(why),
            Ok(Ok(Err::<_, sqlx::Error>(e))) => Err(e.to_string()),
            Ok(Err(e)) => Err(format!("the write probe ended early: {e}")),
            Err(_) => Err(format!(
                "no write transaction within {} ms",
                within.as_millis()
            )),
        }
    }

    /// The back-end in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Begin a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes fails with
    /// `SQLITE_BUSY` when another writer committed in between, which busy_timeout cannot help.
    ///
    /// Cancellation-safe: the begin runs in a task of its own, so when the caller is dropped
    /// mid-begin (a client hung up) the begin still completes and the `Transaction` it made is
    /// dropped there, which rolls it back. Awaiting `pool.begin_with` directly is not: sqlx's
    /// SQLite driver runs `BEGIN IMMEDIATE`, then awaits once more to check the connection's
    /// state, and a future dropped at that await leaves the pooled connection inside a
    /// transaction nobody can end (the write lock held until restart).
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        self.begin_in_task(match self.backend {
            Backend::Sqlite => Some("BEGIN IMMEDIATE"),
            Backend::Postgres => None,
        })
        .await
    }

    /// Begin a transaction with `begin` (`None`: a plain `BEGIN`) in a task of its own, so a
    /// caller dropped mid-begin cannot leave the pooled connection inside it
    /// ([`Store::begin_write`]).
    pub(crate) async fn begin_in_task(
        &self,
        begin: Option<&'static str>,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Self::begin_on(self.pool.clone(), begin).await
    }

    /// [`Store::begin_write`] for the writes of audit statement ingest (the statements and
    /// their counts, the alarms they raise). On SQLite they go through one connection of their
    /// own: SQLite writes one transaction at a time anyway, and each connection keeps its own
    /// page cache, which a write made on another connection empties — spread over the pool's
    /// connections, every batch began by reading the B-trees' pages again (2–3 µs of CPU a
    /// statement; docs/benchmarks.md, DBSS audit, stop 27).
    pub(crate) async fn begin_ingest_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        match &self.ingest_pool {
            Some(pool) => Self::begin_on(pool.clone(), Some("BEGIN IMMEDIATE")).await,
            None => self.begin_write().await,
        }
    }

    async fn begin_on(
        pool: AnyPool,
        begin: Option<&'static str>,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        let begin = tokio::spawn(async move {
            match begin {
                Some(sql) => pool.begin_with(sql).await,
                None => pool.begin().await,
            }
        });
        match begin.await {
            Ok(tx) => Ok(tx?),
            Err(e) => Err(StoreError::Db(sqlx::Error::Protocol(format!(
                "the task beginning a transaction ended early: {e}"
            )))),
        }
    }

    /// The pool, for crates that keep their own tables.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Close every connection (graceful shutdown).
    pub async fn close(&self) {
        if let Some(pool) = &self.ingest_pool {
            pool.close().await;
        }
        if let Some(claims) = &self.claim_pool {
            claims.close().await;
        }
        self.pool.close().await;
    }
}
