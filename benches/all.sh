#!/usr/bin/env bash
# Every benchmark, one after the other, each printing its figures beside a baseline measured in
# the same run: criterion over the core, the PostgreSQL store vs pgbench, the server under wrk,
# request costs at three history sizes, random vs time-ordered ids, the server beside the
# seed's stack, a listed page's CPU by process, the plans at a million posts, the dispatcher vs
# pgbench, and the Python binding's per-call overhead. About 45 minutes on 2 cores. Results go to docs/BENCHMARKS.md by hand, with
# the machine.
#   bash benches/all.sh
set -euo pipefail
cd "$(dirname "$0")/.."

section() { printf '\n######## %s\n' "$*"; }

section "criterion: core hot paths (cargo bench -p benches --bench core)"
cargo bench -p benches --bench core -- --warm-up-time 1 --measurement-time 4
section "PostgreSQL store vs raw pgbench, 1 and 2 clients"
bash benches/store.sh --seconds 10 --clients 1
bash benches/store.sh --seconds 10 --clients 2
section "the server under load (wrk) vs pgbench"
bash benches/http.sh 10 8
section "every request at 1,000, 100,000 and 1,000,000 posts, one merchant and 32 (wrk) vs pgbench"
bash benches/scale.sh "1000 100000 1000000" 10 32
section "the create's INSERT at a million posts, random vs time-ordered ids (pgbench)"
bash benches/ids.sh 1000000 5 10
section "the server beside the seed's own stack (FastAPI + SQLAlchemy + asyncpg), 10,000 posts"
bash benches/seed-compare.sh 10000 20 32
section "where a listed page's CPU goes: server, PostgreSQL and wrk, at 1,000 and 1,000,000 posts"
PG_STATEMENTS=1 bash benches/list-cpu.sh 1000 10 32
PG_STATEMENTS=1 bash benches/list-cpu.sh 1000000 10 32
section "the plans at a million posts"
bash benches/explain.sh 1000000
section "the dispatcher vs pgbench"
bash benches/dispatch.sh
section "Python per-call overhead"
bash benches/python.sh 100000
