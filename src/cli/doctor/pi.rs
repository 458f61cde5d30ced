//! The Raspberry Pi side: the model, the GPIO/I2C/1-Wire device nodes and the config.txt
//! overlays the configured sensor and pins need, the boot-time relay states, the service's
//! groups, and the clock. Everything is read under an injectable root (`/` in production).

use super::access::{self, Account, Accounts, UNIT_GROUPS, Want};
use super::report::Check;
use hearth_hardware::{Active, SensorConfig};
use hearth_hardware::{Backend, HardwareConfig};
use std::path::{Path, PathBuf};

/// Where config.txt lives: Raspberry Pi OS bookworm, then older images.
const BOOT_CONFIGS: [&str; 2] = ["boot/firmware/config.txt", "boot/config.txt"];
/// Written by systemd-timesyncd once the clock is synchronised.
const TIMESYNC_FLAG: &str = "run/systemd/timesync/synchronized";

/// Whether a model string names a Pi hearth supports (ARMv7 or ARMv8), and why not.
pub fn model_support(model: &str) -> Result<(), &'static str> {
    let m = model.to_ascii_lowercase();
    if !m.contains("raspberry pi") {
        return Err("not a Raspberry Pi");
    }
    let supported = [
        "pi 5",
        "pi 500",
        "pi 4",
        "pi 400",
        "pi 3",
        "pi 2",
        "zero 2",
        "compute module 3",
        "compute module 4",
        "compute module 5",
    ];
    if supported.iter().any(|s| m.contains(s)) {
        return Ok(());
    }
    Err(
        "an ARMv6 model (Pi 1, Zero, Zero W, Compute Module 1): hearth's packages are for armhf (ARMv7) and arm64 only",
    )
}

/// The model from the device tree, without its trailing NUL.
pub fn read_model(root: &Path) -> Option<String> {
    [
        "proc/device-tree/model",
        "sys/firmware/devicetree/base/model",
    ]
    .iter()
    .find_map(|p| std::fs::read(root.join(p)).ok())
    .map(|b| {
        String::from_utf8_lossy(&b)
            .trim_end_matches(['\0', '\n'])
            .to_owned()
    })
}

pub fn model(root: &Path, backend: Backend) -> Check {
    let name = "pi model";
    match (read_model(root), backend) {
        (Some(m), _) => match model_support(&m) {
            Ok(()) => Check::ok(name, format!("{m}: supported")),
            Err(why) if backend == Backend::Simulator => {
                Check::ok(name, format!("{m}: {why}; fine for the simulator backend"))
            }
            Err(why) => Check::fail(
                name,
                format!("{m}: {why}"),
                "run hearth on a Raspberry Pi 2, 3, 4, 5 or Zero 2 W (or set hardware.backend = \"simulator\")",
            ),
        },
        (None, Backend::Simulator) => Check::ok(
            name,
            "no device-tree model (not a Pi); fine for the simulator backend",
        ),
        (None, Backend::RaspberryPi) => Check::fail(
            name,
            "no /proc/device-tree/model: this is not a Raspberry Pi",
            "run hearth on a Raspberry Pi 2, 3, 4, 5 or Zero 2 W, or set hardware.backend = \"simulator\"",
        ),
    }
}

/// The groups the unit's `SupplementaryGroups=` names must exist, or systemd refuses to start it.
pub fn groups(accounts: &Accounts) -> Check {
    let missing: Vec<&str> = UNIT_GROUPS
        .into_iter()
        .filter(|g| accounts.group_id(g).is_none())
        .collect();
    if missing.is_empty() {
        Check::ok(
            "groups",
            format!(
                "{} exist (the unit's SupplementaryGroups=)",
                UNIT_GROUPS.join(", ")
            ),
        )
    } else {
        Check::fail(
            "groups",
            format!(
                "group(s) {} missing: systemd cannot start the unit without them",
                missing.join(", ")
            ),
            "sudo systemd-sysusers /usr/lib/sysusers.d/hearth.conf",
        )
    }
}

/// The boot config's lines, comments and section filters dropped (filters are rare here).
fn boot_lines(root: &Path) -> Option<(PathBuf, Vec<String>)> {
    BOOT_CONFIGS.iter().find_map(|p| {
        let text = std::fs::read_to_string(root.join(p)).ok()?;
        let lines = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect();
        Some((Path::new("/").join(p), lines))
    })
}

fn boot_path(root: &Path) -> PathBuf {
    boot_lines(root)
        .map(|(p, _)| p)
        .unwrap_or_else(|| PathBuf::from("/boot/firmware/config.txt"))
}

/// Device nodes, overlays and boot-time pin states for a `raspberry_pi` config.
pub fn hardware(root: &Path, account: &Account, hw: &HardwareConfig) -> Vec<Check> {
    if hw.backend == Backend::Simulator {
        return vec![Check::skip(
            "devices",
            "simulator backend: no GPIO, I2C or 1-Wire needed",
        )];
    }
    let mut checks = vec![gpio(root, account)];
    let boot = boot_lines(root);
    let config_txt = boot_path(root);
    let lines = boot.map(|(_, l)| l).unwrap_or_default();
    match &hw.sensor {
        Some(SensorConfig::Ds18b20(d)) => {
            checks.push(w1_overlay(&lines, &config_txt, d.pin));
            checks.push(w1_device(
                root,
                account,
                &d.w1_devices,
                d.device.as_deref(),
                d.pin,
                &config_txt,
            ));
        }
        Some(SensorConfig::Sht3x(s)) => {
            if s.bus == 1 {
                let on = lines
                    .iter()
                    .any(|l| l.replace(' ', "") == "dtparam=i2c_arm=on");
                checks.push(if on {
                    Check::ok(
                        "i2c overlay",
                        format!("dtparam=i2c_arm=on in {}", config_txt.display()),
                    )
                } else {
                    Check::fail(
                        "i2c overlay",
                        format!("{} lacks dtparam=i2c_arm=on", config_txt.display()),
                        format!(
                            "add `dtparam=i2c_arm=on` to {} and reboot",
                            config_txt.display()
                        ),
                    )
                });
            }
            let dev = PathBuf::from(format!("/dev/i2c-{}", s.bus));
            checks.push(match access::check(root, account, &dev, Want::ReadWrite) {
                Ok(()) => Check::ok("i2c device", format!("{} can use {}", account.name, dev.display())),
                Err(d) => Check::fail("i2c device", format!("{}: {}", d.at.display(), d.reason), format!("enable I2C (`dtparam=i2c_arm=on`, reboot; `sudo modprobe i2c-dev`) and give {} to group i2c, mode 0660", dev.display())),
            });
        }
        None => {}
    }
    checks.push(boot_states(&lines, &config_txt, hw));
    checks
}

/// Device node names under `<root>/dev` starting with `prefix`, sorted.
fn dev_nodes(root: &Path, prefix: &str) -> Vec<String> {
    let mut nodes: Vec<String> = std::fs::read_dir(root.join("dev"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default();
    nodes.sort();
    nodes
}

/// rppal needs the GPIO character devices (`/dev/gpiochip*`, edges) and the register window
/// (`/dev/gpiomem` on Pi 1-4, `/dev/gpiomem0` on Pi 5), read-write for the service.
fn gpio(root: &Path, account: &Account) -> Check {
    let fix = format!(
        "the gpio group must own /dev/gpiochip* and /dev/gpiomem* with mode 0660 (Raspberry Pi \
         OS's udev rules do this; elsewhere add udev rules SUBSYSTEM==\"gpio\", GROUP=\"gpio\", \
         MODE=\"0660\" and KERNEL==\"gpiomem*\", GROUP=\"gpio\", MODE=\"0660\"); `sudo \
         systemd-sysusers` adds {} to gpio",
        account.name
    );
    let (chips, mem) = (dev_nodes(root, "gpiochip"), dev_nodes(root, "gpiomem"));
    if chips.is_empty() {
        return Check::fail(
            "gpio",
            "no /dev/gpiochip* device: the kernel's GPIO character devices are missing",
            fix,
        );
    }
    if mem.is_empty() {
        return Check::fail(
            "gpio",
            "no /dev/gpiomem or /dev/gpiomem0: without it rppal needs root (/dev/mem)",
            "use Raspberry Pi OS's kernel (it provides /dev/gpiomem), or a kernel with the \
             bcm2835-gpiomem (Pi 1-4) or rpi-gpiomem (Pi 5) driver",
        );
    }
    for node in chips.iter().chain(&mem) {
        let path = Path::new("/dev").join(node);
        if let Err(d) = access::check(root, account, &path, Want::ReadWrite) {
            return Check::fail("gpio", format!("{}: {}", d.at.display(), d.reason), fix);
        }
    }
    let all: Vec<String> = chips.into_iter().chain(mem).collect();
    Check::ok(
        "gpio",
        format!("{} can use {}", account.name, all.join(", ")),
    )
}

/// `dtoverlay=w1-gpio[,gpiopin=N]` (N defaults to 4) for the configured pin.
fn w1_overlay(lines: &[String], config_txt: &Path, pin: u8) -> Check {
    let want = if pin == 4 {
        "dtoverlay=w1-gpio".to_owned()
    } else {
        format!("dtoverlay=w1-gpio,gpiopin={pin}")
    };
    let pins: Vec<u8> = lines
        .iter()
        .filter_map(|l| {
            l.replace(' ', "")
                .strip_prefix("dtoverlay=w1-gpio")
                .map(str::to_owned)
        })
        .map(|rest| {
            rest.split(',')
                .find_map(|p| p.strip_prefix("gpiopin=").and_then(|n| n.parse().ok()))
                .unwrap_or(4)
        })
        .collect();
    if pins.contains(&pin) {
        Check::ok(
            "1-wire overlay",
            format!("{want} in {}", config_txt.display()),
        )
    } else if let Some(other) = pins.first() {
        Check::fail(
            "1-wire overlay",
            format!(
                "{} puts 1-Wire on BCM {other}, the config says BCM {pin}",
                config_txt.display()
            ),
            format!(
                "use `{want}` in {} (or set hardware.sensor.pin = {other}) and reboot",
                config_txt.display()
            ),
        )
    } else {
        Check::fail(
            "1-wire overlay",
            format!("{} has no dtoverlay=w1-gpio line", config_txt.display()),
            format!("add `{want}` to {} and reboot", config_txt.display()),
        )
    }
}

fn w1_device(
    root: &Path,
    account: &Account,
    dir: &Path,
    device: Option<&str>,
    pin: u8,
    config_txt: &Path,
) -> Check {
    let name = "1-wire sensor";
    let found: Vec<String> = std::fs::read_dir(access::under_root(root, dir))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("28-"))
                .collect()
        })
        .unwrap_or_default();
    let wanted = match device {
        Some(d) if found.iter().any(|f| f == d) => d.to_owned(),
        Some(d) => {
            return Check::fail(
                name,
                format!(
                    "{d} is not in {} (found: {})",
                    dir.display(),
                    crate::cli::list_or_none(&found)
                ),
                "check the sensor's wiring (data to BCM pin with a 4.7 kΩ pull-up to 3.3 V) or fix hardware.sensor.device",
            );
        }
        None if found.len() == 1 => found[0].clone(),
        None if found.is_empty() => {
            return Check::fail(
                name,
                format!("no DS18B20 (28-*) in {}", dir.display()),
                format!(
                    "wire the sensor's data line to BCM {pin} with a 4.7 kΩ pull-up to 3.3 V; check `dtoverlay=w1-gpio` in {} and reboot",
                    config_txt.display()
                ),
            );
        }
        None => {
            return Check::fail(
                name,
                format!("several DS18B20 in {}: {}", dir.display(), found.join(", ")),
                "choose one with hardware.sensor.device = \"28-...\"",
            );
        }
    };
    let file = dir.join(&wanted).join("w1_slave");
    match access::check(root, account, &file, Want::Read) {
        Ok(()) => Check::ok(
            name,
            format!("{} can read {}", account.name, file.display()),
        ),
        Err(d) => Check::fail(
            name,
            format!("{}: {}", d.at.display(), d.reason),
            "the kernel's w1 sysfs files are world-readable; check that /sys is mounted normally",
        ),
    }
}

/// The output pins per boot level: active-low relays must be held high (`dh`) from boot.
fn boot_states(lines: &[String], config_txt: &Path, hw: &HardwareConfig) -> Check {
    let mut want: Vec<(u8, &str)> = Vec::new();
    let o = &hw.outputs;
    let m = &hw.motor;
    let outs = [
        o.heat.as_ref(),
        o.cool.as_ref(),
        o.fan.as_ref(),
        m.lock.as_ref(),
        m.unlock.as_ref(),
    ];
    for p in outs.into_iter().flatten() {
        want.push((p.pin, level(p.active)));
    }
    if let Some(s) = &m.solenoid {
        want.push((s.pin, level(s.active)));
    }
    let held = held_pins(lines);
    let missing: Vec<(u8, &str)> = want
        .into_iter()
        .filter(|(pin, lvl)| !held.contains(&(*pin, lvl.to_string())))
        .collect();
    if missing.is_empty() {
        return Check::ok(
            "boot states",
            format!(
                "every output is held OFF from boot by gpio= lines in {}",
                config_txt.display()
            ),
        );
    }
    let mut fix = format!(
        "add to {} so relays stay OFF while the Pi boots and while hearthd is stopped:",
        config_txt.display()
    );
    for lvl in ["dh", "dl"] {
        let pins: Vec<String> = missing
            .iter()
            .filter(|(_, l)| *l == lvl)
            .map(|(p, _)| p.to_string())
            .collect();
        if !pins.is_empty() {
            fix.push_str(&format!("\ngpio={}=op,{lvl}", pins.join(",")));
        }
    }
    let list: Vec<String> = missing.iter().map(|(p, _)| format!("BCM {p}")).collect();
    Check::warn(
        "boot states",
        format!(
            "{} not held OFF at boot (floating until hearthd starts)",
            list.join(", ")
        ),
        fix,
    )
}

/// OFF level for an output: active-low is off when driven high.
fn level(active: Active) -> &'static str {
    match active {
        Active::Low => "dh",
        Active::High => "dl",
    }
}

/// (pin, "dh"|"dl") for every output pin a `gpio=` line drives at boot.
fn held_pins(lines: &[String]) -> Vec<(u8, String)> {
    let mut held = Vec::new();
    for l in lines {
        let Some(rest) = l.replace(' ', "").strip_prefix("gpio=").map(str::to_owned) else {
            continue;
        };
        let Some((pins, opts)) = rest.split_once('=') else {
            continue;
        };
        let opts: Vec<&str> = opts.split(',').collect();
        if !opts.contains(&"op") {
            continue;
        }
        let Some(lvl) = opts.iter().find(|o| matches!(**o, "dh" | "dl")) else {
            continue;
        };
        for part in pins.split(',') {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            if let (Ok(a), Ok(b)) = (a.parse::<u8>(), b.parse::<u8>()) {
                held.extend((a..=b).map(|p| (p, lvl.to_string())));
            }
        }
    }
    held
}

pub fn clock(root: &Path) -> Check {
    if root.join(TIMESYNC_FLAG).exists() {
        Check::ok("clock", "synchronised (systemd-timesyncd)")
    } else {
        Check::warn(
            "clock",
            "not known to be synchronised: a Pi has no battery clock, so until NTP answers, time windows, consent dates and history times are wrong",
            "sudo timedatectl set-ntp true, and check the network (the unit is ordered after time-sync.target)",
        )
    }
}
