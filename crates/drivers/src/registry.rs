//! Driver discovery: the drivers one scan finds. Built-in drivers are given by the caller with
//! their fixed product keys; external drivers are the folders `<plugins>/<name>/` holding a
//! `driver.toml`. A broken manifest (unreadable, invalid, a product key or name another driver
//! already has, an executable that is missing or not executable) is reported and never stops
//! the others loading. A scan can be narrowed to one driver name (ZStack's Refresh with `name`).

use crate::manifest::{DriverManifest, ManifestError, MANIFEST_FILE};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Where a driver comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverSource {
    /// Part of plugboard.
    Builtin,
    /// An executable in this folder.
    External(PathBuf),
}

/// A driver found by a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundDriver {
    pub manifest: DriverManifest,
    pub source: DriverSource,
}

/// What one scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    pub drivers: Vec<FoundDriver>,
    /// Manifests that could not be used, each with its reason.
    pub errors: Vec<ManifestError>,
}

/// Scan `plugins` for external drivers, after `builtins`. Folders named after a built-in
/// driver hold that driver's data (its catalog), not a manifest. `only` narrows the scan to
/// the driver of that name.
pub fn scan(plugins: &Path, builtins: Vec<DriverManifest>, only: Option<&str>) -> Scan {
    let mut found = Scan::default();
    let builtin_names: HashSet<String> = builtins.iter().map(|m| m.name.clone()).collect();
    let mut uuids: HashSet<String> = builtins.iter().map(|m| m.uuid.clone()).collect();
    let mut names = builtin_names.clone();
    found.drivers.extend(
        builtins
            .into_iter()
            .filter(|m| only.is_none_or(|o| o == m.name))
            .map(|manifest| FoundDriver {
                manifest,
                source: DriverSource::Builtin,
            }),
    );
    let mut folders: Vec<PathBuf> = match std::fs::read_dir(plugins) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            found.errors.push(ManifestError {
                path: plugins.to_path_buf(),
                reason: format!("cannot read the plug-in folder: {e}"),
            });
            Vec::new()
        }
    };
    folders.sort();
    for folder in folders {
        let folder_name = folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if builtin_names.contains(&folder_name) || folder_name.starts_with('.') {
            continue;
        }
        let manifest_path = folder.join(MANIFEST_FILE);
        let error = |reason: String| ManifestError {
            path: manifest_path.clone(),
            reason,
        };
        let manifest = match DriverManifest::load(&folder) {
            Ok(m) => m,
            Err(e) => {
                // A narrowed scan reports only the driver it was asked about.
                if only.is_none_or(|o| o == folder_name) {
                    found.errors.push(e);
                }
                continue;
            }
        };
        if only.is_some_and(|o| o != manifest.name) {
            continue;
        }
        if manifest.executable.is_empty() {
            found.errors.push(error(
                "executable is required for an external driver".into(),
            ));
            continue;
        }
        if let Err(reason) = check_executable(&folder.join(&manifest.executable)) {
            found.errors.push(error(reason));
            continue;
        }
        if !names.insert(manifest.name.clone()) {
            found.errors.push(error(format!(
                "name `{}` is already used by another driver",
                manifest.name
            )));
            continue;
        }
        if !uuids.insert(manifest.uuid.clone()) {
            found.errors.push(error(format!(
                "uuid {} is already used by another driver",
                manifest.uuid
            )));
            continue;
        }
        found.drivers.push(FoundDriver {
            manifest,
            source: DriverSource::External(folder),
        });
    }
    found
}

/// The executable exists inside its folder (no link out of it) and may be run.
fn check_executable(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::symlink_metadata(path)
        .map_err(|e| format!("executable {} cannot be found: {e}", path.display()))?;
    if meta.file_type().is_symlink() {
        return Err(format!(
            "executable {} is a symbolic link; put the program itself in the driver's folder",
            path.display()
        ));
    }
    if !meta.is_file() {
        return Err(format!("executable {} is not a file", path.display()));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(format!(
            "executable {} is not executable (chmod +x)",
            path.display()
        ));
    }
    Ok(())
}
