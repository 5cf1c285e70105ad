//! The data directory's lock: one `plugboard serve` per data directory. `<data-dir>/lock` is
//! locked exclusively (an advisory OS file lock, released by the kernel when the process ends,
//! however it ends) before anything else in the directory is read or written, and holds the
//! owner's pid for the message a second process prints when it refuses to start. Also the
//! `listen-addr` file, which tools and tests poll for the address bound.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "lock";

/// The held lock; dropping it (or the process ending) releases it. The file stays.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// Why the data directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error(
        "data directory {dir} is in use by another plugboard process (pid {pid}, see {lock}); \
         stop it first, or give this one another --data-dir"
    )]
    Held {
        dir: String,
        lock: String,
        pid: String,
    },
    /// The directory or the lock file cannot be made or opened.
    #[error("cannot lock data directory {dir}: {detail}")]
    Io { dir: String, detail: String },
}

/// Create the data directory if needed and lock it, writing this process's pid.
pub fn lock(dir: &Path) -> Result<DataDirLock, LockError> {
    let io = |e: std::io::Error| LockError::Io {
        dir: dir.display().to_string(),
        detail: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let path: PathBuf = dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            file.read_to_string(&mut text).ok();
            let pid = match text.trim() {
                "" => "unknown".to_string(),
                pid => pid.to_string(),
            };
            return Err(LockError::Held {
                dir: dir.display().to_string(),
                lock: path.display().to_string(),
                pid,
            });
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    file.set_len(0).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    writeln!(file, "{}", std::process::id()).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(DataDirLock { _file: file })
}

/// The file holding the address the server bound (`--listen 127.0.0.1:0` picks a port).
pub const LISTEN_ADDR_FILE: &str = "listen-addr";

/// Write `addr` to `<dir>/listen-addr` atomically: into a file of its own, renamed over the old
/// one, so a reader polling for the file never finds it empty or half written.
pub fn publish_listen_addr(dir: &Path, addr: &str) -> std::io::Result<()> {
    let tmp = dir.join(format!("{LISTEN_ADDR_FILE}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, format!("{addr}\n"))?;
    std::fs::rename(&tmp, dir.join(LISTEN_ADDR_FILE)).inspect_err(|_| {
        std::fs::remove_file(&tmp).ok();
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_listen_address_replaces_the_old_one_whole() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LISTEN_ADDR_FILE), "127.0.0.1:1\n").unwrap();
        publish_listen_addr(dir.path(), "127.0.0.1:43210").unwrap();
        let text = std::fs::read_to_string(dir.path().join(LISTEN_ADDR_FILE)).unwrap();
        assert_eq!(text, "127.0.0.1:43210\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [LISTEN_ADDR_FILE], "no temporary file left");
    }

    #[test]
    fn a_second_lock_on_the_same_directory_is_refused_with_the_pid() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let held = lock(&data).unwrap();
        let text = std::fs::read_to_string(data.join(LOCK_FILE)).unwrap();
        assert_eq!(text, format!("{}\n", std::process::id()));
        let err = lock(&data).unwrap_err();
        assert!(
            matches!(&err, LockError::Held { pid, .. } if *pid == std::process::id().to_string()),
            "{err}"
        );
        drop(held);
        lock(&data).expect("free again once dropped");
    }
}
