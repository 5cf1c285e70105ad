//! Test support shared by every crate's tests: a fresh, migrated store on either back-end.
//! PostgreSQL databases are created per test on the server named by
//! `PLUGBOARD_TEST_PG_ADMIN_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`) and
//! dropped by [`TestDb::cleanup`].

use crate::{Backend, Store};

/// The admin URL of the PostgreSQL server used by tests.
pub fn pg_admin_url() -> String {
    std::env::var("PLUGBOARD_TEST_PG_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database made for one test.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    pg_name: Option<String>,
    _dir: Option<std::path::PathBuf>,
}

impl TestDb {
    /// A new empty database on `backend`.
    pub async fn new(backend: Backend) -> Self {
        let suffix = plugboard_core::ids::hex32();
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("pbtest-{suffix}"));
                std::fs::create_dir_all(&dir).expect("temp dir");
                Self {
                    url: format!("sqlite://{}/plugboard.db", dir.display()),
                    backend,
                    pg_name: None,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let admin = pg_admin_url();
                let name = format!("pbtest_{}", &suffix[..16]);
                let conn = Store::connect(&admin)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL for tests at {admin}: {e}"));
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(conn.pool())
                    .await
                    .expect("create test database");
                conn.close().await;
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                Self {
                    url: format!("{base}/{name}"),
                    backend,
                    pg_name: Some(name),
                    _dir: None,
                }
            }
        }
    }

    /// Connect and migrate.
    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url).await.expect("connect");
        store.migrate().await.expect("migrate");
        store
    }

    /// Drop the database (PostgreSQL) or its directory (SQLite).
    pub async fn cleanup(self) {
        if let Some(name) = &self.pg_name {
            if let Ok(conn) = Store::connect(&pg_admin_url()).await {
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(conn.pool())
                    .await
                    .ok();
                conn.close().await;
            }
        }
        if let Some(dir) = &self._dir {
            std::fs::remove_dir_all(dir).ok();
        }
    }
}
