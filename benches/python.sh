#!/usr/bin/env bash
# Per-call overhead of the Python binding: the same engine call from Rust and from Python, in one
# run (release builds):
#
#   bash benches/python.sh [calls=100000]
set -euo pipefail
cd "$(dirname "$0")/.."
calls=${1:-100000}
venv=$(mktemp -d)/venv
python3 -m venv "$venv"
"$venv/bin/pip" install -q "maturin>=1.16,<2"
(cd postpilot-py && "$venv/bin/maturin" build --release -q -o "$venv/../wheels")
"$venv/bin/pip" install -q "$venv"/../wheels/postpilot-*.whl
cargo build --release -q -p benches --bin call-bench
./target/release/call-bench "$calls"
"$venv/bin/python" benches/python_overhead.py "$calls"
