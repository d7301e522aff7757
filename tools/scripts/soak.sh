#!/usr/bin/env bash
# tools/dev soak [MINUTES]: the daemon, a broker and the control-room receiver for MINUTES (default
# 60) of looped video, with a scripted storm of panic presses (every 7 s), the broker killed and
# restarted every 5 minutes and the daemon SIGKILLed and restarted every 7 minutes. Every 30 s the
# RSS and open file descriptors of the daemon and the receiver go into soak.csv. At the end: every
# panic the device raised (its log) must be at the receiver exactly once (by event id), and the
# memory and descriptor curves are printed with their first and last values.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
minutes="${1:-60}"
bin="${ASSURE_BUILD_DIR:-$ROOT/build/release}/bin"
run="$(mktemp -d /tmp/assure-soak.XXXXXX)"
mosquitto_bin="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
say() { printf '[soak] %s\n' "$*" >&2; }
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
broker_pid="" device_pid="" receiver_pid=""
cleanup() {
  for p in "$device_pid" "$receiver_pid" "$broker_pid"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
port=$((20000 + RANDOM % 40000))
while port_in_use "$port"; do port=$((20000 + RANDOM % 40000)); done
# Persistence that works (mosquitto would drop to its own user, who cannot write the run folder)
# and is saved every second: a broker killed and started again still holds the receiver's session.
printf 'listener %s 127.0.0.1\nallow_anonymous true\nuser root\npersistence true\npersistence_location %s/\nautosave_interval 1\n' \
  "$port" "$run" > "$run/mosquitto.conf"
start_broker() { "$mosquitto_bin" -c "$run/mosquitto.conf" >> "$run/mosquitto.log" 2>&1 & broker_pid=$!; sleep 0.5; }
start_broker
# A panic press every 7 s for the whole run: the scenario file is the storm.
steps=$((minutes * 60 / 7 + 1))
for i in $(seq 0 "$steps"); do
  printf '[[step]]\nat_ms = %d\ninput = "panic"\nactive = true\n[[step]]\nat_ms = %d\ninput = "panic"\nactive = false\n' \
    $((i * 7000 + 2000)) $((i * 7000 + 2300))
done > "$run/storm.toml"
cat > "$run/device.toml" <<TOML
[device]
id = "soak-01"
site = "soak"
state_dir = "$run/state"
[mqtt]
brokers = ["tcp://127.0.0.1:$port"]
keepalive = 5
reconnect_min = 100
reconnect_max = 1000
[heartbeat]
interval = 5
[evidence]
dir = "$run/clips"
max_clip = 30
[[alarm.zone]]
input = "panic"
type = "panic"
[sim]
scenario = "$run/storm.toml"
TOML
mkdir -p "$run/keys"
"$bin/assure-key" device --state "$run/state" > "$run/keys/soak-01.pub"
"$bin/assure-receiver" --broker "tcp://127.0.0.1:$port" --json --keys "$run/keys" --evidence "$run/control-room" \
  --client-id soak-control-room > "$run/receiver.jsonl" 2> "$run/receiver.log" &
receiver_pid=$!
sleep 1
start_device() { "$bin/assure-edged" --config "$run/device.toml" >> "$run/device.log" 2>&1 & device_pid=$!; }
start_device
say "run folder $run; $minutes minute(s)"
echo "seconds,daemon_rss_kb,daemon_fds,receiver_rss_kb,receiver_fds" > "$run/soak.csv"
sample() {
  local d_rss d_fds r_rss r_fds
  d_rss="$(awk '/VmRSS/ {print $2}' "/proc/$device_pid/status" 2>/dev/null || echo 0)"
  d_fds="$(ls "/proc/$device_pid/fd" 2>/dev/null | wc -l)"
  r_rss="$(awk '/VmRSS/ {print $2}' "/proc/$receiver_pid/status" 2>/dev/null || echo 0)"
  r_fds="$(ls "/proc/$receiver_pid/fd" 2>/dev/null | wc -l)"
  echo "$1,$d_rss,$d_fds,$r_rss,$r_fds" >> "$run/soak.csv"
}
end=$((minutes * 60))
for ((t = 1; t <= end; t++)); do
  sleep 1
  # The storm restarts with the daemon: its scenario clock starts again at each start.
  if ((t % 300 == 0)); then say "broker killed at ${t}s"; kill -KILL "$broker_pid"; wait "$broker_pid" 2>/dev/null || true; sleep 2; start_broker; fi
  if ((t % 420 == 0)); then say "daemon killed at ${t}s"; kill -KILL "$device_pid"; wait "$device_pid" 2>/dev/null || true; sleep 1; start_device; fi
  ((t % 30 == 0)) && sample "$t"
done
sleep 15  # what is still in flight arrives
kill -TERM "$device_pid"; wait "$device_pid" 2>/dev/null || true; device_pid=""
sleep 3
raised="$(grep -c 'alarm: panic (Contact ID 120)' "$run/device.log" || true)"
received="$(grep '"kind":"event"' "$run/receiver.jsonl" | grep '"type":"panic"' | grep -o '"id":"[^"]*"' | sort | uniq | wc -l)"
copies="$(grep '"kind":"event"' "$run/receiver.jsonl" | grep '"type":"panic"' | grep -o '"id":"[^"]*"' | sort | uniq -d | wc -l)"
say "panics raised by the device: $raised; at the control room: $received distinct, $copies shown twice"
say "curves (seconds, daemon RSS kB, daemon fds, receiver RSS kB, receiver fds): first and last"
sed -n '2p;$p' "$run/soak.csv" >&2
[ "$raised" -gt 0 ] && [ "$raised" -le "$received" ] && [ "$copies" -eq 0 ] || { say "FAILED: an alarm was lost or repeated"; exit 1; }
say "passed; everything is in $run"
