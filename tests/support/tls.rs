//! Throwaway credentials for broker tests: a CA with a server certificate for
//! 127.0.0.1/localhost and, on request, a client certificate (made with the `openssl` CLI), and a Mosquitto password file (made
//! with `mosquitto_passwd`). Both tools come with scripts/install-test-deps.sh.
//!
//! Files are world-readable on purpose: a broker started as root reads them after dropping to
//! the mosquitto user. Never use these outside tests.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The files [`make_certs`] writes.
pub struct Certs {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

fn run(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}); run scripts/install-test-deps.sh (CI does)")
        });
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a server certificate it signed, valid for 2 days, in `dir`.
pub fn make_certs(dir: &Path) -> Certs {
    run(
        dir,
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-subj",
            "/CN=hearth test CA",
        ],
    );
    std::fs::set_permissions(dir.join("ca.crt"), std::fs::Permissions::from_mode(0o644))
        .expect("chmod a test certificate");
    let (server_cert, server_key) = signed_cert(
        dir,
        "server",
        "/CN=localhost",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    );
    Certs {
        ca: dir.join("ca.crt"),
        server_cert,
        server_key,
    }
}

/// The files [`make_client_cert`] writes.
pub struct ClientCert {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A client certificate (for `require_certificate` listeners) signed by the CA that
/// [`make_certs`] wrote in `dir` earlier; valid for 2 days.
pub fn make_client_cert(dir: &Path) -> ClientCert {
    let (cert, key) = signed_cert(
        dir,
        "client",
        "/CN=client",
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
    );
    ClientCert { cert, key }
}

/// `{name}.key` and `{name}.crt` in `dir`, signed by the CA there for 2 days with the
/// X.509 extensions in `ext`; returns (certificate, key).
fn signed_cert(dir: &Path, name: &str, subject: &str, ext: &str) -> (PathBuf, PathBuf) {
    let (ext_file, csr, crt, key) = (
        format!("{name}.ext"),
        format!("{name}.csr"),
        format!("{name}.crt"),
        format!("{name}.key"),
    );
    std::fs::write(dir.join(&ext_file), ext).expect("writing an openssl extension file");
    run(
        dir,
        "openssl",
        &[
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj", subject,
        ],
    );
    run(
        dir,
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            &crt,
            "-extfile",
            &ext_file,
        ],
    );
    for file in [&crt, &key] {
        std::fs::set_permissions(dir.join(file), std::fs::Permissions::from_mode(0o644))
            .expect("chmod a test certificate");
    }
    (dir.join(crt), dir.join(key))
}

/// A Mosquitto password file in `dir` with one user.
pub fn mosquitto_password_file(dir: &Path, user: &str, password: &str) -> PathBuf {
    let path = dir.join("mosquitto.passwd");
    let path_text = path.to_str().expect("a UTF-8 temp path");
    run(
        dir,
        "mosquitto_passwd",
        &["-b", "-c", path_text, user, password],
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
        .expect("chmod the password file");
    path
}
