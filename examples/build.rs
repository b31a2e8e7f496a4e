//! Link options for the bundled server.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Relative relocations packed (DT_RELR): the table the loader reads at every start shrinks
    // from about 1.1 MB (one 24-byte entry per pointer) to a few KB, and with it the server's
    // resident memory (DECISIONS 99). The linker then makes the binary require glibc ≥ 2.36
    // (`GLIBC_ABI_DT_RELR`) whatever glibc it links against, so this is done only for a
    // dynamically linked glibc build for this machine, and only when its glibc has DT_RELR.
    if packs_relocations() {
        println!("cargo:rustc-link-arg-bin=postpilot-server=-Wl,-z,pack-relative-relocs");
    }
}

fn packs_relocations() -> bool {
    let var = |name| std::env::var(name).unwrap_or_default();
    let target = var("TARGET");
    target.ends_with("-linux-gnu")
        && target == var("HOST")
        && !var("CARGO_CFG_TARGET_FEATURE")
            .split(',')
            .any(|feature| feature == "crt-static")
        && glibc_version().is_some_and(|version| version >= (2, 36))
}

/// The machine's glibc, from `getconf GNU_LIBC_VERSION` ("glibc 2.36").
fn glibc_version() -> Option<(u32, u32)> {
    let output = Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let (major, minor) = text.trim().strip_prefix("glibc ")?.split_once('.')?;
    let minor: String = minor.chars().take_while(char::is_ascii_digit).collect();
    Some((major.parse().ok()?, minor.parse().ok()?))
}
