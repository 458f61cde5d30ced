//! `hearthd bench` from the binary. Without the `bench` feature (installed binaries) it says
//! how to get the harness and exits 2; with it (`cargo test --features bench`, as
//! scripts/test.sh runs) a `--quick` smoke run must produce every figure. Nothing is timed:
//! the figures' values are not checked against goals here.

mod support;

use support::daemon::hearthd_command;

#[cfg(not(feature = "bench"))]
#[test]
fn without_the_feature_bench_says_how_to_build_it_and_fails() {
    let out = hearthd_command()
        .args(["bench", "--quick"])
        .output()
        .expect("running hearthd");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains("cargo run --release --features bench -- bench"),
        "stderr: {stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing on stdout: {:?}", out.stdout);
}

#[cfg(feature = "bench")]
#[test]
fn quick_bench_reports_every_figure() {
    if std::env::var_os("HEARTH_UNDER_EMULATION").is_some_and(|v| v == "1") {
        eprintln!("skipped: the bench's timeouts are for a native run, not qemu");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let out = hearthd_command()
        .args(["bench", "--quick", "--json"])
        .arg(&json)
        .output()
        .expect("running hearthd");
    assert!(
        out.status.success(),
        "hearthd bench --quick failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let figures = report["figures"].as_array().expect("a figures array");
    let value = |name: &str| {
        let f = figures
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("no figure {name:?} in {report}"));
        f["value"].as_f64().unwrap_or_else(|| panic!("{name}: {f}"))
    };
    // Every part of the harness ran: the daemon, the broker, hearthd's own forwarding path
    // (the bench Host), the whole-daemon disk run with its ledger read, the history figures.
    for name in [
        "binary size",
        "idle CPU",
        "steady RSS",
        "door -> MQTT publish p99",
        "peak RSS under a flood",
        "written per day, two clouds",
        "ledger rows, two clouds",
        "bytes per raw sample",
        "hourly rollup query",
    ] {
        assert!(value(name).is_finite(), "{name} is not a number");
    }
    assert!(value("forwarding rate via policy") > 0.0);
    assert!(value("history insert rate") > 0.0);
}
