//! The HTTP side: axum routes, the security headers on every response, the login gate, and
//! handlers that read on a blocking thread and render a page. Read-only: there is no route
//! that changes anything in the house.

use super::auth::{self, Limiter, PasswordHash, Sessions};
use super::data::{self, Range, Sources};
use super::pages::{self, ErrorPage, HistoryPage, LoginPage, NowPage, RevealsPage, SharingPage};
use crate::clock::Clock;
use askama::Template;
use axum::extract::{ConnectInfo, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use hearth_model::{Field, HouseState, UnixMillis};
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// The CSP: everything from this origin only, no inline script or style, no framing.
pub(crate) const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The live state the Now page shows.
pub(crate) struct Live {
    pub state: watch::Receiver<HouseState>,
    pub mqtt: Option<watch::Receiver<crate::mqtt::LinkState>>,
    pub clouds: Vec<(String, watch::Receiver<crate::cloud::connection::LinkState>)>,
}

/// The password gate, when `[web] password_file` is set.
pub(crate) struct Gate {
    pub hash: PasswordHash,
    pub lifetime: Duration,
    pub sessions: Mutex<Sessions>,
    pub limiter: Mutex<Limiter>,
}

pub(crate) struct App {
    pub src: Sources,
    pub live: Live,
    pub clock: Clock,
    pub gate: Option<Gate>,
    /// Served over TLS: cookies get `Secure` and responses HSTS.
    pub tls: bool,
}

type Shared = Arc<App>;

pub(crate) fn router(app: Shared) -> Router {
    Router::new()
        .route("/", get(now))
        .route("/history", get(history))
        .route("/history.csv", get(history_csv))
        .route("/sharing", get(sharing))
        .route("/reveals", get(reveals))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/static/hearth.css", get(css))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), require_login))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            security_headers,
        ))
        .with_state(app)
}

async fn security_headers(State(app): State<Shared>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let mut set = |name: header::HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(header::CONTENT_SECURITY_POLICY, CSP);
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "no-referrer");
    set(header::CACHE_CONTROL, "no-store");
    set(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        header::HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=()",
    );
    if app.tls {
        set(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    }
    res
}

fn now_std(app: &App) -> std::time::Instant {
    app.clock.now().into_std()
}

fn logged_in(app: &App, headers: &HeaderMap) -> bool {
    let Some(gate) = &app.gate else {
        return false;
    };
    let now = now_std(app);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(auth::token_from_cookies)
        .any(|t| gate.sessions.lock().is_ok_and(|s| s.valid(t, now)))
}

async fn require_login(State(app): State<Shared>, req: Request, next: Next) -> Response {
    let open = matches!(req.uri().path(), "/login" | "/static/hearth.css");
    if app.gate.is_none() || open || logged_in(&app, req.headers()) {
        next.run(req).await
    } else {
        Redirect::to("/login").into_response()
    }
}

fn render(t: impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot render the page: {e}"),
        )
            .into_response(),
    }
}

fn error(status: StatusCode, heading: &str, message: String, logged_in: bool) -> Response {
    let mut res = render(ErrorPage {
        active: "",
        logged_in,
        built: pages::BUILT,
        heading: heading.into(),
        message,
    });
    *res.status_mut() = status;
    res
}

/// Run a reading function on a blocking thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(format!("the page's reader failed: {e}")))
}

/// [`blocking`], its failure shown as a 500 page headed `heading`.
async fn read<T: Send + 'static>(
    heading: &str,
    logged_in: bool,
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, Response> {
    blocking(f)
        .await
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, heading, e, logged_in))
}

/// The ledger of every cloud since `since`, or the 500 page.
async fn ledger_since(
    app: &App,
    logged_in: bool,
    since: UnixMillis,
) -> Result<Vec<data::CloudLedger>, Response> {
    let src = app.src.clone();
    read("Cannot read the ledger", logged_in, move || {
        data::ledger(&src, since)
    })
    .await
}

/// A handler's answer: the page, or the error page that stopped it.
fn page(r: Result<Response, Response>) -> Response {
    r.unwrap_or_else(|e| e)
}

#[derive(Deserialize)]
struct RangeQuery {
    range: Option<String>,
    field: Option<String>,
}

/// The query's range (`default` when absent), or a 400 page.
#[allow(
    clippy::result_large_err,
    reason = "the error is the page the handler answers with, moved once per request"
)]
fn range_of(q: &RangeQuery, default: Range, logged_in: bool) -> Result<Range, Response> {
    match q.range.as_deref() {
        None => Ok(default),
        Some(r) => Range::parse(r).ok_or_else(|| {
            let e = format!("unknown range `{r}`; use 24h, 7d, 30d or 1y");
            error(StatusCode::BAD_REQUEST, "Bad request", e, logged_in)
        }),
    }
}

async fn now(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let li = logged_in(&app, &headers);
    let until = app.clock.wall_now();
    let since = until.saturating_sub(Duration::from_secs(86_400));
    let clouds = match ledger_since(&app, li, since).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let mut links = Vec::new();
    if let Some(m) = &app.live.mqtt {
        let l = m.borrow().clone();
        let detail = match (&l.last_error, l.disconnects) {
            (Some(e), n) if !l.connected => format!(": {e} ({n} disconnects)"),
            (_, n) => format!(" ({n} disconnects since start)"),
        };
        links.push(("local broker".to_owned(), l.connected, detail));
    }
    for (name, rx) in &app.live.clouds {
        links.push((
            format!("cloud {name}"),
            rx.borrow().connected,
            String::new(),
        ));
    }
    let state = app.live.state.borrow().clone();
    render(NowPage::new(&state, links, &clouds, li))
}

/// A request for a page over a range of time, up to now. A query that does not parse is
/// answered as axum's `Query` answers it.
struct Ranged {
    app: Shared,
    logged_in: bool,
    q: RangeQuery,
    until: UnixMillis,
}

impl FromRequestParts<Shared> for Ranged {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Shared) -> Result<Self, Response> {
        let Query(q) = Query::try_from_uri(&parts.uri).map_err(IntoResponse::into_response)?;
        Ok(Ranged {
            logged_in: logged_in(app, &parts.headers),
            q,
            until: app.clock.wall_now(),
            app: app.clone(),
        })
    }
}

impl Ranged {
    /// The query's range (`default` when absent), or a 400 page.
    #[allow(
        clippy::result_large_err,
        reason = "the error is the page the handler answers with, moved once per request"
    )]
    fn range(&self, default: Range) -> Result<Range, Response> {
        range_of(&self.q, default, self.logged_in)
    }
}

async fn history(r: Ranged) -> Response {
    let (app, li, until) = (&r.app, r.logged_in, r.until);
    page(
        async {
            let range = r.range(Range::Day)?;
            let src = app.src.clone();
            let reading = move || data::history(&src, range, until);
            let h = read("Cannot read the history", li, reading).await?;
            Ok(render(HistoryPage::new(&h, app.src.local, li)))
        }
        .await,
    )
}

async fn history_csv(r: Ranged) -> Response {
    let (app, li, until, q) = (&r.app, r.logged_in, r.until, &r.q);
    page(
        async {
            let range = r.range(Range::Day)?;
            let field = q
                .field
                .as_deref()
                .map(str::parse::<Field>)
                .transpose()
                .map_err(|e| error(StatusCode::BAD_REQUEST, "Bad request", e.to_string(), li))?;
            let src = app.src.clone();
            let reading = move || data::history_csv(&src, range, field, until);
            let csv = read("Cannot read the history", li, reading).await?;
            let name = format!(
                "attachment; filename=\"hearth-{}-{}.csv\"",
                field.map_or("events", |f| f.name()),
                range.as_str()
            );
            let mut res =
                ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response();
            if let Ok(v) = HeaderValue::from_str(&name) {
                res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            Ok(res)
        }
        .await,
    )
}

async fn sharing(r: Ranged) -> Response {
    let (app, li, until) = (&r.app, r.logged_in, r.until);
    let range = match r.range(Range::Week) {
        Ok(r) => r,
        Err(res) => return res,
    };
    let since = until.saturating_sub(range.duration());
    let clouds = match ledger_since(app, li, since).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let sections = clouds
        .iter()
        .map(|c| {
            let policy = app
                .src
                .clouds
                .iter()
                .find(|cfg| cfg.name == c.name)
                .map(|cfg| crate::cli::policy::explain_text(std::slice::from_ref(cfg)))
                .unwrap_or_default();
            pages::CloudSection::new(c, policy, range, since, until, app.src.local)
        })
        .collect();
    render(SharingPage {
        active: "sharing",
        logged_in: li,
        built: pages::BUILT,
        ranges: [Range::Day, Range::Week, Range::Month]
            .iter()
            .map(|r| r.as_str())
            .collect(),
        range: range.as_str(),
        clouds: sections,
    })
}

/// The local days the reveal page covers: the last seven whole days and today.
pub fn reveal_window(local: hearth_infer::Local, now: UnixMillis, days: i64) -> UnixMillis {
    local.day_start(local.day(now) - days)
}

async fn reveals(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let li = logged_in(&app, &headers);
    let until = app.clock.wall_now();
    let since = reveal_window(app.src.local, until, 7);
    let src = app.src.clone();
    let reading = move || super::reveal::reveal(&src, since, until, None);
    page(
        read("Cannot read the data", li, reading)
            .await
            .map(|r| render(RevealsPage::new(&r, li))),
    )
}

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("hearth.css"),
    )
        .into_response()
}

async fn not_found(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let li = logged_in(&app, &headers);
    error(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such page.".into(),
        li,
    )
}

fn login_page(message: Option<String>) -> Response {
    render(LoginPage {
        active: "",
        logged_in: false,
        built: pages::BUILT,
        message,
    })
}

async fn login_form(State(app): State<Shared>) -> Response {
    if app.gate.is_none() {
        return Redirect::to("/").into_response();
    }
    login_page(None)
}

#[derive(Deserialize)]
struct LoginForm {
    password: String,
}

async fn login(
    State(app): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<LoginForm>,
) -> Response {
    let Some(gate) = &app.gate else {
        return Redirect::to("/").into_response();
    };
    let now = now_std(&app);
    let ip = peer.ip();
    let checked = match gate.limiter.lock() {
        Ok(mut l) => l.check(ip, now),
        Err(_) => Ok(()),
    };
    if let Err(wait) = checked {
        let mins = wait.as_secs().div_ceil(60);
        let mut res = login_page(Some(format!(
            "Too many wrong passwords. Try again in {mins} minutes."
        )));
        *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return res;
    }
    let hash = gate.hash.clone();
    let ok = tokio::task::spawn_blocking(move || hash.verify(&form.password))
        .await
        .unwrap_or(false);
    if !ok {
        if let Ok(mut l) = gate.limiter.lock() {
            l.failed(ip, now);
        }
        tracing::warn!(%ip, "web: wrong password");
        let mut res = login_page(Some("Wrong password.".into()));
        *res.status_mut() = StatusCode::UNAUTHORIZED;
        return res;
    }
    if let Ok(mut l) = gate.limiter.lock() {
        l.succeeded(ip);
    }
    let token = match gate
        .sessions
        .lock()
        .map_err(|_| "session store poisoned".to_owned())
        .and_then(|mut s| s.create(now, gate.lifetime))
    {
        Ok(t) => t,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, "Cannot log in", e, false),
    };
    let mut res = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&auth::set_cookie(&token, gate.lifetime, app.tls)) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

async fn logout(State(app): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(gate) = &app.gate
        && let Ok(mut s) = gate.sessions.lock()
    {
        for t in headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(auth::token_from_cookies)
        {
            s.remove(t);
        }
    }
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("hearth_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    res
}
