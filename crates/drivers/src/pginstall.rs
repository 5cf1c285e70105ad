//! Putting an unpacked package into a PostgreSQL installation on this host: `share/…` into the
//! server's `sharedir`, `lib/…` into its `pkglibdir` (as `pg_config` reports them). Every
//! target is checked before anything is written (no links or directories in the way); each file
//! is then moved out of staging (a rename where staging shares the file system, else a copy)
//! to a temporary file in its target directory, flushed, and renamed into place, so the server
//! never sees half a file; a file already there with the same SHA-256 is left alone, so a
//! repeat install writes nothing. Staging is consumed by the install.

use crate::package::Package;
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Where a server's files go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgLayout {
    pub sharedir: PathBuf,
    pub pkglibdir: PathBuf,
}

/// A file in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledFile {
    /// Absolute target path.
    pub path: PathBuf,
    pub sha256: String,
    /// Whether this install wrote it (false: it was already identical).
    pub replaced: bool,
}

/// Why an install did not happen.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("cannot run {path}: {detail}")]
    PgConfig { path: String, detail: String },
    #[error("cannot install {path}: {reason}")]
    Target { path: String, reason: String },
    #[error("cannot install {path}: {detail}")]
    Io { path: String, detail: String },
}

/// Ask `pg_config` where the server keeps extension and library files.
pub async fn layout_from_pg_config(pg_config: &Path) -> Result<PgLayout, InstallError> {
    let ask = |flag: &'static str| async move {
        let out = tokio::process::Command::new(pg_config)
            .arg(flag)
            .output()
            .await
            .map_err(|e| InstallError::PgConfig {
                path: pg_config.display().to_string(),
                detail: e.to_string(),
            })?;
        if !out.status.success() {
            return Err(InstallError::PgConfig {
                path: pg_config.display().to_string(),
                detail: format!(
                    "{flag} exited with {}: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            });
        }
        Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    };
    Ok(PgLayout {
        sharedir: ask("--sharedir").await?,
        pkglibdir: ask("--pkglibdir").await?,
    })
}

/// SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut f = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Where a package file goes.
fn target_of(rel: &Path, layout: &PgLayout) -> Option<(PathBuf, PathBuf)> {
    let mut parts = rel.components();
    let root = match parts.next()?.as_os_str().to_str()? {
        "share" => &layout.sharedir,
        "lib" => &layout.pkglibdir,
        _ => return None,
    };
    Some((root.clone(), root.join(parts.as_path())))
}

/// Nothing between `root` and `target` may be a link, and `target` must be absent or a file.
fn check_target(root: &Path, target: &Path) -> Result<(), InstallError> {
    let refuse = |reason: String| InstallError::Target {
        path: target.display().to_string(),
        reason,
    };
    let Ok(below) = target.strip_prefix(root) else {
        return Err(refuse("it is outside the server's directories".into()));
    };
    let mut at = root.to_path_buf();
    let parts: Vec<_> = below.components().collect();
    for (i, part) in parts.iter().enumerate() {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(refuse(format!("{} is a symbolic link", at.display())))
            }
            Ok(m) if i + 1 < parts.len() && !m.is_dir() => {
                return Err(refuse(format!("{} is not a directory", at.display())))
            }
            Ok(m) if i + 1 == parts.len() && !m.is_file() => {
                return Err(refuse("something other than a file is in the way".into()))
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(refuse(e.to_string())),
        }
    }
    Ok(())
}

/// Install the unpacked `pkg` (files under `staging`) into `layout`.
pub fn install_files(
    pkg: &Package,
    staging: &Path,
    layout: &PgLayout,
) -> Result<Vec<InstalledFile>, InstallError> {
    let mut plan = Vec::with_capacity(pkg.files.len());
    for f in &pkg.files {
        let (root, target) = target_of(&f.rel, layout).ok_or_else(|| InstallError::Target {
            path: f.rel.display().to_string(),
            reason: "it is outside share/ and lib/".into(),
        })?;
        check_target(&root, &target)?;
        let same = target.is_file() && sha256_file(&target).map(|h| h == f.sha256).unwrap_or(false);
        plan.push((f, target, same));
    }
    let mut installed = Vec::with_capacity(plan.len());
    for (f, target, same) in plan {
        if !same {
            write_atomically(&staging.join(&f.rel), &target)?;
        }
        installed.push(InstalledFile {
            path: target,
            sha256: f.sha256.clone(),
            replaced: !same,
        });
    }
    Ok(installed)
}

/// Move `from` (a staging file; same file system: a rename, else a copy) to a temporary file
/// beside `to`, flush it to disk, then rename it over `to`.
fn write_atomically(from: &Path, to: &Path) -> Result<(), InstallError> {
    let io = |e: io::Error| InstallError::Io {
        path: to.display().to_string(),
        detail: e.to_string(),
    };
    let dir = to.parent().ok_or_else(|| InstallError::Target {
        path: to.display().to_string(),
        reason: "it has no parent directory".into(),
    })?;
    fs::create_dir_all(dir).map_err(io)?;
    let name = to
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.plugboard-{}",
        plugboard_core::ids::hex32()
    ));
    let result = fs::rename(from, &tmp)
        .or_else(|_| fs::copy(from, &tmp).map(|_| ()))
        .and_then(|_| {
            File::open(&tmp)?.sync_all()?;
            fs::rename(&tmp, to)
        });
    if let Err(e) = result {
        fs::remove_file(&tmp).ok();
        return Err(io(e));
    }
    Ok(())
}

/// Remove installed files (tests and clean-up tools); missing ones are fine.
pub fn remove_files(files: &[PathBuf]) {
    for f in files {
        fs::remove_file(f).ok();
    }
}
