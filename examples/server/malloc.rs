//! glibc's malloc, set for a server that runs for weeks (DECISIONS 99; docs/OPERATIONS.md,
//! Memory).
//!
//! glibc's defaults suit short programs. Two of them cost a long-running server memory it never
//! gets back:
//! - **The dynamic mmap threshold.** Argon2 hashes a password in one 19 MiB block. glibc maps the
//!   first such block on its own, but freeing it raises the threshold above 19 MiB, so every later
//!   block comes from the arena of the thread that hashed, and stays there: each blocking thread
//!   that ever hashed a password holds 19 MiB for good (five sign-ups: 101 MiB). A fixed
//!   threshold of 1 MiB maps and unmaps every block of 1 MiB or more on its own.
//! - **Eight arenas per core.** Each thread that allocates gets an arena of its own, up to eight
//!   per core, and each keeps its own free space. One arena per two cores (one on this 2-core
//!   machine) holds the server at 20 MiB under the benchmark's load instead of 22, at the same
//!   CPU per request: most allocations are served by glibc's per-thread cache and never take an
//!   arena's lock. On more cores that is a judgement, not a measurement: set `GLIBC_TUNABLES`
//!   to choose otherwise.
//!
//! They can only be set before the process starts (`GLIBC_TUNABLES`), and setting them from inside
//! would need `mallopt`, which is `unsafe`. So the server re-executes itself once, with the same
//! arguments and the variable set, unless `GLIBC_TUNABLES` is already set (even empty): an
//! operator's own choice always holds. It executes `/proc/self/exe`, the file it was started
//! from, even when a deployment has since replaced or deleted it on disk. `POSTPILOT_MALLOC_SET`
//! marks the second start, so there is never a third: a glibc that drops `GLIBC_TUNABLES` (as
//! 2.38 did for a binary with file capabilities) cannot make it loop.

use std::os::unix::process::CommandExt;

/// The variable glibc reads its settings from.
const VARIABLE: &str = "GLIBC_TUNABLES";
/// Set on the re-executed process: it has been through [`tune`] once.
const DONE: &str = "POSTPILOT_MALLOC_SET";

/// What the server runs with on a machine with `cores` cores.
pub(crate) fn tunables(cores: usize) -> String {
    let arenas = cores.div_ceil(2).max(1);
    format!("glibc.malloc.mmap_threshold=1048576:glibc.malloc.arena_max={arenas}")
}

/// Replaces this process with itself under [`tunables`], unless `GLIBC_TUNABLES` is set. Returns
/// only when it is set already or the re-execution failed (then glibc's defaults hold, and it
/// says so on standard error).
pub(crate) fn tune() {
    if std::env::var_os(VARIABLE).is_some() || std::env::var_os(DONE).is_some() {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut arguments = std::env::args_os();
    let mut command = std::process::Command::new("/proc/self/exe");
    if let Some(name) = arguments.next() {
        command.arg0(name);
    }
    // `exec` returns only if it failed.
    let e = command
        .args(arguments)
        .env(VARIABLE, tunables(cores))
        .env(DONE, "1")
        .exec();
    untuned(&e);
}

fn untuned(e: &std::io::Error) {
    eprintln!(
        "postpilot-server: could not restart itself with {VARIABLE} set ({e}); glibc's malloc \
         keeps its defaults (docs/OPERATIONS.md, Memory)"
    );
}

#[cfg(test)]
mod tests {
    use super::tunables;

    #[test]
    fn one_arena_per_two_cores_rounded_up_and_the_same_mmap_threshold_everywhere() {
        for (cores, arenas) in [(0, 1), (1, 1), (2, 1), (3, 2), (8, 4), (64, 32)] {
            assert_eq!(
                tunables(cores),
                format!("glibc.malloc.mmap_threshold=1048576:glibc.malloc.arena_max={arenas}")
            );
        }
    }
}
