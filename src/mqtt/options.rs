//! rumqttc options for the local broker, built from the validated `[mqtt]` section: MQTT 5
//! (Maximum Packet Size, a session that ends with the connection) or 3.1.1, credentials
//! from the password file, TLS with rustls and ring, and the `offline` last will. Every file
//! is read and checked here, before anything connects; errors name the key (and, through
//! [`SetupError::located`], the config line).

use super::link::{self, Client, EventLoop};
use hearth_api::{AVAILABILITY_OFFLINE, MqttConfig, MqttProtocol, Topics};
use rumqttc::{AsyncClient, LastWill, MqttOptions, QoS};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Requests (publishes, subscribes) rumqttc may hold before `publish().await` waits. Small on
/// purpose: hearth never queues while disconnected, and after a reconnect it publishes the
/// current state again rather than replaying old ones.
const REQUEST_CAPACITY: usize = 32;
/// Seconds to wait for the TCP (and TLS) connection and the CONNACK.
const CONNECT_TIMEOUT_SECS: u64 = 10;
/// Why the local MQTT interface could not be set up. Each names the key or file involved.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("mqtt.password_file: {0}")]
    Password(#[source] hearth_api::SecretsError),
    #[error("mqtt.secrets_file: {0}")]
    Secrets(#[source] hearth_api::SecretsError),
    #[error("mqtt.tls.{key}: cannot read {path}: {message}")]
    Tls {
        key: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error("mqtt.tls.ca_file: {path} holds no PEM certificate hearth can use")]
    NoCa { path: PathBuf },
    #[error("mqtt.tls: the client certificate and key do not work together: {0}")]
    ClientAuth(String),
    #[error("[mqtt] is invalid: {0}")]
    Invalid(String),
    /// Any of the above at the line of the key that names the file.
    #[error("{}:{line}: {inner}", path.display())]
    Located {
        path: PathBuf,
        line: usize,
        inner: Box<SetupError>,
    },
}

impl SetupError {
    /// The config key the problem is about.
    pub fn key(&self) -> String {
        match self {
            SetupError::Password(_) => "mqtt.password_file".into(),
            SetupError::Secrets(_) => "mqtt.secrets_file".into(),
            SetupError::Tls { key, .. } => format!("mqtt.tls.{key}"),
            SetupError::NoCa { .. } => "mqtt.tls.ca_file".into(),
            SetupError::ClientAuth(_) => "mqtt.tls.client_cert".into(),
            SetupError::Invalid(_) => "mqtt".into(),
            SetupError::Located { inner, .. } => inner.key(),
        }
    }

    /// This error at `file:line` of its key in the config `cfg` was read from.
    pub fn located(self, cfg: &crate::config::Config) -> SetupError {
        match cfg.locate(&self.key()) {
            Some((path, line)) if !matches!(self, SetupError::Located { .. }) => {
                SetupError::Located {
                    path,
                    line,
                    inner: Box::new(self),
                }
            }
            _ => self,
        }
    }
}

/// Build rumqttc's options. `cfg` must have passed [`MqttConfig::validate`]: rumqttc panics
/// on a sub-second keep-alive, zero in-flight or an empty id, so this refuses to build
/// options from a section that has not been validated.
pub fn options(cfg: &MqttConfig, topics: &Topics) -> Result<MqttOptions, SetupError> {
    if let Some(issue) = cfg.validate().into_iter().next() {
        return Err(SetupError::Invalid(issue.to_string()));
    }
    let mut opts = MqttOptions::new(cfg.client_id.clone(), cfg.host.clone(), cfg.port);
    opts.set_keep_alive(cfg.keep_alive)
        // A clean session: the broker keeps no commands for hearth while it is away, so no
        // stale command arrives after a reconnect.
        .set_clean_session(true)
        .set_request_channel_capacity(REQUEST_CAPACITY)
        // Read anything a broker can deliver: a large message is refused by the intake,
        // never a connection error that takes hearth off the broker.
        .set_max_packet_size(link::MAX_INCOMING_V311, link::MAX_OUTGOING_V311)
        .set_last_will(LastWill::new(
            topics.availability(),
            AVAILABILITY_OFFLINE,
            QoS::AtLeastOnce,
            true,
        ));
    if let Some((user, password)) = credentials(cfg)? {
        opts.set_credentials(user, password);
    }
    if let Some(transport) = transport(cfg)? {
        opts.set_transport(transport);
    }
    Ok(opts)
}

/// MQTT 5 options: as [`options`], plus the Maximum Packet Size hearth announces (so the
/// broker drops what hearth would not read instead of cutting it off) and a session that
/// ends with the connection (no stored commands after a reconnect).
pub fn options_v5(
    cfg: &MqttConfig,
    topics: &Topics,
) -> Result<rumqttc::v5::MqttOptions, SetupError> {
    if let Some(issue) = cfg.validate().into_iter().next() {
        return Err(SetupError::Invalid(issue.to_string()));
    }
    let mut opts = rumqttc::v5::MqttOptions::new(cfg.client_id.clone(), cfg.host.clone(), cfg.port);
    opts.set_keep_alive(cfg.keep_alive)
        .set_clean_start(true)
        .set_session_expiry_interval(None)
        .set_request_channel_capacity(REQUEST_CAPACITY)
        .set_max_packet_size(Some(link::MAX_INCOMING_V5))
        .set_connection_timeout(CONNECT_TIMEOUT_SECS)
        .set_last_will(rumqttc::v5::mqttbytes::v5::LastWill::new(
            topics.availability(),
            AVAILABILITY_OFFLINE,
            rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
            true,
            None,
        ));
    if let Some((user, password)) = credentials(cfg)? {
        opts.set_credentials(user, password);
    }
    if let Some(transport) = transport(cfg)? {
        opts.set_transport(transport);
    }
    Ok(opts)
}

fn credentials(cfg: &MqttConfig) -> Result<Option<(String, String)>, SetupError> {
    let Some(user) = &cfg.username else {
        return Ok(None);
    };
    let password = match &cfg.password_file {
        Some(path) => hearth_api::read_password_file(path).map_err(SetupError::Password)?,
        None => String::new(),
    };
    Ok(Some((user.clone(), password)))
}

fn transport(cfg: &MqttConfig) -> Result<Option<rumqttc::Transport>, SetupError> {
    let Some(tls) = &cfg.tls else {
        return Ok(None);
    };
    let config = tls_config(tls)?;
    Ok(Some(rumqttc::Transport::tls_with_config(
        rumqttc::TlsConfiguration::Rustls(Arc::new(config)),
    )))
}

/// A rustls client config with the ring provider chosen here, so no process-wide default
/// provider is needed, and certificate files are checked at start-up rather than on every
/// connection attempt.
pub fn tls_config(tls: &hearth_api::TlsConfig) -> Result<rustls::ClientConfig, SetupError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in read_certs("ca_file", &tls.ca_file)? {
        roots.add(cert).map_err(|e| SetupError::Tls {
            key: "ca_file",
            path: tls.ca_file.clone(),
            message: e.to_string(),
        })?;
    }
    if roots.is_empty() {
        return Err(SetupError::NoCa {
            path: tls.ca_file.clone(),
        });
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SetupError::ClientAuth(e.to_string()))?
        .with_root_certificates(roots);
    match (&tls.client_cert, &tls.client_key) {
        (Some(cert), Some(key)) => {
            let chain = read_certs("client_cert", cert)?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| SetupError::Tls {
                key: "client_key",
                path: key.clone(),
                message: e.to_string(),
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| SetupError::ClientAuth(e.to_string()))
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}

fn read_certs(key: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, SetupError> {
    let err = |message: String| SetupError::Tls {
        key,
        path: path.to_owned(),
        message,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no PEM certificate in the file".into()));
    }
    Ok(certs)
}

/// A client and its event loop for the configured protocol.
pub fn connect(cfg: &MqttConfig, topics: &Topics) -> Result<(Client, EventLoop), SetupError> {
    let mut net = rumqttc::NetworkOptions::new();
    net.set_connection_timeout(CONNECT_TIMEOUT_SECS);
    // State and replies are small packets that must leave at once: without TCP_NODELAY,
    // Nagle's algorithm holds them for the broker's delayed ACK (about 40 ms).
    net.set_tcp_nodelay(true);
    match cfg.protocol {
        MqttProtocol::V311 => {
            let opts = options(cfg, topics)?;
            let capacity = opts.request_channel_capacity();
            let (client, mut eventloop) = AsyncClient::new(opts, capacity);
            eventloop.set_network_options(net);
            Ok((Client::V311(client), EventLoop::V311(Box::new(eventloop))))
        }
        MqttProtocol::V5 => {
            let mut opts = options_v5(cfg, topics)?;
            opts.set_network_options(net);
            // rumqttc's MQTT 5 state allocates (and fills) one slot per possible in-flight
            // publish up front: 65 535 by default, 14 MiB. 100 is the 3.1.1 client's default.
            opts.set_outgoing_inflight_upper_limit(100);
            let capacity = opts.request_channel_capacity();
            let (client, eventloop) = rumqttc::v5::AsyncClient::new(opts, capacity);
            Ok((Client::V5(client), EventLoop::V5(Box::new(eventloop))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn options_follow_the_config() {
        let cfg = MqttConfig {
            client_id: "hearth-test".into(),
            port: 1884,
            keep_alive: Duration::from_secs(5),
            ..MqttConfig::default()
        };
        let topics = Topics::from_config(&cfg);
        let opts = options(&cfg, &topics).unwrap();
        assert_eq!(opts.client_id(), "hearth-test");
        assert_eq!(opts.broker_address(), ("127.0.0.1".to_string(), 1884));
        assert_eq!(opts.keep_alive(), Duration::from_secs(5));
        assert!(opts.clean_session());
        assert_eq!(opts.max_packet_size(), link::MAX_INCOMING_V311);
        let v5 = options_v5(&cfg, &topics).unwrap();
        assert_eq!(v5.max_packet_size(), Some(link::MAX_INCOMING_V5));
        assert!(v5.clean_start());
        assert_eq!(
            v5.last_will().expect("a last will").message,
            &b"offline"[..]
        );
        assert_eq!(opts.request_channel_capacity(), REQUEST_CAPACITY);
        let will = opts.last_will().expect("a last will");
        assert_eq!(will.topic, "hearth/availability");
        assert_eq!(&will.message[..], b"offline");
        assert!(will.retain);
        assert!(opts.credentials().is_none());
    }

    #[test]
    fn options_refuse_values_that_would_panic_in_rumqttc() {
        for cfg in [
            MqttConfig {
                keep_alive: Duration::from_millis(500),
                ..MqttConfig::default()
            },
            MqttConfig {
                client_id: String::new(),
                ..MqttConfig::default()
            },
        ] {
            let topics = Topics::new("hearth", "homeassistant");
            let err = options(&cfg, &topics).unwrap_err();
            assert!(matches!(err, SetupError::Invalid(_)), "{err}");
        }
    }

    #[test]
    fn password_comes_from_a_private_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let cfg = MqttConfig {
            username: Some("hearth".into()),
            password_file: Some(path.clone()),
            ..MqttConfig::default()
        };
        let topics = Topics::from_config(&cfg);
        let login = options(&cfg, &topics).unwrap().credentials().unwrap();
        assert_eq!(
            (login.username.as_str(), login.password.as_str()),
            ("hearth", "s3cret")
        );

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = options(&cfg, &topics).unwrap_err().to_string();
        assert!(
            err.starts_with("mqtt.password_file:") && err.contains("chmod 640"),
            "{err}"
        );
    }

    #[test]
    fn tls_files_are_checked_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "not a certificate\n").unwrap();
        let cfg = MqttConfig {
            tls: Some(hearth_api::TlsConfig {
                ca_file: ca.clone(),
                client_cert: None,
                client_key: None,
            }),
            ..MqttConfig::default()
        };
        let topics = Topics::from_config(&cfg);
        let err = options(&cfg, &topics).unwrap_err().to_string();
        assert!(
            err.contains("mqtt.tls.ca_file") && err.contains("ca.pem"),
            "{err}"
        );
        let missing = MqttConfig {
            tls: Some(hearth_api::TlsConfig {
                ca_file: dir.path().join("absent.pem"),
                client_cert: None,
                client_key: None,
            }),
            ..MqttConfig::default()
        };
        let err = options(&missing, &topics).unwrap_err().to_string();
        assert!(err.contains("absent.pem"), "{err}");
    }
}
