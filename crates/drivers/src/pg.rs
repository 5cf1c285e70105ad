//! Talking to a managed PostgreSQL-compatible server over its own protocol: its version, the
//! extensions it can install (`pg_available_extensions`), its databases, and `CREATE EXTENSION` /
//! `DROP EXTENSION` in one database. Connections are short-lived (one per call) and never log or
//! report the password.

use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions, Connection, PgConnection, Row};
use std::time::Duration;

/// How long connecting and one statement may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// A server and the credentials plugboard uses on it.
#[derive(Clone)]
pub struct PgTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    /// The database connected to for server-wide questions.
    pub database: String,
}

impl std::fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

/// A failure on the server or on the way to it.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("cannot connect to PostgreSQL at {host}:{port} (database {database}): {detail}")]
    Connect {
        host: String,
        port: u16,
        database: String,
        detail: String,
    },
    #[error("{0}")]
    Query(String),
    #[error("PostgreSQL at {0} did not answer in time")]
    Timeout(String),
}

/// `"name"` with inner quotes doubled.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn query_error(e: sqlx::Error) -> PgError {
    match e {
        sqlx::Error::Database(db) => PgError::Query(db.message().to_string()),
        other => PgError::Query(other.to_string()),
    }
}

impl PgTarget {
    async fn connect(&self, database: &str) -> Result<PgConnection, PgError> {
        let mut options = PgConnectOptions::new()
            .host(&self.host)
            .port(self.port)
            .username(&self.user)
            .database(database)
            .ssl_mode(PgSslMode::Prefer)
            .application_name("plugboard");
        if !self.password.is_empty() {
            options = options.password(&self.password);
        }
        options = options.disable_statement_logging();
        match tokio::time::timeout(TIMEOUT, options.connect()).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(PgError::Connect {
                host: self.host.clone(),
                port: self.port,
                database: database.to_string(),
                detail: match e {
                    sqlx::Error::Database(db) => db.message().to_string(),
                    other => other.to_string(),
                },
            }),
            Err(_) => Err(PgError::Timeout(format!("{}:{}", self.host, self.port))),
        }
    }

    /// Run `f` on a fresh connection to `database` under the timeout, then close it.
    async fn timed<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, PgError> {
        tokio::time::timeout(TIMEOUT, fut)
            .await
            .map_err(|_| PgError::Timeout(format!("{}:{}", self.host, self.port)))?
            .map_err(query_error)
    }

    /// The server's version string (`15.19`) and major version (`15`).
    pub async fn server_version(&self) -> Result<(String, u32), PgError> {
        let mut c = self.connect(&self.database).await?;
        let row = self
            .timed(
                sqlx::query("SELECT current_setting('server_version'), current_setting('server_version_num')::int")
                    .fetch_one(&mut c),
            )
            .await;
        c.close().await.ok();
        let row = row?;
        let text: String = row.try_get(0).map_err(query_error)?;
        let num: i32 = row.try_get(1).map_err(query_error)?;
        let version = text
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        Ok((version, u32::try_from(num / 10_000).unwrap_or(0)))
    }

    /// The default version of `name` if the server can install it.
    pub async fn available_extension(&self, name: &str) -> Result<Option<String>, PgError> {
        let mut c = self.connect(&self.database).await?;
        let row = self
            .timed(
                sqlx::query("SELECT coalesce(default_version, '') FROM pg_available_extensions WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&mut c),
            )
            .await;
        c.close().await.ok();
        row?.map(|r| r.try_get::<String, _>(0))
            .transpose()
            .map_err(query_error)
    }

    /// The databases one can connect to (templates left out).
    pub async fn list_databases(&self) -> Result<Vec<String>, PgError> {
        self.names(
            &self.database,
            "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname",
        )
        .await
    }

    /// The extensions created in `database`.
    pub async fn installed_extensions(&self, database: &str) -> Result<Vec<String>, PgError> {
        self.names(
            database,
            "SELECT extname FROM pg_extension ORDER BY extname",
        )
        .await
    }

    async fn names(&self, database: &str, sql: &'static str) -> Result<Vec<String>, PgError> {
        let mut c = self.connect(database).await?;
        let rows = self.timed(sqlx::query(sql).fetch_all(&mut c)).await;
        c.close().await.ok();
        rows?
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<Result<_, _>>()
            .map_err(query_error)
    }

    async fn execute(&self, database: &str, sql: String) -> Result<(), PgError> {
        let mut c = self.connect(database).await?;
        let done = self.timed(sqlx::query(&sql).execute(&mut c)).await;
        c.close().await.ok();
        done.map(|_| ())
    }

    /// `CREATE EXTENSION IF NOT EXISTS` in `database`.
    pub async fn create_extension(&self, database: &str, name: &str) -> Result<(), PgError> {
        self.execute(
            database,
            format!("CREATE EXTENSION IF NOT EXISTS {}", quote_ident(name)),
        )
        .await
    }

    /// `DROP EXTENSION IF EXISTS` in `database`.
    pub async fn drop_extension(&self, database: &str, name: &str) -> Result<(), PgError> {
        self.execute(
            database,
            format!("DROP EXTENSION IF EXISTS {}", quote_ident(name)),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("postgis"), "\"postgis\"");
        assert_eq!(
            quote_ident("a\"; DROP TABLE x; --"),
            "\"a\"\"; DROP TABLE x; --\""
        );
    }
}
