//! The command line: three commands, each taking its settings as flags that fall back on
//! environment variables. This is the one place that documents the configuration
//! (`postpilot-server serve --help`); `config.rs` validates what is given here.
//!
//! Every setting is read as text, so that a bad value gets `config.rs`'s message naming its
//! variable; secrets are never shown in `--help` (`hide_env_values`).

use clap::{Args, Parser, Subcommand};

use crate::config::Role;

/// PostPilot: schedule and publish social posts.
#[derive(Parser)]
#[command(
    name = "postpilot-server",
    version,
    after_help = "Every setting is a flag or its environment variable (the flag wins; an empty \
                  variable counts as unset): see `postpilot-server <COMMAND> --help`. Pass \
                  secrets through the environment, not as flags, which other local users can \
                  read in the process list. RUST_LOG sets the log filter (default: info)."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// What to run.
#[derive(Subcommand)]
pub(crate) enum Command {
    /// The HTTP API, with a publication worker in the same process
    Serve {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        engine: EngineArgs,
        #[command(flatten)]
        http: Box<HttpArgs>,
    },
    /// A publication worker alone (run any number, on any number of machines)
    Worker {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Apply the database migrations and exit
    Migrate {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Recompute every counter (list totals, monthly quotas, analytics totals) from the rows they
    /// count, after a manual database edit; prints how many were wrong and exits
    RepairCounters {
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Where the data lives.
#[derive(Args)]
#[command(next_help_heading = "Store")]
pub(crate) struct StoreArgs {
    /// PostgreSQL, as a postgres:// URL [default: none, everything in memory]
    ///
    /// The schema must be current (`migrate`). Without it everything lives in memory and is gone
    /// when the process ends: a demo or a test.
    #[arg(long, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    database_url: Option<String>,
}

/// What the engine talks to.
#[derive(Args)]
#[command(next_help_heading = "Publishing and billing")]
pub(crate) struct EngineArgs {
    /// The key sealing OAuth tokens at rest; required with a database
    ///
    /// `<key id>:<base64 32 bytes>`, then `,<old id>:<old key>…` for retired keys that still
    /// open old tokens (rotation). Required with a database; in memory mode a key that dies with
    /// the process.
    #[arg(
        long,
        env = "POSTPILOT_TOKEN_KEY",
        value_name = "KEYS",
        hide_env_values = true
    )]
    token_key: Option<String>,
    /// How posts reach the platforms: platforms or simulated; required with a database
    ///
    /// `platforms`: through the platforms' APIs — Instagram and Facebook Pages, and TikTok when
    /// its app (client key and secret) is set. `simulated`: posts are marked published, nothing reaches a platform.
    /// Required with a database, so that a production server never simulates by accident;
    /// `simulated` is the default in memory mode (with a warning).
    #[arg(long, env = "POSTPILOT_PUBLISHERS", value_name = "KIND")]
    publishers: Option<String>,
    /// Instagram's Graph API host [default: https://graph.instagram.com]
    ///
    /// Changed for tests against a local fake.
    #[arg(long, env = "POSTPILOT_INSTAGRAM_GRAPH_URL", value_name = "URL")]
    instagram_graph_url: Option<String>,
    /// The Instagram app's id, for connecting accounts by OAuth [default: none]
    ///
    /// With the app secret, merchants connect Instagram accounts through Instagram's consent
    /// page (POST /api/v1/accounts/connect/instagram); needs POSTPILOT_PUBLISHERS=platforms.
    #[arg(long, env = "POSTPILOT_INSTAGRAM_APP_ID", value_name = "ID")]
    instagram_app_id: Option<String>,
    /// The Instagram app's secret [default: none]
    #[arg(
        long,
        env = "POSTPILOT_INSTAGRAM_APP_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    instagram_app_secret: Option<String>,
    /// Instagram's consent page host [default: https://www.instagram.com]
    #[arg(long, env = "POSTPILOT_INSTAGRAM_WWW_URL", value_name = "URL")]
    instagram_www_url: Option<String>,
    /// Instagram's code exchange host [default: https://api.instagram.com]
    #[arg(long, env = "POSTPILOT_INSTAGRAM_API_URL", value_name = "URL")]
    instagram_api_url: Option<String>,
    /// Facebook's Graph API host [default: https://graph.facebook.com]
    ///
    /// Changed for tests against a local fake.
    #[arg(long, env = "POSTPILOT_FACEBOOK_GRAPH_URL", value_name = "URL")]
    facebook_graph_url: Option<String>,
    /// Facebook Login's dialog host [default: https://www.facebook.com]
    #[arg(long, env = "POSTPILOT_FACEBOOK_WWW_URL", value_name = "URL")]
    facebook_www_url: Option<String>,
    /// The Meta app's id, for connecting Facebook Pages by OAuth [default: none]
    ///
    /// With the app secret, merchants connect the Pages they manage through Facebook Login
    /// (POST /api/v1/accounts/connect/facebook); needs POSTPILOT_PUBLISHERS=platforms.
    #[arg(long, env = "POSTPILOT_META_APP_ID", value_name = "ID")]
    meta_app_id: Option<String>,
    /// The Meta app's secret [default: none]
    #[arg(
        long,
        env = "POSTPILOT_META_APP_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    meta_app_secret: Option<String>,
    /// TikTok's API host [default: https://open.tiktokapis.com]
    #[arg(long, env = "POSTPILOT_TIKTOK_API_URL", value_name = "URL")]
    tiktok_api_url: Option<String>,
    /// TikTok's consent page host [default: https://www.tiktok.com]
    #[arg(long, env = "POSTPILOT_TIKTOK_WWW_URL", value_name = "URL")]
    tiktok_www_url: Option<String>,
    /// The TikTok app's client key [default: none]
    ///
    /// With the client secret (and POSTPILOT_PUBLISHERS=platforms), TikTok is offered: merchants
    /// connect accounts through Login Kit (POST /api/v1/accounts/connect/tiktok) and the worker
    /// refreshes their day-long tokens. Without it TikTok is not offered.
    #[arg(long, env = "POSTPILOT_TIKTOK_CLIENT_KEY", value_name = "KEY")]
    tiktok_client_key: Option<String>,
    /// The TikTok app's client secret [default: none]
    #[arg(
        long,
        env = "POSTPILOT_TIKTOK_CLIENT_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    tiktok_client_secret: Option<String>,
    /// How videos reach TikTok: pull_from_url or file_upload [default: pull_from_url]
    ///
    /// pull_from_url: TikTok fetches the video (its domain must be verified in the TikTok app).
    /// file_upload: the worker reads the video from its host (public addresses only) and sends it
    /// to TikTok in chunks — for media hosts the merchant cannot verify.
    #[arg(long, env = "POSTPILOT_TIKTOK_VIDEO_SOURCE", value_name = "HOW")]
    tiktok_video_source: Option<String>,
    /// TikTok posts per account per rolling 24 hours [default: 15]
    ///
    /// TikTok does not publish its cap (it refuses posts past it with spam_risk_too_many_posts):
    /// scheduling past this one is refused with a 409, and the worker holds posts until the
    /// window has room.
    #[arg(long, env = "POSTPILOT_TIKTOK_DAILY_CAP", value_name = "N")]
    tiktok_daily_cap: Option<String>,
    /// Let webhook endpoints reach loopback addresses: 1 or 0 [default: 0]
    ///
    /// For local development and tests only. Private, link-local and cloud-metadata addresses
    /// stay refused either way.
    #[arg(long, env = "POSTPILOT_WEBHOOK_ALLOW_LOOPBACK", value_name = "0|1")]
    webhook_allow_loopback: Option<String>,
    /// The operator's webhook endpoint: every merchant's events, at this https:// URL
    ///
    /// One endpoint for the platform that embeds PostPilot, beside the merchants' own; it passes
    /// the same address guard. Needs POSTPILOT_OPERATOR_WEBHOOK_SECRET; unset, the operator's
    /// endpoint is removed.
    #[arg(long, env = "POSTPILOT_OPERATOR_WEBHOOK_URL", value_name = "URL")]
    operator_webhook_url: Option<String>,
    /// The operator endpoint's signing secret, whsec_ and base64 of 24 to 64 bytes
    #[arg(
        long,
        env = "POSTPILOT_OPERATOR_WEBHOOK_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    operator_webhook_secret: Option<String>,
    /// The event types the operator's endpoint receives, comma-separated [default: all]
    #[arg(long, env = "POSTPILOT_OPERATOR_WEBHOOK_EVENTS", value_name = "TYPES")]
    operator_webhook_events: Option<String>,
    /// The language model that writes captions: anthropic or openai [default: none, templates]
    ///
    /// anthropic: Anthropic's Messages API. openai: any OpenAI-compatible chat-completions server
    /// (OpenAI, or a local Ollama, vLLM or llama.cpp server at POSTPILOT_LLM_BASE_URL). Every
    /// caption is checked against the platforms' rules; an invalid one gets one repair round.
    #[arg(long, env = "POSTPILOT_LLM_PROVIDER", value_name = "PROVIDER")]
    llm_provider: Option<String>,
    /// The model, e.g. claude-sonnet-4-5, gpt-4o-mini, llama3.1:8b; required with a provider
    #[arg(long, env = "POSTPILOT_LLM_MODEL", value_name = "MODEL")]
    llm_model: Option<String>,
    /// The provider's API key (a local server may need none)
    #[arg(
        long,
        env = "POSTPILOT_LLM_API_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    llm_api_key: Option<String>,
    /// The API's base URL [default: https://api.anthropic.com, https://api.openai.com/v1]
    ///
    /// For openai, the URL before /chat/completions: http://localhost:11434/v1 for Ollama.
    #[arg(long, env = "POSTPILOT_LLM_BASE_URL", value_name = "URL")]
    llm_base_url: Option<String>,
    /// What writes a caption the model cannot: template or none [default: template]
    ///
    /// none: generation answers 503 while the provider is down or after two invalid answers.
    #[arg(long, env = "POSTPILOT_LLM_FALLBACK", value_name = "WHAT")]
    llm_fallback: Option<String>,
    /// Caption generations per user per minute with a model [default: 10]
    ///
    /// Past it, generate and regenerate answer 429 with Retry-After (the templates are not limited).
    #[arg(long, env = "POSTPILOT_LLM_GENERATIONS_PER_MIN", value_name = "N")]
    llm_generations_per_min: Option<String>,
    /// How paid plans are bought: stripe or mock; required with a database
    ///
    /// stripe: Stripe Checkout and the Billing Portal; a plan is granted when Stripe's webhook says
    /// it is paid (needs STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET and the plans' stripe_price).
    /// mock: a checkout activates its plan at once, unpaid, so any user can make himself
    /// enterprise — for demos and tests; the default in memory mode (with a warning).
    #[arg(long, env = "POSTPILOT_BILLING", value_name = "KIND")]
    billing: Option<String>,
    /// Stripe's secret key (sk_live_…, sk_test_… or a restricted rk_…); with POSTPILOT_BILLING=stripe only
    #[arg(
        long,
        env = "STRIPE_SECRET_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    stripe_secret_key: Option<String>,
    /// The deployment in one TOML file: the plans (names, prices, currency, limits, Stripe
    /// prices), the brand (name, tagline, colours) and the dashboard's navigation [default: the
    /// built-in ones]
    ///
    /// Every setting it leaves out keeps its default; see docs/OPERATIONS.md. With
    /// POSTPILOT_BILLING=stripe the paid plans need their stripe_price here.
    #[arg(long, env = "POSTPILOT_SERVICE_FILE", value_name = "PATH")]
    service_file: Option<String>,
    /// The service file's first name (it held only the plans)
    #[arg(long, env = "POSTPILOT_PLANS_FILE", value_name = "PATH", hide = true)]
    plans_file: Option<String>,
    /// Stripe's API [default: https://api.stripe.com]
    #[arg(long, env = "POSTPILOT_STRIPE_API_URL", value_name = "URL")]
    stripe_api_url: Option<String>,
}

/// The HTTP API.
#[derive(Args)]
#[command(next_help_heading = "HTTP")]
pub(crate) struct HttpArgs {
    /// Listen address and port [default: 127.0.0.1:8080]
    #[arg(long, env = "POSTPILOT_ADDR", value_name = "ADDR")]
    addr: Option<String>,
    /// The HS256 secret of access tokens (≥ 32 bytes); required with a database
    ///
    /// In memory mode a random one, so sessions end with the process.
    #[arg(
        long,
        env = "POSTPILOT_JWT_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    jwt_secret: Option<String>,
    /// The HMAC secret of /webhooks/platform-events and /auth/provision [default: none, 503]
    #[arg(
        long,
        env = "POSTPILOT_PLATFORM_WEBHOOK_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    platform_webhook_secret: Option<String>,
    /// Stripe's signing secret of /webhooks/stripe [default: none, 503]
    #[arg(
        long,
        env = "STRIPE_WEBHOOK_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    stripe_webhook_secret: Option<String>,
    /// Requests per minute per user or API key [default: 600]
    #[arg(long, env = "POSTPILOT_RATE_LIMIT_PER_MIN", value_name = "N")]
    rate_limit_per_min: Option<String>,
    /// Logins, registrations and refreshes per minute per client address [default: 20]
    #[arg(long, env = "POSTPILOT_AUTH_RATE_LIMIT_PER_MIN", value_name = "N")]
    auth_rate_limit_per_min: Option<String>,
    /// Reverse proxies whose X-Forwarded-For is believed: comma-separated CIDRs or addresses
    /// [default: none]
    ///
    /// The client address of the rate limits is the socket's peer unless that peer is in one of
    /// these networks; then it is the rightmost address of X-Forwarded-For that is not. List only
    /// proxies you run: anyone else could name any address.
    #[arg(long, env = "POSTPILOT_TRUSTED_PROXIES", value_name = "CIDRS")]
    trusted_proxies: Option<String>,
    /// Failed API-key lookups per minute per client address [default: 20]
    ///
    /// Past it, API keys from that address are refused (429) before they are looked up.
    #[arg(long, env = "POSTPILOT_API_KEY_FAILURES_PER_MIN", value_name = "N")]
    api_key_failures_per_min: Option<String>,
    /// Active API keys a user may hold [default: 25]
    #[arg(long, env = "POSTPILOT_MAX_API_KEYS", value_name = "N")]
    max_api_keys: Option<String>,
    /// How long a user's session epoch is cached, in seconds [default: 5]
    ///
    /// The longest an access token ended on another server process (logout everywhere, a new
    /// password) keeps working on this one.
    #[arg(long, env = "POSTPILOT_SESSION_EPOCH_CACHE_SECS", value_name = "SECS")]
    session_epoch_cache_secs: Option<String>,
    /// Send Strict-Transport-Security with this max-age, in seconds [default: none]
    ///
    /// Set it only when clients reach the server over HTTPS (behind a TLS proxy).
    #[arg(long, env = "POSTPILOT_HSTS_MAX_AGE_SECS", value_name = "SECS")]
    hsts_max_age_secs: Option<String>,
    /// Where browsers reach this server: base of the OAuth callbacks and the mock checkout and
    /// portal links [default: http://<ADDR>]
    #[arg(long, env = "POSTPILOT_PUBLIC_URL", value_name = "URL")]
    public_url: Option<String>,
    /// The app page a finished OAuth connect sends the browser to [default: /accounts]
    #[arg(long, env = "POSTPILOT_CONNECT_RETURN_PATH", value_name = "PATH")]
    connect_return_path: Option<String>,
    /// How long shutdown waits for requests and publishes in flight [default: 20]
    #[arg(long, env = "POSTPILOT_SHUTDOWN_GRACE_SECS", value_name = "SECS")]
    shutdown_grace_secs: Option<String>,
}

impl Command {
    /// What this command runs.
    pub(crate) fn role(&self) -> Role {
        match self {
            Self::Serve { .. } => Role::Serve,
            Self::Worker { .. } => Role::Worker,
            Self::Migrate { .. } => Role::Migrate,
            Self::RepairCounters { .. } => Role::RepairCounters,
        }
    }

    /// The value given for the setting whose environment variable is `name` (by flag or by
    /// variable); `None` when it was not given or this command does not take it.
    pub(crate) fn setting(&self, name: &str) -> Option<String> {
        let (store, engine, http) = match self {
            Self::Serve {
                store,
                engine,
                http,
            } => (store, Some(engine), Some(http)),
            Self::Worker { store, engine } => (store, Some(engine), None),
            Self::Migrate { store } | Self::RepairCounters { store } => (store, None, None),
        };
        let value = match name {
            "DATABASE_URL" => &store.database_url,
            "POSTPILOT_TOKEN_KEY" => &engine?.token_key,
            "POSTPILOT_PUBLISHERS" => &engine?.publishers,
            "POSTPILOT_INSTAGRAM_GRAPH_URL" => &engine?.instagram_graph_url,
            "POSTPILOT_INSTAGRAM_APP_ID" => &engine?.instagram_app_id,
            "POSTPILOT_INSTAGRAM_APP_SECRET" => &engine?.instagram_app_secret,
            "POSTPILOT_INSTAGRAM_WWW_URL" => &engine?.instagram_www_url,
            "POSTPILOT_INSTAGRAM_API_URL" => &engine?.instagram_api_url,
            "POSTPILOT_FACEBOOK_GRAPH_URL" => &engine?.facebook_graph_url,
            "POSTPILOT_FACEBOOK_WWW_URL" => &engine?.facebook_www_url,
            "POSTPILOT_META_APP_ID" => &engine?.meta_app_id,
            "POSTPILOT_META_APP_SECRET" => &engine?.meta_app_secret,
            "POSTPILOT_TIKTOK_API_URL" => &engine?.tiktok_api_url,
            "POSTPILOT_TIKTOK_WWW_URL" => &engine?.tiktok_www_url,
            "POSTPILOT_TIKTOK_CLIENT_KEY" => &engine?.tiktok_client_key,
            "POSTPILOT_TIKTOK_CLIENT_SECRET" => &engine?.tiktok_client_secret,
            "POSTPILOT_TIKTOK_DAILY_CAP" => &engine?.tiktok_daily_cap,
            "POSTPILOT_WEBHOOK_ALLOW_LOOPBACK" => &engine?.webhook_allow_loopback,
            "POSTPILOT_OPERATOR_WEBHOOK_URL" => &engine?.operator_webhook_url,
            "POSTPILOT_OPERATOR_WEBHOOK_SECRET" => &engine?.operator_webhook_secret,
            "POSTPILOT_OPERATOR_WEBHOOK_EVENTS" => &engine?.operator_webhook_events,
            "POSTPILOT_TIKTOK_VIDEO_SOURCE" => &engine?.tiktok_video_source,
            "POSTPILOT_LLM_PROVIDER" => &engine?.llm_provider,
            "POSTPILOT_LLM_MODEL" => &engine?.llm_model,
            "POSTPILOT_LLM_API_KEY" => &engine?.llm_api_key,
            "POSTPILOT_LLM_BASE_URL" => &engine?.llm_base_url,
            "POSTPILOT_LLM_FALLBACK" => &engine?.llm_fallback,
            "POSTPILOT_LLM_GENERATIONS_PER_MIN" => &engine?.llm_generations_per_min,
            "POSTPILOT_BILLING" => &engine?.billing,
            "STRIPE_SECRET_KEY" => &engine?.stripe_secret_key,
            "POSTPILOT_SERVICE_FILE" => &engine?.service_file,
            "POSTPILOT_PLANS_FILE" => &engine?.plans_file,
            "POSTPILOT_STRIPE_API_URL" => &engine?.stripe_api_url,
            "POSTPILOT_ADDR" => &http?.addr,
            "POSTPILOT_JWT_SECRET" => &http?.jwt_secret,
            "POSTPILOT_PLATFORM_WEBHOOK_SECRET" => &http?.platform_webhook_secret,
            "STRIPE_WEBHOOK_SECRET" => &http?.stripe_webhook_secret,
            "POSTPILOT_RATE_LIMIT_PER_MIN" => &http?.rate_limit_per_min,
            "POSTPILOT_AUTH_RATE_LIMIT_PER_MIN" => &http?.auth_rate_limit_per_min,
            "POSTPILOT_PUBLIC_URL" => &http?.public_url,
            "POSTPILOT_CONNECT_RETURN_PATH" => &http?.connect_return_path,
            "POSTPILOT_TRUSTED_PROXIES" => &http?.trusted_proxies,
            "POSTPILOT_API_KEY_FAILURES_PER_MIN" => &http?.api_key_failures_per_min,
            "POSTPILOT_MAX_API_KEYS" => &http?.max_api_keys,
            "POSTPILOT_SESSION_EPOCH_CACHE_SECS" => &http?.session_epoch_cache_secs,
            "POSTPILOT_HSTS_MAX_AGE_SECS" => &http?.hsts_max_age_secs,
            "POSTPILOT_SHUTDOWN_GRACE_SECS" => &http?.shutdown_grace_secs,
            _ => return None,
        };
        value.clone()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use clap::CommandFactory;

    use super::*;

    const SECRETS: [&str; 11] = [
        "DATABASE_URL",
        "POSTPILOT_OPERATOR_WEBHOOK_SECRET",
        "POSTPILOT_LLM_API_KEY",
        "POSTPILOT_INSTAGRAM_APP_SECRET",
        "POSTPILOT_META_APP_SECRET",
        "POSTPILOT_TIKTOK_CLIENT_SECRET",
        "POSTPILOT_TOKEN_KEY",
        "STRIPE_SECRET_KEY",
        "POSTPILOT_JWT_SECRET",
        "POSTPILOT_PLATFORM_WEBHOOK_SECRET",
        "STRIPE_WEBHOOK_SECRET",
    ];

    /// Every (command, flag, environment variable) of the command line.
    fn settings() -> Vec<(String, String, String)> {
        let cli = Cli::command();
        let mut found = Vec::new();
        for command in cli.get_subcommands() {
            for arg in command.get_arguments() {
                if let (Some(env), Some(long)) = (arg.get_env(), arg.get_long()) {
                    found.push((
                        command.get_name().to_owned(),
                        long.to_owned(),
                        env.to_string_lossy().into_owned(),
                    ));
                }
            }
        }
        found
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_flag_reaches_the_configuration_under_its_environment_variable() {
        let settings = settings();
        assert_eq!(settings.len(), 47 + 33 + 1 + 1, "{settings:?}");

        for (command, long, env) in settings {
            let flag = format!("--{long}");
            let cli =
                Cli::try_parse_from(["postpilot-server", &command, &flag, "probe-value"]).unwrap();

            assert_eq!(
                cli.command.setting(&env).as_deref(),
                Some("probe-value"),
                "{command} {flag} is not read back as {env}"
            );
        }
    }

    #[test]
    fn a_command_reads_no_setting_it_does_not_take() {
        let cli = Cli::try_parse_from(["postpilot-server", "migrate"]).unwrap();

        assert_eq!(cli.command.role(), Role::Migrate);
        for name in [
            "POSTPILOT_ADDR",
            "POSTPILOT_JWT_SECRET",
            "POSTPILOT_TOKEN_KEY",
        ] {
            assert_eq!(cli.command.setting(name), None, "{name}");
        }
    }

    #[test]
    fn secret_settings_never_show_their_environment_value_in_help() {
        let cli = Cli::command();
        for command in cli.get_subcommands() {
            for arg in command.get_arguments() {
                let Some(env) = arg.get_env() else { continue };
                let secret = SECRETS.contains(&env.to_string_lossy().as_ref());

                assert_eq!(
                    arg.is_hide_env_values_set(),
                    secret,
                    "{} --{:?}",
                    command.get_name(),
                    arg.get_long()
                );
            }
        }
    }
}
