#!/usr/bin/env bash
# package.sh: build hearth's Debian packages with cargo-deb and check them.
#
# Usage:
#   bash scripts/package.sh host           release-build hearthd for this machine (amd64), package
#                                          it, lintian, check its contents, then install, run,
#                                          upgrade and purge it here (as root, or through sudo;
#                                          works without systemd as PID 1). test.sh's `package`
#                                          step.
#   bash scripts/package.sh arm TRIPLE DIR package the hearthd that scripts/arm-check.sh built in
#                                          DIR/TRIPLE/release (aarch64 -> arm64, armv7 -> armhf),
#                                          lintian, check `dpkg-deb --info/--contents`.
# Env: HEARTH_PACKAGE_NO_BUILD=1  host: package target/release/hearthd as it is (no cargo build)
#
# Output: target/debian/hearth_<version>_<arch>.deb. The install test REMOVES (purges) any
# installed `hearth` package first: run it on a test machine, not on your Pi.
# What the package contains and why: README.md "Installing on a Raspberry Pi"; Cargo.toml
# [package.metadata.deb]; debian/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=target/debian
say() { echo "package: $*"; }
fail() { echo "package: FAILED: $*" >&2; exit 1; }

cargo_deb=$(command -v cargo-deb || echo "${CARGO_HOME:-$HOME/.cargo}/bin/cargo-deb")
[ -x "$cargo_deb" ] || cargo_deb=""
[ -n "$cargo_deb" ] || fail "cargo-deb not found; run scripts/install-test-deps.sh package"
version=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)-1

# The newest glibc symbol version the Depends line allows (Cargo.toml: libc6 (>= 2.34)).
glibc_min=$(awk -F'libc6 \\(>= ' '/^depends = / { split($2, a, ")"); print a[1] }' Cargo.toml)

# check_deb DEB ARCH ELF_MACHINE: control fields, conffiles, every path with its owner and mode,
# the binary's architecture and glibc needs, lintian.
check_deb() {
  local deb=$1 arch=$2 machine=$3 info contents tmp
  say "checking $deb"
  info=$(dpkg-deb --info "$deb")
  for want in "Package: hearth" "Version: $version" "Architecture: $arch" \
              "Depends: libc6 (>= $glibc_min), systemd | systemd-standalone-sysusers | systemd-sysusers"; do
    grep -qxF " $want" <<<"$info" || fail "$deb: control lacks '$want'"
  done
  [ "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)" = /etc/hearth/hearth.toml ] ||
    fail "$deb: conffiles must be exactly /etc/hearth/hearth.toml"
  # "mode owner/group path" for every entry; directories are root 0755.
  contents=$(dpkg-deb --contents "$deb" | awk '{ sub(/^\.\//, "/", $6); print $1, $2, $6 }')
  local expected="-rwxr-xr-x 0/0 /usr/bin/hearthd
-rw-r----- 0/0 /etc/hearth/hearth.toml
-rw-r--r-- 0/0 /usr/lib/systemd/system/hearthd.service
-rw-r--r-- 0/0 /usr/lib/sysusers.d/hearth.conf
-rw-r--r-- 0/0 /usr/share/man/man1/hearthd.1.gz
-rw-r--r-- 0/0 /usr/share/doc/hearth/README.md
-rw-r--r-- 0/0 /usr/share/doc/hearth/mqtt-api.md
-rw-r--r-- 0/0 /usr/share/doc/hearth/privacy-policy.md
-rw-r--r-- 0/0 /usr/share/doc/hearth/examples/config.example.toml
-rw-r--r-- 0/0 /usr/share/doc/hearth/copyright
-rw-r--r-- 0/0 /usr/share/doc/hearth/changelog.Debian.gz
-rw-r--r-- 0/0 /usr/share/lintian/overrides/hearth"
  local files
  files=$(grep -v '^d' <<<"$contents" | sort)
  [ "$files" = "$(sort <<<"$expected")" ] || {
    diff <(sort <<<"$expected") <(echo "$files") >&2 || true
    fail "$deb: files differ from the expected list (< expected, > packaged)"
  }
  if grep '^d' <<<"$contents" | grep -v '^drwxr-xr-x 0/0 ' >&2; then
    fail "$deb: directories must be root:root 0755"
  fi
  tmp=$(mktemp -d)
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" ./usr/bin/hearthd
  local got
  got=$(readelf -h "$tmp/usr/bin/hearthd" | awk -F: '/Machine:/ { gsub(/^ +/, "", $2); print $2 }')
  [ "$got" = "$machine" ] || fail "$deb: hearthd is for '$got', expected '$machine'"
  # Each GLIBC_x.y the binary needs must be at most the Depends' version.
  local newest
  newest=$(readelf --version-info --wide "$tmp/usr/bin/hearthd" | grep -o 'GLIBC_[0-9.]*' |
           sed 's/GLIBC_//' | sort -V | tail -1)
  [ "$(printf '%s\n%s\n' "$newest" "$glibc_min" | sort -V | tail -1)" = "$glibc_min" ] ||
    fail "$deb: hearthd needs GLIBC_$newest but Depends says libc6 (>= $glibc_min)"
  rm -rf "$tmp"
  # --fail-on warning: every remaining tag is overridden in debian/lintian-overrides, with why.
  local lint rc=0
  lint=$(lintian --fail-on error,warning "$deb" 2>&1) || rc=$?
  grep -v '^running with root privileges' <<<"$lint" || true
  [ "$rc" = 0 ] || fail "$deb: lintian reports errors or warnings (above)"
  say "$deb: $(stat -c %s "$deb") bytes; contents, owners, modes, $machine, GLIBC_$newest and lintian ok"
}

case ${1:-} in
  arm)
    triple=${2:?arm needs a target triple}; dir=${3:?arm needs the target dir}
    case $triple in
      aarch64-unknown-linux-gnu) arch=arm64 machine=AArch64 ;;
      armv7-unknown-linux-gnueabihf) arch=armhf machine=ARM ;;
      *) fail "no Debian architecture for $triple" ;;
    esac
    [ -f "$dir/$triple/release/hearthd" ] || fail "$dir/$triple/release/hearthd not built"
    # The release profile already strips symbols; the host's strip cannot read ARM binaries.
    CARGO_TARGET_DIR=$dir "$cargo_deb" --no-build --no-strip --target "$triple" -o "$out/" >/dev/null
    check_deb "$out/hearth_${version}_$arch.deb" "$arch" "$machine"
    exit 0 ;;
  host) ;;
  *) echo "usage: package.sh host | arm TRIPLE TARGET_DIR" >&2; exit 2 ;;
esac

[ "$(dpkg --print-architecture)" = amd64 ] || fail "the host step expects an amd64 machine"
if [ "${HEARTH_PACKAGE_NO_BUILD:-0}" != 1 ]; then
  start=$SECONDS
  cargo build --release --locked --bin hearthd
  say "release build: $((SECONDS - start)) s"
fi
# A second revision of the same build, to upgrade to. Built first: cargo-deb deletes the
# other revisions' .deb files from target/debian when it writes one, wherever it writes it.
mkdir -p "$out/upgrade"
"$cargo_deb" --no-build --no-strip --deb-revision 2 -o "$out/upgrade/" >/dev/null
deb2=$out/upgrade/hearth_${version%-1}-2_amd64.deb
"$cargo_deb" --no-build --no-strip -o "$out/" >/dev/null
deb=$out/hearth_${version}_amd64.deb
[ -f "$deb2" ] || fail "$deb2 vanished when $deb was built"
check_deb "$deb" amd64 "Advanced Micro Devices X86-64"

if [ "$(id -u)" = 0 ]; then
  exec bash scripts/package-install-test.sh "$deb" "$deb2"
fi
command -v sudo >/dev/null || fail "installing the package needs root or sudo"
exec sudo bash scripts/package-install-test.sh "$deb" "$deb2"
