//! The web page's access rules on the real daemon: a LAN listener without a password is
//! refused at config check, wrong passwords are rate-limited, the session cookie is strict,
//! every response carries the security headers, and the page is served over TLS with a
//! given certificate.

mod support;

use std::io::{Read, Write};
use std::time::Duration;
use support::http::{assert_security_headers, get, http, wait_for};
use support::{Broker, Daemon, TestConfig, browser, scaled};

#[test]
fn a_lan_listener_without_a_password_is_refused_at_config_check() {
    let dir = tempfile::tempdir().unwrap();
    let text = TestConfig::new(1883)
        .tail("[web]\nlisten = \"0.0.0.0:8443\"\n")
        .render(dir.path());
    let path = dir.path().join("hearth.toml");
    std::fs::write(&path, text).unwrap();
    let out = support::daemon::hearthd_command()
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(
        err.contains("web.listen") && err.contains("password_file"),
        "{err}"
    );

    // With a password file that is not there, the file is named.
    let missing = dir.path().join("no-such-password");
    let text = TestConfig::new(1883)
        .tail(format!(
            "[web]\nlisten = \"0.0.0.0:8443\"\npassword_file = \"{}\"\n",
            missing.display()
        ))
        .render(dir.path());
    std::fs::write(&path, text).unwrap();
    let out = support::daemon::hearthd_command()
        .args(["check-config", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(
        err.contains("web.password_file") && err.contains("no-such-password"),
        "{err}"
    );
}

#[test]
fn wrong_passwords_are_rate_limited_and_sessions_are_strict_cookies() {
    let dir = tempfile::tempdir().unwrap();
    let line = hearthd::web::auth::PasswordHash::line_with_iterations(
        "a long passphrase",
        hearth_policy::pin::MIN_ITERATIONS,
    );
    let pw = support::daemon::private_file(dir.path(), "web-password", &format!("{line}\n"));
    let broker = Broker::start();
    let port = support::broker::free_port();
    let mut daemon = Daemon::start(&TestConfig::new(broker.port()).tail(format!(
        "[web]\nlisten = \"127.0.0.1:{port}\"\npassword_file = \"{}\"\n",
        pw.display()
    )));
    wait_for(
        "the web page to listen",
        scaled(Duration::from_secs(20)),
        || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
    );
    let login = |password: &str| {
        let body = format!("password={password}");
        http(
            port,
            &format!(
                "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
    };
    let (head, _) = get(port, "/sharing", None);
    assert!(
        head.starts_with("HTTP/1.1 303") && head.to_lowercase().contains("location: /login"),
        "{head}"
    );
    assert_security_headers(&head);

    let (head, _) = login("a+long+passphrase");
    assert!(head.starts_with("HTTP/1.1 303"), "{head}");
    let cookie_line = head
        .lines()
        .find(|l| l.to_lowercase().starts_with("set-cookie:"))
        .expect("a cookie");
    assert!(
        cookie_line.contains("HttpOnly") && cookie_line.contains("SameSite=Strict"),
        "{cookie_line}"
    );
    let cookie = cookie_line
        .split_once(':')
        .unwrap()
        .1
        .split(';')
        .next()
        .unwrap()
        .trim()
        .to_owned();
    let (head, body) = get(port, "/", Some(&cookie));
    assert!(
        head.starts_with("HTTP/1.1 200") && body.contains("<h1>Now</h1>"),
        "{head}"
    );

    for i in 0..hearthd::web::auth::MAX_FAILURES {
        let (head, body) = login("guess");
        assert!(head.starts_with("HTTP/1.1 401"), "attempt {i}: {head}");
        assert!(body.contains("Wrong password"));
        assert_security_headers(&head);
    }
    // Locked out now: even the right password is refused, with a Retry-After.
    let (head, body) = login("a+long+passphrase");
    assert!(head.starts_with("HTTP/1.1 429"), "{head}");
    assert!(head.to_lowercase().contains("retry-after: "), "{head}");
    assert!(body.contains("Too many wrong passwords"));
    daemon.assert_running();
}

#[test]
fn the_page_is_served_over_tls_with_a_given_certificate() {
    if let Some(why) = browser::skip_reason() {
        println!("skipped: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let certs = support::tls::make_certs(dir.path());
    let line = hearthd::web::auth::PasswordHash::line_with_iterations(
        "a long passphrase",
        hearth_policy::pin::MIN_ITERATIONS,
    );
    let pw = support::daemon::private_file(dir.path(), "web-password", &format!("{line}\n"));
    let broker = Broker::start();
    let port = support::broker::free_port();
    let mut daemon = Daemon::start(&TestConfig::new(broker.port()).tail(format!(
        "[web]\nlisten = \"127.0.0.1:{port}\"\npassword_file = \"{}\"\n\
         tls = {{ cert_file = \"{}\", key_file = \"{}\" }}\n",
        pw.display(),
        certs.server_cert.display(),
        certs.server_key.display()
    )));
    wait_for(
        "the web page to listen",
        scaled(Duration::from_secs(20)),
        || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
    );
    // Over HTTPS the gate sends the browser to the login form.
    let dom = browser::dump_dom_self_signed(&format!("https://127.0.0.1:{port}/reveals"));
    assert!(
        dom.contains("<h1>Log in</h1>") && dom.contains("type=\"password\""),
        "{dom}"
    );
    // Plain HTTP on the TLS port gets no page.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(scaled(Duration::from_secs(10))))
        .unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert!(
        !String::from_utf8_lossy(&out).contains("HTTP/1.1 200"),
        "plain HTTP was answered"
    );
    daemon.assert_running();
}
