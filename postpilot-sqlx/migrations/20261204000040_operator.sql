-- The operator's endpoint (issue 17): one endpoint, configured by whoever runs PostPilot,
-- receiving every merchant's events. Endpoints (and their deliveries' log) belong to a user, so
-- the operator is one: this row, with the nil id, which cannot sign in (no password verifies
-- against '!operator', and it has no platform id to be provisioned by) and owns nothing but
-- that endpoint. Its address is one no one can register (no dot in its domain), so no existing
-- account can stand in this row's way.
INSERT INTO users (id, email, password_hash, created_at, updated_at)
VALUES ('00000000-0000-0000-0000-000000000000', 'operator@invalid', '!operator',
        now(), now())
ON CONFLICT (id) DO NOTHING;
