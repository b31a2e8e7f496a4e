//! Validation of the settings, with a clear message naming the variable for each bad value.
//!
//! The command line (`cli.rs`) reads each setting from its flag or environment variable;
//! [`Config::from_lookup`] takes them by variable name, so it is a pure function that tests call
//! with a map.

use std::net::SocketAddr;
use std::time::Duration;

use postpilot_clients::llm::{LlmConfig, Provider};
use postpilot_clients::stripe::{StripeConfig, StripePrices};
use postpilot_core::caption::Fallback;
use postpilot_core::crypto::SecretString;
use postpilot_core::plan::{PlanFile, PlanTier, Plans, PlansFile};
use postpilot_http::{Brand, BrandFile, NavPage};

/// What the process was started to do; each needs a different part of the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// The HTTP API and a publication worker.
    Serve,
    /// A publication worker alone.
    Worker,
    /// The database migrations.
    Migrate,
    /// The counters' repair.
    RepairCounters,
}

/// How posts reach the platforms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Publishers {
    /// In-process stand-ins: a post is marked published, nothing reaches a real platform.
    Simulated,
    /// The platforms' own APIs (`postpilot-clients`): Instagram and Facebook Pages, and TikTok
    /// when its app is configured; a platform not offered cannot have accounts connected.
    Platforms,
}

/// How paid plans are bought.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Billing {
    /// A checkout activates its plan at once, unpaid.
    Mock,
    /// Stripe Checkout and the Billing Portal; plans follow Stripe's webhooks.
    Stripe,
}

/// Where Instagram is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct InstagramHosts {
    pub(crate) graph: String,
    pub(crate) www: String,
    pub(crate) api: String,
}

/// Where Facebook is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FacebookHosts {
    pub(crate) graph: String,
    pub(crate) www: String,
}

/// Where TikTok is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TikTokHosts {
    pub(crate) api: String,
    pub(crate) www: String,
}

/// A stand-in for a real outside service, and how it came to be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StandIn<T> {
    pub(crate) kind: T,
    /// Chosen by the operator; `false` when memory mode defaulted to it.
    pub(crate) explicit: bool,
}

/// Everything the server is configured with. Secrets are [`SecretString`]s: no formatting of a
/// `Config` shows them.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) addr: SocketAddr,
    /// May hold a password.
    pub(crate) database_url: Option<SecretString>,
    pub(crate) jwt_secret: Option<SecretString>,
    pub(crate) platform_webhook_secret: Option<SecretString>,
    pub(crate) stripe_webhook_secret: Option<SecretString>,
    pub(crate) token_key: Option<SecretString>,
    pub(crate) publishers: StandIn<Publishers>,
    /// Instagram's hosts, with `platforms` publishers.
    pub(crate) instagram: InstagramHosts,
    /// The Instagram app (id, secret), for connecting accounts by OAuth.
    pub(crate) instagram_app: Option<(String, SecretString)>,
    /// Facebook's hosts, with `platforms` publishers.
    pub(crate) facebook: FacebookHosts,
    /// The Meta app (id, secret), for connecting Facebook Pages by OAuth.
    pub(crate) meta_app: Option<(String, SecretString)>,
    /// TikTok's hosts, with `platforms` publishers.
    pub(crate) tiktok: TikTokHosts,
    /// The TikTok app (client key, secret): TikTok is offered only with it.
    pub(crate) tiktok_app: Option<(String, SecretString)>,
    /// How videos reach TikTok.
    pub(crate) tiktok_video_source: postpilot_clients::tiktok::VideoSource,
    /// The caps the platforms do not report (TikTok's posts a day).
    pub(crate) publishing_caps: postpilot_core::post::PublishingCaps,
    /// Which addresses webhook deliveries may reach.
    pub(crate) webhook_addresses: postpilot_core::event::address::AddressPolicy,
    /// The operator's endpoint: configured as given, removed (`off`), or `None`: left as it is
    /// (an embedder may manage it from Rust or Python).
    pub(crate) operator_endpoint: Option<OperatorSetting>,
    /// The language model that writes captions, and what writes them when it cannot; `None`:
    /// the templates.
    pub(crate) caption_model: Option<(postpilot_clients::llm::LlmConfig, Fallback)>,
    /// Caption generations per user per minute, with a model.
    pub(crate) generations_per_minute: u32,
    pub(crate) connect_return_path: String,
    pub(crate) billing: StandIn<Billing>,
    /// The plans (`POSTPILOT_SERVICE_FILE`, else the built-in ones).
    pub(crate) plans: Plans,
    /// The pages' name, tagline, colours and navigation (the same file).
    pub(crate) brand: Brand,
    /// Stripe, with `POSTPILOT_BILLING=stripe`.
    pub(crate) stripe: Option<StripeConfig>,
    pub(crate) rate_limit_per_min: u32,
    pub(crate) auth_rate_limit_per_min: u32,
    pub(crate) trusted_proxies: Vec<ipnet::IpNet>,
    pub(crate) api_key_failures_per_min: u32,
    pub(crate) max_api_keys: u32,
    pub(crate) session_epoch_cache: Duration,
    pub(crate) hsts_max_age: Option<Duration>,
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

fn positive(name: &str, value: Option<String>, default: u32) -> Result<u32, ConfigError> {
    match value {
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

/// `POSTPILOT_TRUSTED_PROXIES`: networks (`10.0.0.0/8`) or single addresses, comma-separated.
fn trusted_proxies(value: Option<String>) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    ConfigError(format!(
                        "POSTPILOT_TRUSTED_PROXIES must list networks like 10.0.0.0/8 or addresses, \
                         comma-separated; {entry:?} is neither"
                    ))
                })
        })
        .collect()
}

/// Reads a stand-in setting: one of `accepted` (by name), required when `required` says why,
/// else the first accepted kind by default.
fn stand_in<T: Copy>(
    name: &str,
    value: Option<String>,
    accepted: &[(&str, T)],
    required: Option<&str>,
) -> Result<StandIn<T>, ConfigError> {
    let names = || {
        accepted
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (value, required, accepted.first()) {
        (Some(v), _, _) => accepted
            .iter()
            .find(|(n, _)| *n == v.trim())
            .map(|(_, kind)| StandIn {
                kind: *kind,
                explicit: true,
            })
            .ok_or_else(|| {
                ConfigError(format!(
                    "{name} must be one of: {} (the only kinds this build has), got {v:?}",
                    names()
                ))
            }),
        (None, Some(why), _) => Err(ConfigError(format!("{name} is required {why}"))),
        (None, None, Some((_, kind))) => Ok(StandIn {
            kind: *kind,
            explicit: false,
        }),
        (None, None, None) => Err(ConfigError(format!("{name} has no accepted value"))),
    }
}

/// Stripe's settings, required with `POSTPILOT_BILLING=stripe` and refused without it (a key set
/// for nothing is a mistake to report, not to ignore).
fn stripe(
    var: &impl Fn(&str) -> Option<String>,
    host: &impl Fn(&str, &str) -> Result<String, ConfigError>,
    billing: Billing,
    role: Role,
    public_url: &str,
    plans: &Plans,
) -> Result<Option<StripeConfig>, ConfigError> {
    if billing != Billing::Stripe {
        if var("STRIPE_SECRET_KEY").is_some() {
            return Err(ConfigError(
                "STRIPE_SECRET_KEY is set, but POSTPILOT_BILLING is not stripe: set \
                 POSTPILOT_BILLING=stripe to sell plans through Stripe, or unset the key"
                    .into(),
            ));
        }
        return Ok(None);
    }
    let required = |name: &str| {
        var(name)
            .ok_or_else(|| ConfigError(format!("{name} is required with POSTPILOT_BILLING=stripe")))
    };
    let price = |tier: PlanTier| {
        plans.get(tier).stripe_price.clone().ok_or_else(|| {
            ConfigError(format!(
                "POSTPILOT_SERVICE_FILE must give [{tier}] a stripe_price with POSTPILOT_BILLING=stripe"
            ))
        })
    };
    let secret_key = SecretString::new(required("STRIPE_SECRET_KEY")?);
    if role == Role::Serve {
        required("STRIPE_WEBHOOK_SECRET")?;
    }
    Ok(Some(StripeConfig {
        api_url: host("POSTPILOT_STRIPE_API_URL", "https://api.stripe.com")?,
        secret_key,
        prices: StripePrices {
            pro: price(PlanTier::Pro)?,
            enterprise: price(PlanTier::Enterprise)?,
        },
        return_url: format!("{}/billing", public_url.trim_end_matches('/')),
        timeouts: postpilot_clients::http::Timeouts::default(),
    }))
}

/// The service file: the plans, the brand and the navigation of one deployment — what a
/// white-label deployment changes (the seed's `service.config.ts`). Every table is optional.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceFile {
    currency: Option<String>,
    free: Option<PlanFile>,
    pro: Option<PlanFile>,
    enterprise: Option<PlanFile>,
    brand: Option<BrandFile>,
    navigation: Option<NavigationFile>,
}

/// `[navigation]`: the dashboard's pages in the order the menu offers them.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NavigationFile {
    pages: Vec<NavPage>,
}

/// `POSTPILOT_SERVICE_FILE` (or its first name, `POSTPILOT_PLANS_FILE`): the plans and the
/// brand it describes, else the built-in ones.
fn service(var: &impl Fn(&str) -> Option<String>) -> Result<(Plans, Brand), ConfigError> {
    let (setting, path) = match (var("POSTPILOT_SERVICE_FILE"), var("POSTPILOT_PLANS_FILE")) {
        (Some(_), Some(_)) => {
            return Err(ConfigError(
                "POSTPILOT_PLANS_FILE is the old name of POSTPILOT_SERVICE_FILE: set only one"
                    .into(),
            ));
        }
        (Some(path), None) => ("POSTPILOT_SERVICE_FILE", path),
        (None, Some(path)) => ("POSTPILOT_PLANS_FILE", path),
        (None, None) => return Ok((Plans::default(), Brand::default())),
    };
    let bad = |why: String| ConfigError(format!("{setting} ({path}): {why}"));
    let text = std::fs::read_to_string(&path).map_err(|e| bad(format!("cannot be read: {e}")))?;
    let file: ServiceFile = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let plans = Plans::parse(PlansFile {
        currency: file.currency,
        free: file.free,
        pro: file.pro,
        enterprise: file.enterprise,
    })
    .map_err(|e| bad(e.to_string()))?;
    let brand = Brand::parse(
        file.brand.unwrap_or_default(),
        file.navigation.map(|n| n.pages),
    )
    .map_err(|e| bad(e.to_string()))?;
    Ok((plans, brand))
}

/// `POSTPILOT_LLM_*`: the caption model, when a provider is named.
fn caption_model(
    var: &impl Fn(&str) -> Option<String>,
    host: &impl Fn(&str, &str) -> Result<String, ConfigError>,
) -> Result<Option<(LlmConfig, Fallback)>, ConfigError> {
    let Some(name) = var("POSTPILOT_LLM_PROVIDER") else {
        if let Some(set) = [
            "POSTPILOT_LLM_MODEL",
            "POSTPILOT_LLM_API_KEY",
            "POSTPILOT_LLM_BASE_URL",
            "POSTPILOT_LLM_FALLBACK",
            "POSTPILOT_LLM_GENERATIONS_PER_MIN",
        ]
        .into_iter()
        .find(|name| var(name).is_some())
        {
            return Err(ConfigError(format!(
                "{set} is set but POSTPILOT_LLM_PROVIDER is not: set it to anthropic or openai, \
                 or unset {set} to write captions with the templates"
            )));
        }
        return Ok(None);
    };
    let provider =
        Provider::parse(&name).map_err(|e| ConfigError(format!("POSTPILOT_LLM_PROVIDER: {e}")))?;
    let model = var("POSTPILOT_LLM_MODEL").ok_or_else(|| {
        ConfigError("POSTPILOT_LLM_MODEL is required with POSTPILOT_LLM_PROVIDER".into())
    })?;
    let api_key = var("POSTPILOT_LLM_API_KEY").map(SecretString::new);
    let base_url = host("POSTPILOT_LLM_BASE_URL", provider.default_base_url())?;
    if api_key.is_none() && base_url.trim_end_matches('/') == provider.default_base_url() {
        return Err(ConfigError(format!(
            "POSTPILOT_LLM_API_KEY is required for {name} on its own host (only a local server \
             at POSTPILOT_LLM_BASE_URL may need none)"
        )));
    }
    let fallback = match var("POSTPILOT_LLM_FALLBACK")
        .map(|f| f.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("template") => Fallback::Template,
        Some("none") => Fallback::None,
        Some(other) => {
            return Err(ConfigError(format!(
                "POSTPILOT_LLM_FALLBACK must be template or none, got {other:?}"
            )));
        }
    };
    let mut config = LlmConfig::new(provider, api_key, model);
    config.base_url = base_url;
    Ok(Some((config, fallback)))
}

/// What the settings say of the operator's webhook endpoint.
#[derive(Clone, Debug)]
pub(crate) enum OperatorSetting {
    /// It is this one.
    Configure(OperatorEndpoint),
    /// There is none (`POSTPILOT_OPERATOR_WEBHOOK_URL=off`).
    Remove,
}

/// The operator's webhook endpoint, as configured.
#[derive(Clone)]
pub(crate) struct OperatorEndpoint {
    pub(crate) url: String,
    pub(crate) secret: SecretString,
    pub(crate) event_types: Vec<String>,
}

impl std::fmt::Debug for OperatorEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorEndpoint")
            .field("url", &self.url)
            .field("event_types", &self.event_types)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Validates the settings of `role`, each looked up by its environment variable's name; a
    /// blank value counts as unset. `serve` needs the JWT secret and the token key with a
    /// database, `worker` the token key (it opens OAuth tokens), `migrate` and `repair-counters` only the database;
    /// `serve` and `worker` with a database need the stand-ins chosen explicitly.
    pub(crate) fn from_lookup(
        role: Role,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let issues_tokens = role == Role::Serve;
        let runs_engine = matches!(role, Role::Serve | Role::Worker);
        let addr_text = var("POSTPILOT_ADDR").unwrap_or_else(|| "127.0.0.1:8080".into());
        let addr: SocketAddr = addr_text.parse().map_err(|_| {
            ConfigError(format!(
                "POSTPILOT_ADDR must be an address and port like 127.0.0.1:8080, got {addr_text:?}"
            ))
        })?;
        let database_url = var("DATABASE_URL").map(SecretString::new);
        if let Some(url) = &database_url
            && !(url.expose().starts_with("postgres://")
                || url.expose().starts_with("postgresql://"))
        {
            return Err(ConfigError(
                "DATABASE_URL must be a postgres:// URL (unset it for the in-memory store)".into(),
            ));
        }
        let jwt_secret = var("POSTPILOT_JWT_SECRET").map(SecretString::new);
        if let Some(secret) = &jwt_secret
            && secret.expose().len() < 32
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
        let token_key = var("POSTPILOT_TOKEN_KEY").map(SecretString::new);
        if runs_engine && database_url.is_some() && token_key.is_none() {
            return Err(ConfigError(
                "POSTPILOT_TOKEN_KEY is required with DATABASE_URL (\"<key id>:<base64 32 bytes>\"): stored OAuth tokens must open after a restart".into(),
            ));
        }
        let with_database = runs_engine && database_url.is_some();
        let publishers = stand_in(
            "POSTPILOT_PUBLISHERS",
            var("POSTPILOT_PUBLISHERS"),
            &[
                ("simulated", Publishers::Simulated),
                ("platforms", Publishers::Platforms),
            ],
            with_database.then_some(
                "with DATABASE_URL: set POSTPILOT_PUBLISHERS=platforms to publish through the \
                 platforms' APIs (Instagram and Facebook Pages in this build), or POSTPILOT_PUBLISHERS=simulated to \
                 mark posts published without reaching any platform",
            ),
        )?;
        let host = |name: &str, default: &str| -> Result<String, ConfigError> {
            let url = var(name).unwrap_or_else(|| default.into());
            if url.starts_with("https://") || url.starts_with("http://") {
                Ok(url)
            } else {
                Err(ConfigError(format!(
                    "{name} must be an http(s):// URL, got {url:?}"
                )))
            }
        };
        let caption_model = caption_model(&var, &host)?;
        let instagram = InstagramHosts {
            graph: host(
                "POSTPILOT_INSTAGRAM_GRAPH_URL",
                "https://graph.instagram.com",
            )?,
            www: host("POSTPILOT_INSTAGRAM_WWW_URL", "https://www.instagram.com")?,
            api: host("POSTPILOT_INSTAGRAM_API_URL", "https://api.instagram.com")?,
        };
        let facebook = FacebookHosts {
            graph: host("POSTPILOT_FACEBOOK_GRAPH_URL", "https://graph.facebook.com")?,
            www: host("POSTPILOT_FACEBOOK_WWW_URL", "https://www.facebook.com")?,
        };
        // An app's id and secret go together, and only with the platforms' publishers.
        let app = |id: &str, secret: &str, what: &str| match (var(id), var(secret)) {
            (Some(_), Some(_)) if publishers.kind != Publishers::Platforms => {
                Err(ConfigError(format!(
                    "{id} is set, but POSTPILOT_PUBLISHERS is not platforms: {what} connected by OAuth would never be published to"
                )))
            }
            (Some(app), Some(secret)) => Ok(Some((app, SecretString::new(secret)))),
            (None, None) => Ok(None),
            _ => Err(ConfigError(format!(
                "{id} and {secret} go together: set both to connect {what} by OAuth, or neither"
            ))),
        };
        let instagram_app = app(
            "POSTPILOT_INSTAGRAM_APP_ID",
            "POSTPILOT_INSTAGRAM_APP_SECRET",
            "Instagram accounts",
        )?;
        let meta_app = app(
            "POSTPILOT_META_APP_ID",
            "POSTPILOT_META_APP_SECRET",
            "Facebook Pages",
        )?;
        let tiktok = TikTokHosts {
            api: host("POSTPILOT_TIKTOK_API_URL", "https://open.tiktokapis.com")?,
            www: host("POSTPILOT_TIKTOK_WWW_URL", "https://www.tiktok.com")?,
        };
        let tiktok_app = app(
            "POSTPILOT_TIKTOK_CLIENT_KEY",
            "POSTPILOT_TIKTOK_CLIENT_SECRET",
            "TikTok accounts",
        )?;
        let connect_return_path =
            var("POSTPILOT_CONNECT_RETURN_PATH").unwrap_or_else(|| "/app/accounts".into());
        if !connect_return_path.starts_with('/') || connect_return_path.starts_with("//") {
            return Err(ConfigError(format!(
                "POSTPILOT_CONNECT_RETURN_PATH must be a path on this server, starting with one /, got {connect_return_path:?}"
            )));
        }
        let billing = stand_in(
            "POSTPILOT_BILLING",
            var("POSTPILOT_BILLING"),
            &[("mock", Billing::Mock), ("stripe", Billing::Stripe)],
            with_database.then_some(
                "with DATABASE_URL: set POSTPILOT_BILLING=stripe to sell plans through Stripe, or \
                 POSTPILOT_BILLING=mock to run with mock billing, where any user gets any paid \
                 plan for free (POST /api/v1/billing/checkout)",
            ),
        )?;
        let public_url = var("POSTPILOT_PUBLIC_URL").unwrap_or_else(|| format!("http://{addr}"));
        let (plans, brand) = service(&var)?;
        let stripe = stripe(&var, &host, billing.kind, role, &public_url, &plans)?;
        Ok(Self {
            public_url,
            plans,
            brand,
            stripe,
            addr,
            database_url,
            jwt_secret,
            platform_webhook_secret: var("POSTPILOT_PLATFORM_WEBHOOK_SECRET")
                .map(SecretString::new),
            stripe_webhook_secret: var("STRIPE_WEBHOOK_SECRET").map(SecretString::new),
            token_key,
            publishers,
            instagram,
            instagram_app,
            facebook,
            meta_app,
            tiktok,
            tiktok_app,
            tiktok_video_source: match var("POSTPILOT_TIKTOK_VIDEO_SOURCE").as_deref() {
                None | Some("pull_from_url") => postpilot_clients::tiktok::VideoSource::PullFromUrl,
                Some("file_upload") => postpilot_clients::tiktok::VideoSource::FileUpload,
                Some(other) => {
                    return Err(ConfigError(format!(
                        "POSTPILOT_TIKTOK_VIDEO_SOURCE must be pull_from_url or file_upload, got {other:?}"
                    )));
                }
            },
            publishing_caps: postpilot_core::post::PublishingCaps {
                tiktok_daily: positive(
                    "POSTPILOT_TIKTOK_DAILY_CAP",
                    var("POSTPILOT_TIKTOK_DAILY_CAP"),
                    postpilot_core::post::DEFAULT_TIKTOK_DAILY_CAP,
                )?,
            },
            operator_endpoint: match (
                var("POSTPILOT_OPERATOR_WEBHOOK_URL"),
                var("POSTPILOT_OPERATOR_WEBHOOK_SECRET"),
            ) {
                (None, None) => None,
                (Some(url), None) if url.trim() == "off" => Some(OperatorSetting::Remove),
                (Some(url), Some(secret)) => Some(OperatorSetting::Configure(OperatorEndpoint {
                    url,
                    secret: SecretString::new(secret),
                    event_types: var("POSTPILOT_OPERATOR_WEBHOOK_EVENTS")
                        .map(|types| {
                            types
                                .split(',')
                                .map(str::trim)
                                .filter(|t| !t.is_empty())
                                .map(str::to_owned)
                                .collect()
                        })
                        .unwrap_or_default(),
                })),
                (Some(_), None) => {
                    return Err(ConfigError(
                        "POSTPILOT_OPERATOR_WEBHOOK_URL needs POSTPILOT_OPERATOR_WEBHOOK_SECRET \
                         (whsec_ and base64 of 24 to 64 bytes), or is off to remove the endpoint"
                            .into(),
                    ));
                }
                (None, Some(_)) => {
                    return Err(ConfigError(
                        "POSTPILOT_OPERATOR_WEBHOOK_SECRET needs POSTPILOT_OPERATOR_WEBHOOK_URL"
                            .into(),
                    ));
                }
            },
            webhook_addresses: postpilot_core::event::address::AddressPolicy {
                allow_loopback: match var("POSTPILOT_WEBHOOK_ALLOW_LOOPBACK").as_deref() {
                    None | Some("0") => false,
                    Some("1") => true,
                    Some(other) => {
                        return Err(ConfigError(format!(
                            "POSTPILOT_WEBHOOK_ALLOW_LOOPBACK must be 0 or 1, got {other:?}"
                        )));
                    }
                },
            },
            caption_model,
            generations_per_minute: positive(
                "POSTPILOT_LLM_GENERATIONS_PER_MIN",
                var("POSTPILOT_LLM_GENERATIONS_PER_MIN"),
                10,
            )?,
            connect_return_path,
            billing,
            rate_limit_per_min: positive(
                "POSTPILOT_RATE_LIMIT_PER_MIN",
                var("POSTPILOT_RATE_LIMIT_PER_MIN"),
                600,
            )?,
            auth_rate_limit_per_min: positive(
                "POSTPILOT_AUTH_RATE_LIMIT_PER_MIN",
                var("POSTPILOT_AUTH_RATE_LIMIT_PER_MIN"),
                20,
            )?,
            trusted_proxies: trusted_proxies(var("POSTPILOT_TRUSTED_PROXIES"))?,
            api_key_failures_per_min: positive(
                "POSTPILOT_API_KEY_FAILURES_PER_MIN",
                var("POSTPILOT_API_KEY_FAILURES_PER_MIN"),
                20,
            )?,
            max_api_keys: positive(
                "POSTPILOT_MAX_API_KEYS",
                var("POSTPILOT_MAX_API_KEYS"),
                postpilot_core::DEFAULT_MAX_API_KEYS,
            )?,
            session_epoch_cache: Duration::from_secs(u64::from(positive(
                "POSTPILOT_SESSION_EPOCH_CACHE_SECS",
                var("POSTPILOT_SESSION_EPOCH_CACHE_SECS"),
                5,
            )?)),
            hsts_max_age: match var("POSTPILOT_HSTS_MAX_AGE_SECS") {
                None => None,
                given => Some(Duration::from_secs(u64::from(positive(
                    "POSTPILOT_HSTS_MAX_AGE_SECS",
                    given,
                    0,
                )?))),
            },
            shutdown_grace: Duration::from_secs(u64::from(positive(
                "POSTPILOT_SHUTDOWN_GRACE_SECS",
                var("POSTPILOT_SHUTDOWN_GRACE_SECS"),
                20,
            )?)),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::cell::RefCell;
    use std::collections::HashMap;

    use super::*;

    const DATABASE_URL: &str = "postgres://postpilot:db-password-0451@db.internal:5432/postpilot";
    const JWT_SECRET: &str = "jwt-secret-jwt-secret-jwt-secret-0451";
    const TOKEN_KEY: &str = "k1:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
    const PLATFORM_SECRET: &str = "platform-webhook-secret-0451";
    const STRIPE_SECRET: &str = "whsec_stripe-webhook-secret-0451";

    fn config(role: Role, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(role, |name| vars.get(name).cloned())
    }

    fn error(role: Role, vars: &[(&str, &str)]) -> String {
        match config(role, vars) {
            Ok(config) => panic!("accepted: {config:?}"),
            Err(e) => e.to_string(),
        }
    }

    /// A database with everything `serve` needs but the stand-in opt-ins.
    const DATABASE_SERVE: [(&str, &str); 3] = [
        ("DATABASE_URL", DATABASE_URL),
        ("POSTPILOT_JWT_SECRET", JWT_SECRET),
        ("POSTPILOT_TOKEN_KEY", TOKEN_KEY),
    ];

    fn with(
        base: &[(&'static str, &'static str)],
        more: &[(&'static str, &'static str)],
    ) -> Vec<(&'static str, &'static str)> {
        base.iter().chain(more).copied().collect()
    }

    #[test]
    fn debug_output_of_the_configuration_shows_none_of_its_secrets() {
        let config = config(
            Role::Serve,
            &with(
                &DATABASE_SERVE,
                &[
                    ("POSTPILOT_PLATFORM_WEBHOOK_SECRET", PLATFORM_SECRET),
                    ("STRIPE_WEBHOOK_SECRET", STRIPE_SECRET),
                    ("POSTPILOT_PUBLISHERS", "platforms"),
                    ("POSTPILOT_BILLING", "mock"),
                    ("POSTPILOT_INSTAGRAM_APP_ID", "990001"),
                    ("POSTPILOT_INSTAGRAM_APP_SECRET", "instagram-app-secret-77"),
                ],
            ),
        )
        .unwrap();

        let printed = [format!("{config:?}"), format!("{config:#?}")];

        for text in &printed {
            for secret in [
                DATABASE_URL,
                "db-password-0451",
                JWT_SECRET,
                TOKEN_KEY,
                "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA",
                PLATFORM_SECRET,
                STRIPE_SECRET,
                "instagram-app-secret-77",
            ] {
                assert!(!text.contains(secret), "{secret:?} is in {text}");
            }
            // The rest is still there to read.
            assert!(text.contains("rate_limit_per_min: 600"), "{text}");
        }
    }

    #[test]
    fn a_database_without_the_publishers_opt_in_is_refused_naming_the_variable() {
        for opt_ins in [&[][..], &[("POSTPILOT_BILLING", "mock")][..]] {
            for role in [Role::Serve, Role::Worker] {
                let message = error(role, &with(&DATABASE_SERVE, opt_ins));

                assert!(
                    message.starts_with("POSTPILOT_PUBLISHERS is required with DATABASE_URL"),
                    "{message}"
                );
                assert!(
                    message.contains("POSTPILOT_PUBLISHERS=simulated"),
                    "{message}"
                );
                assert!(
                    message.contains("POSTPILOT_PUBLISHERS=platforms"),
                    "{message}"
                );
            }
        }
    }

    #[test]
    fn a_database_without_the_billing_opt_in_is_refused_naming_the_variable() {
        for role in [Role::Serve, Role::Worker] {
            let message = error(
                role,
                &with(&DATABASE_SERVE, &[("POSTPILOT_PUBLISHERS", "simulated")]),
            );

            assert!(
                message.starts_with("POSTPILOT_BILLING is required with DATABASE_URL"),
                "{message}"
            );
            assert!(message.contains("POSTPILOT_BILLING=mock"), "{message}");
            assert!(message.contains("any paid plan for free"), "{message}");
        }
    }

    #[test]
    fn a_database_with_both_opt_ins_is_accepted_with_explicit_stand_ins() {
        for role in [Role::Serve, Role::Worker] {
            let config = config(
                role,
                &with(
                    &DATABASE_SERVE,
                    &[
                        ("POSTPILOT_PUBLISHERS", "simulated"),
                        ("POSTPILOT_BILLING", "mock"),
                    ],
                ),
            )
            .unwrap();

            assert_eq!(config.database_url.unwrap().expose(), DATABASE_URL);
            assert_eq!(
                config.publishers,
                StandIn {
                    kind: Publishers::Simulated,
                    explicit: true
                }
            );
            assert_eq!(
                config.billing,
                StandIn {
                    kind: Billing::Mock,
                    explicit: true
                }
            );
        }
    }

    #[test]
    fn memory_mode_defaults_to_simulated_publishers_and_mock_billing() {
        for role in [Role::Serve, Role::Worker] {
            let config = config(role, &[]).unwrap();

            assert!(config.database_url.is_none());
            assert_eq!(
                config.publishers,
                StandIn {
                    kind: Publishers::Simulated,
                    explicit: false
                }
            );
            assert_eq!(
                config.billing,
                StandIn {
                    kind: Billing::Mock,
                    explicit: false
                }
            );
        }
    }

    #[test]
    fn migrate_with_a_database_needs_no_opt_in_and_no_secret() {
        let config = config(Role::Migrate, &[("DATABASE_URL", DATABASE_URL)]).unwrap();

        assert!(config.database_url.is_some());
    }

    #[test]
    fn platforms_publishers_take_the_instagram_graph_url_and_refuse_a_non_http_one() {
        let chosen = with(
            &DATABASE_SERVE,
            &[
                ("POSTPILOT_PUBLISHERS", "platforms"),
                ("POSTPILOT_BILLING", "mock"),
                ("POSTPILOT_INSTAGRAM_GRAPH_URL", "http://127.0.0.1:9000"),
            ],
        );

        let config = config(Role::Serve, &chosen).unwrap();
        let bad = error(
            Role::Serve,
            &with(
                &chosen,
                &[("POSTPILOT_INSTAGRAM_GRAPH_URL", "graph.instagram.com")],
            ),
        );

        assert_eq!(config.publishers.kind, Publishers::Platforms);
        assert_eq!(config.instagram.graph, "http://127.0.0.1:9000");
        assert!(bad.contains("POSTPILOT_INSTAGRAM_GRAPH_URL"), "{bad}");
        let default = config_default_graph();
        assert_eq!(default, "https://graph.instagram.com");
    }

    #[test]
    fn the_instagram_app_needs_its_id_and_secret_together_and_platform_publishers() {
        let platforms = [
            ("POSTPILOT_PUBLISHERS", "platforms"),
            ("POSTPILOT_INSTAGRAM_APP_ID", "990001"),
            ("POSTPILOT_INSTAGRAM_APP_SECRET", "app-secret"),
        ];

        let config = config(Role::Serve, &platforms).unwrap();
        let half = error(Role::Serve, &platforms[..2]);
        let simulated = error(
            Role::Serve,
            &with(&platforms, &[("POSTPILOT_PUBLISHERS", "simulated")]),
        );
        let bad_path = error(
            Role::Serve,
            &with(
                &platforms,
                &[("POSTPILOT_CONNECT_RETURN_PATH", "//evil.example")],
            ),
        );

        let (id, secret) = config.instagram_app.unwrap();
        assert_eq!((id.as_str(), secret.expose()), ("990001", "app-secret"));
        assert_eq!(config.connect_return_path, "/app/accounts");
        assert!(half.contains("go together"), "{half}");
        assert!(simulated.contains("is not platforms"), "{simulated}");
        assert!(
            bad_path.contains("POSTPILOT_CONNECT_RETURN_PATH"),
            "{bad_path}"
        );
    }

    fn config_default_graph() -> String {
        config(Role::Serve, &[]).unwrap().instagram.graph
    }

    #[test]
    fn an_unknown_stand_in_is_refused_listing_the_accepted_values() {
        for (name, value, accepted, other) in [
            (
                "POSTPILOT_PUBLISHERS",
                "live",
                "must be one of: simulated, platforms ",
                ("POSTPILOT_BILLING", "mock"),
            ),
            (
                "POSTPILOT_BILLING",
                "paypal",
                "must be one of: mock, stripe ",
                ("POSTPILOT_PUBLISHERS", "simulated"),
            ),
        ] {
            for vars in [
                vec![(name, value)],
                with(&DATABASE_SERVE, &[(name, value), other]),
            ] {
                let message = error(Role::Serve, &vars);

                assert!(message.starts_with(name), "{message}");
                assert!(message.contains(accepted), "{message}");
                assert!(message.contains(&format!("{value:?}")), "{message}");
            }
        }
    }

    #[test]
    fn the_hardening_settings_have_safe_defaults_and_take_whole_numbers() {
        let defaults = config(Role::Serve, &[]).unwrap();
        assert_eq!(defaults.api_key_failures_per_min, 20);
        assert_eq!(defaults.max_api_keys, 25);
        assert_eq!(defaults.session_epoch_cache, Duration::from_secs(5));
        assert_eq!(defaults.hsts_max_age, None, "HSTS only when asked for");

        let given = config(
            Role::Serve,
            &[
                ("POSTPILOT_API_KEY_FAILURES_PER_MIN", "7"),
                ("POSTPILOT_MAX_API_KEYS", "3"),
                ("POSTPILOT_SESSION_EPOCH_CACHE_SECS", "1"),
                ("POSTPILOT_HSTS_MAX_AGE_SECS", "31536000"),
            ],
        )
        .unwrap();
        assert_eq!(given.api_key_failures_per_min, 7);
        assert_eq!(given.max_api_keys, 3);
        assert_eq!(given.session_epoch_cache, Duration::from_secs(1));
        assert_eq!(given.hsts_max_age, Some(Duration::from_secs(31_536_000)));

        let message = error(Role::Serve, &[("POSTPILOT_HSTS_MAX_AGE_SECS", "a year")]);
        assert!(
            message.starts_with("POSTPILOT_HSTS_MAX_AGE_SECS"),
            "{message}"
        );
        assert!(
            defaults.trusted_proxies.is_empty(),
            "no proxy is trusted by default"
        );
    }

    #[test]
    fn the_tiktok_daily_cap_defaults_to_15_and_takes_a_positive_number() {
        let defaults = config(Role::Serve, &[]).unwrap();
        assert_eq!(defaults.publishing_caps.tiktok_daily, 15);
        let given = config(Role::Serve, &[("POSTPILOT_TIKTOK_DAILY_CAP", "4")]).unwrap();
        assert_eq!(given.publishing_caps.tiktok_daily, 4);
        let message = error(Role::Serve, &[("POSTPILOT_TIKTOK_DAILY_CAP", "0")]);
        assert!(
            message.starts_with("POSTPILOT_TIKTOK_DAILY_CAP"),
            "{message}"
        );
    }

    #[test]
    fn captions_come_from_a_model_only_with_a_provider_a_model_and_a_key_for_its_own_host() {
        assert!(config(Role::Serve, &[]).unwrap().caption_model.is_none());
        let anthropic = config(
            Role::Serve,
            &[
                ("POSTPILOT_LLM_PROVIDER", "anthropic"),
                ("POSTPILOT_LLM_MODEL", "claude-sonnet-4-5"),
                ("POSTPILOT_LLM_API_KEY", "sk-ant-secret"),
            ],
        )
        .unwrap();
        let (llm, fallback) = anthropic.caption_model.unwrap();
        assert_eq!(llm.base_url, "https://api.anthropic.com");
        assert_eq!(fallback, Fallback::Template);
        let local = config(
            Role::Serve,
            &[
                ("POSTPILOT_LLM_PROVIDER", "openai"),
                ("POSTPILOT_LLM_MODEL", "llama3.1:8b"),
                ("POSTPILOT_LLM_BASE_URL", "http://localhost:11434/v1"),
                ("POSTPILOT_LLM_FALLBACK", "none"),
            ],
        )
        .unwrap();
        let (llm, fallback) = local.caption_model.unwrap();
        assert!(llm.api_key.is_none());
        assert_eq!(fallback, Fallback::None);
        for (given, says) in [
            (
                vec![("POSTPILOT_LLM_MODEL", "gpt-4o")],
                "POSTPILOT_LLM_PROVIDER is not",
            ),
            (
                vec![("POSTPILOT_LLM_FALLBACK", "none")],
                "POSTPILOT_LLM_PROVIDER is not",
            ),
            (
                vec![("POSTPILOT_LLM_PROVIDER", "gemini")],
                "unknown provider",
            ),
            (
                vec![("POSTPILOT_LLM_PROVIDER", "openai")],
                "POSTPILOT_LLM_MODEL is required",
            ),
            (
                vec![
                    ("POSTPILOT_LLM_PROVIDER", "openai"),
                    ("POSTPILOT_LLM_MODEL", "gpt-4o"),
                ],
                "POSTPILOT_LLM_API_KEY is required",
            ),
        ] {
            let message = error(Role::Serve, &given);
            assert!(message.contains(says), "{message}");
        }
    }

    /// A plans file with `text`, in a fresh file of the temporary directory.
    fn plans_file(name: &str, text: &str) -> String {
        let path =
            std::env::temp_dir().join(format!("postpilot-{}-{name}.toml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    }

    #[test]
    fn the_service_file_sets_the_brand_and_navigation_beside_the_plans() {
        let file = plans_file(
            "service",
            "[pro]\nprice_monthly = 35\n\n[brand]\nname = \"ShopCast\"\ntagline = \"posts for makers\"\n\
             [brand.colors]\nprimary = \"#2563eb\"\n\n[navigation]\npages = [\"dashboard\", \"calendar\", \"settings\"]\n",
        );
        let config = config(Role::Serve, &[("POSTPILOT_SERVICE_FILE", file.as_str())]).unwrap();
        assert_eq!(config.plans.get(PlanTier::Pro).price_monthly, 35);
        assert_eq!(
            (config.brand.name(), config.brand.tagline()),
            ("ShopCast", "posts for makers")
        );
        assert_eq!(
            config.brand.navigation(),
            [NavPage::Dashboard, NavPage::Calendar, NavPage::Settings]
        );
        assert!(
            config
                .brand
                .stylesheet()
                .unwrap()
                .contains("--primary:#2563eb;")
        );
        let bad = plans_file("bad-colour", "[brand.colors]\nprimary = \"red;}\"\n");
        let message = error(Role::Serve, &[("POSTPILOT_SERVICE_FILE", bad.as_str())]);
        assert!(message.contains("[brand.colors] primary"), "{message}");
        let both = error(
            Role::Serve,
            &[
                ("POSTPILOT_SERVICE_FILE", file.as_str()),
                ("POSTPILOT_PLANS_FILE", file.as_str()),
            ],
        );
        assert!(both.contains("set only one"), "{both}");
    }

    #[test]
    fn a_plans_file_sets_the_plans_and_a_bad_one_is_refused_naming_the_setting() {
        let good = plans_file(
            "good",
            "currency = \"eur\"\n[pro]\nprice_monthly = 35\nposts_per_month = -1\n",
        );
        let plans = config(Role::Serve, &[("POSTPILOT_PLANS_FILE", good.as_str())])
            .unwrap()
            .plans;
        let pro = plans.get(PlanTier::Pro);
        assert_eq!((pro.price_monthly, pro.currency.as_str()), (35, "eur"));
        assert_eq!(config(Role::Serve, &[]).unwrap().plans, Plans::default());
        for (name, text, says) in [
            ("unknown", "[pro]\nseats = 3\n", "unknown field `seats`"),
            ("range", "[free]\naccounts = -5\n", "plans.free.accounts"),
            ("syntax", "[pro\n", "POSTPILOT_PLANS_FILE"),
        ] {
            let path = plans_file(name, text);
            let message = error(Role::Serve, &[("POSTPILOT_PLANS_FILE", path.as_str())]);
            assert!(
                message.starts_with("POSTPILOT_PLANS_FILE") && message.contains(says),
                "{message}"
            );
        }
        let message = error(
            Role::Serve,
            &[("POSTPILOT_PLANS_FILE", "/nonexistent/plans.toml")],
        );
        assert!(message.contains("cannot be read"), "{message}");
    }

    #[test]
    fn stripe_billing_needs_its_key_webhook_secret_and_both_prices() {
        let priced = plans_file(
            "priced",
            "[pro]\nstripe_price = \"price_pro\"\n[enterprise]\nstripe_price = \"price_ent\"\n",
        );
        let unpriced = plans_file("unpriced", "[pro]\nstripe_price = \"price_pro\"\n");
        let all = [
            ("POSTPILOT_BILLING", "stripe"),
            ("STRIPE_SECRET_KEY", "sk_test_123"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_123"),
            ("POSTPILOT_PLANS_FILE", priced.as_str()),
            ("POSTPILOT_PUBLIC_URL", "https://app.example.com/"),
        ];
        let stripe = config(Role::Serve, &all).unwrap().stripe.unwrap();
        assert_eq!(stripe.api_url, "https://api.stripe.com");
        assert_eq!(stripe.prices.enterprise, "price_ent");
        assert_eq!(stripe.return_url, "https://app.example.com/billing");
        for missing in ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"] {
            let given: Vec<_> = all.iter().copied().filter(|(k, _)| *k != missing).collect();
            let message = error(Role::Serve, &given);
            assert_eq!(
                message,
                format!("{missing} is required with POSTPILOT_BILLING=stripe")
            );
        }
        let mut given = all.to_vec();
        given[3] = ("POSTPILOT_PLANS_FILE", unpriced.as_str());
        let message = error(Role::Serve, &given);
        assert!(message.contains("[enterprise] a stripe_price"), "{message}");
        assert!(config(Role::Serve, &[]).unwrap().stripe.is_none());
    }

    #[test]
    fn tiktok_videos_are_pulled_unless_file_upload_is_chosen() {
        use postpilot_clients::tiktok::VideoSource;
        let defaults = config(Role::Serve, &[]).unwrap();
        assert_eq!(defaults.tiktok_video_source, VideoSource::PullFromUrl);
        let upload = config(
            Role::Serve,
            &[("POSTPILOT_TIKTOK_VIDEO_SOURCE", "file_upload")],
        );
        assert_eq!(upload.unwrap().tiktok_video_source, VideoSource::FileUpload);
        let message = error(Role::Serve, &[("POSTPILOT_TIKTOK_VIDEO_SOURCE", "upload")]);
        assert!(
            message.starts_with("POSTPILOT_TIKTOK_VIDEO_SOURCE"),
            "{message}"
        );
    }

    #[test]
    fn trusted_proxies_are_networks_or_single_addresses() {
        let config = config(
            Role::Serve,
            &[(
                "POSTPILOT_TRUSTED_PROXIES",
                "10.0.0.0/8, 192.0.2.7,fd00::/8",
            )],
        )
        .unwrap();
        let listed: Vec<String> = config
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(listed, ["10.0.0.0/8", "192.0.2.7/32", "fd00::/8"]);
        let message = error(
            Role::Serve,
            &[("POSTPILOT_TRUSTED_PROXIES", "10.0.0.0/8,proxy.local")],
        );
        assert!(
            message.starts_with("POSTPILOT_TRUSTED_PROXIES"),
            "{message}"
        );
        assert!(message.contains("proxy.local"), "{message}");
    }

    #[test]
    fn the_operators_endpoint_takes_a_url_a_secret_and_event_types_or_off_and_one_alone_is_refused()
    {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let Some(OperatorSetting::Configure(operator)) = config(
            Role::Worker,
            &[
                (
                    "POSTPILOT_OPERATOR_WEBHOOK_URL",
                    "https://platform.example.com/hooks",
                ),
                ("POSTPILOT_OPERATOR_WEBHOOK_SECRET", secret),
                (
                    "POSTPILOT_OPERATOR_WEBHOOK_EVENTS",
                    " post.published, post.failed ,",
                ),
            ],
        )
        .unwrap()
        .operator_endpoint
        else {
            panic!("configured")
        };
        assert_eq!(operator.url, "https://platform.example.com/hooks");
        assert_eq!(operator.secret.expose(), secret);
        assert_eq!(operator.event_types, ["post.published", "post.failed"]);
        assert!(
            !format!("{operator:?}").contains(secret),
            "the secret is never printed"
        );
        assert!(
            config(Role::Worker, &[])
                .unwrap()
                .operator_endpoint
                .is_none(),
            "unset: left as it is"
        );
        assert!(matches!(
            config(Role::Worker, &[("POSTPILOT_OPERATOR_WEBHOOK_URL", "off")])
                .unwrap()
                .operator_endpoint,
            Some(OperatorSetting::Remove)
        ));
        assert!(
            error(
                Role::Worker,
                &[(
                    "POSTPILOT_OPERATOR_WEBHOOK_URL",
                    "https://platform.example.com/hooks"
                )]
            )
            .contains("needs POSTPILOT_OPERATOR_WEBHOOK_SECRET")
        );
        assert!(
            error(
                Role::Worker,
                &[("POSTPILOT_OPERATOR_WEBHOOK_SECRET", secret)]
            )
            .contains("needs POSTPILOT_OPERATOR_WEBHOOK_URL")
        );
    }

    #[test]
    fn a_blank_value_counts_as_unset() {
        let config = config(
            Role::Serve,
            &[
                ("DATABASE_URL", ""),
                ("POSTPILOT_JWT_SECRET", " "),
                ("POSTPILOT_ADDR", ""),
                ("POSTPILOT_RATE_LIMIT_PER_MIN", "\t"),
                ("POSTPILOT_PUBLISHERS", ""),
                ("STRIPE_SECRET_KEY", ""),
            ],
        )
        .unwrap();

        assert!(config.database_url.is_none());
        assert!(config.jwt_secret.is_none());
        assert_eq!(config.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(config.rate_limit_per_min, 600);
        assert!(!config.publishers.explicit);
    }

    #[test]
    fn each_bad_value_is_refused_with_a_message_naming_its_variable() {
        for (vars, starts) in [
            (
                vec![("POSTPILOT_ADDR", "nope")],
                "POSTPILOT_ADDR must be an address",
            ),
            (
                vec![("DATABASE_URL", "mysql://localhost/postpilot")],
                "DATABASE_URL must be a postgres:// URL",
            ),
            (
                vec![("POSTPILOT_JWT_SECRET", "too-short")],
                "POSTPILOT_JWT_SECRET must be at least 32 bytes",
            ),
            (
                vec![("STRIPE_SECRET_KEY", "sk_live_x")],
                "STRIPE_SECRET_KEY is set, but POSTPILOT_BILLING is not stripe",
            ),
            (
                vec![("POSTPILOT_RATE_LIMIT_PER_MIN", "0")],
                "POSTPILOT_RATE_LIMIT_PER_MIN must be a whole number above 0",
            ),
            (
                vec![("POSTPILOT_AUTH_RATE_LIMIT_PER_MIN", "plenty")],
                "POSTPILOT_AUTH_RATE_LIMIT_PER_MIN must be a whole number above 0",
            ),
            (
                vec![("POSTPILOT_SHUTDOWN_GRACE_SECS", "-5")],
                "POSTPILOT_SHUTDOWN_GRACE_SECS must be a whole number above 0",
            ),
        ] {
            let message = error(Role::Serve, &vars);

            assert!(message.starts_with(starts), "{vars:?}: {message}");
        }
    }

    #[test]
    fn the_secrets_a_database_needs_depend_on_the_command() {
        let database = [("DATABASE_URL", DATABASE_URL)];
        let token_key = [
            ("DATABASE_URL", DATABASE_URL),
            ("POSTPILOT_TOKEN_KEY", TOKEN_KEY),
        ];

        assert!(error(Role::Serve, &token_key).starts_with("POSTPILOT_JWT_SECRET is required"));
        assert!(error(Role::Worker, &database).starts_with("POSTPILOT_TOKEN_KEY is required"));
        assert!(
            error(
                Role::Serve,
                &[
                    ("DATABASE_URL", DATABASE_URL),
                    ("POSTPILOT_JWT_SECRET", JWT_SECRET)
                ]
            )
            .starts_with("POSTPILOT_TOKEN_KEY is required")
        );
        // The worker issues no sessions: past the token key, only the opt-ins are missing.
        assert!(error(Role::Worker, &token_key).starts_with("POSTPILOT_PUBLISHERS is required"));
        assert!(config(Role::Migrate, &database).is_ok());
    }

    #[test]
    fn every_variable_the_configuration_reads_is_a_flag_of_serve() {
        use clap::CommandFactory;
        let cli = crate::cli::Cli::command();
        let serve = cli.find_subcommand("serve").unwrap();
        let flags: Vec<String> = serve
            .get_arguments()
            .filter_map(|arg| arg.get_env())
            .map(|env| env.to_string_lossy().into_owned())
            .collect();
        let read = RefCell::new(Vec::new());

        Config::from_lookup(Role::Serve, |name| {
            read.borrow_mut().push(name.to_owned());
            None
        })
        .unwrap();

        let read = read.into_inner();
        assert!(read.len() >= 13, "{read:?}");
        for name in read {
            assert!(
                flags.contains(&name),
                "{name} is read but no flag of serve: {flags:?}"
            );
        }
    }
}
