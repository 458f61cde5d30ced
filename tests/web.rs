//! End-to-end: the web page on a scripted week. The real daemon tasks run a week of the
//! simulator on tokio's paused clock (weekday departures and returns, a Saturday trip, night
//! locks); the week's states are replayed through two clouds' real policies into the ledger;
//! then the real `hearthd` binary runs on that history and ledger with two Mosquitto clouds
//! and the web page, and Debian's headless chromium loads every page — with and without
//! JavaScript — while the test checks the DOM against the ledger and history and keeps
//! screenshots in `target/tmp/web-screenshots/`. Access control is in `web_access.rs`.

mod support;

use hearth_infer::{DAY_MS, weekday};
use hearth_model::UnixMillis;
use hearthd::config;
use hearthd::daemon;
use hearthd::shutdown::Shutdown;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::http::{assert_security_headers, get, wait_for};
use support::{Broker, Daemon, TestConfig, browser, scaled};

/// Shares the lock and door as they change: enough to tell when the house is empty.
const FULL: &str = "voice-full";
/// Shares only a rounded temperature, at most every 30 minutes.
const TEMP_ONLY: &str = "voice-temp";

fn clouds_toml(full_port: u16, temp_port: u16) -> String {
    format!(
        r#"
[[cloud]]
name = "{FULL}"
format = "json"
host = "127.0.0.1"
port = {full_port}
client_id = "hearth-web-full"
topic_prefix = "webtest/full"
[cloud.policy.fields."lock.state"]
share = "on_change"
[cloud.policy.fields."lock.door"]
share = "on_change"
boolean = {{ true_when = ["open"] }}

[[cloud]]
name = "{TEMP_ONLY}"
format = "json"
host = "127.0.0.1"
port = {temp_port}
client_id = "hearth-web-temp"
topic_prefix = "webtest/temp"
[cloud.policy.fields."thermostat.temperature"]
share = "on_change"
min_interval = "30m"
round = 0.5
"#
    )
}

/// The scripted week as `[[simulator.script]]` sections.
fn script_toml(first_weekday: u8) -> String {
    let (steps, _) = hearth_hardware::sim_routine(first_weekday, 7);
    steps
        .iter()
        .map(|s| {
            let action = serde_json::to_value(s.action).unwrap();
            format!(
                "[[simulator.script]]\nafter = \"{}s\"\naction = {action}\n",
                s.after.as_secs()
            )
        })
        .collect()
}

/// Run the week on the paused clock from local (UTC) midnight `start`; returns the state at
/// the start, for the replay.
async fn record_week(dir: &Path, start: UnixMillis, first_weekday: u8) -> hearth_model::HouseState {
    let text = format!(
        "[hardware]\nbackend = \"simulator\"\npoll_interval = \"30s\"\ninput_poll_interval = \"1s\"\n\n\
         [simulator]\nseed = 5\nstart_hour = 0.0\nlock_travel_time = \"1s\"\ninitial_indoor_temperature = 19.5\n\n\
         [thermostat]\nmode = \"heat\"\nsetpoint_heat = 20.0\n\n\
         [history]\npath = \"{}\"\n\n[web]\nenabled = false\n\n{}",
        dir.join("history.db").display(),
        script_toml(first_weekday)
    );
    let cfg = config::parse(Path::new("week.toml"), &text).unwrap_or_else(|e| panic!("{e}"));
    let clock = hearthd::clock::Clock::anchored(start);
    let (_reload_tx, reload_rx) = tokio::sync::mpsc::channel(1);
    let running =
        daemon::start_with_clock(cfg, "week.toml".into(), Shutdown::new(), reload_rx, clock)
            .await
            .expect("the daemon starts on the simulator");
    let initial = running.state.borrow().clone();
    tokio::time::sleep(Duration::from_millis(7 * DAY_MS as u64)).await;
    running.stop().await.expect("a clean stop after the week");
    initial
}

/// A cloud's ledger rows through the running daemon (`hearthd audit --json`), newest first.
fn ledger_rows(config: &Path, cloud: &str, since: UnixMillis) -> Vec<hearthd::ledger::AuditRow> {
    support::reads::audit_rows(config, Some(cloud), since)
        .iter()
        .map(|r| hearthd::ledger::AuditRow {
            row: hearthd::ledger::Row {
                time: UnixMillis(r["time"].as_i64().unwrap()),
                cloud: r["cloud"].as_str().unwrap().to_owned(),
                field: r["field"].as_str().map(str::to_owned),
                kind: r["kind"].as_str().unwrap().to_owned(),
                detail: r["detail"].as_str().unwrap().to_owned(),
                payload: r["payload"].as_str().map(|p| p.as_bytes().to_vec()),
            },
            count: r["count"].as_u64().unwrap(),
            last: r["last"].as_i64().map(UnixMillis),
        })
        .collect()
}

fn sent(rows: &[hearthd::ledger::AuditRow]) -> usize {
    rows.iter().filter(|r| r.row.kind == "sent").count()
}

/// Lock-state changes in the history since `since`, counted independently of the page's
/// code, through the running daemon (`hearthd history --format csv`).
fn lock_changes(config: &Path, since: UnixMillis) -> usize {
    let mut last = None;
    support::reads::history_values(config, "lock.state", since)
        .into_iter()
        .filter(|v| {
            let changed = last.as_ref() != Some(v);
            last = Some(v.clone());
            changed
        })
        .count()
}

/// Scripted weekdays (days `today - 7 .. today`) inside the page's window, which starts 7 local
/// days before the day it is built: all five, unless the test crossed midnight (UTC) since.
fn weekdays_shown(today: i64) -> usize {
    let first_shown = UnixMillis::now().0.div_euclid(DAY_MS) - 7;
    (today - 7..today)
        .filter(|d| *d >= first_shown && weekday(*d) < 5)
        .count()
}

/// Every page, by screenshot name.
const PAGES: [(&str, &str); 7] = [
    ("now", "/"),
    ("history-24h", "/history"),
    ("history-7d", "/history?range=7d"),
    ("history-30d", "/history?range=30d"),
    ("history-1y", "/history?range=1y"),
    ("sharing", "/sharing"),
    ("reveals", "/reveals"),
];

fn screenshots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(start_paused = true)]
async fn a_scripted_week_on_every_page_in_a_real_browser() {
    if let Some(why) = browser::skip_reason() {
        println!("skipped: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let today = UnixMillis::now().0.div_euclid(DAY_MS);
    let start = UnixMillis((today - 7) * DAY_MS);
    let first_weekday = weekday(today - 7);
    let initial = record_week(dir.path(), start, first_weekday).await;
    let history = dir.path().join("history.db");
    let ledger = dir.path().join("ledger.db");

    let (local, cloud_full, cloud_temp) = (Broker::start(), Broker::start(), Broker::start());
    let clouds = clouds_toml(cloud_full.port(), cloud_temp.port());
    let web_port = support::broker::free_port();
    let tail = format!(
        "{clouds}\n[ledger]\npath = \"{}\"\n\n[web]\nlisten = \"127.0.0.1:{web_port}\"\n",
        ledger.display()
    );
    let cfg_text = TestConfig::new(local.port())
        .history_path(&history)
        .tail(&tail)
        .render(dir.path());
    let cfg = config::parse(Path::new("web.toml"), &cfg_text).unwrap_or_else(|e| panic!("{e}"));
    let week_end = UnixMillis(start.0 + 7 * DAY_MS);
    let counts = support::replay::replay(&history, &ledger, &cfg.cloud, initial, start, week_end);
    println!("replayed decisions per cloud: {counts:?}");

    let live_from = UnixMillis::now();
    let mut daemon = Daemon::start(
        &TestConfig::new(local.port())
            .history_path(&history)
            .tail(&tail),
    );
    // The daemon holds its files: the test reads them through it, as a user's CLI does.
    let config_path = daemon.dir().join("hearth.toml");
    wait_for(
        "the web page to listen",
        scaled(Duration::from_secs(20)),
        || std::net::TcpStream::connect(("127.0.0.1", web_port)).is_ok(),
    );
    // Each cloud gets its two connect messages (capability, then the state as its policy
    // allows it) from the live daemon before the pages are read; after that neither policy
    // sends again within the test (no lock change; temperature at most every 30 min).
    for name in [FULL, TEMP_ONLY] {
        wait_for(
            &format!("{name}'s live messages"),
            scaled(Duration::from_secs(30)),
            || sent(&ledger_rows(&config_path, name, live_from)) >= 2,
        );
    }
    daemon.assert_running();
    let base = format!("http://127.0.0.1:{web_port}");

    // Security headers on a page, the stylesheet, a 404 and a bad request.
    for path in [
        "/",
        "/static/hearth.css",
        "/nope",
        "/history?range=2w",
        "/history.csv?range=7d&field=lock.state",
    ] {
        let (head, _) = get(web_port, path, None);
        assert_security_headers(&head);
    }

    let month_ago = UnixMillis::now().saturating_sub(Duration::from_secs(30 * 86_400));
    for javascript in [true, false] {
        // Sharing: exact message counts per cloud and the newest payload's bytes.
        let before: Vec<usize> = [FULL, TEMP_ONLY]
            .iter()
            .map(|c| sent(&ledger_rows(&config_path, c, month_ago)))
            .collect();
        let dom = browser::dump_dom(&format!("{base}/sharing?range=30d"), javascript);
        let after: Vec<usize> = [FULL, TEMP_ONLY]
            .iter()
            .map(|c| sent(&ledger_rows(&config_path, c, month_ago)))
            .collect();
        assert_eq!(
            before, after,
            "the live daemon sent while the page loaded; counts moved"
        );
        for (name, n) in [FULL, TEMP_ONLY].iter().zip(&before) {
            let section = dom
                .split(&format!("id=\"cloud-{name}\""))
                .nth(1)
                .expect("a section per cloud");
            assert!(
                section.contains(&format!("<span class=\"sent-count\">{n}</span>")),
                "{name}: expected {n} messages on the page"
            );
            let newest = ledger_rows(&config_path, name, month_ago)
                .into_iter()
                .find(|r| r.row.kind == "sent")
                .unwrap();
            let hex = hex::encode(newest.row.payload.unwrap());
            assert!(
                section.contains(&hex),
                "{name}: the newest payload's bytes are not on the page"
            );
        }
        assert!(
            before[0] > 20,
            "a week of lock and door changes makes many messages: {before:?}"
        );

        // What it reveals: the weekday absences from the full feed and from voice-full, nothing
        // from voice-temp.
        let dom = browser::dump_dom(&format!("{base}/reveals"), javascript);
        let absences = dom.matches("empty 08:06–17:40").count();
        assert!(
            absences == 2 * weekdays_shown(today),
            "every scripted weekday × 2 views expected, found {absences}"
        );
        assert!(
            dom.contains(&format!("From {TEMP_ONLY}: nothing inferable")),
            "voice-temp's summary"
        );
        assert!(
            dom.contains("From the full feed: empty on "),
            "the full feed's summary"
        );

        // History: the lock changes the database holds, in the 30-day view.
        let dom = browser::dump_dom(&format!("{base}/history?range=30d"), javascript);
        let n = lock_changes(&config_path, month_ago);
        assert!(n >= 4 * 7, "the week's lock changes: {n}");
        assert!(
            dom.contains(&format!("<span id=\"lock-changes\">{n}</span>")),
            "expected {n} lock changes"
        );
        for page in ["/", "/history", "/history?range=7d", "/history?range=1y"] {
            let dom = browser::dump_dom(&format!("{base}{page}"), javascript);
            assert!(
                dom.contains("<main>") && !dom.contains("<h1>Error"),
                "{page} did not render"
            );
        }
        let dom = browser::dump_dom(&format!("{base}/"), javascript);
        assert!(
            dom.contains(&format!("{FULL} received ")),
            "the Now page's 24 h sentence"
        );
        assert!(
            dom.contains(&format!("<td>cloud {FULL}</td><td class=\"ok\">up")),
            "the cloud link"
        );
    }

    // Every page over the wire: 200, the headers, and no script at all; rendered with scripts
    // blocked (a screenshot per page, kept with the others).
    let shots = screenshots_dir();
    for (name, page) in PAGES {
        let (head, body) = get(web_port, page, None);
        assert!(head.starts_with("HTTP/1.1 200"), "{page}: {head}");
        assert_security_headers(&head);
        assert!(
            !body.to_ascii_lowercase().contains("<script"),
            "{page} has a script"
        );
        browser::screenshot(
            &format!("{base}{page}"),
            &shots.join(format!("{name}-nojs.png")),
            1000,
            1400,
            false,
        );
    }

    // The same comparison in the terminal.
    let report = |args: &[&str]| {
        let out = support::daemon::hearthd_command()
            .arg("report")
            .args(args)
            .arg("--config")
            .arg(daemon.dir().join("hearth.toml"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (
            out.status.code(),
            text,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, text, err) = report(&["--since", "8d"]);
    assert_eq!(code, Some(0), "{err}");
    let absences = text.matches("empty 08:06–17:40").count();
    // `--since 8d` reaches back before the scripted week: all five weekdays, twice.
    assert_eq!(absences, 10, "{text}");
    assert!(
        text.contains(&format!("from {TEMP_ONLY}: nothing inferable")),
        "{text}"
    );
    let (code, text, _) = report(&["--since", "8d", "--cloud", TEMP_ONLY]);
    assert_eq!(code, Some(0));
    assert!(
        !text.contains(&format!("from {FULL}")),
        "--cloud shows one cloud: {text}"
    );
    let (code, _, err) = report(&["--cloud", "nope"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("no such [[cloud]]") && err.contains(FULL),
        "{err}"
    );

    for (name, page, height) in [
        ("now", "/", 900),
        ("history", "/history?range=7d", 1400),
        ("sharing", "/sharing", 1400),
        ("reveals", "/reveals", 1400),
    ] {
        browser::screenshot(
            &format!("{base}{page}"),
            &shots.join(format!("{name}.png")),
            1000,
            height,
            true,
        );
        browser::screenshot(
            &format!("{base}{page}"),
            &shots.join(format!("{name}-phone.png")),
            390,
            844,
            true,
        );
    }
    println!("screenshots in {}", shots.display());
    daemon.sigterm();
    assert!(daemon.wait_exit(scaled(Duration::from_secs(20))).success());

    // The inference scores on the scripted week, full feed vs each policy, read from the
    // files once the daemon (which holds them while it runs) is gone.
    let src = hearthd::web::sources(&cfg);
    let r = hearthd::web::reveal::reveal(&src, start, week_end, None).unwrap();
    let (_, truth) = hearth_hardware::sim_routine(first_weekday, 7);
    let truth: Vec<(UnixMillis, UnixMillis)> = truth
        .iter()
        .map(|(a, b)| (start.saturating_add(*a), start.saturating_add(*b)))
        .collect();
    let mut scores = Vec::new();
    for v in r.views() {
        let s = hearth_infer::score(&truth, &v.inference.empty);
        println!("inference score, from {}: {s}", v.name);
        scores.push(s);
    }
    assert_eq!(
        (scores[0].exposed, scores[0].total, scores[0].false_alarms),
        (6, 6, 0)
    );
    assert_eq!(scores[1].exposed, 6, "{FULL} sees every absence");
    assert_eq!(scores[2].exposed, 0, "{TEMP_ONLY} sees none");
}
