//! Driver discovery over a real plug-in folder: good external drivers load beside the
//! built-ins, every kind of broken manifest is reported without stopping the others, folders
//! of built-in drivers are their data, and a scan can be narrowed to one driver.

use plugboard_drivers::manifest::DriverManifest;
use plugboard_drivers::registry::{scan, DriverSource};
use plugboard_drivers::simulated::Simulated;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn write_driver(plugins: &Path, folder: &str, uuid: &str, name: &str, mode: u32) {
    let dir = plugins.join(folder);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("driver.toml"),
        format!("uuid = \"{uuid}\"\nname = \"{name}\"\ntype = \"addon\"\nexecutable = \"run.sh\"\n[[addons]]\nname = \"a-{name}\"\nversions = [\"1.0\"]\n"),
    )
    .expect("manifest");
    let exe = dir.join("run.sh");
    std::fs::write(&exe, "#!/bin/sh\n").expect("exe");
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn builtins(plugins: &Path) -> Vec<DriverManifest> {
    vec![Simulated::manifest(&plugins.join("simulated")).expect("simulated manifest")]
}

#[test]
fn good_drivers_load_and_broken_ones_are_reported_without_stopping_the_others() {
    let root = tempfile::tempdir().expect("tmp");
    let plugins = root.path();
    write_driver(
        plugins,
        "alpha",
        "0a0a0a0a0a0a4a0a8a0a0a0a0a0a0a0a",
        "alpha",
        0o755,
    );
    write_driver(
        plugins,
        "beta",
        "0b0b0b0b0b0b4b0b8b0b0b0b0b0b0b0b",
        "beta",
        0o755,
    );
    write_driver(
        plugins,
        "same-uuid",
        "0a0a0a0a0a0a4a0a8a0a0a0a0a0a0a0a",
        "gamma",
        0o755,
    );
    write_driver(
        plugins,
        "same-name",
        "0c0c0c0c0c0c4c0c8c0c0c0c0c0c0c0c",
        "beta",
        0o755,
    );
    write_driver(
        plugins,
        "not-executable",
        "0d0d0d0d0d0d4d0d8d0d0d0d0d0d0d0d",
        "delta",
        0o644,
    );
    std::fs::create_dir_all(plugins.join("garbage")).expect("mkdir");
    std::fs::write(plugins.join("garbage/driver.toml"), "uuid = [").expect("write");
    std::fs::create_dir_all(plugins.join("empty")).expect("mkdir");
    // the built-in's folder holds its settings, not a manifest
    std::fs::create_dir_all(plugins.join("simulated")).expect("mkdir");

    let found = scan(plugins, builtins(plugins), None);
    let names: Vec<&str> = found
        .drivers
        .iter()
        .map(|d| d.manifest.name.as_str())
        .collect();
    assert_eq!(names, ["simulated", "alpha", "beta"]);
    assert_eq!(found.drivers[0].source, DriverSource::Builtin);
    assert_eq!(
        found.drivers[1].source,
        DriverSource::External(plugins.join("alpha"))
    );
    let errors: Vec<String> = found.errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 5, "{errors:#?}");
    let has = |folder: &str, says: &str| {
        assert!(
            errors
                .iter()
                .any(|e| e.contains(&format!("/{folder}/driver.toml")) && e.contains(says)),
            "{folder}: {says} in {errors:#?}"
        )
    };
    has(
        "same-uuid",
        "uuid 0a0a0a0a0a0a4a0a8a0a0a0a0a0a0a0a is already used",
    );
    has("same-name", "name `beta` is already used");
    has("not-executable", "not executable");
    has("garbage", "");
    has("empty", "cannot read");
}

#[test]
fn a_narrowed_scan_looks_at_one_driver() {
    let root = tempfile::tempdir().expect("tmp");
    let plugins = root.path();
    write_driver(
        plugins,
        "alpha",
        "0a0a0a0a0a0a4a0a8a0a0a0a0a0a0a0a",
        "alpha",
        0o755,
    );
    write_driver(
        plugins,
        "beta",
        "0b0b0b0b0b0b4b0b8b0b0b0b0b0b0b0b",
        "beta",
        0o755,
    );
    std::fs::create_dir_all(plugins.join("garbage")).expect("mkdir");
    std::fs::write(plugins.join("garbage/driver.toml"), "uuid = [").expect("write");
    let found = scan(plugins, builtins(plugins), Some("beta"));
    let names: Vec<&str> = found
        .drivers
        .iter()
        .map(|d| d.manifest.name.as_str())
        .collect();
    assert_eq!(names, ["beta"]);
    assert!(found.errors.is_empty(), "{:?}", found.errors);
    let found = scan(plugins, builtins(plugins), Some("garbage"));
    assert!(found.drivers.is_empty());
    assert_eq!(found.errors.len(), 1);
}

#[test]
fn a_missing_plugin_folder_is_no_error() {
    let root = tempfile::tempdir().expect("tmp");
    let found = scan(&root.path().join("nope"), builtins(root.path()), None);
    assert_eq!(found.drivers.len(), 1);
    assert!(found.errors.is_empty());
}
