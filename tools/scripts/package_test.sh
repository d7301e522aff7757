#!/usr/bin/env bash
# tools/dev package-test BOARD: the board's .deb (build/packages) as a device would get it. A fresh
# Debian bookworm root of the package's architecture is made with mmdebstrap from Debian's packages:
# exactly what the .deb's Depends name (and what they depend on), nothing else; the .deb is then
# unpacked into it with dpkg-deb. Then, inside that root (under qemu-user for arm64, with the root
# as its library prefix):
#   - the installed daemon checks the installed /etc/assure-edge/device.toml (--check);
#   - the installed daemon runs on the sim board (the package's own board folder) against a
#     mosquitto on this machine's loopback, and comes online and heartbeats.
# A library missing from Depends fails the first step: nothing else is in the root.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
board="${1:?package-test BOARD}"
deb=$(ls -t "$ROOT"/build/packages/assure-edge-"$board"_*.deb 2>/dev/null | grep -v dbgsym | head -1)
[ -n "$deb" ] || { echo "package-test: no package for $board in build/packages (tools/dev package $board)" >&2; exit 1; }
arch=$(dpkg-deb -f "$deb" Architecture)
work="$(mktemp -d /tmp/assure-package-test.XXXXXX)"
broker_pid="" daemon_pid="" sub_pid=""
cleanup() {
  [ -n "$sub_pid" ] && kill "$sub_pid" 2>/dev/null
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
say() { echo "package-test: $*" >&2; }

start=$SECONDS
# The Depends as apt names them (bookworm has the versions they ask for: they were worked out from
# its packages).
depends=$(dpkg-deb -f "$deb" Depends | sed -e 's/([^)]*)//g' -e 's/|[^,]*//g' -e 's/[[:space:]]//g')
say "a fresh bookworm $arch root with $(basename "$deb")'s Depends: $depends"
mmdebstrap --quiet --variant=extract --architectures="$arch" --include="$depends" bookworm "$work/root" \
  "deb http://deb.debian.org/debian bookworm main" \
  "deb http://deb.debian.org/debian-security bookworm-security main" >&2
root="$work/root"
"$ROOT/tools/scripts/extract_fixups.sh" "$root" "$(dpkg-architecture -a"$arch" -qDEB_HOST_MULTIARCH 2>/dev/null)"
dpkg-deb -x "$deb" "$root"
say "root made in $((SECONDS - start)) s ($(du -sh "$root" | cut -f1))"
# Only the root's libraries and GStreamer plugins: another architecture's through qemu-user with the
# root as its prefix (the compiled-in /usr/share/assure-edge/board is then the root's); this one's
# through the root's own dynamic loader.
export GST_REGISTRY_FORK=no GST_REGISTRY="$work/gst-registry.bin"
emu=()
board_args=()
if [ "$arch" != "$(dpkg --print-architecture)" ]; then
  case "$arch" in arm64) emu=(qemu-aarch64-static -L "$root") ;; *) fail "no emulator for $arch" ;; esac
else
  multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
  loader=$(ls "$root/lib/$multiarch"/ld-linux*.so.* | head -1)
  emu=("$loader" --library-path "$root/lib/$multiarch:$root/usr/lib/$multiarch")
  export GST_PLUGIN_SYSTEM_PATH_1_0="$root/usr/lib/$multiarch/gstreamer-1.0"
  board_args=(--board-dir "$root/usr/share/assure-edge/board")
fi
daemon=("${emu[@]}" "$root/usr/bin/assure-edged" "${board_args[@]}")
[ -x "$root/usr/bin/assure-edged" ] || fail "the package has no /usr/bin/assure-edged"
[ -f "$root/etc/assure-edge/device.toml" ] || fail "the package has no /etc/assure-edge/device.toml"
ls "$root"/usr/share/assure-edge/board/*.cmake "$root"/usr/share/assure-edge/board/*/toolchain.cmake >/dev/null 2>&1 &&
  fail "toolchain files were installed on the device"

# 1. The installed device file, against the installed board folder (the binary's own default).
say "assure-edged --check /etc/assure-edge/device.toml"
"${daemon[@]}" --config "$root/etc/assure-edge/device.toml" --check > "$work/check.log" 2>&1 ||
  { cat "$work/check.log" >&2; fail "--check of the installed device file failed"; }
grep -q ": ok (board $board," "$work/check.log" || { cat "$work/check.log" >&2; fail "no ok for board $board"; }
cat "$work/check.log" >&2

# 2. A short run on the sim board, with a broker on loopback.
port=$(( 20000 + RANDOM % 40000 ))
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$port" > "$work/mosquitto.conf"
/usr/sbin/mosquitto -c "$work/mosquitto.conf" > "$work/mosquitto.log" 2>&1 &
broker_pid=$!
sleep 0.5
mkdir -p "$work/state" "$work/clips"
cat > "$work/device.toml" <<TOML
[device]
id = "pkg-01"
site = "package-test"
board = "sim"
state_dir = "$work/state"
[mqtt]
brokers = ["tcp://127.0.0.1:$port"]
[camera]
source = "test"
[heartbeat]
interval = 2
[evidence]
dir = "$work/clips"
TOML
mosquitto_sub -h 127.0.0.1 -p "$port" -t 'assure/v1/package-test/pkg-01/#' -v > "$work/seen.log" 2>&1 &
sub_pid=$!
sleep 0.3
t0=$(date +%s.%N)
"${daemon[@]}" --config "$work/device.toml" > "$work/daemon.log" 2>&1 &
daemon_pid=$!
online=""
for _ in $(seq 600); do
  if [ -z "$online" ] && grep -q '/status {"board":"sim".*"state":"online"' "$work/seen.log" 2>/dev/null; then
    online=$(echo "$(date +%s.%N) - $t0" | bc)
  fi
  [ -n "$online" ] && grep -q '/heartbeat ' "$work/seen.log" && break
  kill -0 "$daemon_pid" 2>/dev/null || break
  sleep 0.1
done
kill "$sub_pid" 2>/dev/null || true
[ -n "$online" ] || { tail -30 "$work/daemon.log" >&2; fail "the installed daemon did not come online"; }
grep -q '/heartbeat ' "$work/seen.log" || { tail -30 "$work/daemon.log" >&2; fail "no heartbeat from the installed daemon"; }
how="with the root's own loader and libraries"
[ "${emu[0]}" = qemu-aarch64-static ] && how="under qemu-user with the root as its prefix"
say "the installed daemon came online in ${online} s and heartbeats ($arch, $how)"
echo "ok: $(basename "$deb") installs with its Depends into a fresh $arch root, checks its device file and runs"
