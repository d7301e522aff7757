#!/usr/bin/env bash
# The control room's console in real headless Chromium: a daemon on the sim board, a real
# mosquitto, assure-control-room, and tests/browser/console.test.mjs driving Debian's Chromium
# with playwright-core (installed from npm into the build folder, the lock file's version).
# The screenshot is left in <build>/artifacts/console.png.
set -u
root="$1" build="$2"
bin="$build/bin"
fail() { echo "FAIL: $*"; exit 1; }
command -v node >/dev/null || fail "node is not installed (the machine's Node.js 20 runs the browser tests)"
[ -x /usr/bin/chromium ] || fail "Debian's chromium is not installed (tools/dev deps)"

# playwright-core, once per build folder and lock file.
tests="$build/browser-tests"
mkdir -p "$tests"
if ! cmp -s "$root/tests/browser/package-lock.json" "$tests/package-lock.json" || [ ! -d "$tests/node_modules/playwright-core" ]; then
  cp "$root/tests/browser/package.json" "$root/tests/browser/package-lock.json" "$tests/"
  (cd "$tests" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci of playwright-core failed"
fi
cp "$root/tests/browser/console.test.mjs" "$tests/"

run="$(mktemp -d /tmp/assure-console.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$run"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

port=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$port" > "$run/mosquitto.conf"
mosquitto -c "$run/mosquitto.conf" > "$run/mosquitto.log" 2>&1 & pids+=($!)
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

mkdir -p "$run/keys"
"$bin/assure-key" device --state "$run/state" > "$run/keys/kit-7.pub" || fail "assure-key device"
room_key=$("$bin/assure-key" control-room --out "$run/control-room.key") || fail "assure-key control-room"
cat > "$run/scenario.toml" <<TOML
[[step]]
at_ms = 4000
input = "panic"
active = true
[[step]]
at_ms = 4400
input = "panic"
active = false
TOML
cat > "$run/device.toml" <<TOML
[device]
id = "kit-7"
site = "estate-b"
state_dir = "$run/state"
[mqtt]
brokers = ["tcp://127.0.0.1:$port"]
keepalive = 5
[uplink]
control_room_key = "$room_key"
chunk_kb = 64
[camera]
source = "file"
location = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
loop = true
[heartbeat]
interval = 2
[evidence]
dir = "$run/clips"
pre_event = 2
post_event = 2
max_clip = 10
[alarm]
exit_delay = 0
[[alarm.zone]]
input = "panic"
type = "panic"
[sim]
scenario = "$run/scenario.toml"
TOML

room=("$bin/assure-control-room" --broker "tcp://127.0.0.1:$port" --data "$run/room" --keys "$run/keys"
      --command-key "$run/control-room.key" --listen 127.0.0.1:0 --port-file "$run/console.port")
echo "supervisor password" | "${room[@]}" user add sam --role supervisor > /dev/null || fail "user add sam"
echo "operator password" | "${room[@]}" user add olive --role operator > /dev/null || fail "user add olive"
"${room[@]}" > "$run/control-room.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do [ -s "$run/console.port" ] && break; sleep 0.1; done
[ -s "$run/console.port" ] || { cat "$run/control-room.log"; fail "the control room did not start"; }
console="http://127.0.0.1:$(tr -d '\n' < "$run/console.port")"

CONSOLE="$console" ARTIFACTS="$build/artifacts" READY="$run/ready" SUPERVISOR="sam:supervisor password" \
  OPERATOR="olive:operator password" node "$tests/console.test.mjs" & node_pid=$!
for _ in $(seq 300); do [ -f "$run/ready" ] && break; kill -0 "$node_pid" 2>/dev/null || break; sleep 0.1; done
"$bin/assure-edged" --config "$run/device.toml" --board-dir "$root/board" > "$run/daemon.log" 2>&1 & pids+=($!)
wait "$node_pid"
code=$?
if [ "$code" -ne 0 ]; then
  echo "--- control room"; tail -40 "$run/control-room.log"
  echo "--- daemon"; tail -40 "$run/daemon.log"
  fail "the browser test failed"
fi
echo "console browser test: passed"
