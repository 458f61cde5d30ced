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
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .expect("writing server.ext");
    run(
        dir,
        "openssl",
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    run(
        dir,
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            "server.crt",
            "-extfile",
            "server.ext",
        ],
    );
    for file in ["ca.crt", "server.crt", "server.key"] {
        std::fs::set_permissions(dir.join(file), std::fs::Permissions::from_mode(0o644))
            .expect("chmod a test certificate");
    }
    Certs {
        ca: dir.join("ca.crt"),
        server_cert: dir.join("server.crt"),
        server_key: dir.join("server.key"),
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
    std::fs::write(
        dir.join("client.ext"),
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
    )
    .expect("writing client.ext");
    run(
        dir,
        "openssl",
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "client.key",
            "-out",
            "client.csr",
            "-subj",
            "/CN=client",
        ],
    );
    run(
        dir,
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            "client.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            "client.crt",
            "-extfile",
            "client.ext",
        ],
    );
    for file in ["client.crt", "client.key"] {
        std::fs::set_permissions(dir.join(file), std::fs::Permissions::from_mode(0o644))
            .expect("chmod a test certificate");
    }
    ClientCert {
        cert: dir.join("client.crt"),
        key: dir.join("client.key"),
    }
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
