//! Extractors whose rejections are problem documents: JSON bodies (unknown fields refused),
//! path ids, query strings.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body. Syntax errors → 400; a wrong shape (unknown field, wrong type, missing field) →
/// 422 naming the field; a wrong content type → 415; over the body limit → 413.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => {
                // axum reports "<prefix>: <path>: <serde message> at line L column C".
                let text = e.body_text();
                let rest = text
                    .split_once("target type: ")
                    .map_or(text.as_str(), |(_, rest)| rest);
                let (field, reason) = match rest.split_once(": ") {
                    Some((path, reason)) if !path.contains(' ') && path != "." => (path, reason),
                    _ => ("body", rest),
                };
                let reason = reason.rsplit_once(" at line ").map_or(reason, |(r, _)| r);
                // A domain validation error inside a value names its own field ("product_data.title:
                // must not be blank"): report that one.
                // serde names a missing or unknown field in backticks: that is the field.
                let named = ["missing field `", "unknown field `"]
                    .iter()
                    .find_map(|prefix| {
                        reason
                            .strip_prefix(prefix)
                            .and_then(|rest| rest.split_once('`'))
                            .map(|(name, _)| name)
                    });
                if let Some(name) = named {
                    let field = if field == "body" {
                        name.to_owned()
                    } else if field == name || field.ends_with(&format!(".{name}")) {
                        field.to_owned()
                    } else {
                        format!("{field}.{name}")
                    };
                    return ApiError::invalid(field, reason);
                }
                match reason.split_once(": ") {
                    Some((inner, why))
                        if !inner.is_empty() && !inner.contains(' ') && !inner.contains('`') =>
                    {
                        // The more specific name wins: "product_data.title" over "product_data",
                        // "product_data.compare_at_price" over the value's own "price".
                        let field = if inner.starts_with(field) || field == "body" {
                            inner
                        } else {
                            field
                        };
                        ApiError::invalid(field, why)
                    }
                    _ => ApiError::invalid(field, reason),
                }
            }
            JsonRejection::JsonSyntaxError(_) => {
                ApiError::bad_request("the body is not valid JSON")
            }
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "send the body as application/json",
            ),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload-too-large",
                    "Payload too large",
                    "the body exceeds 1 MiB",
                )
            }
            other => ApiError::bad_request(other.body_text()),
        }
    }
}

/// Path parameters. A malformed id → 404, exactly like an id that does not exist.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        ApiError::not_found("resource")
    }
}

/// A query string. A wrong shape → 422.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError::invalid("query", e.body_text())
    }
}

/// Parses a JSON body that had to be read raw first (signed webhooks): syntax → 400, shape → 422.
pub(crate) fn json_from_slice<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            let text = e.to_string();
            let reason = text
                .rsplit_once(" at line ")
                .map_or(text.as_str(), |(r, _)| r);
            ApiError::invalid("body", reason)
        } else {
            ApiError::bad_request("the body is not valid JSON")
        }
    })
}

/// The raw body of a signed request (verified before it is parsed). Over the limit → 413.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawBody(pub(crate) axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::body::Bytes::from_request(req, state)
            .await
            .map(Self)
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload-too-large",
                        "Payload too large",
                        "the body exceeds 1 MiB",
                    )
                } else {
                    ApiError::bad_request("the body could not be read")
                }
            })
    }
}

/// A JSON body that may be left out entirely (no body, no content type): then `T::default()`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJsonOrEmpty<T>(pub T);

impl<S, T> FromRequest<S> for ApiJsonOrEmpty<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let empty = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .is_none()
            && req
                .headers()
                .get(axum::http::header::CONTENT_LENGTH)
                .is_none_or(|len| len.as_bytes() == b"0");
        if empty {
            let bytes = axum::body::Bytes::from_request(req, state)
                .await
                .map_err(|_| ApiError::bad_request("the body could not be read"))?;
            if bytes.is_empty() {
                return Ok(Self(T::default()));
            }
            return Err(ApiError::from(JsonRejection::MissingJsonContentType(
                Default::default(),
            )));
        }
        ApiJson::<T>::from_request(req, state)
            .await
            .map(|ApiJson(v)| Self(v))
    }
}
