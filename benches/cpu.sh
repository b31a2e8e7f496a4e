# Sourced by the benchmark scripts that report CPU per request (seed-compare-run.sh,
# list-cpu-run.sh): CPU time so far, user + system, in clock ticks (`getconf CLK_TCK` a second).
# shellcheck shell=bash

# A process's, all its threads: fields 14 and 15 of /proc/<pid>/stat, counted after the command
# name, which may hold spaces.
process_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

# PostgreSQL's: the cluster's postmaster and every process it started, with the time of those
# that ended (fields 16 and 17: the postmaster's reaped backends, such as a pool's overflow
# connections). Only the cluster psql reaches, not another PostgreSQL on the machine. With one
# client at a time, what it spends during a measurement is that client's requests' share.
pg_ticks() {
  local postmaster p
  postmaster=$(head -1 "$(psql -tAc 'SHOW data_directory')/postmaster.pid")
  for p in "$postmaster" $(pgrep -P "$postmaster"); do
    sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null || true
  done | awk '{s += $12 + $13 + $14 + $15} END {print s + 0}'
}
