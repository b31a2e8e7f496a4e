-- Subscriptions decide the plan (docs/DECISIONS.md §1): at most one per user, keyed by user.
-- stripe_subscription_id is null in mock mode and for plans granted by the platform.
CREATE TABLE subscriptions (
    id                     uuid        PRIMARY KEY,
    user_id                uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    stripe_subscription_id text,
    status                 text        NOT NULL,
    plan                   text        NOT NULL,
    current_period_start   timestamptz,
    current_period_end     timestamptz,
    cancel_at_period_end   boolean     NOT NULL DEFAULT false,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    CONSTRAINT subscriptions_user_id_key UNIQUE (user_id),
    CONSTRAINT subscriptions_stripe_subscription_id_key UNIQUE (stripe_subscription_id),
    CONSTRAINT subscriptions_status_check CHECK (
        status IN ('active', 'trialing', 'past_due', 'canceled', 'unpaid', 'incomplete')
    ),
    CONSTRAINT subscriptions_plan_check CHECK (plan IN ('free', 'pro', 'enterprise'))
);
