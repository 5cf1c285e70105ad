//! Plug-in packages (docs/contract.md → Plug-in package format): a gzip-compressed tar laid
//! out like an install tree — `share/…` (extension control and SQL files), `lib/…` (native
//! libraries) and an optional `plugboard-package.toml` manifest. [`unpack`] streams the archive
//! entry by entry into a staging directory and refuses, naming the entry, anything that could
//! write outside it or is not plain data: absolute paths, `..`, symbolic and hard links, devices
//! and other special files, entries outside `share/`, `lib/` and the manifest, duplicates, more
//! files or bytes than the limits, and archives that expand far beyond their size (gzip
//! bombs). Nothing is ever written outside the staging directory.

use flate2::read::GzDecoder;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The manifest's file name.
pub const MANIFEST: &str = "plugboard-package.toml";

/// How much a package may hold.
#[derive(Debug, Clone)]
pub struct PackageLimits {
    /// Bytes of all files together.
    pub max_unpacked_bytes: u64,
    /// Entries (files and directories).
    pub max_files: u64,
    /// Uncompressed bytes per compressed byte beyond which the archive is a bomb...
    pub max_ratio: u64,
    /// ...once more than this many bytes have been uncompressed.
    pub ratio_floor: u64,
}

impl Default for PackageLimits {
    fn default() -> Self {
        Self {
            max_unpacked_bytes: 4 * 1024 * 1024 * 1024,
            max_files: 20_000,
            max_ratio: 100,
            ratio_floor: 64 * 1024 * 1024,
        }
    }
}

/// `plugboard-package.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: Option<String>,
    pub version: Option<String>,
    /// The PostgreSQL major version the package is built for.
    pub pg_major: Option<u32>,
    /// Whether the library must be in `shared_preload_libraries` (needs a restart).
    #[serde(default)]
    pub preload: bool,
}

/// One unpacked file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageFile {
    /// Relative to the package root: `share/extension/x.control`, `lib/x.so`.
    pub rel: PathBuf,
    pub sha256: String,
    pub size: u64,
}

/// An unpacked package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// The manifest (defaults when the package has none).
    pub manifest: Manifest,
    /// `default_version` of the plug-in's control file.
    pub default_version: Option<String>,
    /// Every file under `share/` and `lib/` (not the manifest).
    pub files: Vec<PackageFile>,
}

impl Package {
    /// The version: the manifest's, else the control file's `default_version`, else `unknown`.
    pub fn version(&self) -> String {
        self.manifest
            .version
            .clone()
            .or_else(|| self.default_version.clone())
            .unwrap_or_else(|| "unknown".into())
    }
}

/// Why a package was refused. Messages name the entry and say what to change.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error(
        "package entry {0} is an absolute path; entries must be relative (share/..., lib/...)"
    )]
    Absolute(String),
    #[error("package entry {0} escapes the package (.. is not allowed)")]
    Traversal(String),
    #[error("package entry {0} is a symbolic link; links are not allowed (build with tar --dereference)")]
    Symlink(String),
    #[error(
        "package entry {0} is a hard link; links are not allowed (build with tar --dereference)"
    )]
    HardLink(String),
    #[error("package entry {0} is a device or other special file; only files and directories are allowed")]
    Special(String),
    #[error("package entry {0} is outside share/, lib/ and {MANIFEST}")]
    Outside(String),
    #[error("package entry {0} appears twice")]
    Duplicate(String),
    #[error("package has more than {0} entries")]
    TooManyFiles(u64),
    #[error("package expands to more than {0} bytes")]
    TooLarge(u64),
    #[error("package expands beyond {0}× its compressed size (gzip bomb?)")]
    Bomb(u64),
    #[error("package is missing share/extension/{0}.control")]
    MissingControl(String),
    #[error("package manifest {MANIFEST} is invalid: {0}")]
    BadManifest(String),
    #[error("package manifest names plug-in {found}, not {expected}")]
    WrongName { expected: String, found: String },
    #[error("package is not a gzip-compressed tar archive: {0}")]
    Format(String),
    #[error("cannot unpack into staging: {0}")]
    Io(String),
}

/// Counts the bytes a reader yields.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The entry's path, checked: relative, no `..`, under `share/` or `lib/` (or the manifest).
fn checked_path(name: &str) -> Result<Option<PathBuf>, PackageError> {
    if name.starts_with('/') || name.starts_with('\\') {
        return Err(PackageError::Absolute(name.into()));
    }
    let mut clean = PathBuf::new();
    for c in Path::new(name).components() {
        match c {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err(PackageError::Traversal(name.into())),
            Component::RootDir | Component::Prefix(_) => {
                return Err(PackageError::Absolute(name.into()))
            }
        }
    }
    if clean.as_os_str().is_empty() {
        return Ok(None); // the root directory itself
    }
    let first = clean
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    if clean == Path::new(MANIFEST) || first == "share" || first == "lib" {
        Ok(Some(clean))
    } else {
        Err(PackageError::Outside(name.into()))
    }
}

fn io_err(e: io::Error) -> PackageError {
    PackageError::Io(e.to_string())
}

/// Unpack `archive` into `staging` (created; must not hold anything yet) for plug-in
/// `plugin_name`.
pub fn unpack(
    archive: &Path,
    staging: &Path,
    plugin_name: &str,
    limits: &PackageLimits,
) -> Result<Package, PackageError> {
    let compressed = fs::metadata(archive).map_err(io_err)?.len().max(1);
    fs::create_dir_all(staging).map_err(io_err)?;
    let count = Arc::new(AtomicU64::new(0));
    let reader = Counting {
        inner: GzDecoder::new(BufReader::new(File::open(archive).map_err(io_err)?)),
        count: count.clone(),
    };
    let bomb = |count: &AtomicU64| {
        let out = count.load(Ordering::Relaxed);
        out > limits.ratio_floor && out / compressed > limits.max_ratio
    };
    let mut tar = tar::Archive::new(reader);
    let mut files = Vec::new();
    let mut entries_seen = 0u64;
    let mut bytes = 0u64;
    let format = |e: io::Error| PackageError::Format(e.to_string());
    for entry in tar.entries().map_err(format)? {
        let mut entry = entry.map_err(format)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            continue;
        }
        let Some(rel) = checked_path(&name)? else {
            continue;
        };
        if kind.is_symlink() {
            return Err(PackageError::Symlink(name));
        }
        if kind.is_hard_link() {
            return Err(PackageError::HardLink(name));
        }
        entries_seen += 1;
        if entries_seen > limits.max_files {
            return Err(PackageError::TooManyFiles(limits.max_files));
        }
        let target = staging.join(&rel);
        if kind.is_dir() {
            fs::create_dir_all(&target).map_err(io_err)?;
            continue;
        }
        if !(kind.is_file() || kind.is_contiguous()) {
            return Err(PackageError::Special(name));
        }
        let size = entry.header().size().map_err(format)?;
        if bytes.saturating_add(size) > limits.max_unpacked_bytes {
            return Err(PackageError::TooLarge(limits.max_unpacked_bytes));
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(io_err)?;
        }
        let mut out = match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(PackageError::Duplicate(name))
            }
            Err(e) => return Err(io_err(e)),
        };
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut written = 0u64;
        loop {
            let n = entry.read(&mut buf).map_err(format)?;
            if n == 0 {
                break;
            }
            written += n as u64;
            if bomb(&count) {
                return Err(PackageError::Bomb(limits.max_ratio));
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(io_err)?;
        }
        bytes += written;
        if rel != Path::new(MANIFEST) {
            files.push(PackageFile {
                rel,
                sha256: hex::encode(hasher.finalize()),
                size: written,
            });
        }
    }
    // Trailing data (a bomb hidden after the archive) is not read: tar stops at its end.
    let manifest = match fs::read_to_string(staging.join(MANIFEST)) {
        Ok(text) => toml::from_str::<Manifest>(&text)
            .map_err(|e| PackageError::BadManifest(e.to_string()))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Manifest::default(),
        Err(e) => return Err(io_err(e)),
    };
    if let Some(found) = &manifest.name {
        if found != plugin_name {
            return Err(PackageError::WrongName {
                expected: plugin_name.into(),
                found: found.clone(),
            });
        }
    }
    let control = staging
        .join("share/extension")
        .join(format!("{plugin_name}.control"));
    let control_text = match fs::read_to_string(&control) {
        Ok(t) => t,
        Err(_) => return Err(PackageError::MissingControl(plugin_name.into())),
    };
    Ok(Package {
        manifest,
        default_version: control_value(&control_text, "default_version"),
        files,
    })
}

/// A `key = 'value'` of a control file.
fn control_value(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('\'').trim_matches('"').to_string())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            checked_path("./share/extension/x.control").unwrap(),
            Some(PathBuf::from("share/extension/x.control"))
        );
        assert_eq!(checked_path("./").unwrap(), None);
        assert!(matches!(
            checked_path("/etc/passwd"),
            Err(PackageError::Absolute(_))
        ));
        assert!(matches!(
            checked_path("share/../../x"),
            Err(PackageError::Traversal(_))
        ));
        assert!(matches!(
            checked_path("etc/x"),
            Err(PackageError::Outside(_))
        ));
        assert!(matches!(
            checked_path("plugboard-package.toml/x"),
            Err(PackageError::Outside(_))
        ));
        assert_eq!(
            control_value("# c\ndefault_version = '3.3.2'\n", "default_version").as_deref(),
            Some("3.3.2")
        );
    }
}
