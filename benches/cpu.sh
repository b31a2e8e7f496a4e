# Sourced by the benchmark scripts that report CPU per request (seed-compare-run.sh,
# list-cpu-run.sh): CPU time so far, user + system, in clock ticks (`getconf CLK_TCK` a second).
# shellcheck shell=bash

# A process's, all its threads: fields 14 and 15 of /proc/<pid>/stat, counted after the command
# name, which may hold spaces.
process_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

# PostgreSQL's: every postgres process, with the time of those that ended (fields 16 and 17: the
# postmaster's reaped backends, such as a pool's overflow connections). With one client at a
# time, what it spends during a measurement is that client's requests' share of the database.
pg_ticks() {
  local p
  for p in $(pgrep -x postgres); do sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null || true; done \
    | awk '{s += $12 + $13 + $14 + $15} END {print s + 0}'
}
