//! The options of the SQLite pools: the pool every service reads and writes on, and the one
//! connection audit statements are written on ([`crate::Store::begin_ingest_write`]).

use sqlx::any::AnyPoolOptions;
use sqlx::Executor;

/// How much of the data file the main pool's connections read through a memory map
/// (`PRAGMA mmap_size`; SQLite caps it at its compile-time `SQLITE_MAX_MMAP_SIZE`, 2 GiB in
/// the bundled build). Each connection's own page cache (2 MiB) is emptied whenever another
/// connection has written, which ingest does several times a second, so a read of many rows
/// at random — ListAuditSqls' text lookup checks every candidate statement on its row —
/// fetched every page with `pread`; through the map a page is read where the OS cache holds
/// it (docs/benchmarks.md, DBSS audit, stop 28). The ingest connection keeps `pread`: its
/// writes measured slower with a map (stop 19).
const READ_MMAP_BYTES: i64 = 1 << 40;

/// A SQLite pool's options: WAL, `synchronous = NORMAL`, a 10 s busy timeout on each
/// connection; `read_map`: reads through a memory map ([`READ_MMAP_BYTES`]).
pub(crate) fn sqlite_pool_options(read_map: bool) -> AnyPoolOptions {
    AnyPoolOptions::new().after_connect(move |conn, _| {
        Box::pin(async move {
            conn.execute(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000;",
            )
            .await?;
            if read_map {
                conn.execute(format!("PRAGMA mmap_size = {READ_MMAP_BYTES}").as_str())
                    .await?;
            }
            Ok(())
        })
    })
}
