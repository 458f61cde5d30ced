//! Plain HTTP/1.1 exchanges with hearth's web page for tests (the test is the client; the
//! server is hearthd's axum), the security-header check every response must pass, and a
//! bounded wait for a condition.

use super::scaled;
use std::io::{Read, Write};
use std::time::Duration;

pub fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let end = std::time::Instant::now() + timeout;
    while !ok() {
        assert!(
            std::time::Instant::now() < end,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One HTTP/1.1 exchange on a fresh connection: (status line and headers, body).
pub fn http(port: u16, request: &str) -> (String, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connecting to the page");
    s.set_read_timeout(Some(scaled(Duration::from_secs(20))))
        .unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).expect("reading the response");
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (head.to_owned(), body.to_owned())
}

pub fn get(port: u16, path: &str, cookie: Option<&str>) -> (String, String) {
    let cookie = cookie.map_or(String::new(), |c| format!("Cookie: {c}\r\n"));
    http(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{cookie}Connection: close\r\n\r\n"),
    )
}

pub fn assert_security_headers(head: &str) {
    let h = head.to_ascii_lowercase();
    for needle in [
        "content-security-policy: default-src 'self'",
        "frame-ancestors 'none'",
        "x-frame-options: deny",
        "x-content-type-options: nosniff",
        "referrer-policy: no-referrer",
    ] {
        assert!(h.contains(needle), "missing `{needle}` in:\n{head}");
    }
}
