#!/usr/bin/env bash
# arm-check.sh: build hearth for the Raspberry Pi targets and run the whole workspace test suite
# on them under qemu user-mode emulation, on an x86_64 Debian 12 machine without Docker.
#
# Why not `cross` (see Cross.toml)? It needs a container engine. This script gets the same
# result from Debian packages alone (installed by scripts/install-test-deps.sh arm):
#   compiler  Debian's rustc-web/cargo-web (1.96) with a target std of exactly that version;
#             rustup's toolchain cannot be used because `rustup target add` has no network here
#   linker/C  aarch64-linux-gnu-gcc and arm-linux-gnueabihf-gcc (also compile bundled SQLite
#             and ring through cc-rs)
#   runner    qemu-aarch64-static / qemu-arm-static as CARGO_TARGET_<TRIPLE>_RUNNER
#
# Each target is compiled ONCE, in release mode: one `cargo build --bins --tests --examples`
# builds the test binaries and the real hearthd binary from the same dependency artifacts (the
# features unify exactly as in `cargo test`, dev-dependencies included), then `cargo test` finds
# everything fresh and only runs it (plus the doctests, which rustdoc compiles at test time). Test processes see:
#   HEARTH_TEST_RUNNER      the qemu command; tests prefix child spawns of hearthd with it,
#                           because without binfmt_misc an emulated process cannot exec an ARM
#                           binary directly (host binaries such as mosquitto run natively)
#   HEARTH_UNDER_EMULATION  1, so timing-sensitive tests can allow for qemu's slowness
#
# Usage:  bash scripts/arm-check.sh [extra cargo args for both commands, e.g. -p hearth-control;
#         with -p/--package the default --workspace is dropped]
# Env:    HEARTH_ARM_TARGETS="aarch64 armv7" (default: both)
#         HEARTH_ARM_BINARY_TIMEOUT=300: seconds one test binary may run under qemu before it is
#         killed and counted as failed (a hung test must fail CI, not stall it); the slowest
#         binary took under a minute when this was written
# Output: target/arm-check/<triple>/release/; target/debian/hearth_<version>_{arm64,armhf}.deb
#         (scripts/package.sh arm, from the hearthd built here); a summary with build time, test
#         time, test counts, the stripped hearthd size and the package per target. Exits 1 if any
#         build, test or package check failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
targets=${HEARTH_ARM_TARGETS:-"aarch64 armv7"}
binary_timeout=${HEARTH_ARM_BINARY_TIMEOUT:-300}

bash scripts/install-test-deps.sh arm package

# Debian's toolchain only, by absolute path: rustup's cargo/rustc/rustdoc (1.95) may come first
# on PATH, and its rustdoc fails the cross doctests with E0514 against the 1.96 std.
cargo=/usr/bin/cargo
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
unset RUSTC_WRAPPER RUSTUP_TOOLCHAIN CARGO_BUILD_TARGET
# A separate target dir: these artifacts come from another compiler than the host build's.
target_dir=target/arm-check
rustc_version=$($RUSTC --version)
scope=(--workspace)
for a in "$@"; do case $a in -p|--package|--package=*|-p?*) scope=() ;; esac; done

summary=()
failed=0
for t in $targets; do
  case $t in
    aarch64) triple=aarch64-unknown-linux-gnu     gnu=aarch64-linux-gnu   qemu=/usr/bin/qemu-aarch64-static loader=/lib/ld-linux-aarch64.so.1 ;;
    armv7)   triple=armv7-unknown-linux-gnueabihf gnu=arm-linux-gnueabihf qemu=/usr/bin/qemu-arm-static     loader=/lib/ld-linux-armhf.so.3 ;;
    *) echo "arm-check: unknown target '$t' (use aarch64, armv7)" >&2; exit 2 ;;
  esac
  # qemu needs the target's dynamic loader and libc. The cross libc lives in /usr/<gnu>, passed
  # with -L. But if a multiarch libc6:<arch> is installed, its loader is at $loader and -L must be
  # left out: qemu would then mix the cross loader with the multiarch libc.so.6 (a different
  # build of glibc 2.36) and hang in the first thread spawn.
  if [ -e "$loader" ]; then runner="$qemu"; else runner="$qemu -L /usr/$gnu"; fi
  upper=$(echo "$triple" | tr 'a-z-' 'A-Z_')
  lower=${triple//-/_}
  # cargo runs each test binary through `timeout`; with --no-fail-fast the others still run.
  export "CARGO_TARGET_${upper}_LINKER=$gnu-gcc" \
         "CARGO_TARGET_${upper}_RUNNER=timeout -k 10 $binary_timeout $runner" \
         "CC_${lower}=$gnu-gcc" "AR_${lower}=$gnu-ar"
  export HEARTH_TEST_RUNNER="$runner" HEARTH_UNDER_EMULATION=1
  common=(--release "${scope[@]}" --target "$triple" --target-dir "$target_dir")

  echo
  echo "=== arm-check $triple: $rustc_version, runner '$runner', ${binary_timeout}s per test binary"
  start=$SECONDS
  stamp=$(mktemp)   # to tell a hearthd built now from one left by an earlier run
  if ! $cargo build "${common[@]}" --bins --tests --examples "$@"; then
    echo "=== arm-check $triple: BUILD FAILED after $((SECONDS - start)) s" >&2
    summary+=("$triple: build FAILED ($((SECONDS - start)) s)"); failed=1; rm -f "$stamp"; continue
  fi
  build_s=$((SECONDS - start))
  echo "=== arm-check $triple: built in $build_s s"

  start=$SECONDS
  log=$(mktemp)
  set +e
  $cargo test "${common[@]}" --no-fail-fast "$@" 2>&1 | tee "$log"
  test_rc=${PIPESTATUS[0]}
  set -e
  test_s=$((SECONDS - start))
  # Sum every "test result:" line (unit, integration and doctest binaries alike).
  # A binary killed by a signal (timeout, crash) prints no result line: count those separately.
  counts=$(awk '/^test result:/ { for (i = 1; i <= NF; i++) {
                    if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i;
                    if ($(i+1) ~ /^ignored/) g += $i } }
                /process didn.t exit successfully: .*\(signal: / { k++ }
                END { printf "%d passed, %d failed, %d ignored", p, f, g
                      if (k) printf ", %d test binaries killed by a signal", k }' "$log")
  rm -f "$log"

  bin=$target_dir/$triple/release/hearthd
  if [ -f "$bin" ]; then
    "$gnu-strip" -o "$bin.stripped" "$bin"
    size="hearthd $(stat -c %s "$bin.stripped") bytes stripped ($(stat -c %s "$bin") as built)"
    [ "$bin" -nt "$stamp" ] || size="$size, from an earlier run"
    rm -f "$bin.stripped"
  else
    size="hearthd not built"
  fi
  rm -f "$stamp"

  start=$SECONDS
  if bash scripts/package.sh arm "$triple" "$target_dir"; then
    package="package ok ($((SECONDS - start)) s)"
  else
    package="PACKAGE FAILED"; failed=1
  fi

  if [ "$test_rc" = 0 ]; then
    verdict="OK"
  else
    verdict="TESTS FAILED"; failed=1
  fi
  line="$triple: $verdict; build $build_s s, tests $test_s s ($counts); $size; $package"
  echo "=== arm-check $line"
  summary+=("$line")
done

echo
echo "=== arm-check summary"
printf '  %s\n' "${summary[@]}"
exit $failed
