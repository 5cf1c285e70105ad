//! Unpacking hostile and valid packages, and installing them into a directory layout: every
//! refusal names its entry, nothing is written outside staging, repeat installs write nothing,
//! links planted in the target are refused before anything is written.

#![allow(clippy::unwrap_used)]

use flate2::write::GzEncoder;
use flate2::Compression;
use plugboard_drivers::package::{unpack, PackageError, PackageLimits};
use plugboard_drivers::pginstall::{install_files, PgLayout};
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

/// One entry of a test archive.
enum E<'a> {
    File(&'a str, &'a [u8]),
    Zeros(&'a str, u64),
    Symlink(&'a str, &'a str),
    HardLink(&'a str, &'a str),
    Char(&'a str),
    Dir(&'a str),
}

fn header(name: &str, kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    // set the raw name so hostile names (absolute, ..) are written as they are
    let bytes = name.as_bytes();
    h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_cksum();
    h
}

struct ZeroReader(u64);

impl Read for ZeroReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (buf.len() as u64).min(self.0) as usize;
        buf[..n].fill(0);
        self.0 -= n as u64;
        Ok(n)
    }
}

fn build(path: &Path, entries: &[E]) {
    let gz = GzEncoder::new(File::create(path).unwrap(), Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for e in entries {
        match e {
            E::File(name, data) => {
                tar.append(
                    &header(name, tar::EntryType::Regular, data.len() as u64),
                    *data,
                )
                .unwrap();
            }
            E::Zeros(name, size) => {
                tar.append(
                    &header(name, tar::EntryType::Regular, *size),
                    ZeroReader(*size),
                )
                .unwrap();
            }
            E::Symlink(name, target) | E::HardLink(name, target) => {
                let kind = if matches!(e, E::Symlink(..)) {
                    tar::EntryType::Symlink
                } else {
                    tar::EntryType::Link
                };
                let mut h = header(name, kind, 0);
                h.set_link_name(target).unwrap();
                h.set_cksum();
                tar.append(&h, std::io::empty()).unwrap();
            }
            E::Char(name) => tar
                .append(&header(name, tar::EntryType::Char, 0), std::io::empty())
                .unwrap(),
            E::Dir(name) => tar
                .append(
                    &header(name, tar::EntryType::Directory, 0),
                    std::io::empty(),
                )
                .unwrap(),
        }
    }
    tar.into_inner().unwrap().finish().unwrap().flush().unwrap();
}

const CONTROL: E = E::File(
    "share/extension/hello.control",
    b"default_version = '1.0'\nrelocatable = true\n",
);
const SQL: E = E::File(
    "share/extension/hello--1.0.sql",
    b"CREATE FUNCTION hello() RETURNS int LANGUAGE sql AS 'SELECT 1';\n",
);

/// Unpack `entries` into a fresh staging directory inside a fresh parent; return the result
/// and the names the parent holds afterwards (only `pkg.tar.gz` and `staging` are allowed).
fn try_unpack(
    entries: &[E],
    limits: &PackageLimits,
) -> (
    Result<plugboard_drivers::package::Package, PackageError>,
    Vec<String>,
) {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("pkg.tar.gz");
    build(&archive, entries);
    let result = unpack(&archive, &dir.path().join("staging"), "hello", limits);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    (result, names)
}

#[test]
fn a_valid_package_unpacks_with_hashes_and_manifest() {
    let manifest = E::File(
        "plugboard-package.toml",
        b"name = \"hello\"\nversion = \"1.0\"\npg_major = 15\n",
    );
    let (pkg, names) = try_unpack(
        &[
            E::Dir("./"),
            E::Dir("./share/"),
            CONTROL,
            SQL,
            E::File("./lib/bitcode/hello/x.bc", b"bc"),
            manifest,
        ],
        &PackageLimits::default(),
    );
    let pkg = pkg.unwrap();
    assert_eq!(names, vec!["pkg.tar.gz", "staging"]);
    assert_eq!(
        (
            pkg.manifest.pg_major,
            pkg.manifest.preload,
            pkg.version().as_str()
        ),
        (Some(15), false, "1.0")
    );
    assert_eq!(pkg.default_version.as_deref(), Some("1.0"));
    let rels: Vec<_> = pkg
        .files
        .iter()
        .map(|f| f.rel.display().to_string())
        .collect();
    assert_eq!(
        rels,
        vec![
            "share/extension/hello.control",
            "share/extension/hello--1.0.sql",
            "lib/bitcode/hello/x.bc"
        ]
    );
    use sha2::Digest;
    assert_eq!(
        pkg.files[2].sha256,
        hex::encode(sha2::Sha256::digest(b"bc"))
    );
}

#[test]
fn hostile_packages_are_refused_naming_the_entry() {
    let limits = PackageLimits {
        max_unpacked_bytes: 1024 * 1024,
        max_files: 5,
        max_ratio: 50,
        ratio_floor: 512 * 1024,
    };
    let cases: Vec<(&str, Vec<E>, &str)> = vec![
        (
            "traversal",
            vec![CONTROL, E::File("share/../../evil", b"x")],
            "share/../../evil escapes the package",
        ),
        (
            "absolute",
            vec![CONTROL, E::File("/tmp/evil", b"x")],
            "/tmp/evil is an absolute path",
        ),
        (
            "symlink",
            vec![CONTROL, E::Symlink("lib/x.so", "/etc/passwd")],
            "lib/x.so is a symbolic link",
        ),
        (
            "hard link",
            vec![
                CONTROL,
                E::HardLink("lib/x.so", "share/extension/hello.control"),
            ],
            "lib/x.so is a hard link",
        ),
        (
            "device",
            vec![CONTROL, E::Char("lib/null")],
            "lib/null is a device",
        ),
        (
            "outside",
            vec![CONTROL, E::File("etc/cron.d/x", b"x")],
            "etc/cron.d/x is outside share/",
        ),
        (
            "duplicate",
            vec![
                CONTROL,
                SQL,
                E::File("share/extension/hello--1.0.sql", b"x"),
            ],
            "appears twice",
        ),
        (
            "too many files",
            vec![
                CONTROL,
                SQL,
                E::File("lib/a", b""),
                E::File("lib/b", b""),
                E::File("lib/c", b""),
                E::File("lib/d", b""),
            ],
            "more than 5 entries",
        ),
        (
            "too large",
            vec![CONTROL, E::Zeros("lib/big", 2 * 1024 * 1024)],
            "more than 1048576 bytes",
        ),
        (
            "missing control",
            vec![SQL],
            "missing share/extension/hello.control",
        ),
        (
            "bad manifest",
            vec![
                CONTROL,
                E::File(
                    "plugboard-package.toml",
                    b"name = \"hello\"\nshell = \"rm -rf /\"\n",
                ),
            ],
            "manifest plugboard-package.toml is invalid",
        ),
        (
            "wrong name",
            vec![
                CONTROL,
                E::File("plugboard-package.toml", b"name = \"other\"\n"),
            ],
            "names plug-in other, not hello",
        ),
    ];
    for (what, entries, message) in cases {
        let (result, names) = try_unpack(&entries, &limits);
        let err = result.expect_err(what).to_string();
        assert!(err.contains(message), "{what}: {err}");
        assert_eq!(
            names,
            vec!["pkg.tar.gz", "staging"],
            "{what}: nothing outside staging"
        );
    }
    let bomb = PackageLimits {
        max_unpacked_bytes: u64::MAX,
        ..limits
    };
    let (result, _) = try_unpack(&[CONTROL, E::Zeros("lib/bomb", 64 * 1024 * 1024)], &bomb);
    assert!(result.unwrap_err().to_string().contains("gzip bomb"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.tar.gz"), b"this is not gzip").unwrap();
    let err = unpack(
        &dir.path().join("x.tar.gz"),
        &dir.path().join("s"),
        "hello",
        &limits,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("not a gzip-compressed tar"),
        "{err}"
    );
}

#[test]
fn install_is_atomic_idempotent_and_refuses_links_in_the_way() {
    let (pkg, _) = try_unpack(
        &[CONTROL, SQL, E::File("lib/hello.so", b"ELF")],
        &PackageLimits::default(),
    );
    let pkg = pkg.unwrap();
    // unpack again to have the staging directory at hand
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("p.tar.gz");
    build(&archive, &[CONTROL, SQL, E::File("lib/hello.so", b"ELF")]);
    let staging = dir.path().join("staging");
    let pkg2 = unpack(&archive, &staging, "hello", &PackageLimits::default()).unwrap();
    assert_eq!(pkg.files, pkg2.files);

    let share = dir.path().join("share");
    let lib = dir.path().join("lib");
    std::fs::create_dir_all(share.join("extension")).unwrap();
    std::fs::create_dir_all(&lib).unwrap();
    let layout = PgLayout {
        sharedir: share.clone(),
        pkglibdir: lib.clone(),
    };
    let first = install_files(&pkg2, &staging, &layout).unwrap();
    assert!(first.iter().all(|f| f.replaced));
    assert_eq!(std::fs::read(lib.join("hello.so")).unwrap(), b"ELF");
    assert!(share.join("extension/hello.control").is_file());
    let again = install_files(&pkg2, &staging, &layout).unwrap();
    assert!(
        again.iter().all(|f| !f.replaced),
        "a repeat install writes nothing"
    );
    assert_eq!(
        std::fs::read_dir(&lib).unwrap().count(),
        1,
        "no temporary files are left behind"
    );

    // a symbolic link planted where a file goes: refused before anything is written
    std::fs::remove_file(lib.join("hello.so")).unwrap();
    std::fs::remove_file(share.join("extension/hello.control")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", lib.join("hello.so")).unwrap();
    let err = install_files(&pkg2, &staging, &layout)
        .unwrap_err()
        .to_string();
    assert!(err.contains("symbolic link"), "{err}");
    assert!(
        !share.join("extension/hello.control").exists(),
        "nothing written"
    );
    assert!(std::fs::symlink_metadata(lib.join("hello.so"))
        .unwrap()
        .file_type()
        .is_symlink());
}
