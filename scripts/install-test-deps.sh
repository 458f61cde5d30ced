#!/usr/bin/env bash
# install-test-deps.sh: install what hearth's checks need on Debian 12 (bookworm), idempotently.
#
# Usage: bash scripts/install-test-deps.sh [host] [supply] [arm] [package]   (no argument: all)
#   host : mosquitto      the real MQTT broker the integration tests start on loopback ports
#          systemd        systemd-analyze, for scripts/check-systemd.sh
#          openssl        test certificates for the TLS tests
#          tzdata         /usr/share/zoneinfo, for [daemon] time_zone and the DST tests
#          chromium       headless browser that loads the web page in tests/web.rs (+ a font)
#          python3-jsonschema  validates Alexa payloads against Amazon's schema (skipped when
#                         `import jsonschema` already works, e.g. from pip)
#   supply: cargo-deny (pinned: $cargo_deny_version) and cargo-machete (pinned:
#          $cargo_machete_version), `cargo install --locked` with the cargo first on PATH, for
#          test.sh's supply step (README "Development: supply-chain checks"). Compiled once:
#          19 min and 8 min of wall time on a busy 2-core VM (load ~10; 2026-11-30).
#   package: lintian, and cargo-deb (pinned: $cargo_deb_version, `cargo install --locked`, about
#          1.5 min to compile once) with the cargo first on PATH, for scripts/package.sh
#   arm  : Debian's rustc-web/cargo-web, the aarch64 and armhf cross gcc + libc, qemu-user-static,
#          and a target std for aarch64 and armv7 at exactly rustc-web's version (see
#          install_target_std), for scripts/arm-check.sh
# HEARTH_SKIP_ARM=1 drops the arm group when no group is named.
#
# Only missing pieces are installed: a second run does no network access. Never removes anything.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

groups=("$@")
if [ ${#groups[@]} -eq 0 ]; then
  groups=(host supply package)
  [ "${HEARTH_SKIP_ARM:-0}" = 1 ] || groups+=(arm)
fi

host_pkgs="mosquitto systemd openssl ca-certificates tzdata chromium fonts-dejavu-core"
arm_pkgs="rustc-web cargo-web libstd-rust-web-dev qemu-user-static curl ca-certificates
          gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu
          gcc-arm-linux-gnueabihf libc6-dev-armhf-cross binutils-arm-linux-gnueabihf"
package_pkgs="lintian"
cargo_deb_version=3.6.2
cargo_deny_version=0.20.2
cargo_machete_version=0.9.2
# Rust targets for the arm group: "<rust triple> <Debian architecture>".
arm_targets=("aarch64-unknown-linux-gnu arm64" "armv7-unknown-linux-gnueabihf armhf")

say() { echo "install-test-deps: $*"; }
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { say "not root and no sudo: run me as root" >&2; exit 1; }
  SUDO=sudo
fi

wanted=""
for g in "${groups[@]}"; do
  case $g in
    host) wanted="$wanted $host_pkgs"
          # The python3 first on PATH is the one the tests run; it may not be Debian's (pyenv),
          # so try its own pip first and fall back to Debian's package.
          if ! python3 -c 'import jsonschema' 2>/dev/null; then
            python3 -m pip install -q jsonschema 2>/dev/null && python3 -c 'import jsonschema' 2>/dev/null ||
              wanted="$wanted python3 python3-jsonschema"
          fi ;;
    arm)  wanted="$wanted $arm_pkgs" ;;
    package) wanted="$wanted $package_pkgs" ;;
    supply) ;;
    *) say "unknown group '$g' (use host, supply, arm, package)" >&2; exit 2 ;;
  esac
done

missing=""
for p in $wanted; do
  case " $missing " in *" $p "*) continue ;; esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  command -v apt-get >/dev/null || { say "missing:$missing, and no apt-get to install them" >&2; exit 1; }
  say "installing$missing"
  # `apt-get update` exits 100 if any one index fails (a mirror mid-sync); the packages we need
  # usually still resolve, and the install below fails loudly if they do not.
  $SUDO apt-get update -q || say "warning: apt-get update reported errors, continuing" >&2
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -q --no-install-recommends $missing
else
  say "all packages present"
fi

# Debian's rustc-web ships its std for amd64 only. For each ARM target, fetch the
# libstd-rust-web-dev .deb of the SAME version and unpack only its rustlib directory:
# - not `dpkg --add-architecture`: on this mirror the armhf security index can lag, offering an
#   older std (rustc then fails with E0514 "compiled by an incompatible version"), and the
#   multiarch libc6:armhf/arm64 it pulls in would change how qemu must be run;
# - the URL is apt's own amd64 URL with the architecture swapped (same source package, same pool
#   directory); the package's Version and Architecture fields are checked after download.
install_target_std() { # $1 = rust triple, $2 = Debian architecture
  local triple=$1 arch=$2 dir=/usr/lib/rustlib/$1 ver uri tmp
  ver=$(dpkg-query -W -f='${Version}' rustc-web)
  if [ "$(cat "$dir/.hearth-std-version" 2>/dev/null)" = "$ver" ] ||
     [ "$(dpkg-query -W -f='${Version}' "libstd-rust-web-dev:$arch" 2>/dev/null)" = "$ver" ]; then
    return 0
  fi
  uri=$(apt-get download --print-uris "libstd-rust-web-dev:amd64=$ver" 2>/dev/null | awk '{print $1}' | tr -d "'")
  [ -n "$uri" ] || { say "apt knows no libstd-rust-web-dev:amd64=$ver; run apt-get update" >&2; return 1; }
  uri=${uri%_amd64.deb}_$arch.deb
  tmp=$(mktemp -d)
  say "fetching $triple std $ver: $uri"
  curl -fsSL --retry 3 -o "$tmp/std.deb" "$uri"
  if [ "$(dpkg-deb -f "$tmp/std.deb" Version)" != "$ver" ] ||
     [ "$(dpkg-deb -f "$tmp/std.deb" Architecture)" != "$arch" ]; then
    say "$uri is not libstd-rust-web-dev $ver for $arch" >&2; rm -rf "$tmp"; return 1
  fi
  # Remove an older std first: two versions side by side give "multiple candidates for rlib std".
  $SUDO rm -rf "$dir"
  dpkg-deb --fsys-tarfile "$tmp/std.deb" | $SUDO tar -x -C / "./usr/lib/rustlib/$triple"
  echo "$ver" | $SUDO tee "$dir/.hearth-std-version" >/dev/null
  rm -rf "$tmp"
  say "installed $dir ($ver)"
}

for g in "${groups[@]}"; do
  [ "$g" = arm ] || continue
  for t in "${arm_targets[@]}"; do
    # shellcheck disable=SC2086
    install_target_std $t
  done
done
# The Debian mosquitto package starts a system broker on :1883; the tests start their own on
# free ports and never use it, so it is left as the package set it up.

# cargo-deb builds the .deb packages (scripts/package.sh). Installed into cargo's bin directory
# by the cargo first on PATH (test.sh puts rustup's first), only when that exact version is
# missing; --locked uses the versions cargo-deb was released with.
for g in "${groups[@]}"; do
  [ "$g" = package ] || continue
  if [ "$(cargo-deb --version 2>/dev/null)" != "cargo-deb $cargo_deb_version" ]; then
    say "installing cargo-deb $cargo_deb_version (cargo install --locked)"
    cargo install --locked --quiet cargo-deb --version "$cargo_deb_version"
  fi
done

# cargo-deny and cargo-machete (test.sh's supply step), the same way: only when that exact
# version is missing.
for g in "${groups[@]}"; do
  [ "$g" = supply ] || continue
  if [ "$(cargo-deny --version 2>/dev/null)" != "cargo-deny $cargo_deny_version" ]; then
    say "installing cargo-deny $cargo_deny_version (cargo install --locked)"
    cargo install --locked --quiet cargo-deny --version "$cargo_deny_version"
  fi
  if [ "$(cargo-machete --version 2>/dev/null)" != "$cargo_machete_version" ]; then  # prints the bare version
    say "installing cargo-machete $cargo_machete_version (cargo install --locked)"
    cargo install --locked --quiet cargo-machete --version "$cargo_machete_version"
  fi
done
