//! Build script of the `plugboard` binary: in release builds on x86_64 Linux (linked by lld,
//! Rust's default linker there since 1.90), hands `link-order.txt` to the linker so that the
//! functions a start and the common requests run lie together at the start of the code, and
//! the idle server maps a few hundred kilobytes of code instead of 64 KiB windows spread over
//! all of it (docs/benchmarks.md → Authentication → idle RSS; `scripts/link-order.py`).
fn main() {
    println!("cargo:rerun-if-changed=link-order.txt");
    println!("cargo:rerun-if-env-changed=PLUGBOARD_NO_LINK_ORDER");
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let target = std::env::var("TARGET").unwrap_or_default();
    // `PLUGBOARD_NO_LINK_ORDER=1`: for a linker other than lld (GNU ld knows neither option).
    let wanted = std::env::var_os("PLUGBOARD_NO_LINK_ORDER").is_none();
    if release && target == "x86_64-unknown-linux-gnu" && wanted {
        let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        let order = std::path::Path::new(&dir).join("link-order.txt");
        println!(
            "cargo:rustc-link-arg-bin=plugboard=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        // A name the binary no longer has (a changed dependency, another toolchain) is skipped.
        println!("cargo:rustc-link-arg-bin=plugboard=-Wl,--no-warn-symbol-ordering");
        // Relative relocations packed (DT_RELR, glibc 2.36+): the loader reads ~10 KB at start
        // instead of a megabyte of `.rela.dyn`.
        println!("cargo:rustc-link-arg-bin=plugboard=-Wl,-z,pack-relative-relocs");
    }
}
