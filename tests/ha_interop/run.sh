#!/usr/bin/env bash
# Home Assistant interop test: a real Home Assistant Core (pinned below) against Mosquitto and
# hearthd on the simulator, every control driven through Home Assistant's own API.
#
# What it needs: mosquitto (scripts/install-test-deps.sh installs it), cargo, and a Python
# that the pinned Home Assistant supports (3.13). It looks for one on PATH and under pyenv,
# then tries Debian's python3.13 package; where none can be had it says so and skips
# (exit 0). The venv lives in a fixed directory (HEARTH_HA_CACHE, default
# ~/.cache/hearth-ha-interop), so only the first run installs Home Assistant (about 10-15
# minutes on two busy cores; later runs start in seconds).
#
# Run by hand:  bash tests/ha_interop/run.sh
# From scripts/test.sh: its `ha` step, unless HEARTH_HA_INTEROP=0 (see README "Home Assistant").
set -euo pipefail

HA_VERSION=2025.4.4
# Pins from that release's manifests: the MQTT integration's client and the frontend (Home
# Assistant will not leave recovery mode without it).
PAHO_VERSION=2.1.0
FRONTEND_VERSION=20250411.0
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${HEARTH_HA_CACHE:-$HOME/.cache/hearth-ha-interop}"
venv="$cache/venv-ha-$HA_VERSION"

if [[ "${HEARTH_UNDER_EMULATION:-0}" == 1 ]]; then
    echo "ha_interop: skipped under emulation (Home Assistant is a host-only Python service)"
    exit 0
fi

find_python() {
    local c
    for c in python3.13 "$HOME"/.pyenv/versions/3.13*/bin/python3.13 /usr/bin/python3.13 /usr/local/bin/python3.13; do
        if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys, venv, ssl, sqlite3; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; then
            command -v "$c"
            return 0
        fi
    done
    return 1
}

# A venv cannot be moved (its scripts name its path), so a finished one is marked instead.
if [[ ! -f "$venv/.hearth-complete" ]]; then
    python="$(find_python || true)"
    if [[ -z "$python" ]] && command -v apt-get >/dev/null 2>&1; then
        echo "ha_interop: no Python 3.13 found; trying Debian's python3.13 package"
        apt-get install -y -qq python3.13 python3.13-venv >/dev/null 2>&1 || true
        python="$(find_python || true)"
    fi
    if [[ -z "$python" ]]; then
        echo "ha_interop: SKIPPED: Home Assistant $HA_VERSION needs Python 3.13, and none is on PATH," \
            "under ~/.pyenv, or installable from this machine's Debian release (Debian 12 has 3.11)."
        exit 0
    fi
    echo "ha_interop: installing Home Assistant $HA_VERSION with $python into $venv (first run only)"
    mkdir -p "$cache"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    wheels="$cache/wheel-$HA_VERSION"
    mkdir -p "$wheels"
    "$venv/bin/pip" download -q --no-deps -d "$wheels" "homeassistant==$HA_VERSION"
    # Home Assistant's own pins: without them pip backtracks for a long time.
    "$venv/bin/python" - "$wheels" "$cache/constraints-$HA_VERSION.txt" <<'PY'
import pathlib, sys, zipfile
wheel = next(pathlib.Path(sys.argv[1]).glob("homeassistant-*.whl"))
with zipfile.ZipFile(wheel) as z:
    pathlib.Path(sys.argv[2]).write_bytes(z.read("homeassistant/package_constraints.txt"))
PY
    "$venv/bin/pip" install -q -c "$cache/constraints-$HA_VERSION.txt" \
        "$wheels"/homeassistant-*.whl "paho-mqtt==$PAHO_VERSION" \
        "home-assistant-frontend==$FRONTEND_VERSION"
    touch "$venv/.hearth-complete"
fi

cargo build -q --bin hearthd --manifest-path "$root/Cargo.toml"
target="$(cargo metadata --format-version 1 --no-deps --manifest-path "$root/Cargo.toml" |
    "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
mosquitto="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
exec "$venv/bin/python" "$here/ha_interop.py" \
    --hearthd "$target/debug/hearthd" --mosquitto "$mosquitto" --python "$venv/bin/python"
