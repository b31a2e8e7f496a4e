#!/usr/bin/env bash
# The bundled server beside the seed's own stack, side by side in one run (issue 18):
#
#   bash benches/seed-compare.sh [posts=10000] [seconds=20] [connections=32]
#
# The seed stack is FastAPI + SQLAlchemy 2.0 (async) + asyncpg under one uvicorn worker (uvloop +
# httptools), rebuilt from the seed's architecture document in benches/seed-stack/app.py and
# installed into target/seed-venv (reinstalled when benches/seed-stack/requirements.txt changes).
# On one throwaway PostgreSQL (fsync on), each stack gets its own database and one enterprise
# merchant with <posts> posts (plus the 100 scheduled next week that benches/scale-seed.sh
# writes) on one connected account, and 32 more enterprise merchants with an account each. Both
# stacks stay up. wrk runs GET /api/v1/posts?per_page=20 on each stack in turn, ROUNDS (3)
# rounds, so both are measured across the same minutes (the table gives the median of each
# figure, and the rounds follow it); then, one stack at a time, POST /api/v1/posts (drafts) as
# the one merchant and by each of the 32 in turn. The script reads the servers' CPU time and
# RSS from /proc. Prints a Markdown table for docs/BENCHMARKS.md. Needs
# wrk (apt-get install wrk). SKIP_BUILD=1 measures the release binary already built.
set -euo pipefail
cd "$(dirname "$0")/.."
posts=${1:-10000}
seconds=${2:-20}
connections=${3:-32}
command -v wrk >/dev/null || { echo "benches/seed-compare.sh needs wrk: apt-get install -y wrk" >&2; exit 1; }
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cargo build --release -q -p examples --bin postpilot-server
fi

venv=target/seed-venv
requirements=benches/seed-stack/requirements.txt
if ! cmp -s "$requirements" "$venv/requirements.txt" 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r "$requirements"
  cp "$requirements" "$venv/requirements.txt"
fi
export SEED_VENV=$venv

export POSTPILOT_PG_DURABLE=1
exec bash .ci/with-postgres bash benches/seed-compare-run.sh "$posts" "$seconds" "$connections"
