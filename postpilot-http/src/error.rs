//! Every error answer is an RFC 9457 `application/problem+json` document. Domain errors map here,
//! in one place; a 5xx answer is generic and its cause goes to the log.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use postpilot_core::Error;
use serde::Serialize;
use utoipa::ToSchema;

/// One invalid field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field, as named in the request (`content`, `product_data.title`, …).
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

/// An RFC 9457 problem document.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem (`/problems/validation`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened in this case.
    pub detail: String,
    /// Invalid fields, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The limited resource, for plan-limit problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The plan's limit, for plan-limit problems; the posts per 24 hours, for publishing-cap
    /// problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// For `publishing-cap` problems: the full 24 hours, `(window_start, window_end]`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::timestamp::option::serialize"
    )]
    pub window_start: Option<chrono::DateTime<chrono::Utc>>,
    /// See `window_start`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::timestamp::option::serialize"
    )]
    pub window_end: Option<chrono::DateTime<chrono::Utc>>,
    /// For `publishing-cap` problems: the earliest time from the refused one at which the post
    /// fits, when one is free within a week.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::timestamp::option::serialize"
    )]
    pub next_free_at: Option<chrono::DateTime<chrono::Utc>>,
    /// For `platform-link-required` (a provision whose e-mail a self-registered account holds):
    /// a token, valid 24 h, that the account's owner — signed in — presents to
    /// `POST /auth/link-platform` to link the account. Hand it to the merchant only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_token: Option<String>,
    /// For `duplicate-post` problems: the post of the account that already has the caption
    /// within 24 hours; send `"allow_duplicate": true` to schedule both.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<uuid::Uuid>,
}

/// An API error: a status and a problem document, plus headers some statuses need.
#[derive(Debug)]
pub struct ApiError {
    problem: Box<Problem>,
    retry_after: Option<u64>,
}

impl ApiError {
    /// A problem of `kind` with `status`.
    pub fn new(status: StatusCode, kind: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            problem: Box::new(Problem {
                kind: format!("/problems/{kind}"),
                title: title.to_owned(),
                status: status.as_u16(),
                detail: detail.into(),
                errors: Vec::new(),
                resource: None,
                limit: None,
                window_start: None,
                window_end: None,
                next_free_at: None,
                link_token: None,
                duplicate_of: None,
            }),
            retry_after: None,
        }
    }

    /// Adds a platform link token (see [`Problem::link_token`]).
    #[must_use]
    pub(crate) fn with_link_token(mut self, token: String) -> Self {
        self.problem.link_token = Some(token);
        self
    }

    /// 400: the request cannot be read.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            detail,
        )
    }

    /// 422 for one invalid field.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        let (field, reason) = (field.into(), reason.into());
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Invalid request",
            format!("{field}: {reason}"),
        );
        e.problem.errors.push(FieldError { field, reason });
        e
    }

    /// 422 for several invalid fields (`detail` sums them up).
    pub fn invalid_fields(
        detail: impl Into<String>,
        fields: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "Invalid request",
            detail,
        );
        e.problem.errors.extend(
            fields
                .into_iter()
                .map(|(field, reason)| FieldError { field, reason }),
        );
        e
    }

    /// 401: missing or invalid credentials.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            "missing or invalid credentials",
        )
    }

    /// 403.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }

    /// 404.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            format!("{what} not found"),
        )
    }

    /// 429 with `Retry-After`.
    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            format!("rate limit exceeded; retry in {retry_after_secs} s"),
        );
        e.retry_after = Some(retry_after_secs);
        e
    }

    /// The problem document.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound(what) => Self::not_found(what),
            Error::Forbidden(reason) => Self::forbidden(reason),
            Error::PlanLimit { resource, limit } => {
                let mut e = Self::new(
                    StatusCode::PAYMENT_REQUIRED,
                    "plan-limit",
                    "Plan limit reached",
                    format!("your plan allows {limit} for {resource}; upgrade to go further"),
                );
                e.problem.resource = Some(resource.to_string());
                e.problem.limit = Some(limit);
                e
            }
            Error::PublishingCapFull(full) => {
                let next = full.next_free_at.map_or_else(
                    || "nothing is free within a week of it".to_owned(),
                    |t| format!("the next free time is {}", t.to_rfc3339()),
                );
                let mut e = Self::new(
                    StatusCode::CONFLICT,
                    "publishing-cap",
                    "Publishing cap reached",
                    format!(
                        "{} publishes at most {} posts of an account in 24 hours, and the 24 hours \
                         from {} to {} are full with this account's posts; {next}",
                        full.platform.display_name(),
                        full.cap,
                        full.window_start.to_rfc3339(),
                        full.window_end.to_rfc3339(),
                    ),
                );
                e.problem.limit = Some(full.cap);
                e.problem.window_start = Some(full.window_start);
                e.problem.window_end = Some(full.window_end);
                e.problem.next_free_at = full.next_free_at;
                e
            }
            Error::DuplicatePost(other) => {
                let mut e = Self::new(
                    StatusCode::CONFLICT,
                    "duplicate-post",
                    "Duplicate post",
                    format!(
                        "post {} has the same caption on this account at {}, within 24 hours of \
                         this time; send \"allow_duplicate\": true to schedule both",
                        other.post_id,
                        other.scheduled_for.to_rfc3339(),
                    ),
                );
                e.problem.duplicate_of = Some(other.post_id.as_uuid());
                e
            }
            Error::Validation(v) => Self::invalid(v.field(), v.reason()),
            Error::InvalidTransition(t) => Self::new(
                StatusCode::CONFLICT,
                "invalid-transition",
                "Invalid state change",
                t.to_string(),
            ),
            Error::Conflict(reason) => {
                Self::new(StatusCode::CONFLICT, "conflict", "Conflict", reason)
            }
            Error::Unauthorized => Self::unauthorized(),
            Error::PlatformLinkRequired(_) => Self::new(
                StatusCode::CONFLICT,
                "platform-link-required",
                "Platform link required",
                "a self-registered account holds this e-mail; its owner must sign in and link it",
            ),
            Error::TooManyAttempts { retry_after } => {
                Self::too_many_requests(retry_after.as_secs().max(1))
            }
            Error::Overloaded { what, retry_after } => {
                tracing::warn!(what, "overloaded: request shed");
                let mut e = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Service unavailable",
                    "the server is busy; retry shortly",
                );
                e.retry_after = Some(retry_after.as_secs().max(1));
                e
            }
            Error::Unavailable { what, source } => {
                tracing::error!(what, error = %source, cause = ?source, "dependency unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Service unavailable",
                    "a dependency is temporarily unavailable; retry shortly",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, axum::Json(&*self.problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"postpilot\""),
            );
        }
        if let Some(secs) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            headers.insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
