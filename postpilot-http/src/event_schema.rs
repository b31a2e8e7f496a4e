//! The events PostPilot sends, in the OpenAPI document: one entry per event type under
//! `webhooks` (OpenAPI 3.1), each the `POST` a receiver gets, its body one of four versioned
//! envelopes in `components`. A test validates bodies core builds against these schemas, so the
//! document cannot drift from what is sent.

use postpilot_core::event::{EVENT_VERSION, EventType};
use serde_json::{Value, json};
use utoipa::openapi::path::{HttpMethod, Operation, PathItem};
use utoipa::openapi::{OpenApi, RefOr, Schema};

/// The envelope schema of each event type's body.
fn envelope_of(kind: EventType) -> &'static str {
    match kind {
        EventType::PostScheduled
        | EventType::PostPublished
        | EventType::PostFailed
        | EventType::PostPaused => "PostEventV1",
        EventType::AccountConnected | EventType::AccountNeedsReconnect => "AccountEventV1",
        EventType::QueueItemGenerated => "QueueItemEventV1",
        EventType::PlanLimitNear | EventType::PlanLimitReached => "PlanLimitEventV1",
    }
}

fn what(kind: EventType) -> &'static str {
    match kind {
        EventType::PostScheduled => {
            "A post entered `scheduled`: created with a time, scheduled, approved from the queue, \
             imported, resumed, or rescheduled after failing (not a retry of a failed attempt)."
        }
        EventType::PostPublished => "A post went out: `external_url` is its address.",
        EventType::PostFailed => "A post failed for good: `reason` says why.",
        EventType::PostPaused => {
            "A post was paused before its time, because the product it advertises changed or its \
             merchant paused it: `reason` says which."
        }
        EventType::AccountConnected => "An account was connected or reconnected.",
        EventType::AccountNeedsReconnect => {
            "The platform refused an account's authorisation: its posts wait until it is \
             reconnected. Once per connection."
        }
        EventType::QueueItemGenerated => {
            "A queue item's captions were written; it awaits approval."
        }
        EventType::PlanLimitNear => {
            "80 % of a plan limit is used (posts this month: once per month)."
        }
        EventType::PlanLimitReached => {
            "A plan limit is used up (posts this month: once per month)."
        }
    }
}

/// An envelope: `type` among `types`, `timestamp`, `version`, `user_id` and `data`.
fn envelope(description: &str, types: &[EventType], data: Value) -> Value {
    json!({
        "type": "object",
        "description": description,
        "required": ["type", "timestamp", "version", "user_id", "data"],
        "additionalProperties": false,
        "properties": {
            "type": {"type": "string", "enum": types.iter().map(|t| t.as_str()).collect::<Vec<_>>()},
            "timestamp": {"type": "string", "format": "date-time", "description": "When it happened."},
            "version": {"type": "integer", "const": EVENT_VERSION, "description": "The body's version: a field removed or retyped makes a new one; added fields do not."},
            "user_id": {"type": "string", "format": "uuid", "description": "The merchant it is about (PostPilot's user id, as `/auth/provision` answers it)."},
            "data": data,
        }
    })
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({
        "type": "object",
        "required": required,
        "additionalProperties": false,
        "properties": properties,
    })
}

fn nullable(kind: &str, format: Option<&str>) -> Value {
    match format {
        Some(format) => json!({"type": [kind, "null"], "format": format}),
        None => json!({"type": [kind, "null"]}),
    }
}

fn schemas() -> Vec<(&'static str, Value)> {
    use EventType as E;
    let uuid = json!({"type": "string", "format": "uuid"});
    let platform = json!({"$ref": "#/components/schemas/PlatformName"});
    vec![
        (
            "PostEventV1",
            envelope(
                "`post.*` events, version 1.",
                &[
                    E::PostScheduled,
                    E::PostPublished,
                    E::PostFailed,
                    E::PostPaused,
                ],
                object(
                    &[
                        "post_id",
                        "account_id",
                        "platform",
                        "status",
                        "scheduled_for",
                        "posted_at",
                        "external_id",
                        "external_url",
                        "reason",
                        "queue_item_id",
                        "product_id",
                    ],
                    json!({
                        "post_id": uuid,
                        "account_id": uuid,
                        "platform": platform,
                        "status": {"$ref": "#/components/schemas/PostStatusName"},
                        "scheduled_for": nullable("string", Some("date-time")),
                        "posted_at": nullable("string", Some("date-time")),
                        "external_id": nullable("string", None),
                        "external_url": nullable("string", None),
                        "reason": nullable("string", None),
                        "queue_item_id": nullable("string", Some("uuid")),
                        "product_id": nullable("string", None),
                    }),
                ),
            ),
        ),
        (
            "AccountEventV1",
            envelope(
                "`account.*` events, version 1.",
                &[E::AccountConnected, E::AccountNeedsReconnect],
                object(
                    &["account_id", "platform", "account_name", "needs_reconnect"],
                    json!({
                        "account_id": uuid,
                        "platform": platform,
                        "account_name": {"type": "string"},
                        "needs_reconnect": {"type": "boolean"},
                    }),
                ),
            ),
        ),
        (
            "QueueItemEventV1",
            envelope(
                "`queue.item.generated`, version 1.",
                &[E::QueueItemGenerated],
                object(
                    &[
                        "queue_item_id",
                        "product_title",
                        "product_id",
                        "platforms",
                        "caption_generator",
                    ],
                    json!({
                        "queue_item_id": uuid,
                        "product_title": {"type": "string"},
                        "product_id": nullable("string", None),
                        "platforms": {"type": "array", "items": platform},
                        "caption_generator": nullable("string", None),
                    }),
                ),
            ),
        ),
        (
            "PlanLimitEventV1",
            envelope(
                "`plan.*` events, version 1.",
                &[E::PlanLimitNear, E::PlanLimitReached],
                object(
                    &["limit", "used", "max"],
                    json!({
                        "limit": {"type": "string", "enum": ["posts_per_month", "accounts"]},
                        "used": {"type": "integer", "minimum": 0},
                        "max": {"type": "integer", "minimum": 1},
                    }),
                ),
            ),
        ),
    ]
}

/// Adds the event envelopes to `components` and one `webhooks` entry per event type.
pub(crate) fn document_events(openapi: &mut OpenApi) {
    let components = openapi.components.get_or_insert_with(Default::default);
    for (name, schema) in schemas() {
        let schema: Schema = serde_json::from_value(schema)
            .unwrap_or_else(|e| unreachable!("the literal schemas deserialise: {e}"));
        components.schemas.insert(name.to_owned(), RefOr::T(schema));
    }
    let mut webhooks = utoipa::openapi::Paths::new();
    for kind in EventType::ALL {
        let operation: Operation = serde_json::from_value(json!({
            "operationId": format!("on_{}", kind.as_str().replace('.', "_")),
            "tags": ["events"],
            "summary": kind.as_str(),
            "description": format!(
                "{} Sent signed (Standard Webhooks: `webhook-id`, `webhook-timestamp`, \
                 `webhook-signature`) to every enabled endpoint of the merchant that receives it. \
                 At least once: deduplicate by `webhook-id`. Ordering is not promised.",
                what(kind)
            ),
            "parameters": [
                {"name": "webhook-id", "in": "header", "required": true, "schema": {"type": "string"},
                 "description": "The event's id (`evt_` and 32 hex digits), the same on every attempt."},
                {"name": "webhook-timestamp", "in": "header", "required": true, "schema": {"type": "string"},
                 "description": "Unix seconds of this attempt."},
                {"name": "webhook-signature", "in": "header", "required": true, "schema": {"type": "string"},
                 "description": "`v1,<base64 HMAC-SHA256 of \"{id}.{timestamp}.{body}\">`, one per secret in force, space-separated."},
            ],
            "requestBody": {
                "required": true,
                "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{}", envelope_of(kind))}}},
            },
            "responses": {
                "2XX": {"description": "Received: delivered."},
                "410": {"description": "Gone: the endpoint is disabled and sent nothing more."},
                "default": {"description": "Anything else (or no answer within 15 s) is retried on the schedule, `Retry-After` honoured on 429 and 503."},
            },
        }))
        .unwrap_or_else(|e| unreachable!("the literal operation deserialises: {e}"));
        webhooks.paths.insert(
            kind.as_str().to_owned(),
            PathItem::new(HttpMethod::Post, operation),
        );
    }
    openapi.webhooks = Some(webhooks);
}
