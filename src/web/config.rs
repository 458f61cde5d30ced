//! The `[web]` section: the read-only page's listener, its password file and TLS files.
//!
//! On by default, on 127.0.0.1 only. Any other address is reachable from the LAN, so it is
//! refused at config check without a `password_file`. The files are read at start-up (and
//! by `hearthd check-config`) in [`super::auth::PasswordHash::load`] and [`super::tls`].

use hearth_model::ConfigIssue;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// Serve the page at all.
    pub enabled: bool,
    /// Address and port; default `127.0.0.1:8080` (this machine only).
    pub listen: SocketAddr,
    /// The password's hash, one line written by `hearthd web-password`; chmod 600. Required
    /// unless `listen` is a loopback address; with it every page asks for the password.
    pub password_file: Option<PathBuf>,
    /// Serve HTTPS with this certificate chain and key (PEM).
    pub tls: Option<WebTls>,
    /// How long a login lasts.
    #[serde(with = "hearth_model::duration")]
    pub session_lifetime: Duration,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebTls {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            password_file: None,
            tls: None,
            session_lifetime: Duration::from_secs(12 * 3600),
        }
    }
}

impl WebConfig {
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        if self.enabled && !self.listen.ip().is_loopback() && self.password_file.is_none() {
            issues.push(ConfigIssue::new(
                "web.listen",
                format!(
                    "{} is reachable from other machines, so the page needs a password: set \
                     web.password_file (write it with `hearthd web-password`), or listen on \
                     127.0.0.1",
                    self.listen
                ),
            ));
        }
        if self.session_lifetime < Duration::from_secs(60)
            || self.session_lifetime > Duration::from_secs(30 * 86_400)
        {
            issues.push(ConfigIssue::new(
                "web.session_lifetime",
                format!(
                    "{} is outside 1m..30d",
                    hearth_model::duration::format(self.session_lifetime)
                ),
            ));
        }
        issues
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> WebConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn loopback_by_default_and_a_lan_listener_needs_a_password() {
        let d = WebConfig::default();
        assert!(d.enabled && d.listen.ip().is_loopback() && d.validate().is_empty());
        let lan = parse("listen = \"0.0.0.0:8443\"");
        let issues = lan.validate();
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].key, "web.listen");
        assert!(issues[0].message.contains("password_file"), "{issues:?}");
        let ok = parse("listen = \"192.168.1.5:8443\"\npassword_file = \"/etc/hearth/web\"");
        assert!(ok.validate().is_empty());
        let off = parse("enabled = false\nlisten = \"0.0.0.0:80\"");
        assert!(off.validate().is_empty());
        let v6 = parse("listen = \"[::1]:8080\"");
        assert!(v6.validate().is_empty());
    }
}
