#!/usr/bin/env bash
# test.sh: hearth's whole check, as CI runs it (.ci/run execs this). Steps, in order, stopping at
# the first failure:
#   deps      scripts/install-test-deps.sh (idempotent; quick when everything is present)
#   fmt       cargo fmt --all --check
#   supply    cargo deny --offline check licenses bans sources (deny.toml), and cargo shear:
#             no unused dependency in any Cargo.toml (README "Development: supply-chain checks")
#   clippy    cargo clippy --workspace --all-targets -- -D warnings
#   clippy-b  the same with --features bench (the `hearthd bench` harness)
#   test      cargo test --workspace --features bench, on this machine
#   ha        tests/ha_interop/run.sh: a real Home Assistant against hearthd (skips, saying why,
#             without a Python 3.13; HEARTH_HA_INTEROP=0 skips it)
#   systemd   scripts/check-systemd.sh: unit syntax, sysusers, hardening exposure <= 4.0
#   package   scripts/package.sh host: release build, the amd64 .deb (cargo-deb), lintian; install,
#             doctor + daemon as `hearth`, upgrade and purge on this machine (root or sudo)
#   arm       scripts/arm-check.sh: aarch64 + armv7 release builds, whole suite under qemu, and
#             the arm64 + armhf .debs from those binaries
# A summary line per step with its duration is printed at the end, also after a failure.
#
# Env: HEARTH_SKIP_ARM=1  skip the ARM step (quick local runs; CI never sets it)
#      HEARTH_ALEXA_SCHEMA is exported when ../shared/conformance/alexa/ has Amazon's schema
#      next to the repository, for the policy tests that validate Alexa payloads.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The host steps must use rustup's toolchain (1.95, with clippy and rustfmt). Debian's cargo-web,
# installed for the ARM step, also provides /usr/bin/cargo (1.96), so rustup's bin directory goes
# first on PATH even when it is already somewhere later. arm-check.sh calls Debian's by path.
for dir in "${CARGO_HOME:-$HOME/.cargo}/bin" "$HOME/.cargo/bin" /usr/local/cargo/bin; do
  if [ -x "$dir/cargo" ] && [ -x "$dir/rustup" -o -x "$dir/cargo-clippy" ]; then
    PATH="$dir:$PATH"
    break
  fi
done
# mosquitto is in /usr/sbin, which a non-root PATH often lacks; the tests look it up on PATH.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin" ;; esac
export PATH
# Host tests run natively: no runner prefix, no emulation allowances.
unset HEARTH_TEST_RUNNER HEARTH_UNDER_EMULATION

schema=../shared/conformance/alexa/alexa_smart_home_message_schema.json
if [ -z "${HEARTH_ALEXA_SCHEMA:-}" ] && [ -f "$schema" ]; then
  HEARTH_ALEXA_SCHEMA=$(cd "$(dirname "$schema")" && pwd)/$(basename "$schema")
  export HEARTH_ALEXA_SCHEMA
fi

results=()
run_start=$SECONDS
print_summary() {
  echo
  echo "================ hearth test summary ================"
  [ ${#results[@]} -eq 0 ] || printf '  %s\n' "${results[@]}"
  echo "  total $((SECONDS - run_start)) s"
}
trap print_summary EXIT

# step NAME COMMAND...: banner, run, record the outcome and duration; stop at the first failure.
step() {
  local name=$1 start=$SECONDS rc=0
  shift
  echo
  echo "================ [$name] $* ================"
  "$@" || rc=$?
  if [ "$rc" = 0 ]; then
    results+=("$(printf '%-8s ok      %5d s' "$name" $((SECONDS - start)))")
  else
    results+=("$(printf '%-8s FAILED  %5d s  (exit %d: %s)' "$name" $((SECONDS - start)) "$rc" "$*")")
    echo "================ [$name] FAILED (exit $rc) ================" >&2
    exit "$rc"
  fi
}
skip() { results+=("$(printf '%-8s skipped          (%s)' "$1" "$2")"); echo; echo "================ [$1] skipped: $2"; }

step deps bash scripts/install-test-deps.sh
echo "host toolchain: $(command -v cargo) ($(cargo --version)), $(rustc --version)"
if [ "$(command -v cargo)" = /usr/bin/cargo ]; then
  echo "warning: using Debian's /usr/bin/cargo for the host steps; rustup's toolchain was not found" >&2
fi
echo "HEARTH_ALEXA_SCHEMA=${HEARTH_ALEXA_SCHEMA:-<unset: schema not found next to the repo>}"
step fmt cargo fmt --all --check
step supply bash -c 'cargo deny --offline --log-level warn check licenses bans sources && cargo shear'
step clippy cargo clippy --workspace --all-targets -- -D warnings
# The bench harness (feature `bench`, off in installed binaries) is linted and tested too; the
# test step runs `hearthd bench --quick` once (tests/bench_cli.rs). The ARM step builds without
# it, like the packages, and checks that `hearthd bench` then says how to get it.
step clippy-b cargo clippy --workspace --all-targets --features bench -- -D warnings
step test cargo test --workspace --features bench
if [ "${HEARTH_HA_INTEROP:-1}" = 1 ]; then
  step ha bash tests/ha_interop/run.sh
else
  skip ha "HEARTH_HA_INTEROP=0"
fi
if command -v systemd-analyze >/dev/null; then
  step systemd bash scripts/check-systemd.sh
else
  skip systemd "systemd-analyze not available on this machine"
fi
if [ "$(id -u)" = 0 ] || command -v sudo >/dev/null; then
  step package bash scripts/package.sh host
else
  skip package "installing the .deb needs root or sudo"
fi
if [ "${HEARTH_SKIP_ARM:-0}" = 1 ]; then
  skip arm "HEARTH_SKIP_ARM=1"
else
  step arm bash scripts/arm-check.sh
fi
