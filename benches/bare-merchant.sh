#!/usr/bin/env bash
# Run inside .ci/with-postgres by explain.sh and ids.sh, which need no server: applies the
# migrations to the database psql connects to, and adds one user
# (00000000-0000-4000-8000-000000000001) with one Facebook account
# (00000000-0000-4000-8000-000000000002), both named after $1.
set -euo pipefail
for f in postpilot-sqlx/migrations/*.sql; do psql -q -v ON_ERROR_STOP=1 -f "$f" > /dev/null; done
psql -q -v ON_ERROR_STOP=1 -v name="$1" <<'SQL'
INSERT INTO users (id, email, password_hash, created_at, updated_at)
  VALUES ('00000000-0000-4000-8000-000000000001', :'name' || '@example.com', 'x', now(), now());
INSERT INTO social_accounts (id, user_id, platform, account_name, account_id_external, created_at)
  VALUES ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001',
          'facebook', '@' || :'name', :'name', now());
SQL
