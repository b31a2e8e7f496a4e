//! The one HTTP stack of every client: a `reqwest` client over rustls with a connect timeout and
//! a total timeout on every call, tokens sent in the `Authorization` header (never in a URL), and
//! transport errors reported without their URL.

use std::time::Duration;

use postpilot_core::crypto::SecretString;
use postpilot_core::publish::PublishError;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Timeouts of every call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing the connection (TCP and TLS).
    pub connect: Duration,
    /// The whole call, from sending to the last byte of the answer. Keep it below the
    /// dispatcher's publish timeout, so a slow platform is a clean retry, not a lost answer.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            total: Duration::from_secs(20),
        }
    }
}

/// A platform's answer: its status, headers and JSON body (`Value::Null` when it sent none).
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The headers (Meta's usage headers say how long a rate limit lasts).
    pub headers: HeaderMap,
    /// The body, parsed as JSON.
    pub body: Value,
}

/// Whether a status says "later": a rate limit (429), a timeout (408) or a server error (5xx,
/// Anthropic's 529 included) — worth the same request again.
pub fn is_transient(status: StatusCode) -> bool {
    status.is_server_error() || matches!(status.as_u16(), 408 | 429)
}

impl Answer {
    /// A refusal in an operator's words: `(HTTP 401) (check …): <the provider's message>` —
    /// its `error.message` (providers' messages carry neither our key nor our URL) cut to 300
    /// characters, and what `hint` says to check for the status.
    pub fn refusal(&self, hint: impl Fn(StatusCode) -> &'static str) -> String {
        let said = self
            .body
            .pointer("/error/message")
            .and_then(Value::as_str)
            .map(|m| format!(": {}", m.chars().take(300).collect::<String>()))
            .unwrap_or_default();
        format!("(HTTP {}){}{said}", self.status.as_u16(), hint(self.status))
    }
}

/// An HTTP client shared by every call of one platform client.
#[derive(Clone, Debug)]
pub struct HttpClient {
    inner: reqwest::Client,
}

impl HttpClient {
    /// A client with these timeouts.
    ///
    /// # Errors
    /// The TLS stack could not be set up (no usable root certificates).
    pub fn new(timeouts: Timeouts) -> Result<Self, String> {
        let inner = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.total)
            .user_agent(concat!("postpilot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("the HTTP client could not be built: {e}"))?;
        Ok(Self { inner })
    }

    /// Sends `method url` with `token` as a bearer, `query` in the URL and `form` as an
    /// `application/x-www-form-urlencoded` body (when not empty), and reads the JSON answer.
    ///
    /// # Errors
    /// [`Transport`]: the call did not complete (connection, timeout, unreadable body).
    pub async fn call(
        &self,
        what: &str,
        method: Method,
        url: &str,
        token: Option<&SecretString>,
        query: &[(&str, &str)],
        form: &[(&str, &str)],
    ) -> Result<Answer, Transport> {
        let mut request = self.request(method, url, token, query);
        if !form.is_empty() {
            request = request.form(form);
        }
        send(what, request).await
    }

    /// Sends `method url` with `token` as a bearer and `body` as JSON, and reads the JSON
    /// answer.
    ///
    /// # Errors
    /// [`Transport`]: the call did not complete (connection, timeout, unreadable body).
    pub async fn call_json(
        &self,
        what: &str,
        method: Method,
        url: &str,
        token: Option<&SecretString>,
        query: &[(&str, &str)],
        body: &Value,
    ) -> Result<Answer, Transport> {
        let request = self.request(method, url, token, query).json(body);
        send(what, request).await
    }

    /// Sends `POST url` with `headers` (their values kept out of debug output: they carry keys)
    /// and `body` as JSON, and reads the JSON answer.
    ///
    /// # Errors
    /// [`Transport`]: the call did not complete (connection, timeout, unreadable body).
    pub async fn post_json(
        &self,
        what: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> Result<Answer, Transport> {
        let request = with_headers(what, self.inner.post(url).json(body), headers)?;
        send(what, request).await
    }

    /// Sends `method url` with `headers` (kept out of debug output) and `form` as an
    /// `application/x-www-form-urlencoded` body (when not empty), and reads the JSON answer.
    ///
    /// # Errors
    /// [`Transport`]: the call did not complete (connection, timeout, unreadable body).
    pub async fn call_form(
        &self,
        what: &str,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        form: &[(String, String)],
    ) -> Result<Answer, Transport> {
        let mut request = with_headers(what, self.inner.request(method, url), headers)?;
        if !form.is_empty() {
            request = request.form(form);
        }
        send(what, request).await
    }

    /// Sends `body` with `PUT url`, with `headers` (its type and `Content-Range`), within
    /// `timeout` (a transfer may take longer than an API call), and reads the answer.
    ///
    /// # Errors
    /// [`Transport`]: the call did not complete (connection, timeout, unreadable body).
    pub async fn put_body(
        &self,
        what: &str,
        url: &str,
        headers: &[(&str, String)],
        body: reqwest::Body,
        timeout: Duration,
    ) -> Result<Answer, Transport> {
        let mut request = self.inner.put(url).timeout(timeout).body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        send(what, request).await
    }

    fn request(
        &self,
        method: Method,
        url: &str,
        token: Option<&SecretString>,
        query: &[(&str, &str)],
    ) -> reqwest::RequestBuilder {
        let mut request = self.inner.request(method, url);
        if let Some(token) = token {
            request = request.bearer_auth(token.expose());
        }
        if !query.is_empty() {
            request = request.query(query);
        }
        request
    }
}

fn with_headers(
    what: &str,
    mut request: reqwest::RequestBuilder,
    headers: &[(&str, &str)],
) -> Result<reqwest::RequestBuilder, Transport> {
    for (name, value) in headers {
        let mut value = reqwest::header::HeaderValue::from_str(value)
            .map_err(|_| Transport(format!("{what}: a header value is not valid")))?;
        value.set_sensitive(true);
        request = request.header(*name, value);
    }
    Ok(request)
}

async fn send(what: &str, request: reqwest::RequestBuilder) -> Result<Answer, Transport> {
    let response = request.send().await.map_err(|e| transport(what, &e))?;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.map_err(|e| transport(what, &e))?;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// A consent page's URL: `base` with the authorization-code request's parameters; the app's id
/// goes in `client_param` (`client_id`, or TikTok's `client_key`).
pub fn consent_url(
    base: &str,
    (client_param, app_id): (&str, &str),
    redirect_uri: &str,
    scopes: &[String],
    state: &str,
) -> String {
    let scope = scopes.join(",");
    let params = [
        (client_param, app_id),
        ("redirect_uri", redirect_uri),
        ("response_type", "code"),
        ("scope", scope.as_str()),
        ("state", state),
    ];
    reqwest::Url::parse_with_params(base, params)
        .map(String::from)
        .unwrap_or_else(|_| base.to_owned())
}

/// A call that did not complete, in words that carry neither the URL nor a token (`Instagram
/// (publishing the container) timed out`): always worth retrying.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transport(pub String);

impl From<Transport> for PublishError {
    fn from(t: Transport) -> Self {
        PublishError::Retryable {
            reason: t.0,
            after: None,
        }
    }
}

fn transport(what: &str, e: &reqwest::Error) -> Transport {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "sent an unreadable answer"
    } else {
        "failed"
    };
    Transport(format!("{what} {kind}"))
}
