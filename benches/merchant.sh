# Sourced by the benchmark scripts that drive the server over HTTP (scale-run.sh,
# seed-compare-run.sh, list-cpu-run.sh): `free_port` finds a port, `server_env` exports the
# server's benchmark settings, `stop_servers` stops the servers a script started, `wrk_p99_ms`
# and `median` read the figures of runs taken in turns, `json` reads a field of a JSON answer,
# `merchant` registers one.
# shellcheck shell=bash disable=SC2154  # $api is the caller's
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
# The settings every benchmark runs the server with: a fixed secret and key, the simulated
# platforms and mock billing, rate limits out of the way, errors only in the log.
server_env() {
  export POSTPILOT_JWT_SECRET="bench-secret-bench-secret-bench-secret"
  POSTPILOT_TOKEN_KEY="k1:$(head -c 32 /dev/zero | base64)"
  export POSTPILOT_TOKEN_KEY
  export POSTPILOT_PUBLISHERS=simulated POSTPILOT_BILLING=mock
  export POSTPILOT_RATE_LIMIT_PER_MIN=100000000 POSTPILOT_AUTH_RATE_LIMIT_PER_MIN=100000000
  export RUST_LOG=error
}
# Stops the servers whose process ids are the values of the caller's associative array `pids`.
stop_servers() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}
# The 99th percentile latency, in milliseconds, of wrk --latency's output on stdin.
wrk_p99_ms() {
  awk '/^ +99%/ {v = $2; if (v ~ /us$/) print v / 1000; else if (v ~ /ms$/) print v + 0
                 else if (v ~ /s$/) print v * 1000; else print v * 60000}'
}
# The median of the numbers given as arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1}
  END {print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
# A registered enterprise merchant of the server at $api with a Facebook account, as the mock
# billing makes one: prints "token account user".
merchant() {
  local token account user
  token=$(curl -sf -X POST "$api/auth/register" -H 'content-type: application/json' \
    -d "{\"email\":\"$1@example.com\",\"password\":\"correct horse battery\"}" | json '["access_token"]')
  curl -sf -X POST "$api/billing/checkout" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' -d '{"plan":"enterprise"}' >/dev/null
  account=$(curl -sf -X POST "$api/accounts" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' \
    -d "{\"platform\":\"facebook\",\"account_name\":\"@$1\",\"account_id_external\":\"$1\"}" | json '["id"]')
  user=$(curl -sf "$api/auth/me" -H "authorization: Bearer $token" | json '["id"]')
  echo "$token $account $user"
}
