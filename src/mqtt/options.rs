//! The local side of the shared link (`crate::link`): options built from the validated
//! `[mqtt]` section (the protocol `mqtt.protocol` chose, credentials from the password file,
//! TLS, the `offline` last will, the local packet limits) and the session that hands every
//! message to the intake. Every file is read and checked here, before anything connects;
//! errors name the key (and, through [`SetupError::located`], the config line).

use crate::link::tls::TlsError;
use crate::link::{
    self, Backoff, Client, EventLoop, Limits, Link, LinkOptions, Message, Peer, Session, Will,
};
use hearth_api::{AVAILABILITY_OFFLINE, MqttConfig, Topics};
use std::path::PathBuf;
use tokio::sync::mpsc;

/// Largest packet hearth accepts on MQTT 5, announced in CONNECT. Commands and requests are
/// at most 4 KiB (`hearth_api::MAX_PAYLOAD_BYTES`); the slack lets a payload somewhat over
/// that still arrive and get a `payload_too_large` reply. Anything larger is dropped by the
/// broker, never delivered.
pub const MAX_INCOMING_V5: u32 = 64 * 1024;
/// Largest packet hearth reads on MQTT 3.1.1: the protocol's own maximum (remaining length
/// 268 435 455 plus a 5-byte fixed header), so no message a broker can deliver is a
/// connection error.
pub const MAX_INCOMING_V311: usize = 268_435_455 + 5;
/// Largest packet hearth sends on MQTT 3.1.1 (large history replies); on MQTT 5 the
/// broker's CONNACK sets it.
pub const MAX_OUTGOING_V311: usize = 4 * 1024 * 1024;

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

/// The link options for the local broker. `cfg` must have passed
/// [`MqttConfig::validate`]: rumqttc panics on a sub-second keep-alive, zero in-flight or
/// an empty id, so this refuses to build options from a section that has not been validated.
pub fn link_options(cfg: &MqttConfig, topics: &Topics) -> Result<LinkOptions, SetupError> {
    if let Some(issue) = cfg.validate().into_iter().next() {
        return Err(SetupError::Invalid(issue.to_string()));
    }
    let transport = match &cfg.tls {
        Some(tls) => link::tls::transport(tls_files(tls)).map_err(SetupError::from)?,
        None => rumqttc::Transport::Tcp,
    };
    Ok(LinkOptions {
        protocol: cfg.protocol,
        client_id: cfg.client_id.clone(),
        host: cfg.host.clone(),
        port: cfg.port,
        keep_alive: cfg.keep_alive,
        credentials: credentials(cfg)?,
        transport,
        will: Some(Will {
            topic: topics.availability().to_owned(),
            payload: AVAILABILITY_OFFLINE.as_bytes().to_vec(),
            retain: true,
        }),
        // Read anything a 3.1.1 broker can deliver: a large message is refused by the
        // intake, never a connection error that takes hearth off the broker.
        limits: Limits {
            incoming_v5: MAX_INCOMING_V5,
            incoming_v311: MAX_INCOMING_V311,
            outgoing_v311: MAX_OUTGOING_V311,
        },
    })
}

/// The local link, ready for `link::run`: `cfg`'s backoff, every message to the intake.
pub fn link(
    cfg: &MqttConfig,
    client: Client,
    eventloop: EventLoop,
    intake: mpsc::Sender<Message>,
) -> Link<ToIntake> {
    Link {
        client,
        eventloop,
        backoff: Backoff::new(cfg.reconnect_min, cfg.reconnect_max),
        peer: Peer {
            name: "the local MQTT broker".into(),
            takeover_advice: TAKEOVER_ADVICE,
        },
        session: ToIntake(intake),
    }
}

/// What to do about a client-id takeover, for the logs.
const TAKEOVER_ADVICE: &str = "hearth reconnects, but two clients with one id knock each other \
     off: give the other client its own id, and let only hearth's broker user use hearth's id \
     (see the README's Mosquitto ACL)";

/// The local link's session: subscriptions are made by the retained publisher once it sees
/// the new session (with hearth's state published first); every message goes to the intake.
pub struct ToIntake(mpsc::Sender<Message>);

impl Session for ToIntake {
    fn connected(&mut self, _client: &Client) {}

    async fn message(&mut self, message: Message) {
        // Once the intake has stopped, messages are dropped; polling goes on until the stop
        // so that `offline` and DISCONNECT still go out.
        let _ = self.0.send(message).await;
    }
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

fn tls_files(tls: &hearth_api::TlsConfig) -> link::tls::TlsFiles<'_> {
    link::tls::TlsFiles {
        ca_file: &tls.ca_file,
        client_auth: tls.client_cert.as_deref().zip(tls.client_key.as_deref()),
    }
}

impl From<TlsError> for SetupError {
    fn from(e: TlsError) -> Self {
        match e {
            TlsError::Read { key, path, message } => SetupError::Tls { key, path, message },
            TlsError::NoCa { path } => SetupError::NoCa { path },
            TlsError::ClientAuth(m) => SetupError::ClientAuth(m),
        }
    }
}

/// The rustls client config for `[mqtt.tls]` (`hearthd doctor` uses it too), with the
/// files checked as at start-up.
pub fn tls_config(tls: &hearth_api::TlsConfig) -> Result<rustls::ClientConfig, SetupError> {
    link::tls::client_config(tls_files(tls)).map_err(SetupError::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn options(cfg: &MqttConfig, topics: &Topics) -> Result<rumqttc::MqttOptions, SetupError> {
        link_options(cfg, topics).map(|o| link::options_v311(&o))
    }

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
        assert_eq!(opts.max_packet_size(), MAX_INCOMING_V311);
        let v5 = link::options_v5(&link_options(&cfg, &topics).unwrap());
        assert_eq!(v5.max_packet_size(), Some(MAX_INCOMING_V5));
        assert!(v5.clean_start());
        assert_eq!(
            v5.last_will().expect("a last will").message,
            &b"offline"[..]
        );
        assert_eq!(opts.request_channel_capacity(), link::REQUEST_CAPACITY);
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
