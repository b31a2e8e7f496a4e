//! A local Stripe: `POST /v1/customers`, `POST /v1/checkout/sessions` (subscription mode, one
//! price), `POST /v1/billing_portal/sessions` and `GET /v1/subscriptions/{id}`, form-encoded with
//! the secret key as a bearer, errors as `{"error": {"type", "code", "message"}}`. An
//! `Idempotency-Key` replays the first answer given for it, as Stripe does. The test plays the
//! buyer and Stripe's back office through methods that change a subscription and return the
//! events Stripe would send (`checkout.session.completed`, `customer.subscription.created|
//! updated|deleted`, `invoice.paid`, `invoice.payment_failed`), with subscriptions in the shape
//! of API versions since 2025-03 (the period on the subscription's item).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::answer;

/// The secret key the fake accepts.
pub const FAKE_STRIPE_KEY: &str = "sk_test_fakeStripeKey0123456789";
/// The prices it knows.
pub const FAKE_PRICE_PRO: &str = "price_fakePro";
pub const FAKE_PRICE_ENTERPRISE: &str = "price_fakeEnterprise";

/// One call the fake received.
#[derive(Clone, Debug)]
pub struct StripeCall {
    pub method: &'static str,
    pub path: String,
    pub idempotency_key: Option<String>,
    pub form: Vec<(String, String)>,
}

#[derive(Debug, Default)]
struct StripeState {
    next: u64,
    /// Unix seconds of the next event (each event one second after the last).
    clock: i64,
    customers: HashMap<String, Value>,
    sessions: HashMap<String, Value>,
    subscriptions: HashMap<String, Value>,
    replays: HashMap<String, (u16, Value)>,
    calls: Vec<StripeCall>,
    base_url: String,
}

impl StripeState {
    fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}_fake{:04}", self.next)
    }

    fn event(&mut self, event_type: &str, object: Value) -> Vec<u8> {
        self.clock += 1;
        let id = self.id("evt");
        json!({ "id": id, "object": "event", "type": event_type, "created": self.clock,
                "api_version": "2025-03-31.basil", "data": { "object": object } })
        .to_string()
        .into_bytes()
    }
}

/// The fake, shared with the test.
#[derive(Clone, Debug)]
pub struct FakeStripe {
    state: Arc<Mutex<StripeState>>,
    pub base_url: String,
}

type Shared = State<Arc<Mutex<StripeState>>>;

fn error(status: u16, code: &str, message: &str) -> Response {
    let body =
        json!({ "error": { "type": "invalid_request_error", "code": code, "message": message } });
    answer(status, HeaderMap::new(), body)
}

fn form_value<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The `metadata[…]` (or `subscription_data[metadata][…]`) entries of a form under `prefix`.
fn metadata(form: &[(String, String)], prefix: &str) -> Value {
    let mut out = serde_json::Map::new();
    for (key, value) in form {
        if let Some(name) = key.strip_prefix(prefix).and_then(|k| k.strip_suffix(']')) {
            out.insert(name.to_owned(), json!(value));
        }
    }
    Value::Object(out)
}

/// Records the call; `Err` with the answer to give when the key is wrong or the idempotency key
/// was seen (its first answer).
fn admit(
    state: &Arc<Mutex<StripeState>>,
    method: &'static str,
    path: String,
    headers: &HeaderMap,
    form: &[(String, String)],
) -> Result<Option<String>, Box<Response>> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let key = header("idempotency-key");
    let mut s = state.lock().unwrap();
    s.calls.push(StripeCall {
        method,
        path,
        idempotency_key: key.clone(),
        form: form.to_vec(),
    });
    if header("authorization").as_deref() != Some(&format!("Bearer {FAKE_STRIPE_KEY}")) {
        let refused = error(
            401,
            "api_key_invalid",
            "Invalid API Key provided: sk_test_****6789",
        );
        return Err(Box::new(refused));
    }
    if let Some((status, body)) = key.as_ref().and_then(|k| s.replays.get(k)) {
        return Err(Box::new(answer(*status, HeaderMap::new(), body.clone())));
    }
    Ok(key)
}

/// The form's `customer`, if the fake made it; else Stripe's `resource_missing` answer.
fn known_customer(s: &StripeState, form: &[(String, String)]) -> Result<String, Box<Response>> {
    let customer = form_value(form, "customer").unwrap_or_default();
    if s.customers.contains_key(customer) {
        Ok(customer.to_owned())
    } else {
        let message = format!("No such customer: '{customer}'");
        Err(Box::new(error(400, "resource_missing", &message)))
    }
}

fn remember(state: &Arc<Mutex<StripeState>>, key: Option<String>, body: Value) -> Response {
    if let Some(key) = key {
        state
            .lock()
            .unwrap()
            .replays
            .insert(key, (200, body.clone()));
    }
    answer(200, HeaderMap::new(), body)
}

async fn customers(
    State(state): Shared,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let key = match admit(&state, "POST", "/v1/customers".into(), &headers, &form) {
        Ok(key) => key,
        Err(replay) => return *replay,
    };
    let customer = {
        let mut s = state.lock().unwrap();
        let id = s.id("cus");
        let customer = json!({ "id": id, "object": "customer", "email": form_value(&form, "email"),
                               "metadata": metadata(&form, "metadata[") });
        s.customers.insert(id, customer.clone());
        customer
    };
    remember(&state, key, customer)
}

async fn sessions(
    State(state): Shared,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let key = match admit(
        &state,
        "POST",
        "/v1/checkout/sessions".into(),
        &headers,
        &form,
    ) {
        Ok(key) => key,
        Err(replay) => return *replay,
    };
    let mut s = state.lock().unwrap();
    let customer = match known_customer(&s, &form) {
        Ok(customer) => customer,
        Err(missing) => return *missing,
    };
    let price = form_value(&form, "line_items[0][price]").unwrap_or_default();
    if ![FAKE_PRICE_PRO, FAKE_PRICE_ENTERPRISE].contains(&price) {
        return error(
            400,
            "resource_missing",
            &format!("No such price: '{price}'"),
        );
    }
    if form_value(&form, "mode") != Some("subscription") {
        return error(
            400,
            "parameter_invalid_empty",
            "mode must be subscription for a recurring price",
        );
    }
    let id = s.id("cs_test");
    let session = json!({
        "id": id, "object": "checkout.session", "mode": "subscription", "status": "open",
        "url": format!("{}/pay/{id}", s.base_url), "customer": customer,
        "client_reference_id": form_value(&form, "client_reference_id"),
        "success_url": form_value(&form, "success_url"), "cancel_url": form_value(&form, "cancel_url"),
        "metadata": metadata(&form, "metadata["),
        "price": price,
        "subscription_metadata": metadata(&form, "subscription_data[metadata]["),
        "subscription": null,
    });
    s.sessions.insert(id, session.clone());
    drop(s);
    remember(&state, key, session)
}

async fn portal(
    State(state): Shared,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let key = match admit(
        &state,
        "POST",
        "/v1/billing_portal/sessions".into(),
        &headers,
        &form,
    ) {
        Ok(key) => key,
        Err(replay) => return *replay,
    };
    let mut s = state.lock().unwrap();
    let customer = match known_customer(&s, &form) {
        Ok(customer) => customer,
        Err(missing) => return *missing,
    };
    let id = s.id("bps");
    let body = json!({ "id": id, "object": "billing_portal.session", "customer": customer,
                       "return_url": form_value(&form, "return_url"),
                       "url": format!("{}/portal/{id}", s.base_url) });
    drop(s);
    remember(&state, key, body)
}

async fn subscription(
    State(state): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(refused) = admit(
        &state,
        "GET",
        format!("/v1/subscriptions/{id}"),
        &headers,
        &[],
    ) {
        return *refused;
    }
    match state.lock().unwrap().subscriptions.get(&id) {
        Some(sub) => answer(200, HeaderMap::new(), sub.clone()),
        None => error(
            404,
            "resource_missing",
            &format!("No such subscription: '{id}'"),
        ),
    }
}

impl FakeStripe {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(StripeState {
            clock: 1_764_763_200,
            ..StripeState::default()
        }));
        let app = Router::new()
            .route("/v1/customers", post(customers))
            .route("/v1/checkout/sessions", post(sessions))
            .route("/v1/billing_portal/sessions", post(portal))
            .route("/v1/subscriptions/{id}", get(subscription))
            .with_state(state.clone());
        let base_url = super::serve(app).await;
        state.lock().unwrap().base_url = base_url.clone();
        Self { state, base_url }
    }

    fn state(&self) -> MutexGuard<'_, StripeState> {
        self.state.lock().unwrap()
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<StripeCall> {
        self.state().calls.clone()
    }

    /// How many customers exist.
    pub fn customers(&self) -> usize {
        self.state().customers.len()
    }

    /// The buyer pays checkout session `session_id`: the subscription is created, active, and
    /// the events are `checkout.session.completed` then `customer.subscription.created`; the
    /// subscription's id comes first.
    pub fn complete_checkout(&self, session_id: &str) -> (String, Vec<Vec<u8>>) {
        let mut s = self.state();
        let session = s
            .sessions
            .get(session_id)
            .cloned()
            .expect("a session the fake made");
        let sub_id = s.id("sub");
        let start = s.clock;
        let subscription = json!({
            "id": sub_id, "object": "subscription", "customer": session["customer"],
            "status": "active", "cancel_at_period_end": false,
            "metadata": session["subscription_metadata"],
            "items": { "object": "list", "data": [{
                "id": format!("si_{sub_id}"), "object": "subscription_item",
                "price": { "id": session["price"], "object": "price" },
                "current_period_start": start, "current_period_end": start + 30 * 86_400,
            }] },
        });
        s.subscriptions.insert(sub_id.clone(), subscription.clone());
        let mut completed = session.clone();
        completed["status"] = json!("complete");
        completed["subscription"] = json!(sub_id);
        s.sessions.insert(session_id.to_owned(), completed.clone());
        let events = vec![
            s.event("checkout.session.completed", completed),
            s.event("customer.subscription.created", subscription),
        ];
        (sub_id, events)
    }

    /// Changes subscription `id` as Stripe's back office or the portal would; the
    /// `customer.subscription.updated` event.
    pub fn update(&self, id: &str, change: impl FnOnce(&mut Value)) -> Vec<u8> {
        let mut s = self.state();
        let sub = s
            .subscriptions
            .get_mut(id)
            .expect("a subscription the fake made");
        change(sub);
        let sub = sub.clone();
        s.event("customer.subscription.updated", sub)
    }

    /// The renewal payment fails: the subscription is `past_due`; the events are
    /// `invoice.payment_failed` (naming the subscription as API versions since 2025-03 do) and
    /// `customer.subscription.updated`.
    pub fn fail_payment(&self, id: &str) -> Vec<Vec<u8>> {
        let updated = self.update(id, |sub| sub["status"] = json!("past_due"));
        let mut s = self.state();
        let invoice_id = s.id("in");
        let invoice = json!({ "id": invoice_id, "object": "invoice", "status": "open",
                              "parent": { "subscription_details": { "subscription": id } } });
        vec![s.event("invoice.payment_failed", invoice), updated]
    }

    /// The subscription is canceled now: `customer.subscription.deleted`.
    pub fn cancel(&self, id: &str) -> Vec<u8> {
        let mut s = self.state();
        let sub = s
            .subscriptions
            .get_mut(id)
            .expect("a subscription the fake made");
        sub["status"] = json!("canceled");
        let sub = sub.clone();
        s.event("customer.subscription.deleted", sub)
    }
}
