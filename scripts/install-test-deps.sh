#!/usr/bin/env bash
# install-test-deps.sh: install the Debian packages hearth's test suite needs, idempotently.
#
# - mosquitto          : the real MQTT broker the integration tests start on loopback ports
# - systemd            : systemd-analyze, to check the unit's hardening exposure
# - rustc-web, cargo-web, gcc cross compilers, qemu-user-static : the ARM check (scripts/arm-check.sh)
#
# Only packages that are missing are installed, so a second run is quick and offline.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

pkgs="mosquitto systemd openssl ca-certificates curl"
if [ "${HEARTH_SKIP_ARM:-0}" != 1 ]; then
  pkgs="$pkgs rustc-web cargo-web qemu-user-static gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-arm-linux-gnueabihf libc6-dev-armhf-cross"
fi
missing=""
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -z "$missing" ]; then
  echo "install-test-deps: all packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "install-test-deps: installing$missing"
# apt-get update exits 100 when any one index is stale; the install below still works.
$SUDO apt-get update -q || echo "install-test-deps: warning: apt-get update reported errors, continuing" >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
# The Debian mosquitto package starts a system broker on :1883; the tests start their own on
# free ports and never use it, so leave it as the package set it up.
