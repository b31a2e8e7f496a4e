//! Link options for the bundled server.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Relative relocations packed (DT_RELR, glibc ≥ 2.36, GNU ld ≥ 2.38, lld): the table the
    // loader reads at every start shrinks from about 1.1 MB (one 24-byte entry per pointer) to
    // a few KB, and with it the server's resident memory (DECISIONS 99).
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.ends_with("-linux-gnu") {
        println!("cargo:rustc-link-arg-bin=postpilot-server=-Wl,-z,pack-relative-relocs");
    }
}
