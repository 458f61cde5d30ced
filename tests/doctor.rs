//! `hearthd doctor` against real brokers: the local broker over TLS with a login, a cloud
//! that accepts hearth's client certificate, and one that rejects a certificate from another
//! CA after the TLS 1.3 handshake. (Every other check runs on a scratch tree in
//! src/cli/doctor/tests.rs.)

mod support;

use support::Broker;
use support::daemon::{hearthd_command, private_file};
use support::tls::{make_certs, make_client_cert};

#[test]
fn broker_login_over_tls_and_cloud_client_certificates_are_checked_for_real() {
    let (mqtt_port, cloud_port) = (support::broker::free_port(), support::broker::free_port());
    let broker = Broker::start_with(|dir| {
        let certs = make_certs(dir);
        make_client_cert(dir);
        let passwords = support::tls::mosquitto_password_file(dir, "hearth", "s3cret-pw");
        let files = format!(
            "cafile {}\ncertfile {}\nkeyfile {}\n",
            certs.ca.display(),
            certs.server_cert.display(),
            certs.server_key.display()
        );
        format!(
            "listener {mqtt_port} 127.0.0.1\nallow_anonymous false\npassword_file {}\n{files}\
             listener {cloud_port} 127.0.0.1\nallow_anonymous true\nrequire_certificate true\n{files}",
            passwords.display()
        )
    });
    let d = broker.dir();
    // A client certificate from a CA the cloud does not trust.
    let other = tempfile::tempdir().unwrap();
    make_certs(other.path());
    let stranger = make_client_cert(other.path());
    let secrets = tempfile::tempdir().unwrap();
    let password = private_file(secrets.path(), "mqtt-password", "s3cret-pw\n");
    let cloud = |name: &str, cert: &std::path::Path, key: &std::path::Path| {
        format!(
            "[[cloud]]\nname = \"{name}\"\nformat = \"json\"\nhost = \"localhost\"\nport = {cloud_port}\n\
             client_id = \"hearth-{name}\"\ntopic_prefix = \"{name}\"\n\
             tls = {{ ca_file = \"{}\", client_cert = \"{}\", client_key = \"{}\" }}\n",
            d.join("ca.crt").display(),
            cert.display(),
            key.display()
        )
    };
    let config = format!(
        "[hardware]\n[history]\npath = \"history.db\"\n[mqtt]\nhost = \"127.0.0.1\"\nport = {mqtt_port}\nusername = \"hearth\"\n\
         password_file = \"{}\"\n[mqtt.tls]\nca_file = \"{}\"\n{}{}",
        password.display(),
        d.join("ca.crt").display(),
        cloud("good", &d.join("client.crt"), &d.join("client.key")),
        cloud("stranger", &stranger.cert, &stranger.key),
    );
    let path = secrets.path().join("hearth.toml");
    std::fs::write(&path, config).unwrap();
    let out = hearthd_command()
        .args(["doctor", "--config", path.to_str().unwrap()])
        .output()
        .expect("run hearthd doctor");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "[ ok ] broker: 127.0.0.1:{mqtt_port}: CONNACK accepted, TLS, logged in"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "[ ok ] cloud good: localhost:{cloud_port}: TLS handshake with the client certificate"
        )),
        "{text}"
    );
    let bad = text
        .lines()
        .skip_while(|l| !l.starts_with("[FAIL] cloud stranger:"))
        .take(2)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        bad.contains(&format!("localhost:{cloud_port}: TLS:")),
        "{text}"
    );
    assert!(
        bad.contains("fix: check tls.ca_file signs the server's certificate, and that the cloud accepts tls.client_cert"),
        "{text}"
    );
    // The relative history path (or, on a machine without it, the missing hearth user) fails.
    assert_eq!(out.status.code(), Some(1), "{text}");
}
