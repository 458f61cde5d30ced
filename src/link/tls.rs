//! TLS for every MQTT link: a rustls client config (ring provider chosen here, no OpenSSL,
//! no process-wide default provider) built from PEM files, read and checked once, before
//! anything connects, rather than on every connection attempt.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The PEM files of one link's TLS.
#[derive(Debug, Clone, Copy)]
pub struct TlsFiles<'a> {
    /// CA certificate(s) that signed the broker's certificate.
    pub ca_file: &'a Path,
    /// Client certificate chain and its private key, for brokers that require one.
    pub client_auth: Option<(&'a Path, &'a Path)>,
}

/// Why the TLS files cannot be used; `key` is the config key's last part (`ca_file`,
/// `client_cert`, `client_key`), which the link's owner prefixes with its section.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {message}")]
    Read {
        key: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error("{path} holds no PEM certificate hearth can use")]
    NoCa { path: PathBuf },
    #[error("the client certificate and key do not work together: {0}")]
    ClientAuth(String),
}

impl TlsError {
    /// The key (last part) the problem is about.
    pub fn key(&self) -> &'static str {
        match self {
            TlsError::Read { key, .. } => key,
            TlsError::NoCa { .. } => "ca_file",
            TlsError::ClientAuth(_) => "client_cert",
        }
    }
}

/// rumqttc's TLS transport for these files.
pub fn transport(files: TlsFiles<'_>) -> Result<rumqttc::Transport, TlsError> {
    Ok(rumqttc::Transport::tls_with_config(
        rumqttc::TlsConfiguration::Rustls(Arc::new(client_config(files)?)),
    ))
}

/// A rustls client config trusting `ca_file` and, if given, proving hearth's identity with
/// the client certificate.
pub fn client_config(files: TlsFiles<'_>) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in read_certs("ca_file", files.ca_file)? {
        roots.add(cert).map_err(|e| TlsError::Read {
            key: "ca_file",
            path: files.ca_file.to_owned(),
            message: e.to_string(),
        })?;
    }
    if roots.is_empty() {
        return Err(TlsError::NoCa {
            path: files.ca_file.to_owned(),
        });
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::ClientAuth(e.to_string()))?
        .with_root_certificates(roots);
    match files.client_auth {
        Some((cert, key)) => {
            let chain = read_certs("client_cert", cert)?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Read {
                key: "client_key",
                path: key.to_owned(),
                message: e.to_string(),
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| TlsError::ClientAuth(e.to_string()))
        }
        None => Ok(builder.with_no_client_auth()),
    }
}

fn read_certs(key: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let err = |message: String| TlsError::Read {
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
