-- The order of the last billing event applied to a subscription: the event's `created` second
-- times 8 plus its status's precedence, computed by postpilot-core. A write carrying an order is
-- applied only if no later event was applied before it, so an older
-- `customer.subscription.updated` arriving after `customer.subscription.deleted` changes nothing.
-- NULL: no event applied yet (or the row was written by a plan grant, which carries no order).
ALTER TABLE subscriptions ADD COLUMN last_event_rank bigint;
