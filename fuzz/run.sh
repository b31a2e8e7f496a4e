#!/usr/bin/env bash
# Runs every fuzz target for the given number of seconds (default 20), each starting from its
# checked-in seeds (fuzz/seeds/<target>) plus whatever an earlier run left in fuzz/corpus/<target>.
# Fails on the first crash, panic, leak or timeout; the reproducer lands in fuzz/artifacts/.
#   bash fuzz/run.sh 600          # a long run: ten minutes per target
#   bash fuzz/run.sh 20 captions  # one target
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-20}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

cargo +nightly fuzz build
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  printf '%-16s ' "$target"
  if ! cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
      > "corpus/$target.log" 2>&1; then
    echo "FAILED"
    tail -40 "corpus/$target.log"
    exit 1
  fi
  # libFuzzer's closing statistics: executions and coverage reached.
  runs=$(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "corpus/$target.log" | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]*' "corpus/$target.log" | tail -1)
  echo "ok: ${runs:-?} runs in ${seconds}s, ${cov:-cov: ?}, corpus $(ls "corpus/$target" | wc -l)"
done
