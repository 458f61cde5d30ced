//! The Debian package's sources stay consistent with the code: the packaged config loads
//! (and is the Pi one), the man page names every subcommand, every asset exists. Building and
//! installing the package itself is scripts/package.sh (a step of scripts/test.sh).

use clap::CommandFactory;
use hearth_hardware::Backend;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn repo(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn the_packaged_config_drives_the_pi_and_keeps_state_in_var_lib_hearth() {
    let text = read("debian/hearth.toml");
    let cfg = hearthd::config::parse(Path::new("debian/hearth.toml"), &text).unwrap();
    assert_eq!(cfg.hardware.backend, Backend::RaspberryPi);
    assert_eq!(cfg.history.path, Path::new("/var/lib/hearth/history.db"));
    assert_eq!(cfg.ledger.path, Path::new("/var/lib/hearth/ledger.db"));
    let mqtt = cfg
        .mqtt
        .expect("the packaged config talks to the local broker");
    assert!(!mqtt.sim_control);
    assert!(
        cfg.cloud.is_empty(),
        "nothing may leave the house by default"
    );
    // scripts/package.sh switches the installed copy to the simulator with this very edit.
    let sim = text.replace("backend = \"raspberry_pi\"", "backend = \"simulator\"");
    let cfg = hearthd::config::parse(Path::new("sim.toml"), &sim).unwrap();
    assert_eq!(cfg.hardware.backend, Backend::Simulator);
}

#[test]
fn the_man_page_names_every_subcommand() {
    let page = read("debian/hearthd.1");
    let cli = hearthd::cli::Cli::command();
    // "policy explain" for nested subcommands.
    let mut names = Vec::new();
    for sub in cli.get_subcommands() {
        let nested: Vec<String> = sub
            .get_subcommands()
            .map(|n| format!("{} {}", sub.get_name(), n.get_name()))
            .collect();
        if nested.is_empty() {
            names.push(sub.get_name().to_owned());
        } else {
            names.extend(nested);
        }
    }
    for full in names {
        let name = full.replace('-', "\\-");
        let found =
            page.contains(&format!("\n.B {name}\n")) || page.contains(&format!("\n.BI \"{name} "));
        assert!(
            found,
            "debian/hearthd.1 has no `.B {name}` entry under COMMANDS: document `hearthd {full}` there"
        );
    }
}

#[test]
fn every_package_asset_and_maintainer_script_is_there() {
    let manifest: toml::Table = toml::from_str(&read("Cargo.toml")).unwrap();
    let deb = &manifest["package"]["metadata"]["deb"];
    let assets = deb["assets"].as_array().unwrap();
    for asset in assets {
        let source = asset[0].as_str().unwrap();
        if !source.starts_with("target/") {
            assert!(
                repo(source).is_file(),
                "Cargo.toml deb asset {source} is missing"
            );
        }
    }
    for script in ["postinst", "postrm"] {
        let path = format!("debian/{script}");
        assert!(
            read(&path).contains("#DEBHELPER#"),
            "{path} needs the #DEBHELPER# token"
        );
        let mode = std::fs::metadata(repo(&path)).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "{path} must be executable");
    }
    let units = deb["systemd-units"]["unit-scripts"].as_str().unwrap();
    assert!(repo(&format!("{units}hearthd.service")).is_file());
    assert!(repo(&format!("{units}hearth.sysusers")).is_file());
}
