# Sourced by the benchmark scripts that drive the server over HTTP (scale-run.sh,
# seed-compare-run.sh): `json` reads a field of a JSON answer, `merchant` registers one.
# shellcheck shell=bash disable=SC2154  # $api is the caller's
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
