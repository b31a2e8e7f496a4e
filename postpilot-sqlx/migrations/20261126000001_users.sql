-- Users: the merchants. The domain stores e-mail addresses normalised (trimmed, lower case), so
-- a plain unique constraint is a case-insensitive one; the check keeps it that way even for rows
-- written by hand. A user has no plan column: the plan is derived from the subscription
-- (docs/DECISIONS.md §1).
CREATE TABLE users (
    id                   uuid        PRIMARY KEY,
    email                text        NOT NULL,
    password_hash        text        NOT NULL,
    stripe_customer_id   text,
    external_platform_id uuid,
    external_store_id    uuid,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_external_platform_id_key UNIQUE (external_platform_id),
    CONSTRAINT users_email_normalised CHECK (email = lower(btrim(email)))
);
