//! Configuration from the environment, with a clear message for each bad value.

use std::net::SocketAddr;
use std::time::Duration;

/// Everything the server reads from the environment.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) addr: SocketAddr,
    pub(crate) database_url: Option<String>,
    pub(crate) jwt_secret: Option<Vec<u8>>,
    pub(crate) platform_webhook_secret: Option<String>,
    pub(crate) stripe_webhook_secret: Option<String>,
    pub(crate) token_key: Option<String>,
    pub(crate) rate_limit_per_min: u32,
    pub(crate) auth_rate_limit_per_min: u32,
    pub(crate) public_url: String,
    pub(crate) shutdown_grace: Duration,
}

/// A configuration problem, naming the variable.
#[derive(Debug)]
pub(crate) struct ConfigError(pub(crate) String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn positive(name: &str, default: u32) -> Result<u32, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                ConfigError(format!("{name} must be a whole number above 0, got {v:?}"))
            }),
    }
}

impl Config {
    /// Reads the environment for `command`: `serve` needs the JWT secret and the token key with
    /// a database, `worker` the token key (it opens OAuth tokens), `migrate` only the database.
    pub(crate) fn from_env(command: &str) -> Result<Self, ConfigError> {
        let issues_tokens = command == "serve";
        let opens_tokens = matches!(command, "serve" | "worker");
        let addr_text = var("POSTPILOT_ADDR").unwrap_or_else(|| "127.0.0.1:8080".into());
        let addr: SocketAddr = addr_text.parse().map_err(|_| {
            ConfigError(format!(
                "POSTPILOT_ADDR must be an address and port like 127.0.0.1:8080, got {addr_text:?}"
            ))
        })?;
        let database_url = var("DATABASE_URL");
        if let Some(url) = &database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err(ConfigError(
                "DATABASE_URL must be a postgres:// URL (unset it for the in-memory store)".into(),
            ));
        }
        let jwt_secret = var("POSTPILOT_JWT_SECRET").map(String::into_bytes);
        if let Some(secret) = &jwt_secret
            && secret.len() < 32
        {
            return Err(ConfigError(
                "POSTPILOT_JWT_SECRET must be at least 32 bytes".into(),
            ));
        }
        if issues_tokens && database_url.is_some() && jwt_secret.is_none() {
            return Err(ConfigError(
                "POSTPILOT_JWT_SECRET is required with DATABASE_URL (sessions must survive restarts)".into(),
            ));
        }
        if var("STRIPE_SECRET_KEY").is_some() {
            return Err(ConfigError(
                "STRIPE_SECRET_KEY is set, but this build has no Stripe API client: unset it to use mock billing".into(),
            ));
        }
        let token_key = var("POSTPILOT_TOKEN_KEY");
        if opens_tokens && database_url.is_some() && token_key.is_none() {
            return Err(ConfigError(
                "POSTPILOT_TOKEN_KEY is required with DATABASE_URL (\"<key id>:<base64 32 bytes>\"): stored OAuth tokens must open after a restart".into(),
            ));
        }
        Ok(Self {
            public_url: var("POSTPILOT_PUBLIC_URL").unwrap_or_else(|| format!("http://{addr}")),
            addr,
            database_url,
            jwt_secret,
            platform_webhook_secret: var("POSTPILOT_PLATFORM_WEBHOOK_SECRET"),
            stripe_webhook_secret: var("STRIPE_WEBHOOK_SECRET"),
            token_key,
            rate_limit_per_min: positive("POSTPILOT_RATE_LIMIT_PER_MIN", 600)?,
            auth_rate_limit_per_min: positive("POSTPILOT_AUTH_RATE_LIMIT_PER_MIN", 20)?,
            shutdown_grace: Duration::from_secs(u64::from(positive(
                "POSTPILOT_SHUTDOWN_GRACE_SECS",
                20,
            )?)),
        })
    }
}
