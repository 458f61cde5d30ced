#!/usr/bin/env bash
# check-systemd.sh: check the shipped systemd files without installing or starting anything.
#
#   1. systemd/hearthd.service parses cleanly: `systemd-analyze verify` reports nothing (it exits
#      0 even for unknown keys, so any output at all counts as a failure);
#   2. systemd/hearth.sysusers is valid (`systemd-sysusers --dry-run`);
#   3. the unit's hardening: `systemd-analyze security --offline=true` must report an overall
#      exposure of at most HEARTH_MAX_EXPOSURE (default 4.0, systemd's "OK"). On failure the
#      whole table is printed so the weak directives are visible.
#
# Needs systemd-analyze (Debian package `systemd`; scripts/install-test-deps.sh installs it).
# Usage: bash scripts/check-systemd.sh        (from anywhere; it finds the repo itself)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
unit=systemd/hearthd.service
sysusers=systemd/hearth.sysusers
max=${HEARTH_MAX_EXPOSURE:-4.0}
# Plain ASCII, no colours and no pager, so the summary line parses the same everywhere.
export LC_ALL=C SYSTEMD_COLORS=0 SYSTEMD_PAGER=

die() { echo "check-systemd: $*" >&2; exit 1; }
command -v systemd-analyze >/dev/null ||
  die "systemd-analyze not found; install Debian's 'systemd' package (scripts/install-test-deps.sh does)"
[ -f "$unit" ] || die "$unit is missing"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# 1. Syntax. verify insists that ExecStart= exists and is executable, and hearthd is not
# installed here, so check a copy that runs /bin/true instead (ExecStopPost= too); everything
# else is identical.
sed -e 's#^ExecStart=/usr/bin/hearthd #ExecStart=/bin/true #' \
    -e 's#^ExecStopPost=/usr/bin/hearthd #ExecStopPost=/bin/true #' "$unit" > "$scratch/hearthd.service"
grep -q '^ExecStart=/bin/true ' "$scratch/hearthd.service" ||
  die "$unit: expected 'ExecStart=/usr/bin/hearthd ...'; update this script if the path changed"
verify_out=$(systemd-analyze verify --man=no "$scratch/hearthd.service" 2>&1) || true
if [ -n "$verify_out" ]; then
  echo "$verify_out" | sed "s#$scratch/hearthd.service#$unit#" >&2
  die "$unit: systemd-analyze verify reported the problems above (line numbers match the file)"
fi
echo "check-systemd: $unit parses cleanly"

# 2. sysusers.d syntax; --root keeps the dry run away from this machine's /etc/passwd.
if [ -f "$sysusers" ]; then
  mkdir "$scratch/root"
  systemd-sysusers --dry-run --root="$scratch/root" - < "$sysusers" >/dev/null 2>"$scratch/sysusers.err" || {
    cat "$scratch/sysusers.err" >&2
    die "$sysusers: systemd-sysusers rejected it (see above)"
  }
  echo "check-systemd: $sysusers is valid"
fi

# 3. Exposure.
systemd-analyze security --offline=true --no-pager "$unit" > "$scratch/security.txt" 2>&1 || {
  cat "$scratch/security.txt" >&2
  die "systemd-analyze security failed on $unit (output above)"
}
line=$(grep -E 'Overall exposure level for ' "$scratch/security.txt" | tail -n 1 || true)
exposure=$(echo "$line" | sed -nE 's/.*Overall exposure level for [^:]*: *([0-9]+(\.[0-9]+)?).*/\1/p')
if [ -z "$exposure" ]; then
  cat "$scratch/security.txt" >&2
  die "could not find 'Overall exposure level' in the output above"
fi
if awk -v e="$exposure" -v m="$max" 'BEGIN { exit !(e + 0 <= m + 0) }'; then
  echo "check-systemd: exposure $exposure <= $max: ${line#*: }"
else
  cat "$scratch/security.txt"
  die "$unit: overall exposure $exposure is above $max; tighten the lines marked '-' (they carry an EXPOSURE value) above"
fi
