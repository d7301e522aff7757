#!/usr/bin/env bash
# tools/dev demo, as a newcomer runs it (without the build step, which ctest has done): the device
# comes online, heartbeats flow, a power cut shows the offline will, the device comes back, and at
# the end nothing is left running.
set -u
root="$1" build="$2"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
ASSURE_BUILD_DIR="$build" timeout 90 "$root/tools/dev" demo --no-build --seconds 28 --power-cut-after 6 > "$out" 2>&1
code=$?
cat "$out"
fail() { echo "FAIL: $*"; exit 1; }
[ "$code" -eq 0 ] || fail "demo exited with $code"
run_dir="$(grep -oE '/tmp/assure-demo\.[A-Za-z0-9]+' "$out" | head -1)"
[ -n "$run_dir" ] || fail "demo did not name its run folder"
[ "$(grep -c 'status     ONLINE' "$out")" -ge 2 ] || fail "the device was not seen online twice (before and after the power cut)"
grep -q 'heartbeat  up ' "$out" || fail "no heartbeat reached the receiver"
grep -q 'OFFLINE  (connection lost)' "$out" || fail "the offline will did not reach the receiver"
grep -q 'OFFLINE  (shutdown)' "$out" || fail "the clean shutdown was not announced"
grep -q 'input panic active' "$out" || fail "the sim scenario's panic press did not reach the device"
grep -q 'alarm: panic (Contact ID 120) panic' "$out" || fail "the panic press was not raised as a panic alarm"
grep -qE '\[critical\] panic from zone:panic' "$out" || fail "the panic alarm did not reach the control room"
grep -q 'motion: started at frame' "$out" || fail "no motion event in the device log"
grep -q 'output light_porch on: motion (the video was told)' "$out" || fail "the porch light did not come on for motion"
grep -qE 'clip [A-Za-z0-9-]+: /tmp/assure-demo\.[A-Za-z0-9]+/clips/.*\.mp4 \(' "$out" || fail "no finished clip in the device log"
grep -qE 'heartbeat  up .* clips [1-9].* last clip /tmp/assure-demo' "$out" || fail "no clip in the receiver's heartbeat stats"
grep -qE 'clip +VERIFIED cam-01-cam0-[0-9TZ-]+: .* -> /tmp/assure-demo\.[A-Za-z0-9]+/control-room/' "$out" || fail "no clip verified at the control room"
grep -q 'snapshot   of event cam-01-' "$out" || fail "no motion snapshot reached the control room"
grep -q '\[engineer\] *light\[0\].hold: 10 -> 20' "$out" || fail "the engineer's change was not shown as a diff"
grep -q '\[engineer\] *revision 2 is running' "$out" || fail "the engineer's commit did not run"
grep -q 'config_changed' "$out" || fail "the control room did not hear of the engineer's change"
grep -q '\[engineer\] *the control room answered in' "$out" || fail "the engineer's mqtt test had no answer from the control room"
grep -q 'REJECTED' "$out" && fail "the control room rejected evidence"
grep -q 'clip_recovered from camera:cam0' "$out" || fail "the clip cut short by the power cut was not reported after the restart"
# ... and it arrived, signed and whole to its last second.
cut="$(grep -o 'clip_recovered from camera:cam0 clip [^ ]*' "$out" | head -1 | awk '{print $NF}')"
grep -q "clip       VERIFIED $cut:" "$out" || fail "the clip cut short by the power cut ($cut) did not arrive verified"
grep -q "the control room's console: http://127.0.0.1:[0-9]*/" "$out" || fail "the console's address was not shown"
grep -q 'a snapshot for panic .*: sent' "$run_dir/console.log" || fail "the control room did not ask for a picture at the panic"
grep -q 'listening on assure/v1/+/+/#' "$run_dir/console.log" || fail "the control room's service did not subscribe"
if pgrep -f "$run_dir" >/dev/null; then pgrep -af "$run_dir"; fail "processes left behind"; fi
rm -rf "$run_dir"
echo "demo: all checks passed"
