#!/usr/bin/env bash
# package-install-test.sh DEB DEB_UPGRADE: install hearth's amd64 package on this machine the
# way a user does (`apt-get install ./hearth_….deb`), then check it end to end:
#   1. every installed path with its owner and mode, the account, the conffile, not enabled;
#   2. the installed config switched to the simulator (plus a loopback cloud, so the ledger has
#      something to record), `hearthd doctor` and `check-config` as the services sees them;
#   3. the daemon run as the `hearth` user: history and ledger land in /var/lib/hearth;
#   4. upgrade to DEB_UPGRADE: config edits, databases and modes kept;
#   5. purge: nothing left but the `hearth` account (Debian keeps system users).
# Needs root. Works without systemd as PID 1 (a container, CI). Called by scripts/package.sh.
set -euo pipefail

deb=$(realpath "$1"); deb2=$(realpath "$2")
say() { echo "package-install: $*"; }
fail() { echo "package-install: FAILED: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "run as root (apt-get install)"
export DEBIAN_FRONTEND=noninteractive
conf=/etc/hearth/hearth.toml
# setpriv, not runuser: it execs the command itself, so a signal reaches hearthd directly and
# its exit status is hearthd's. The groups are hearth's from /etc/group (gpio, i2c).
as_hearth() { setpriv --reuid hearth --regid hearth --init-groups -- "$@"; }

broker_pid="" daemon_pid=""
cleanup() {
  for pid in $daemon_pid $broker_pid; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

if dpkg-query -W -f='${Status}' hearth 2>/dev/null | grep -q installed; then
  say "purging an earlier hearth package first"
  apt-get purge -y -q hearth </dev/null >/dev/null
fi

say "apt-get install $deb"
apt-get install -y -q --no-install-recommends "$deb" </dev/null

# --- 1. what was installed, and how --------------------------------------------------------
# "owner group mode path" for everything dpkg installed; directories root root 755.
expected="root root 755 /usr/bin/hearthd
root hearth 640 /etc/hearth/hearth.toml
root root 644 /usr/lib/systemd/system/hearthd.service
root root 644 /usr/lib/sysusers.d/hearth.conf
root root 644 /usr/share/man/man1/hearthd.1.gz
root root 644 /usr/share/doc/hearth/README.md
root root 644 /usr/share/doc/hearth/mqtt-api.md
root root 644 /usr/share/doc/hearth/privacy-policy.md
root root 644 /usr/share/doc/hearth/examples/config.example.toml
root root 644 /usr/share/doc/hearth/copyright
root root 644 /usr/share/doc/hearth/changelog.Debian.gz
root root 644 /usr/share/lintian/overrides/hearth"
check_installed() {
  local got
  got=$(dpkg -L hearth | while read -r p; do
          [ "$p" = /. ] || [ -d "$p" ] || stat -c '%U %G %a %n' "$p"; done | sort)
  [ "$got" = "$(sort <<<"$expected")" ] || {
    diff <(sort <<<"$expected") <(echo "$got") >&2 || true
    fail "installed files differ (< expected, > installed)"
  }
  dpkg -L hearth | while read -r p; do
    [ "$p" = /. ] || [ ! -d "$p" ] || [ -L "$p" ] || [ "$(stat -c '%U %G %a' "$p")" = "root root 755" ] ||
      fail "directory $p is $(stat -c '%U %G %a' "$p"), expected root root 755"
  done
  [ "$(stat -c '%U %G %a' /var/lib/hearth)" = "hearth hearth 750" ] ||
    fail "/var/lib/hearth is $(stat -c '%U %G %a' /var/lib/hearth), expected hearth hearth 750"
  [ "$(dpkg-statoverride --list $conf)" = "root hearth 640 $conf" ] || fail "no statoverride for $conf"
  dpkg-query -W -f='${Conffiles}\n' hearth | grep -q "^ $conf " || fail "$conf is not a conffile"
  id -nG hearth | tr ' ' '\n' | grep -qx gpio || fail "hearth is not in group gpio"
  id -nG hearth | tr ' ' '\n' | grep -qx i2c || fail "hearth is not in group i2c"
  [ "$(getent passwd hearth | cut -d: -f6,7)" = /var/lib/hearth:/usr/sbin/nologin ] ||
    fail "hearth's home/shell: $(getent passwd hearth)"
  [ ! -e /etc/systemd/system/multi-user.target.wants/hearthd.service ] ||
    fail "the package enabled hearthd; it must wait for the admin"
}
check_installed
say "installed: every path, owner and mode as expected; hearth in gpio,i2c; not enabled"

# --- 2. the installed config, switched to the simulator ------------------------------------
grep -qx 'backend = "raspberry_pi"' $conf || fail "the packaged config is not the Pi one"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mosquitto -p "$port" >/tmp/hearth-pkgtest-mosquitto.log 2>&1 &
broker_pid=$!
sed -i -e 's/^backend = "raspberry_pi"/backend = "simulator"/' -e "s/^port = 1883$/port = $port/" $conf
cat >>$conf <<EOF

# package test: a loopback "cloud" on the test broker, so the ledger records what it is sent.
[[cloud]]
name = "loopback"
format = "json"
host = "127.0.0.1"
port = $port
client_id = "hearth-pkgtest-cloud"
topic_prefix = "pkgtest/cloud"

[cloud.policy.fields."thermostat.temperature"]
share = "on_change"
EOF
# The broker is up once it accepts a TCP connection.
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
  sleep 0.1
done

out=$(hearthd check-config --config $conf 2>&1) || fail "check-config: $out"
! grep -q '^warning:' <<<"$out" || fail "check-config as root warns: $out"
# check-config as root warns when the service user could not read a named file.
install -m 600 /dev/null /etc/hearth/pkgtest-password && echo pw >/etc/hearth/pkgtest-password
sed 's/^# username = "hearth"/username = "hearth"/; s|^# password_file = .*|password_file = "/etc/hearth/pkgtest-password"|' \
    $conf >/tmp/hearth-pkgtest-login.toml
out=$(hearthd check-config --config /tmp/hearth-pkgtest-login.toml 2>&1) || true
grep -q 'warning: the service user hearth could not read it: /etc/hearth/pkgtest-password' <<<"$out" ||
  fail "check-config as root did not warn about a root-only password file: $out"
rm -f /etc/hearth/pkgtest-password /tmp/hearth-pkgtest-login.toml

say "hearthd doctor, as the hearth user"
rc=0
as_hearth hearthd doctor --config $conf || rc=$?
[ "$rc" = 0 ] || fail "hearthd doctor exited $rc"

# --- 3. the daemon as the hearth user -------------------------------------------------------
log=/tmp/hearth-pkgtest-daemon.log
(cd / && exec setpriv --reuid hearth --regid hearth --init-groups -- hearthd run --config $conf) >$log 2>&1 &
daemon_pid=$!
# Wait (bounded) for the ledger to record a message sent to the loopback cloud.
sent=""
for _ in $(seq 300); do
  kill -0 "$daemon_pid" 2>/dev/null || { cat $log >&2; fail "hearthd exited early"; }
  if as_hearth hearthd audit --config $conf --since 1h 2>/dev/null | grep -q 'payload:'; then sent=1; break; fi
  sleep 0.2
done
[ -n "$sent" ] || { cat $log >&2; fail "no ledger row within 60 s"; }
kill -TERM "$daemon_pid"
rc=0; wait "$daemon_pid" || rc=$?; daemon_pid=""
[ "$rc" = 0 ] || { cat $log >&2; fail "hearthd exited $rc on SIGTERM"; }
ls -l /var/lib/hearth
for db in history.db ledger.db; do
  [ "$(stat -c %U /var/lib/hearth/$db)" = hearth ] || fail "/var/lib/hearth/$db is not hearth's"
done
hist=$(as_hearth hearthd history thermostat.temperature --since 1h --config $conf)
echo "$hist" | head -5
grep -q '[0-9][0-9]\.[0-9]' <<<"$hist" || fail "no temperature history in /var/lib/hearth/history.db"
samples=$(wc -l <<<"$hist")
say "daemon as hearth: history ($samples lines) and ledger written to /var/lib/hearth"

# --- 4. upgrade over itself -----------------------------------------------------------------
conf_sum=$(sha256sum $conf)
say "apt-get install $deb2 (upgrade)"
apt-get install -y -q "$deb2" </dev/null
[ "$(sha256sum $conf)" = "$conf_sum" ] || fail "the upgrade changed the edited $conf"
check_installed
[ -s /var/lib/hearth/history.db ] && [ -s /var/lib/hearth/ledger.db ] || fail "the upgrade lost the databases"
[ "$(as_hearth hearthd history thermostat.temperature --since 1h --config $conf | wc -l)" = "$samples" ] ||
  fail "the upgrade changed the history"
say "upgrade: config edits, databases, owners and modes kept"

# --- 5. purge -------------------------------------------------------------------------------
apt-get purge -y -q hearth </dev/null
# (/usr/lib/rustlib holds install-test-deps.sh's .hearth-std-version markers, not the package's.)
left=$(find /etc /usr /var/lib /var/cache/apt -path /usr/lib/rustlib -prune -o -name '*hearth*' -print \
       2>/dev/null || true)
[ -z "$left" ] || fail "left after purge: $left"
! dpkg-statoverride --list $conf >/dev/null || fail "the statoverride survived the purge"
getent passwd hearth >/dev/null || fail "purge removed the hearth user (policy: keep system users)"
say "purge: binary, unit, config, statoverride and /var/lib/hearth gone; the hearth account stays (Debian policy)"
