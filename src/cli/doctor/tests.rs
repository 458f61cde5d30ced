//! Each doctor check failing, with its fix text, on a scratch system tree; and passing once
//! the fix is applied.

use super::access::Account;
use super::report::{EXIT_CONFIG, EXIT_FAILED, EXIT_READY, exit_code};
use super::*;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};

/// A system tree: `hearth` (uid 4242) whose group list includes this process's group (as
/// `gpio`), so group permission bits decide for files the test creates.
struct Tree {
    dir: tempfile::TempDir,
}

const PI_CONFIG: &str = r#"
[hardware]
backend = "raspberry_pi"
[hardware.sensor]
kind = "ds18b20"
pin = 4
[hardware.outputs]
heat = { pin = 17, active = "low" }
cool = { pin = 27, active = "low" }
fan = { pin = 22, active = "low" }
[hardware.motor]
lock = { pin = 23, active = "high" }
unlock = { pin = 24, active = "high" }
[history]
path = "/var/lib/hearth/history.db"
[ledger]
path = "/var/lib/hearth/ledger.db"
"#;

impl Tree {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let gid = fs::metadata(dir.path()).unwrap().gid();
        let t = Self { dir };
        t.write(
            "etc/passwd",
            "root:x:0:0::/root:/bin/sh\nhearth:x:4242:4242::/var/lib/hearth:/usr/sbin/nologin\n",
        );
        t.write(
            "etc/group",
            &format!("hearth:x:4242:\ngpio:x:{gid}:hearth\ni2c:x:4244:hearth\n"),
        );
        t
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.root().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap();
        p
    }

    fn mode(&self, rel: &str, mode: u32) {
        fs::set_permissions(self.root().join(rel), fs::Permissions::from_mode(mode)).unwrap();
    }

    fn mkdir(&self, rel: &str, mode: u32) {
        fs::create_dir_all(self.root().join(rel)).unwrap();
        self.mode(rel, mode);
    }

    fn account(&self) -> Account {
        access::Accounts::load(self.root())
            .service_account("hearth")
            .unwrap()
    }

    fn opts(&self) -> Options {
        Options {
            config: PathBuf::from("/etc/hearth/hearth.toml"),
            user: "hearth".into(),
            root: self.root().to_owned(),
            network: false,
        }
    }

    /// A Pi that passes every local check with PI_CONFIG.
    fn healthy_pi(&self) {
        self.write("etc/hearth/hearth.toml", PI_CONFIG);
        self.mode("etc/hearth/hearth.toml", 0o640);
        self.mkdir("var/lib/hearth", 0o770);
        self.write("proc/device-tree/model", "Raspberry Pi 4 Model B Rev 1.4\0");
        self.write("dev/gpiochip0", "");
        self.mode("dev/gpiochip0", 0o660);
        self.write("dev/gpiomem", "");
        self.mode("dev/gpiomem", 0o660);
        self.write("sys/bus/w1/devices/28-0000075a1234/w1_slave", "");
        self.write(
            "boot/firmware/config.txt",
            "dtoverlay=w1-gpio\ngpio=17,22,27=op,dh\ngpio=23-24=op,dl\n",
        );
        self.write("run/systemd/timesync/synchronized", "");
    }
}

fn config(text: &str) -> crate::config::Config {
    crate::config::parse(Path::new("hearth.toml"), text).unwrap()
}

fn find<'a>(checks: &'a [Check], name: &str) -> &'a Check {
    checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name} in {checks:#?}"))
}

/// The check failed (or warned) and its fix says `fix`.
fn assert_fix(c: &Check, status: Status, fix: &str) {
    assert_eq!(c.status, status, "{c:#?}");
    let text = c.fix.as_deref().unwrap_or_default();
    assert!(
        text.contains(fix),
        "fix of {}: {text:?} lacks {fix:?}",
        c.name
    );
}

#[test]
fn a_healthy_pi_is_ready() {
    let t = Tree::new();
    t.healthy_pi();
    let (checks, loaded) = diagnose(&t.opts());
    let failed: Vec<_> = checks
        .iter()
        .filter(|c| matches!(c.status, Status::Fail | Status::Warn))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(exit_code(&checks, loaded), EXIT_READY);
    assert!(find(&checks, "pi model").detail.contains("supported"));
}

#[test]
fn an_invalid_config_exits_78_and_the_other_checks_still_run() {
    let t = Tree::new();
    t.healthy_pi();
    t.write("etc/hearth/hearth.toml", "[hardware]\nbackend = \"gpio\"\n");
    let (checks, loaded) = diagnose(&t.opts());
    assert_fix(
        find(&checks, "config"),
        Status::Fail,
        "hearthd check-config --config /etc/hearth/hearth.toml",
    );
    assert!(find(&checks, "config").detail.contains("hearth.toml:2"));
    assert_eq!(exit_code(&checks, loaded), EXIT_CONFIG);
    assert_eq!(find(&checks, "clock").status, Status::Ok);
}

#[test]
fn a_missing_service_user_and_groups_are_fixed_by_sysusers() {
    let t = Tree::new();
    t.healthy_pi();
    t.write("etc/passwd", "root:x:0:0::/root:/bin/sh\n");
    t.write("etc/group", "hearth:x:4242:\n");
    let (checks, loaded) = diagnose(&t.opts());
    assert_fix(
        find(&checks, "service user"),
        Status::Fail,
        "systemd-sysusers /usr/lib/sysusers.d/hearth.conf",
    );
    assert_fix(find(&checks, "groups"), Status::Fail, "systemd-sysusers");
    assert!(find(&checks, "groups").detail.contains("gpio, i2c"));
    assert_eq!(exit_code(&checks, loaded), EXIT_FAILED);
}

#[test]
fn a_config_the_service_cannot_read_is_named_with_chown_and_chmod() {
    let t = Tree::new();
    t.healthy_pi();
    t.mode("etc/hearth/hearth.toml", 0o600);
    let (checks, _) = diagnose(&t.opts());
    let c = find(&checks, "config file readable");
    assert_fix(
        c,
        Status::Fail,
        "sudo chown root:hearth /etc/hearth/hearth.toml && sudo chmod 640 /etc/hearth/hearth.toml",
    );
    assert!(c.detail.contains("hearth cannot read it"), "{c:?}");
}

#[test]
fn secrets_files_must_be_readable_by_the_service_and_not_too_open() {
    let t = Tree::new();
    let cfg = config(
        "[hardware]\n[mqtt]\nusername = \"hearth\"\npassword_file = \"/etc/hearth/mqtt-password\"\n",
    );
    t.write("etc/hearth/hearth.toml", "");
    t.mode("etc/hearth/hearth.toml", 0o640);
    t.write("etc/hearth/mqtt-password", "pw\n");
    let config = Path::new("/etc/hearth/hearth.toml");
    let check = |t: &Tree| files::readable(t.root(), &t.account(), config, Some(&cfg));
    t.mode("etc/hearth/mqtt-password", 0o600);
    let checks = check(&t);
    assert_fix(
        find(&checks, "mqtt.password_file readable"),
        Status::Fail,
        "sudo chown root:hearth /etc/hearth/mqtt-password && sudo chmod 640",
    );
    t.mode("etc/hearth/mqtt-password", 0o644);
    let checks = check(&t);
    let c = find(&checks, "mqtt.password_file readable");
    assert_fix(c, Status::Fail, "chmod 640");
    assert!(
        c.detail.contains("holds secrets but others can access it"),
        "{c:?}"
    );
    t.mode("etc/hearth/mqtt-password", 0o640);
    assert_eq!(
        find(&check(&t), "mqtt.password_file readable").status,
        Status::Ok
    );
}

#[test]
fn databases_must_be_absolute_inside_the_state_directory_and_writable() {
    let t = Tree::new();
    t.healthy_pi();
    let a = t.account();
    let checks = files::writable(
        t.root(),
        &a,
        &config("[hardware]\n[history]\npath = \"hearth-history.db\"\n"),
    );
    let c = find(&checks, "history.path writable");
    assert_fix(
        c,
        Status::Fail,
        "set history.path = \"/var/lib/hearth/hearth-history.db\"",
    );
    assert!(c.detail.contains("relative"), "{c:?}");
    let checks = files::writable(
        t.root(),
        &a,
        &config("[hardware]\n[ledger]\npath = \"/srv/ledger.db\"\n"),
    );
    assert_fix(
        find(&checks, "ledger.path writable"),
        Status::Fail,
        "set ledger.path = \"/var/lib/hearth/ledger.db\"",
    );
    t.mode("var/lib/hearth", 0o750);
    let checks = files::writable(t.root(), &a, &config("[hardware]\n"));
    assert_fix(
        find(&checks, "history.path writable"),
        Status::Fail,
        "sudo install -d -o hearth -g hearth -m 0750 /var/lib/hearth",
    );
    t.mode("var/lib/hearth", 0o770);
    t.write("var/lib/hearth/history.db", "");
    t.mode("var/lib/hearth/history.db", 0o640);
    let checks = files::writable(t.root(), &a, &config("[hardware]\n"));
    assert_fix(
        find(&checks, "history.path writable"),
        Status::Fail,
        "sudo chown hearth:hearth /var/lib/hearth/history.db*",
    );
    assert_eq!(find(&checks, "ledger.path writable").status, Status::Ok);
}

#[test]
fn pi_models_armv6_and_non_pis_are_refused_for_real_hardware() {
    let t = Tree::new();
    for (model, ok) in [
        ("Raspberry Pi 5 Model B Rev 1.0", true),
        ("Raspberry Pi 3 Model B Plus Rev 1.3", true),
        ("Raspberry Pi Zero 2 W Rev 1.0", true),
        ("Raspberry Pi 2 Model B Rev 1.1", true),
        ("Raspberry Pi Model B Plus Rev 1.2", false),
        ("Raspberry Pi Zero W Rev 1.1", false),
    ] {
        t.write("proc/device-tree/model", &format!("{model}\0"));
        let c = pi::model(t.root(), Backend::RaspberryPi);
        if ok {
            assert_eq!(c.status, Status::Ok, "{c:?}");
        } else {
            assert_fix(&c, Status::Fail, "Raspberry Pi 2, 3, 4, 5 or Zero 2 W");
            assert!(c.detail.contains("ARMv6"), "{c:?}");
        }
    }
    fs::remove_file(t.root().join("proc/device-tree/model")).unwrap();
    assert_fix(
        &pi::model(t.root(), Backend::RaspberryPi),
        Status::Fail,
        "hardware.backend = \"simulator\"",
    );
    assert_eq!(pi::model(t.root(), Backend::Simulator).status, Status::Ok);
}

fn hw_check(t: &Tree, name: &str) -> Check {
    find(
        &pi::hardware(t.root(), &t.account(), &config(PI_CONFIG).hardware),
        name,
    )
    .clone()
}

#[test]
fn gpio_chips_must_exist_and_be_usable_by_the_service() {
    let t = Tree::new();
    t.healthy_pi();
    t.mode("dev/gpiochip0", 0o600);
    let c = hw_check(&t, "gpio");
    assert_fix(&c, Status::Fail, "GROUP=\"gpio\", MODE=\"0660\"");
    assert!(c.detail.contains("/dev/gpiochip0"), "{c:?}");
    t.mode("dev/gpiochip0", 0o660);
    t.mode("dev/gpiomem", 0o600);
    let c = hw_check(&t, "gpio");
    assert_fix(&c, Status::Fail, "KERNEL==\"gpiomem*\", GROUP=\"gpio\"");
    assert!(c.detail.contains("/dev/gpiomem"), "{c:?}");
    fs::remove_file(t.root().join("dev/gpiomem")).unwrap();
    assert_fix(&hw_check(&t, "gpio"), Status::Fail, "bcm2835-gpiomem");
    fs::remove_file(t.root().join("dev/gpiochip0")).unwrap();
    assert_fix(&hw_check(&t, "gpio"), Status::Fail, "udev rules");
}

#[test]
fn one_wire_needs_the_overlay_on_the_configured_pin_and_a_sensor() {
    let t = Tree::new();
    t.healthy_pi();
    t.write("boot/firmware/config.txt", "# dtoverlay=w1-gpio\n");
    assert_fix(
        &hw_check(&t, "1-wire overlay"),
        Status::Fail,
        "add `dtoverlay=w1-gpio` to /boot/firmware/config.txt and reboot",
    );
    t.write("boot/firmware/config.txt", "dtoverlay=w1-gpio,gpiopin=17\n");
    let c = hw_check(&t, "1-wire overlay");
    assert_fix(&c, Status::Fail, "hardware.sensor.pin = 17");
    assert!(c.detail.contains("BCM 17"), "{c:?}");
    fs::remove_dir_all(t.root().join("sys/bus/w1/devices/28-0000075a1234")).unwrap();
    assert_fix(
        &hw_check(&t, "1-wire sensor"),
        Status::Fail,
        "4.7 kΩ pull-up",
    );
}

#[test]
fn sht3x_needs_i2c_enabled_and_its_device_node() {
    let t = Tree::new();
    t.healthy_pi();
    let text = PI_CONFIG.replace("kind = \"ds18b20\"\npin = 4", "kind = \"sht3x\"\nbus = 1");
    let hw = config(&text).hardware;
    let checks = pi::hardware(t.root(), &t.account(), &hw);
    assert_fix(
        find(&checks, "i2c overlay"),
        Status::Fail,
        "add `dtparam=i2c_arm=on`",
    );
    assert_fix(
        find(&checks, "i2c device"),
        Status::Fail,
        "give /dev/i2c-1 to group i2c",
    );
    t.write("boot/firmware/config.txt", "dtparam=i2c_arm=on\n");
    t.write("dev/i2c-1", "");
    t.mode("dev/i2c-1", 0o660);
    let checks = pi::hardware(t.root(), &t.account(), &hw);
    assert_eq!(find(&checks, "i2c overlay").status, Status::Ok);
    assert_eq!(find(&checks, "i2c device").status, Status::Ok);
}

#[test]
fn outputs_not_held_off_at_boot_get_the_gpio_lines_to_add() {
    let t = Tree::new();
    t.healthy_pi();
    t.write(
        "boot/firmware/config.txt",
        "dtoverlay=w1-gpio\ngpio=17=op,dh\n",
    );
    let c = hw_check(&t, "boot states");
    assert_fix(&c, Status::Warn, "gpio=27,22=op,dh\ngpio=23,24=op,dl");
    assert!(c.detail.contains("BCM 27, BCM 22, BCM 23, BCM 24"), "{c:?}");
}

#[test]
fn an_unsynchronised_clock_is_a_warning_with_the_ntp_fix() {
    let t = Tree::new();
    assert_fix(
        &pi::clock(t.root()),
        Status::Warn,
        "timedatectl set-ntp true",
    );
}

/// A one-shot MQTT broker on loopback answering CONNECT with CONNACK `code`.
fn fake_broker(code: u8) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = [0u8; 256];
            let _ = s.read(&mut buf);
            let _ = s.write_all(&[0x20, 0x02, 0x00, code]);
            let _ = s.read(&mut buf);
        }
    });
    port
}

fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn the_broker_must_answer_connect_and_accept_the_login() {
    let cfg = |port: u16| {
        config(&format!("[hardware]\n[mqtt]\nport = {port}\n"))
            .mqtt
            .unwrap()
    };
    let c = net::broker(Some(&cfg(closed_port())));
    assert_fix(&c, Status::Fail, "sudo systemctl enable --now mosquitto");
    let c = net::broker(Some(&cfg(fake_broker(5))));
    assert_fix(&c, Status::Fail, "mosquitto_passwd");
    assert!(c.detail.contains("NotAuthorized"), "{c:?}");
    assert_eq!(net::broker(Some(&cfg(fake_broker(0)))).status, Status::Ok);
    assert_eq!(net::broker(None).status, Status::Skip);
}

#[test]
fn a_cloud_that_does_not_answer_is_named_with_its_fix() {
    let port = closed_port();
    let cfg = config(&format!(
        "[hardware]\n[[cloud]]\nname = \"local\"\nformat = \"json\"\nhost = \"127.0.0.1\"\nport = {port}\n\
         client_id = \"h\"\ntopic_prefix = \"h\"\n"
    ));
    let checks = net::clouds(&cfg.cloud);
    let c = find(&checks, "cloud local");
    assert_fix(c, Status::Fail, "start the loopback bridge");
    assert!(c.detail.contains(&format!("127.0.0.1:{port}")), "{c:?}");
}

#[test]
fn check_config_as_root_names_each_file_the_service_cannot_read() {
    let t = Tree::new();
    t.healthy_pi();
    t.write("etc/hearth/keys.toml", "[clients]\n");
    t.mode("etc/hearth/keys.toml", 0o600);
    let cfg = config("[hardware]\n[mqtt]\nsecrets_file = \"/etc/hearth/keys.toml\"\n");
    let config = Path::new("/etc/hearth/hearth.toml");
    let warnings = service_warnings(t.root(), "hearth", config, &cfg);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]
            .starts_with("the service user hearth could not read it: /etc/hearth/keys.toml:")
            && warnings[0].contains("fix: sudo chown root:hearth /etc/hearth/keys.toml"),
        "{warnings:?}"
    );
    t.mode("etc/hearth/keys.toml", 0o640);
    assert!(service_warnings(t.root(), "hearth", config, &cfg).is_empty());
    let w = service_warnings(t.root(), "nobody", config, &cfg);
    assert!(w[0].contains("there is no user `nobody`"), "{w:?}");
}
