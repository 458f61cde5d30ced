//! Reaching the outside: the local broker (a full MQTT CONNECT/CONNACK, with the configured
//! TLS and login) and each cloud (a TLS handshake with its client certificate).
//!
//! The doctor connects under its own client id and without a last will, so a running hearthd
//! keeps its session and its `online` availability.

use super::report::Check;
use crate::cloud::CloudConfig;
use hearth_api::MqttConfig;
use rumqttc::{ConnectionError, Event, MqttOptions, Packet};
use std::io::ErrorKind;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

/// How long one connection attempt may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// After a TLS 1.3 handshake, how long to wait for the server to reject the client
/// certificate (it does so only after the client's Finished).
const ALERT_WAIT: Duration = Duration::from_millis(1500);

/// MQTT CONNECT to the local broker, as `[mqtt]` configures it.
pub fn broker(cfg: Option<&MqttConfig>) -> Check {
    let name = "broker";
    let Some(m) = cfg else {
        return Check::skip(name, "no [mqtt] section: hearth runs standalone");
    };
    let target = format!("{}:{}", m.host, m.port);
    let mut opts = MqttOptions::new(
        format!("hearthd-doctor-{}", std::process::id()),
        m.host.clone(),
        m.port,
    );
    opts.set_keep_alive(Duration::from_secs(5))
        .set_clean_session(true);
    if let Some(user) = &m.username {
        let password = match &m.password_file {
            Some(p) => match hearth_api::read_password_file(p) {
                Ok(pw) => pw,
                Err(e) => {
                    return Check::fail(
                        name,
                        format!("mqtt.password_file: {e}"),
                        "fix the password file as the message says",
                    );
                }
            },
            None => String::new(),
        };
        opts.set_credentials(user.clone(), password);
    }
    if let Some(tls) = &m.tls {
        match crate::mqtt::tls_config(tls) {
            Ok(c) => {
                opts.set_transport(rumqttc::Transport::tls_with_config(
                    rumqttc::TlsConfiguration::Rustls(Arc::new(c)),
                ));
            }
            Err(e) => {
                return Check::fail(
                    name,
                    e.to_string(),
                    "fix the [mqtt.tls] files as the message says",
                );
            }
        }
    }
    match connack(opts) {
        Ok(()) => Check::ok(
            name,
            format!(
                "{target}: CONNACK accepted{}{}",
                if m.tls.is_some() { ", TLS" } else { "" },
                if m.username.is_some() {
                    ", logged in"
                } else {
                    ""
                }
            ),
        ),
        Err(e) => {
            let fix = match &*e {
                ConnectionError::ConnectionRefused(rumqttc::ConnectReturnCode::BadUserNamePassword | rumqttc::ConnectReturnCode::NotAuthorized) => {
                    "check mqtt.username and the password file against the broker's password_file (mosquitto_passwd)".to_owned()
                }
                ConnectionError::Tls(_) => "check mqtt.tls.ca_file signs the broker's certificate and that mqtt.host is a name in it".to_owned(),
                _ => format!("start the broker (sudo systemctl enable --now mosquitto) or fix mqtt.host/mqtt.port; it must listen on {target}"),
            };
            Check::fail(name, format!("{target}: {e}"), fix)
        }
    }
}

fn connack(opts: MqttOptions) -> Result<(), Box<ConnectionError>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Box::new(ConnectionError::Io(e)))?;
    rt.block_on(async move {
        let (client, mut eventloop) = rumqttc::AsyncClient::new(opts, 4);
        let mut net = rumqttc::NetworkOptions::new();
        net.set_connection_timeout(TIMEOUT.as_secs());
        eventloop.set_network_options(net);
        let attempt = async {
            loop {
                match eventloop.poll().await? {
                    Event::Incoming(Packet::ConnAck(_)) => return Ok(()),
                    _ => continue,
                }
            }
        };
        let result = match tokio::time::timeout(TIMEOUT, attempt).await {
            Ok(r) => r.map_err(Box::new),
            Err(_) => Err(Box::new(ConnectionError::NetworkTimeout)),
        };
        if result.is_ok() {
            let _ = client.try_disconnect();
            let _ = tokio::time::timeout(Duration::from_secs(1), eventloop.poll()).await;
        }
        result
    })
}

/// A TLS handshake with each cloud, presenting its client certificate.
pub fn clouds(clouds: &[CloudConfig]) -> Vec<Check> {
    if clouds.is_empty() {
        return vec![Check::skip(
            "clouds",
            "no [[cloud]]: nothing leaves the house",
        )];
    }
    clouds.iter().map(cloud).collect()
}

fn cloud(c: &CloudConfig) -> Check {
    let name = format!("cloud {}", c.name);
    let target = format!("{}:{}", c.host, c.port);
    let Some(tls) = &c.tls else {
        // Validation allows plaintext to loopback only: a TCP connect is the whole check.
        return match connect(&c.host, c.port) {
            Ok(_) => Check::ok(name, format!("{target}: reachable (loopback, no TLS)")),
            Err(e) => Check::fail(
                name,
                format!("{target}: {e}"),
                "start the loopback bridge or fix the cloud's host/port",
            ),
        };
    };
    // The same config the cloud's link connects with.
    let config = match crate::cloud::connection::tls_config(&c.name, tls) {
        Ok(c) => c,
        Err(e) => return Check::fail(name, e, "fix the cloud's tls files as the message says"),
    };
    match handshake(config, &c.host, c.port) {
        Ok(version) => Check::ok(
            name,
            format!("{target}: TLS handshake with the client certificate ({version})"),
        ),
        Err(HandshakeError::Connect(e)) => Check::fail(
            name,
            format!("{target}: {e}"),
            "check the network, DNS and the cloud's host/port (and any firewall or IPAddressDeny= drop-in)",
        ),
        Err(HandshakeError::Tls(e)) => Check::fail(
            name,
            format!("{target}: TLS: {e}"),
            "check tls.ca_file signs the server's certificate, and that the cloud accepts tls.client_cert (registered and not expired)",
        ),
    }
}

enum HandshakeError {
    Connect(std::io::Error),
    Tls(String),
}

fn connect(host: &str, port: u16) -> std::io::Result<TcpStream> {
    let mut last = std::io::Error::new(ErrorKind::NotFound, format!("{host} has no address"));
    for addr in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, TIMEOUT) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn handshake(
    config: rustls::ClientConfig,
    host: &str,
    port: u16,
) -> Result<String, HandshakeError> {
    let server = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| HandshakeError::Tls(e.to_string()))?;
    let mut conn = rustls::ClientConnection::new(Arc::new(config), server)
        .map_err(|e| HandshakeError::Tls(e.to_string()))?;
    let mut sock = connect(host, port).map_err(HandshakeError::Connect)?;
    let tls_err = |e: std::io::Error| HandshakeError::Tls(e.to_string());
    sock.set_read_timeout(Some(TIMEOUT))
        .map_err(HandshakeError::Connect)?;
    sock.set_write_timeout(Some(TIMEOUT))
        .map_err(HandshakeError::Connect)?;
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).map_err(tls_err)?;
    }
    // TLS 1.3 servers check the client certificate after the handshake; wait for an alert.
    sock.set_read_timeout(Some(ALERT_WAIT))
        .map_err(HandshakeError::Connect)?;
    match conn.complete_io(&mut sock) {
        Ok(_) => {}
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        Err(e) => return Err(tls_err(e)),
    }
    conn.send_close_notify();
    let _ = conn.complete_io(&mut sock);
    Ok(conn
        .protocol_version()
        .map(|v| format!("{v:?}"))
        .unwrap_or_else(|| "TLS".into()))
}
