//! What a form did, shown once on the page it redirects to: carried in a short-lived HttpOnly
//! cookie (`pp_flash`), not in the URL, so that a link cannot make the signed-in app display a
//! message of somebody else's choosing.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::pages::Notice;
use super::session::cookie;
use crate::state::AppState;

const FLASH_COOKIE: &str = "pp_flash";

/// Percent-encodes `text` (a cookie value or a query value).
pub(crate) fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn flash_cookie(value: &str, max_age: u32) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{FLASH_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A redirect to `to` that shows `notice` there.
pub(crate) fn redirect(to: &str, notice: &Notice) -> Response {
    let kind = if notice.kind == "error" { 'e' } else { 's' };
    let value = format!("{kind}{}", encode(&notice.text));
    (
        [(header::SET_COOKIE, flash_cookie(&value, 60))],
        Redirect::to(to),
    )
        .into_response()
}

/// The notice a page shows once, and the cookie that clears it.
#[derive(Debug)]
pub(crate) struct Flash {
    pub(crate) notice: Option<Notice>,
    clear: bool,
}

impl Flash {
    /// `response` with the flash cleared, so it shows once.
    pub(crate) fn shown(self, mut response: Response) -> Response {
        if self.clear {
            response
                .headers_mut()
                .append(header::SET_COOKIE, flash_cookie("", 0));
        }
        response
    }
}

impl FromRequestParts<AppState> for Flash {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _: &AppState,
    ) -> Result<Self, std::convert::Infallible> {
        let Some(value) = cookie(&parts.headers, FLASH_COOKIE) else {
            return Ok(Self {
                notice: None,
                clear: false,
            });
        };
        let notice = match value.split_at_checked(1) {
            Some(("e", text)) => decode(text).map(Notice::error),
            Some(("s", text)) => decode(text).map(Notice::success),
            _ => None,
        };
        Ok(Self {
            notice,
            clear: true,
        })
    }
}
