//! End to end with the real `postpilot-server` binary over PostgreSQL.
//!
//! Requires `DATABASE_URL` naming a PostgreSQL server (each run creates a fresh database on it):
//!
//! ```text
//! bash .ci/with-postgres cargo test -p examples --test e2e
//! ```
//!
//! Only the tests that migrate or serve on a database need it; the command-line and refusal tests
//! run without (`-- --skip a_post_approved --skip migrate_needs`).
//!
//! The binary is driven over real sockets with a hand-written HTTP/1.1 client (no extra
//! dependencies). Every child process is owned by a guard that kills it if a test fails.
//!
#![allow(clippy::unwrap_used)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use chrono::SecondsFormat;
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_postpilot-server");
const JWT_SECRET: &str = "e2e-jwt-secret-e2e-jwt-secret-e2e-jwt-secret";
/// Key id `k1`, key bytes 1..=32 in standard base64.
const TOKEN_KEY: &str = "k1:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
const PASSWORD: &str = "correct horse battery";

// ------------------------------------------------------------------------------------------
// Processes.
// ------------------------------------------------------------------------------------------

/// A scratch directory for one child's output, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(label: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "postpilot-e2e-{}-{}-{label}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.file(name)).unwrap_or_default()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `postpilot-server`; killed (and reaped) when dropped, so a failing test never
/// leaves it behind.
struct Running {
    child: Child,
    scratch: Scratch,
}

impl Running {
    /// Starts `postpilot-server <args>` with exactly `env` (nothing inherited).
    fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let scratch = Scratch::new(
            args.first()
                .copied()
                .unwrap_or("none")
                .trim_start_matches('-'),
        );
        let child = Command::new(BINARY)
            .args(args)
            .env_clear()
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::from(File::create(scratch.file("stdout")).unwrap()))
            .stderr(Stdio::from(File::create(scratch.file("stderr")).unwrap()))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {BINARY}: {e}"));
        Self { child, scratch }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stdout(&self) -> String {
        self.scratch.read("stdout")
    }

    fn stderr(&self) -> String {
        self.scratch.read("stderr")
    }

    /// What the process printed, for failure messages.
    fn output(&self) -> String {
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout(),
            self.stderr()
        )
    }

    /// Whether it has exited, and how.
    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// Waits for the process to exit; `None` if it is still running after `limit`.
    fn wait_for_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the process to exit and returns its status, failing after `limit`.
    fn finish(&mut self, limit: Duration) -> ExitStatus {
        self.wait_for_exit(limit).unwrap_or_else(|| {
            panic!(
                "postpilot-server did not exit within {limit:?}\n{}",
                self.output()
            )
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `postpilot-server <args>` to completion (at most 60 s) with exactly `env`.
fn run(args: &[&str], env: &[(&str, &str)]) -> (ExitStatus, String, String) {
    let mut process = Running::start(args, env);
    let status = process.finish(Duration::from_secs(60));
    (status, process.stdout(), process.stderr())
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Waits until `server` answers `GET /api/v1/health` with 200 on `addr` (at most 30 s).
fn wait_until_healthy(server: &mut Running, addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = server.exited() {
            panic!("serve exited early ({status})\n{}", server.output());
        }
        if let Ok(answer) = http(addr, "GET", "/api/v1/health", None, None)
            && answer.status == 200
        {
            assert_eq!(answer.body["store"], "ok", "{}", answer.body);
            return;
        }
        assert!(
            Instant::now() < deadline,
            "/api/v1/health did not answer 200 within 30 s\n{}",
            server.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The PostgreSQL server to test against.
fn database_server() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "DATABASE_URL is not set: the end-to-end test needs a PostgreSQL server. Run it \
             through `bash .ci/with-postgres cargo test -p examples --test e2e`, which starts a \
             throwaway server and sets DATABASE_URL."
        )
    })
}

/// A new, empty database on the server and its URL.
fn fresh_database() -> String {
    database_server();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(postpilot_sqlx::testing::fresh_database_url())
        .unwrap_or_else(|e| panic!("creating a test database: {e}"))
}

// ------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 client.
// ------------------------------------------------------------------------------------------

/// One answer: the status and the JSON body (`Null` when empty, a string when not JSON).
#[derive(Debug)]
struct Answer {
    status: u16,
    body: Value,
    /// The `Location` header, on a redirect.
    location: Option<String>,
}

fn decode_chunked(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size_text = size_text.split(';').next()?.trim();
        let size = usize::from_str_radix(size_text, 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// Sends one request (`Connection: close`) and reads the whole answer.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> std::io::Result<Answer> {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer
        .iter()
        .map(|b| ("Authorization", b.as_str()))
        .collect();
    http_raw(addr, method, path, &headers, body.map(Value::to_string))
}

/// Sends `payload` (JSON, exactly these bytes) with `headers`.
fn http_raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    payload: Option<String>,
) -> std::io::Result<Answer> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(15)))?;
    stream.set_write_timeout(Some(Duration::from_secs(15)))?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: application/json\r\n"
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if payload.is_some() {
        request.push_str("Content-Type: application/json\r\n");
    }
    let payload = payload.unwrap_or_default();
    request.push_str(&format!(
        "Content-Length: {}\r\n\r\n{payload}",
        payload.len()
    ));
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;

    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| bad("no status line"))?;
    let headers: Vec<&str> = lines.collect();
    let chunked = headers.iter().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let location = headers.iter().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("location")
            .then(|| value.trim().to_owned())
    });
    let mut content = raw[split + 4..].to_vec();
    if chunked {
        content = decode_chunked(&content).ok_or_else(|| bad("bad chunked body"))?;
    }
    let body = if content.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&content)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&content).into_owned()))
    };
    Ok(Answer {
        status,
        body,
        location,
    })
}

/// A client of one running server.
struct Client<'a> {
    addr: SocketAddr,
    server: &'a Running,
}

impl Client<'_> {
    /// Sends a request and asserts its status; returns the body.
    fn expect(
        &self,
        status: u16,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        let answer = http(self.addr, method, path, token, body.as_ref())
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{}", self.server.output()));
        assert_eq!(
            answer.status,
            status,
            "{method} {path} answered {}: {}\n{}",
            answer.status,
            answer.body,
            self.server.output()
        );
        answer.body
    }
}

impl Client<'_> {
    /// Registers `email` and returns its access token.
    fn register(&self, email: &str) -> String {
        let credentials = json!({"email": email, "password": PASSWORD});
        let pair = self.expect(
            201,
            "POST",
            "/api/v1/auth/register",
            None,
            Some(credentials),
        );
        text(&pair, "access_token")
    }

    /// The OAuth connect flow through the server: asks for the consent URL (which must start
    /// with `consent`), then plays the platform sending the browser back with `code` and the
    /// state; returns where the server sends the browser on to.
    fn connect_by_oauth(&self, token: &str, platform: &str, consent: &str, code: String) -> String {
        let start = self.expect(
            200,
            "POST",
            &format!("/api/v1/accounts/connect/{platform}"),
            Some(token),
            None,
        );
        let authorize = reqwest::Url::parse(&text(&start, "authorize_url")).unwrap();
        assert!(authorize.as_str().starts_with(consent), "{authorize}");
        let state = authorize
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        let callback = reqwest::Url::parse_with_params(
            &format!("http://server/api/v1/oauth/{platform}/callback"),
            [("code", code), ("state", state)],
        )
        .unwrap();
        let callback = format!("{}?{}", callback.path(), callback.query().unwrap());
        let back = http(self.addr, "GET", &callback, None, None).unwrap();
        assert_eq!(back.status, 303, "{}\n{}", back.body, self.server.output());
        back.location.unwrap_or_default()
    }

    /// Waits (up to a minute) until the post at `path` is posted, failing at once if it fails.
    fn until_posted(&self, path: &str, token: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let now = self.expect(200, "GET", path, Some(token), None);
            if now["status"] == "posted" {
                return now;
            }
            assert_ne!(now["status"], "failed", "{now}\n{}", self.server.output());
            assert!(
                Instant::now() < deadline,
                "not published: {now}\n{}",
                self.server.output()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

fn text(body: &Value, field: &str) -> String {
    body[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {body}"))
        .to_owned()
}

// ------------------------------------------------------------------------------------------
// The tests.
// ------------------------------------------------------------------------------------------

#[test]
fn a_post_approved_from_the_queue_is_published_by_the_serving_process_which_stops_cleanly_on_sigterm()
 {
    let database_url = fresh_database();
    let migrate_env = [
        ("DATABASE_URL", database_url.as_str()),
        ("POSTPILOT_JWT_SECRET", JWT_SECRET),
        ("POSTPILOT_TOKEN_KEY", TOKEN_KEY),
        ("RUST_LOG", "warn"),
    ];
    let (status, stdout, stderr) = run(&["migrate"], &migrate_env);
    assert!(
        status.success(),
        "migrate failed ({status}):\n{stdout}\n{stderr}"
    );

    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let addr_text = addr.to_string();
    let mut server = Running::start(
        &["serve"],
        &[
            ("DATABASE_URL", database_url.as_str()),
            ("POSTPILOT_ADDR", addr_text.as_str()),
            ("POSTPILOT_JWT_SECRET", JWT_SECRET),
            ("POSTPILOT_TOKEN_KEY", TOKEN_KEY),
            ("POSTPILOT_PUBLISHERS", "simulated"),
            ("POSTPILOT_BILLING", "mock"),
            ("RUST_LOG", "warn"),
        ],
    );

    wait_until_healthy(&mut server, addr);

    let client = Client {
        addr,
        server: &server,
    };
    let credentials = json!({"email": "e2e@example.com", "password": PASSWORD});
    let pair = client.expect(
        201,
        "POST",
        "/api/v1/auth/register",
        None,
        Some(credentials),
    );
    let token = text(&pair, "access_token");
    let token = Some(token.as_str());

    let account = json!({"platform": "instagram", "account_name": "@e2e.shop",
                         "account_id_external": "ig-e2e", "access_token": "ig-oauth-token"});
    let account = client.expect(201, "POST", "/api/v1/accounts", token, Some(account));
    let account_id = text(&account, "id");

    let product = json!({
        "product_data": {
            "title": "Canvas tote",
            "description": "A sturdy everyday tote",
            "price": 24.0,
            "currency": "USD",
            "image_urls": ["https://cdn.example.com/tote.jpg"]
        },
        "platforms": ["instagram"]
    });
    let item = client.expect(201, "POST", "/api/v1/queue/generate", token, Some(product));
    assert_eq!(item["status"], "pending", "{item}");
    let item_id = text(&item, "id");

    let due = (chrono::Utc::now() + chrono::Duration::seconds(2))
        .to_rfc3339_opts(SecondsFormat::Millis, true);
    let approval = json!({"account_ids": [account_id], "scheduled_for": due});
    let approval = client.expect(
        200,
        "POST",
        &format!("/api/v1/queue/{item_id}/approve"),
        token,
        Some(approval),
    );
    let posts = approval["posts"].as_array().cloned().unwrap_or_default();
    assert_eq!(posts.len(), 1, "{approval}");
    assert_eq!(posts[0]["status"], "scheduled", "{approval}");
    let post_id = text(&posts[0], "id");

    // The worker inside `serve` publishes it once due.
    let deadline = Instant::now() + Duration::from_secs(30);
    let post = loop {
        let post = client.expect(200, "GET", &format!("/api/v1/posts/{post_id}"), token, None);
        match post["status"].as_str() {
            Some("posted") => break post,
            Some("failed") => panic!("the post failed: {post}\n{}", server.output()),
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "the post was not published within 30 s: {post}\n{}",
            server.output()
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(post["posted_at"].is_string(), "{post}");
    assert!(post["external_id"].is_string(), "{post}");
    assert_eq!(post["attempts"], 0, "{post}");
    let item = client.expect(200, "GET", &format!("/api/v1/queue/{item_id}"), token, None);
    assert_eq!(item["status"], "posted", "{item}");

    // SIGTERM: a graceful stop, exit code 0.
    let kill = Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(kill.success(), "kill -TERM failed: {kill}");
    let status = server
        .wait_for_exit(Duration::from_secs(10))
        .unwrap_or_else(|| {
            panic!(
                "serve did not stop within 10 s of SIGTERM\n{}",
                server.output()
            )
        });
    assert_eq!(
        status.code(),
        Some(0),
        "serve exited with {status} after SIGTERM\n{}",
        server.output()
    );
}

// `migrate` only touches the database: a migration job is not handed the application's
// secrets.
#[test]
fn migrate_needs_nothing_but_the_database_url() {
    let database_url = fresh_database();
    let (status, stdout, stderr) = run(
        &["migrate"],
        &[
            ("DATABASE_URL", database_url.as_str()),
            ("RUST_LOG", "warn"),
        ],
    );
    assert_eq!(
        status.code(),
        Some(0),
        "migrate exited with {status}:\n{stdout}\n{stderr}"
    );
}

// `repair-counters` on a migrated database: it needs nothing but the database either, finds
// nothing wrong with counters the triggers kept, and refuses plainly without a database.
#[test]
fn repair_counters_reports_what_it_rewrote_and_needs_a_database() {
    let database_url = fresh_database();
    let database = [
        ("DATABASE_URL", database_url.as_str()),
        ("RUST_LOG", "warn"),
    ];
    let (status, stdout, stderr) = run(&["migrate"], &database);
    assert_eq!(
        status.code(),
        Some(0),
        "migrate: {status}\n{stdout}\n{stderr}"
    );

    let (status, stdout, stderr) = run(&["repair-counters"], &database);
    assert_eq!(
        status.code(),
        Some(0),
        "repair-counters: {status}\n{stdout}\n{stderr}"
    );
    assert!(
        stdout
            .contains("0 post count(s), 0 monthly quota count(s), 0 analytics total(s) were wrong"),
        "{stdout}"
    );

    let (status, _, stderr) = run(&["repair-counters"], &[("RUST_LOG", "warn")]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("repair-counters needs DATABASE_URL"),
        "{stderr}"
    );
}

#[test]
fn a_bad_environment_value_exits_with_code_2_naming_the_variable() {
    for (name, value) in [
        ("POSTPILOT_ADDR", "nope"),
        ("POSTPILOT_RATE_LIMIT_PER_MIN", "0"),
        ("POSTPILOT_AUTH_RATE_LIMIT_PER_MIN", "plenty"),
        ("POSTPILOT_SHUTDOWN_GRACE_SECS", "-5"),
        ("POSTPILOT_JWT_SECRET", "too-short"),
        ("POSTPILOT_TOKEN_KEY", "k1:not-32-bytes"),
        ("DATABASE_URL", "mysql://localhost/postpilot"),
        ("POSTPILOT_PUBLISHERS", "live"),
        ("POSTPILOT_BILLING", "stripe"),
    ] {
        // A valid address unless it is the variable under test, so a wrongly accepted value
        // cannot collide with anything while the process is being waited for.
        let mut env = vec![("RUST_LOG", "warn"), (name, value)];
        if name != "POSTPILOT_ADDR" {
            env.push(("POSTPILOT_ADDR", "127.0.0.1:0"));
        }
        let mut process = Running::start(&["serve"], &env);
        let status = process
            .wait_for_exit(Duration::from_secs(10))
            .unwrap_or_else(|| {
                panic!(
                    "{name}={value:?} was accepted: serve is still running\n{}",
                    process.output()
                )
            });
        assert_eq!(
            status.code(),
            Some(2),
            "{name}={value:?} exited with {status}\n{}",
            process.output()
        );
        let stderr = process.stderr();
        assert!(
            stderr.contains(name),
            "the message for {name}={value:?} does not name it: {stderr:?}"
        );
    }
}

#[test]
fn help_lists_the_commands_and_exits_0() {
    for flag in ["--help", "-h"] {
        let (status, stdout, stderr) = run(&[flag], &[]);
        assert_eq!(status.code(), Some(0), "{flag}: {status}\n{stderr}");
        for word in [
            "Usage: postpilot-server",
            "serve",
            "worker",
            "migrate",
            "--help",
        ] {
            assert!(stdout.contains(word), "{flag}: no {word:?} in {stdout:?}");
        }
    }
}

/// The flags each command's help must list (with their variables), and flags it must not.
const COMMAND_FLAGS: [(&str, &[&str], &[&str]); 3] = [
    (
        "serve",
        &[
            "--addr",
            "POSTPILOT_ADDR",
            "--database-url",
            "DATABASE_URL",
            "--jwt-secret",
            "POSTPILOT_JWT_SECRET",
            "--token-key",
            "POSTPILOT_TOKEN_KEY",
            "--platform-webhook-secret",
            "POSTPILOT_PLATFORM_WEBHOOK_SECRET",
            "--stripe-webhook-secret",
            "STRIPE_WEBHOOK_SECRET",
            "--stripe-secret-key",
            "STRIPE_SECRET_KEY",
            "--rate-limit-per-min",
            "POSTPILOT_RATE_LIMIT_PER_MIN",
            "--auth-rate-limit-per-min",
            "POSTPILOT_AUTH_RATE_LIMIT_PER_MIN",
            "--public-url",
            "POSTPILOT_PUBLIC_URL",
            "--shutdown-grace-secs",
            "POSTPILOT_SHUTDOWN_GRACE_SECS",
            "--publishers",
            "POSTPILOT_PUBLISHERS",
            "--billing",
            "POSTPILOT_BILLING",
        ],
        &[],
    ),
    (
        "worker",
        &["--database-url", "--token-key", "--publishers", "--billing"],
        &["--addr", "--jwt-secret"],
    ),
    (
        "migrate",
        &["--database-url", "DATABASE_URL"],
        &["--addr", "--token-key", "--publishers"],
    ),
];

// A command's help must not start it: the process is given an address this test holds, so a
// server that tried to listen would fail, and it must exit at once with status 0.
#[test]
fn each_command_prints_its_help_and_exits_0_without_starting() {
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = held.local_addr().unwrap().to_string();
    for (command, listed, absent) in COMMAND_FLAGS {
        for flag in ["--help", "-h"] {
            let mut process = Running::start(
                &[command, flag],
                &[("POSTPILOT_ADDR", addr.as_str()), ("RUST_LOG", "info")],
            );
            let status = process
                .wait_for_exit(Duration::from_secs(10))
                .unwrap_or_else(|| {
                    panic!(
                        "{command} {flag} is still running after 10 s\n{}",
                        process.output()
                    )
                });
            assert_eq!(
                status.code(),
                Some(0),
                "{command} {flag}\n{}",
                process.output()
            );
            let stdout = process.stdout();
            assert!(
                stdout.contains(&format!("Usage: postpilot-server {command} [OPTIONS]")),
                "{command} {flag}: {stdout}"
            );
            for word in listed {
                assert!(
                    stdout.contains(word),
                    "{command} {flag}: no {word:?} in {stdout}"
                );
            }
            for word in absent {
                assert!(
                    !stdout.contains(word),
                    "{command} {flag}: {word:?} in {stdout}"
                );
            }
            assert!(
                !stdout.contains("listening"),
                "{command} {flag} started: {stdout}"
            );
        }
    }
}

#[test]
fn help_never_prints_a_secret_from_the_environment() {
    let secrets = [
        (
            "DATABASE_URL",
            "postgres://postpilot:db-password-0451@127.0.0.1:1/postpilot",
        ),
        (
            "POSTPILOT_JWT_SECRET",
            "jwt-secret-0451-jwt-secret-0451-jwt-secret",
        ),
        ("POSTPILOT_TOKEN_KEY", TOKEN_KEY),
        ("POSTPILOT_PLATFORM_WEBHOOK_SECRET", "platform-secret-0451"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_0451"),
        ("STRIPE_SECRET_KEY", "sk_live_0451"),
    ];
    let mut env = secrets.to_vec();
    // A setting that is not secret shows its value, so the test sees values when they are shown.
    env.push(("POSTPILOT_PUBLIC_URL", "https://shown.example.com"));
    for command in ["serve", "worker", "migrate", "repair-counters"] {
        let (status, stdout, stderr) = run(&[command, "--help"], &env);
        assert_eq!(status.code(), Some(0), "{command}: {status}\n{stderr}");
        for (name, value) in secrets {
            if command == "serve" {
                assert!(stdout.contains(name), "{command}: no {name} in {stdout}");
            }
            for shown in [value, "db-password-0451"] {
                assert!(
                    !stdout.contains(shown) && !stderr.contains(shown),
                    "{command} --help printed {name}'s value:\n{stdout}\n{stderr}"
                );
            }
        }
        if command == "serve" {
            assert!(
                stdout.contains("[env: POSTPILOT_PUBLIC_URL=https://shown.example.com]"),
                "{stdout}"
            );
        }
    }
}

#[test]
fn version_prints_the_version_and_exits_0() {
    for args in [&["--version"][..], &["-V"][..]] {
        let (status, stdout, stderr) = run(args, &[("POSTPILOT_ADDR", "127.0.0.1:0")]);
        assert_eq!(status.code(), Some(0), "{args:?}: {status}\n{stderr}");
        assert_eq!(
            stdout.trim(),
            format!("postpilot-server {}", env!("CARGO_PKG_VERSION")),
            "{args:?}"
        );
    }
}

#[test]
fn an_unknown_command_exits_with_code_2() {
    let (status, stdout, stderr) = run(&["launch"], &[("POSTPILOT_ADDR", "127.0.0.1:0")]);
    assert_eq!(status.code(), Some(2), "{status}\n{stdout}\n{stderr}");
    assert!(
        stderr.contains("unrecognized subcommand 'launch'"),
        "{stderr:?}"
    );
    assert!(stderr.contains("Usage: postpilot-server"), "{stderr:?}");
}

#[test]
fn an_unknown_flag_exits_with_code_2_naming_it() {
    let (status, stdout, stderr) = run(
        &["serve", "--listen", "127.0.0.1:0"],
        &[("POSTPILOT_ADDR", "127.0.0.1:0")],
    );
    assert_eq!(status.code(), Some(2), "{status}\n{stdout}\n{stderr}");
    assert!(stderr.contains("--listen"), "{stderr:?}");
}

// Nothing listens on port 1: a refusal must come before any attempt to connect.
const UNREACHABLE_DATABASE: &str = "postgres://postgres@127.0.0.1:1/postpilot";

#[test]
fn with_a_database_serve_and_worker_refuse_to_start_until_both_stand_ins_are_chosen() {
    for command in ["serve", "worker"] {
        for (opt_ins, missing) in [
            (&[][..], "POSTPILOT_PUBLISHERS"),
            (&[("POSTPILOT_BILLING", "mock")][..], "POSTPILOT_PUBLISHERS"),
            (
                &[("POSTPILOT_PUBLISHERS", "simulated")][..],
                "POSTPILOT_BILLING",
            ),
        ] {
            let mut env = vec![
                ("DATABASE_URL", UNREACHABLE_DATABASE),
                ("POSTPILOT_JWT_SECRET", JWT_SECRET),
                ("POSTPILOT_TOKEN_KEY", TOKEN_KEY),
                ("POSTPILOT_ADDR", "127.0.0.1:0"),
                ("RUST_LOG", "info"),
            ];
            env.extend_from_slice(opt_ins);
            let (status, stdout, stderr) = run(&[command], &env);
            assert_eq!(
                status.code(),
                Some(2),
                "{command} {opt_ins:?}: {status}\n{stdout}\n{stderr}"
            );
            assert!(
                stderr.contains(&format!("{missing} is required with DATABASE_URL")),
                "{command} {opt_ins:?}: {stderr:?}"
            );
            assert!(
                !stdout.contains("store: PostgreSQL"),
                "{command} {opt_ins:?} went on: {stdout}"
            );
        }
    }
}

// With both opt-ins the configuration is accepted: the process goes on to connect (and fails,
// as nothing listens there), after warning about each stand-in.
#[test]
fn with_a_database_and_both_stand_ins_chosen_serve_goes_on_to_connect() {
    let (status, stdout, stderr) = run(
        &["serve"],
        &[
            ("DATABASE_URL", UNREACHABLE_DATABASE),
            ("POSTPILOT_JWT_SECRET", JWT_SECRET),
            ("POSTPILOT_TOKEN_KEY", TOKEN_KEY),
            ("POSTPILOT_PUBLISHERS", "simulated"),
            ("POSTPILOT_BILLING", "mock"),
            ("POSTPILOT_ADDR", "127.0.0.1:0"),
            ("RUST_LOG", "info"),
        ],
    );
    assert_ne!(status.code(), Some(0), "{status}\n{stdout}\n{stderr}");
    assert!(
        stderr.contains("the database is unreachable"),
        "{stderr}\n{stdout}"
    );
    for warning in [
        "POSTPILOT_PUBLISHERS=simulated: posts are marked published",
        "POSTPILOT_BILLING=mock: any user gets any paid plan for free",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.contains("WARN") && l.contains(warning)),
            "no warning {warning:?}:\n{stdout}"
        );
    }
}

/// Starts `serve` in memory on a free port with `env` added, ready.
fn serve_in_memory(env: &[(&str, &str)]) -> (Running, SocketAddr) {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let addr_text = addr.to_string();
    let mut all = vec![("POSTPILOT_ADDR", addr_text.as_str()), ("RUST_LOG", "info")];
    all.extend_from_slice(env);
    let mut server = Running::start(&["serve"], &all);
    wait_until_healthy(&mut server, addr);
    (server, addr)
}

#[test]
fn in_memory_mode_warns_that_it_defaults_to_simulated_publishers_and_mock_billing() {
    let (server, _) = serve_in_memory(&[]);

    let stdout = server.stdout();
    for warning in [
        "POSTPILOT_PUBLISHERS is not set, so in memory mode it is simulated: posts are marked published, nothing reaches a real platform",
        "POSTPILOT_BILLING is not set, so in memory mode it is mock: any user gets any paid plan for free",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.contains("WARN") && l.contains(warning)),
            "no warning {warning:?}:\n{}",
            server.output()
        );
    }
}

/// The process's environment as `/proc` shows it, as `NAME=value` strings. glibc 2.36 parses
/// `GLIBC_TUNABLES` in place, ending the string at its first `:`, so there only its first setting
/// reads back; a glibc that parses a copy shows all of it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn environment_of(server: &Running) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{}/environ", server.pid())).unwrap();
    raw.split(|&b| b == 0)
        .map(|entry| String::from_utf8_lossy(entry).into_owned())
        .collect()
}

// Started with `GLIBC_TUNABLES` unset (the test clears the environment), `serve` replaced itself
// with itself under glibc settings for a long-running server (the same process, which answered
// the health check) — with its arguments intact.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn serve_restarts_itself_once_with_glibc_malloc_set_for_a_long_running_server() {
    let (server, _) = serve_in_memory(&[]);

    let environment = environment_of(&server);
    let tunables: Vec<&String> = environment
        .iter()
        .filter(|entry| entry.starts_with("GLIBC_TUNABLES="))
        .collect();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let expected = format!(
        "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1048576:glibc.malloc.arena_max={}",
        cores.div_ceil(2)
    );
    assert!(
        matches!(tunables[..], [entry] if entry.starts_with("GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1048576")
            && expected.starts_with(entry.as_str())),
        "{tunables:?}, expected (a prefix of) {expected}\n{}",
        server.output()
    );
    assert!(
        environment.contains(&"POSTPILOT_MALLOC_SET=1".to_owned()),
        "{environment:?}"
    );
    let arguments = std::fs::read(format!("/proc/{}/cmdline", server.pid())).unwrap();
    let arguments: Vec<&[u8]> = arguments.split(|&b| b == 0).collect();
    assert_eq!(arguments[1..], [&b"serve"[..], b""], "{arguments:?}");
    assert!(
        !server.stderr().contains("could not restart"),
        "{}",
        server.output()
    );
}

// An operator's own `GLIBC_TUNABLES`, even an empty one, is theirs: the server does not restart.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn an_operators_glibc_tunables_are_left_as_they_are() {
    for value in ["glibc.malloc.arena_max=1", ""] {
        let (server, _) = serve_in_memory(&[("GLIBC_TUNABLES", value)]);

        let environment = environment_of(&server);
        assert!(
            environment.contains(&format!("GLIBC_TUNABLES={value}")),
            "{environment:?}"
        );
    }
}

// An empty variable is unset, as the shell's `VAR=` means: were any of these read as set, the
// process would refuse it (not a postgres:// URL, a JWT secret under 32 bytes, a rate of 0, a
// Stripe key, an unknown stand-in).
#[test]
fn empty_variables_count_as_unset() {
    let (server, addr) = serve_in_memory(&[
        ("DATABASE_URL", ""),
        ("POSTPILOT_JWT_SECRET", ""),
        ("POSTPILOT_TOKEN_KEY", ""),
        ("POSTPILOT_RATE_LIMIT_PER_MIN", ""),
        ("STRIPE_SECRET_KEY", ""),
        ("POSTPILOT_PUBLISHERS", ""),
        ("POSTPILOT_BILLING", ""),
        ("POSTPILOT_PUBLIC_URL", ""),
    ]);

    let stdout = server.stdout();
    assert!(stdout.contains("store: in memory"), "{}", server.output());
    assert!(
        stdout.contains("POSTPILOT_PUBLISHERS is not set"),
        "{}",
        server.output()
    );
    // The public URL fell back on the listen address.
    let client = Client {
        addr,
        server: &server,
    };
    let credentials = json!({"email": "empty@example.com", "password": PASSWORD});
    let pair = client.expect(
        201,
        "POST",
        "/api/v1/auth/register",
        None,
        Some(credentials),
    );
    let token = text(&pair, "access_token");
    let checkout = client.expect(
        200,
        "POST",
        "/api/v1/billing/checkout",
        Some(&token),
        Some(json!({"plan": "pro"})),
    );
    let url = text(&checkout, "checkout_url");
    let path = url
        .strip_prefix(&format!("http://{addr}"))
        .unwrap_or_else(|| panic!("{url} is not under http://{addr}"));
    // And the link leads to a page.
    let page = client.expect(200, "GET", path, None, None);
    assert!(
        page.as_str()
            .is_some_and(|html| html.contains("mock billing")),
        "{page}"
    );
}

#[test]
fn serve_with_a_database_but_no_jwt_secret_exits_with_code_2_naming_it() {
    // Nothing listens on port 1: the process must refuse before it tries to connect.
    let (status, stdout, stderr) = run(
        &["serve"],
        &[
            ("DATABASE_URL", "postgres://postgres@127.0.0.1:1/postpilot"),
            ("POSTPILOT_TOKEN_KEY", TOKEN_KEY),
            ("POSTPILOT_ADDR", "127.0.0.1:0"),
            ("RUST_LOG", "warn"),
        ],
    );
    assert_eq!(status.code(), Some(2), "{status}\n{stdout}\n{stderr}");
    assert!(
        stderr.contains("POSTPILOT_JWT_SECRET"),
        "the message does not name POSTPILOT_JWT_SECRET: {stderr:?}"
    );
}

// `POSTPILOT_PUBLISHERS=platforms` with Instagram's Graph API pointed at a local fake: an
// Instagram post goes through the real client's container flow and is published once; the
// platforms this build has no client for are not offered.
#[test]
fn with_platform_publishers_an_instagram_post_is_published_through_the_graph_api() {
    const IG_TOKEN: &str = "IGQVJ-e2e-token";
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime.block_on(postpilot_clients::testing::FakeInstagram::start(
        IG_TOKEN, 1,
    ));
    let (server, addr) = serve_in_memory(&[
        ("POSTPILOT_PUBLISHERS", "platforms"),
        ("POSTPILOT_INSTAGRAM_GRAPH_URL", fake.base_url.as_str()),
    ]);
    let client = Client {
        addr,
        server: &server,
    };
    let credentials = json!({"email": "ig@example.com", "password": PASSWORD});
    let pair = client.expect(
        201,
        "POST",
        "/api/v1/auth/register",
        None,
        Some(credentials),
    );
    let token = text(&pair, "access_token");
    let token = Some(token.as_str());

    let tiktok = json!({"platform": "tiktok", "account_name": "@shop",
                        "account_id_external": "tt-1", "access_token": "tt-token"});
    let refused = client.expect(422, "POST", "/api/v1/accounts", token, Some(tiktok));
    assert!(
        refused.to_string().contains("tiktok is not offered"),
        "{refused}"
    );
    let account = json!({"platform": "instagram", "account_name": "@aurora.shop",
                         "account_id_external": "17841400000000042", "access_token": IG_TOKEN});
    let account = client.expect(201, "POST", "/api/v1/accounts", token, Some(account));
    let due = (chrono::Utc::now() + chrono::Duration::seconds(1))
        .to_rfc3339_opts(SecondsFormat::Millis, true);
    let post = json!({"account_id": text(&account, "id"), "content": "Back in stock",
                      "media_urls": ["https://cdn.example.com/lamp.jpg"], "hashtags": ["lamp"],
                      "scheduled_for": due});
    let post = client.expect(201, "POST", "/api/v1/posts", token, Some(post));
    let path = format!("/api/v1/posts/{}", text(&post, "id"));

    let deadline = Instant::now() + Duration::from_secs(60);
    let published = loop {
        let now = client.expect(200, "GET", &path, token, None);
        if now["status"] == "posted" {
            break now;
        }
        assert_ne!(now["status"], "failed", "{now}\n{}", server.output());
        assert!(
            Instant::now() < deadline,
            "not published: {now}\n{}",
            server.output()
        );
        std::thread::sleep(Duration::from_millis(250));
    };

    let media = fake.media();
    assert_eq!(media.len(), 1, "published once");
    assert_eq!(published["external_id"], media[0].id.as_str());
    assert_eq!(media[0].caption, "Back in stock\n\n#lamp");
    let attempts = client.expect(200, "GET", &format!("{path}/attempts"), token, None);
    let outcomes: Vec<&str> = attempts["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["outcome"].as_str())
        .collect();
    assert_eq!(outcomes.last(), Some(&"posted"), "{attempts}");
    assert!(!server.output().contains(IG_TOKEN), "the token was logged");
}

// Connecting an Instagram account by OAuth through the server: the consent URL it hands out, the
// platform's redirect to its callback (played by the test with a code the fake issued), the
// browser sent on to the app, and the account then publishing with the token it was granted.
#[test]
fn an_instagram_account_connected_by_oauth_through_the_server_publishes() {
    use postpilot_clients::testing::{FAKE_APP_ID, FAKE_APP_SECRET, FAKE_IG_USER, FakeInstagram};
    const IG_TOKEN: &str = "IGQVJ-oauth-e2e";
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime.block_on(FakeInstagram::start(IG_TOKEN, 1));
    let public = "https://app.example.com";
    let (server, addr) = serve_in_memory(&[
        ("POSTPILOT_PUBLISHERS", "platforms"),
        ("POSTPILOT_INSTAGRAM_GRAPH_URL", fake.base_url.as_str()),
        ("POSTPILOT_INSTAGRAM_WWW_URL", fake.base_url.as_str()),
        ("POSTPILOT_INSTAGRAM_API_URL", fake.base_url.as_str()),
        ("POSTPILOT_INSTAGRAM_APP_ID", FAKE_APP_ID),
        ("POSTPILOT_INSTAGRAM_APP_SECRET", FAKE_APP_SECRET),
        ("POSTPILOT_PUBLIC_URL", public),
        ("POSTPILOT_CONNECT_RETURN_PATH", "/app/accounts"),
    ]);
    let client = Client {
        addr,
        server: &server,
    };
    let credentials = json!({"email": "oauth@example.com", "password": PASSWORD});
    let pair = client.expect(
        201,
        "POST",
        "/api/v1/auth/register",
        None,
        Some(credentials),
    );
    let token = text(&pair, "access_token");
    let token = Some(token.as_str());

    let start = client.expect(
        200,
        "POST",
        "/api/v1/accounts/connect/instagram",
        token,
        None,
    );
    let authorize = text(&start, "authorize_url");
    assert!(
        authorize.starts_with(&format!("{}/oauth/authorize?", fake.base_url)),
        "{authorize}"
    );
    let redirect_uri = format!("{public}/api/v1/oauth/instagram/callback");
    let authorize = reqwest::Url::parse(&authorize).unwrap();
    let get = |name: &str| {
        authorize
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(get("redirect_uri").as_deref(), Some(redirect_uri.as_str()));
    let state = get("state").unwrap();

    // Instagram sends the browser back with a code and the state.
    let callback = reqwest::Url::parse_with_params(
        "http://server/api/v1/oauth/instagram/callback",
        [("code", fake.issue_code()), ("state", state)],
    )
    .unwrap();
    let callback = format!("{}?{}", callback.path(), callback.query().unwrap());
    let back = http(addr, "GET", &callback, None, None).unwrap();
    assert_eq!(back.status, 303, "{}\n{}", back.body, server.output());
    assert_eq!(
        back.location.as_deref(),
        Some("https://app.example.com/app/accounts?connected=instagram&accounts=1")
    );
    // The same state again: the code is spent, and the browser is told so.
    let again = http(addr, "GET", &callback, None, None).unwrap();
    assert_eq!(
        again.location.as_deref(),
        Some("https://app.example.com/app/accounts?connect_error=refused&platform=instagram")
    );

    let accounts = client.expect(200, "GET", "/api/v1/accounts", token, None);
    assert_eq!(accounts["total"], 1, "{accounts}");
    let account = &accounts["items"][0];
    assert_eq!(account["account_id_external"], FAKE_IG_USER);
    assert_eq!(account["account_name"], "@aurora.shop");
    let due = (chrono::Utc::now() + chrono::Duration::seconds(1))
        .to_rfc3339_opts(SecondsFormat::Millis, true);
    let post = json!({"account_id": text(account, "id"), "content": "Connected by OAuth",
                      "media_urls": ["https://cdn.example.com/lamp.jpg"], "scheduled_for": due});
    let post = client.expect(201, "POST", "/api/v1/posts", token, Some(post));
    let path = format!("/api/v1/posts/{}", text(&post, "id"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while client.expect(200, "GET", &path, token, None)["status"] != "posted" {
        assert!(
            Instant::now() < deadline,
            "not published\n{}",
            server.output()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(fake.media().len(), 1);
    let output = server.output();
    for secret in [FAKE_APP_SECRET, IG_TOKEN] {
        assert!(!output.contains(secret), "{secret} was logged");
    }
}

// Connecting Facebook Pages by OAuth through the server, with Facebook's hosts pointed at the
// fake: the merchant granted two Pages on a plan that takes one account, so one is connected
// and the app is told one was left out; the connected Page then publishes with its own token.
#[test]
fn facebook_pages_connected_by_oauth_through_the_server_publish_within_the_plan() {
    use postpilot_clients::testing::{
        FAKE_APP_ID, FAKE_APP_SECRET, FAKE_PAGE, FAKE_PAGE_TOKEN, FakeFacebook, FbCall,
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime.block_on(FakeFacebook::start());
    let (server, addr) = serve_in_memory(&[
        ("POSTPILOT_PUBLISHERS", "platforms"),
        ("POSTPILOT_FACEBOOK_GRAPH_URL", fake.base_url.as_str()),
        ("POSTPILOT_FACEBOOK_WWW_URL", fake.base_url.as_str()),
        ("POSTPILOT_META_APP_ID", FAKE_APP_ID),
        ("POSTPILOT_META_APP_SECRET", FAKE_APP_SECRET),
        ("POSTPILOT_PUBLIC_URL", "https://app.example.com"),
    ]);
    let client = Client {
        addr,
        server: &server,
    };
    let token = client.register("pages@example.com");

    let consent = format!("{}/v23.0/dialog/oauth?", fake.base_url);
    let back = client.connect_by_oauth(&token, "facebook", &consent, fake.issue_code());
    assert_eq!(
        back,
        "https://app.example.com/app/accounts?connected=facebook&accounts=1&over_limit=1"
    );

    let bearer = token.as_str();
    let token = Some(bearer);
    let accounts = client.expect(200, "GET", "/api/v1/accounts", token, None);
    assert_eq!(accounts["total"], 1, "{accounts}");
    let account = &accounts["items"][0];
    assert_eq!(account["account_id_external"], FAKE_PAGE);
    let due = (chrono::Utc::now() + chrono::Duration::seconds(1))
        .to_rfc3339_opts(SecondsFormat::Millis, true);
    let post = json!({"account_id": text(account, "id"), "content": "Open all weekend",
                      "scheduled_for": due});
    let post = client.expect(201, "POST", "/api/v1/posts", token, Some(post));
    let published = client.until_posted(&format!("/api/v1/posts/{}", text(&post, "id")), bearer);
    let made = fake.posts();
    assert_eq!(made.len(), 1);
    assert_eq!(published["external_id"], made[0].id.as_str());
    assert_eq!(
        fake.seen(FbCall::Post)[0].1.as_deref(),
        Some(FAKE_PAGE_TOKEN)
    );
    let output = server.output();
    for secret in [FAKE_APP_SECRET, FAKE_PAGE_TOKEN] {
        assert!(!output.contains(secret), "{secret} was logged");
    }
}

// TikTok through the server, with its hosts pointed at the fake: offered only because its app
// is configured, connected by Login Kit, and a video published by PULL_FROM_URL, polled until
// TikTok completes it.
#[test]
fn a_tiktok_account_connected_through_the_server_publishes_a_video() {
    use postpilot_clients::testing::{
        FAKE_TIKTOK_CLIENT_KEY, FAKE_TIKTOK_CLIENT_SECRET, FAKE_TIKTOK_OPEN_ID, FakeTikTok,
    };
    const TT_TOKEN: &str = "act.e2e-tiktok-token";
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime.block_on(FakeTikTok::start(TT_TOKEN, 1));
    let (server, addr) = serve_in_memory(&[
        ("POSTPILOT_PUBLISHERS", "platforms"),
        ("POSTPILOT_TIKTOK_API_URL", fake.base_url.as_str()),
        ("POSTPILOT_TIKTOK_WWW_URL", fake.base_url.as_str()),
        ("POSTPILOT_TIKTOK_CLIENT_KEY", FAKE_TIKTOK_CLIENT_KEY),
        ("POSTPILOT_TIKTOK_CLIENT_SECRET", FAKE_TIKTOK_CLIENT_SECRET),
        ("POSTPILOT_PUBLIC_URL", "https://app.example.com"),
    ]);
    let client = Client {
        addr,
        server: &server,
    };
    let token = client.register("tiktok@example.com");

    let consent = format!("{}/v2/auth/authorize/?", fake.base_url);
    let back = client.connect_by_oauth(&token, "tiktok", &consent, fake.issue_code());
    assert_eq!(
        back,
        "https://app.example.com/app/accounts?connected=tiktok&accounts=1"
    );

    let bearer = token.as_str();
    let token = Some(bearer);
    let accounts = client.expect(200, "GET", "/api/v1/accounts", token, None);
    let account = &accounts["items"][0];
    assert_eq!(account["account_id_external"], FAKE_TIKTOK_OPEN_ID);
    let due = (chrono::Utc::now() + chrono::Duration::seconds(1))
        .to_rfc3339_opts(SecondsFormat::Millis, true);
    let post = json!({"account_id": text(account, "id"), "content": "Aurora, in motion",
                      "media_urls": ["https://cdn.example.com/aurora.mp4"], "scheduled_for": due});
    let post = client.expect(201, "POST", "/api/v1/posts", token, Some(post));
    let published = client.until_posted(&format!("/api/v1/posts/{}", text(&post, "id")), bearer);
    let made = fake.publications();
    assert_eq!(made.len(), 1);
    assert_eq!(published["external_id"], made[0].post_id.as_str());
    let output = server.output();
    for secret in [FAKE_TIKTOK_CLIENT_SECRET, TT_TOKEN, "rft.first"] {
        assert!(!output.contains(secret), "{secret} was logged");
    }
}

// Captions through the server, with POSTPILOT_LLM_* pointed at a fake Anthropic: the queue's
// generate answers the model's caption and says what wrote it and at what cost; a model that stays
// down with POSTPILOT_LLM_FALLBACK=none is a 503 problem, not a template in disguise; the key is
// never logged.
#[test]
fn a_queue_item_generated_through_the_server_is_written_by_the_configured_model() {
    use postpilot_clients::testing::{FAKE_LLM_KEY, FakeLlm, LlmReply, default_answer};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime.block_on(FakeLlm::start());
    let llm = |fallback: &'static str| {
        serve_in_memory(&[
            ("POSTPILOT_LLM_PROVIDER", "anthropic"),
            ("POSTPILOT_LLM_MODEL", "claude-e2e"),
            ("POSTPILOT_LLM_API_KEY", FAKE_LLM_KEY),
            ("POSTPILOT_LLM_BASE_URL", fake.base_url.as_str()),
            ("POSTPILOT_LLM_FALLBACK", fallback),
        ])
    };
    let (server, addr) = llm("template");
    let client = Client {
        addr,
        server: &server,
    };
    let token = client.register("captions@example.com");
    let body = json!({"product_data": {"title": "Aurora Desk Lamp", "url": "https://shop.example/lamp"},
                      "platforms": ["instagram", "tiktok"], "tone": "casual"});
    let tiktok = json!({"caption": "POV: your desk finally glows", "hashtags": ["desksetup"]});
    fake.reply(LlmReply::Answer(
        json!({"instagram": default_answer(), "tiktok": tiktok}),
    ));

    let item = client.expect(
        201,
        "POST",
        "/api/v1/queue/generate",
        Some(&token),
        Some(body.clone()),
    );

    assert_eq!(item["ai_generated_content"], default_answer()["caption"]);
    assert_eq!(item["platform_captions"], json!({ "tiktok": tiktok }));
    assert_eq!(
        item["caption_generator"],
        json!({"name": "anthropic:claude-e2e", "input_tokens": 120, "output_tokens": 40, "fell_back": null})
    );
    assert!(
        !server.output().contains(FAKE_LLM_KEY),
        "the key was logged"
    );
    drop(server);

    let (server, addr) = llm("none");
    let client = Client {
        addr,
        server: &server,
    };
    let token = client.register("captions@example.com");
    for _ in 0..3 {
        fake.reply(LlmReply::Status {
            status: 529,
            retry_after: Some("0"),
        });
    }
    let problem = client.expect(
        503,
        "POST",
        "/api/v1/queue/generate",
        Some(&token),
        Some(body),
    );
    assert_eq!(problem["status"], 503);
    let items = client.expect(200, "GET", "/api/v1/queue", Some(&token), None);
    assert_eq!(items["total"], 0, "nothing is stored when generation fails");
}

// Billing through the server with POSTPILOT_BILLING=stripe against a fake Stripe: a checkout
// grants nothing until Stripe's signed webhook says it is paid; a forged signature is refused;
// the secret key is never logged.
#[test]
fn a_plan_bought_through_the_server_is_granted_by_stripes_signed_webhook() {
    use postpilot_clients::testing::{
        FAKE_PRICE_ENTERPRISE, FAKE_PRICE_PRO, FAKE_STRIPE_KEY, FakeStripe,
    };
    const WEBHOOK_SECRET: &str = "whsec_e2eStripeSecret";
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let fake = runtime.block_on(FakeStripe::start());
    let scratch = Scratch::new("stripe");
    let plans = scratch.file("plans.toml");
    let prices = format!(
        "[pro]\nstripe_price = \"{FAKE_PRICE_PRO}\"\n\n[enterprise]\nstripe_price = \"{FAKE_PRICE_ENTERPRISE}\"\n"
    );
    std::fs::write(&plans, prices).unwrap();
    let plans = plans.to_string_lossy().into_owned();
    let (server, addr) = serve_in_memory(&[
        ("POSTPILOT_BILLING", "stripe"),
        ("STRIPE_SECRET_KEY", FAKE_STRIPE_KEY),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("POSTPILOT_PLANS_FILE", plans.as_str()),
        ("POSTPILOT_STRIPE_API_URL", fake.base_url.as_str()),
    ]);
    let client = Client {
        addr,
        server: &server,
    };
    let token = client.register("stripe@example.com");
    let bearer = Some(token.as_str());

    let checkout = client.expect(
        200,
        "POST",
        "/api/v1/billing/checkout",
        bearer,
        Some(json!({"plan": "pro"})),
    );
    assert!(text(&checkout, "checkout_url").starts_with(&format!("{}/pay/", fake.base_url)));
    let subscription = client.expect(200, "GET", "/api/v1/billing/subscription", bearer, None);
    assert_eq!(
        subscription["plan"], "free",
        "nothing is granted before Stripe says it is paid"
    );

    let (_, events) = fake.complete_checkout(&text(&checkout, "session_id"));
    let deliver = |event: &[u8], secret: &str| {
        let body = String::from_utf8(event.to_vec()).unwrap();
        let now = chrono::Utc::now().timestamp();
        let v1 = postpilot_core::webhook::signature::sign(secret.as_bytes(), now, body.as_bytes());
        let header = format!("t={now},v1={v1}");
        http_raw(
            addr,
            "POST",
            "/api/v1/webhooks/stripe",
            &[("Stripe-Signature", &header)],
            Some(body),
        )
        .unwrap()
        .status
    };
    assert_eq!(
        deliver(&events[0], "whsec_forged"),
        401,
        "a forged signature is refused"
    );
    for event in &events {
        assert_eq!(deliver(event, WEBHOOK_SECRET), 200);
    }
    let subscription = client.expect(200, "GET", "/api/v1/billing/subscription", bearer, None);
    assert_eq!(
        (
            subscription["plan"].as_str(),
            subscription["status"].as_str()
        ),
        (Some("pro"), Some("active"))
    );
    let portal = client.expect(200, "POST", "/api/v1/billing/portal", bearer, None);
    assert!(text(&portal, "portal_url").starts_with(&format!("{}/portal/", fake.base_url)));
    assert!(
        !server.output().contains(FAKE_STRIPE_KEY),
        "the secret key was logged"
    );
}
