//! The read-only web page: Now, History, Sharing and What it reveals, served by axum on the
//! daemon's tokio runtime.
//!
//! On by default on 127.0.0.1:8080 (`[web]`); a LAN listener needs a password (config check
//! refuses it otherwise) and may use TLS. The page reads history and the ledger through their
//! read-only query functions on blocking threads, and the live state through `watch`
//! receivers; it has no route that changes anything — control stays on MQTT. If the port
//! cannot be bound, hearth logs it and runs on without the page: the page never stops control.

pub mod auth;
pub(crate) mod config;
pub mod data;
pub mod pages;
pub mod reveal;
pub mod server;
pub(crate) mod svg;
pub(crate) mod tls;

pub use config::WebConfig;
pub(crate) use server::Live;

use crate::clock::Clock;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// The page's files (password, certificate) read and checked; nothing bound yet.
pub(crate) struct Prepared {
    cfg: WebConfig,
    hash: Option<auth::PasswordHash>,
    tls: Option<Arc<rustls::ServerConfig>>,
}

/// Read the password file and TLS files of an enabled `[web]`; `None` when it is off. Run
/// before anything is started, and by `hearthd check-config`.
pub(crate) fn prepare(cfg: &crate::config::Config) -> Result<Option<Prepared>, String> {
    let web = &cfg.web;
    if !web.enabled {
        return Ok(None);
    }
    let hash = web
        .password_file
        .as_deref()
        .map(auth::PasswordHash::load)
        .transpose()
        .map_err(|e| format!("web.password_file: {e}"))?;
    let tls = web.tls.as_ref().map(tls::server_config).transpose()?;
    Ok(Some(Prepared {
        cfg: web.clone(),
        hash,
        tls,
    }))
}

/// Where the pages read from, per the config: the files themselves (no daemon here).
pub fn sources(cfg: &crate::config::Config) -> data::Sources {
    sources_with(
        cfg,
        hearth_history::Reader::file(cfg.history.path.clone()),
        crate::ledger::Reader::file(cfg.ledger.path.clone()),
    )
}

/// Where the pages read from in the daemon: through its writers' connections.
pub(crate) fn sources_with(
    cfg: &crate::config::Config,
    history: hearth_history::Reader,
    ledger: crate::ledger::Reader,
) -> data::Sources {
    data::Sources {
        history,
        ledger,
        clouds: cfg.cloud.clone(),
        local: local_now(cfg),
    }
}

/// The local day as hearth-infer reads it: a fixed offset, the zone's offset now. Days on
/// the other side of a DST change read an hour off (noted in the issue; the zone-aware
/// version is left for later).
pub(crate) fn local_now(cfg: &crate::config::Config) -> hearth_infer::Local {
    hearth_infer::Local::new(zone_offset_now(&cfg.daemon.zone()))
}

/// The zone's offset from UTC at this instant, in minutes east.
fn zone_offset_now(zone: &jiff::tz::TimeZone) -> i32 {
    zone.to_offset(jiff::Timestamp::now()).seconds() / 60
}

impl Prepared {
    /// Bind and serve until shutdown. `None` (logged) if the address cannot be bound.
    pub async fn spawn(
        self,
        src: data::Sources,
        live: Live,
        clock: Clock,
        mut shutdown: watch::Receiver<bool>,
    ) -> Option<(tokio::task::JoinHandle<()>, SocketAddr)> {
        let tcp = match tokio::net::TcpListener::bind(self.cfg.listen).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(
                    "the web page cannot listen on {} ({e}); hearth runs on without it. Change web.listen or set web.enabled = false",
                    self.cfg.listen
                );
                return None;
            }
        };
        let addr = tcp.local_addr().ok()?;
        let app = Arc::new(server::App {
            src,
            live,
            clock,
            gate: self.hash.map(|hash| server::Gate {
                hash,
                lifetime: self.cfg.session_lifetime,
                sessions: Mutex::new(auth::Sessions::default()),
                limiter: Mutex::new(auth::Limiter::default()),
            }),
            tls: self.tls.is_some(),
        });
        let service = server::router(app).into_make_service_with_connect_info::<SocketAddr>();
        let stop = async move { crate::shutdown::wait(&mut shutdown).await };
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        tracing::info!("web page on {scheme}://{addr}/");
        let task = match self.tls {
            Some(config) => {
                // `tap_io` (doing nothing) lets axum hand handlers the peer address.
                let listener = axum::serve::ListenerExt::tap_io(
                    tls::TlsListener {
                        tcp,
                        acceptor: tokio_rustls::TlsAcceptor::from(config),
                    },
                    |_| {},
                );
                tokio::spawn(async move {
                    if let Err(e) = axum::serve(listener, service)
                        .with_graceful_shutdown(stop)
                        .await
                    {
                        tracing::error!(error = %e, "the web page stopped");
                    }
                })
            }
            None => tokio::spawn(async move {
                if let Err(e) = axum::serve(tcp, service).with_graceful_shutdown(stop).await {
                    tracing::error!(error = %e, "the web page stopped");
                }
            }),
        };
        Some((task, addr))
    }
}
