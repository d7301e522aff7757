#!/usr/bin/env bash
# tools/dev fuzz [SECONDS]: builds the libFuzzer targets (preset fuzz: clang 19, ASan, UBSan) and
# runs each for SECONDS (default 600), as many at once as there are cores, from
# tests/fuzz/corpus/<target> (hand-written seeds, and grown/: a corpus merged from earlier long
# runs with -merge=1) and the corpus grown by earlier runs in build/fuzz/corpus/<target>. A crash
# stops its target with the input kept under build/fuzz/crashes/ (make it a regression test).
# Prints executions and coverage per target.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
seconds="${1:-600}"
cd "$ROOT"
cmake --preset fuzz >/dev/null
targets=(fuzz_config fuzz_command fuzz_receiver fuzz_outbox fuzz_shell fuzz_mqtt fuzz_sealed)
cmake --build build/fuzz -j "$(nproc)" --target "${targets[@]}"
mkdir -p build/fuzz/crashes
# One target a core at a time (CI's short runs take half the wall time; each target's figures are
# its own), reported in the targets' order once all have run.
run_target() {
  local t="$1" log="build/fuzz/$1.log"
  mkdir -p "build/fuzz/corpus/$t"
  local rc=0
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "build/fuzz/bin/$t" -max_total_time="$seconds" -max_len=262144 -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="build/fuzz/crashes/$t-" \
    "build/fuzz/corpus/$t" "tests/fuzz/corpus/$t" > "$log" 2>&1 || rc=$?
  echo "$rc" > "build/fuzz/$t.status"
}
jobs_at_once="$(nproc)"
for t in "${targets[@]}"; do
  printf '[fuzz] %s for %s s\n' "$t" "$seconds" >&2
  rm -f "build/fuzz/$t.status"
  run_target "$t" &
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_at_once" ]; do wait -n || true; done
done
wait
status=0
for t in "${targets[@]}"; do
  log="build/fuzz/$t.log"
  if [ "$(cat "build/fuzz/$t.status" 2>/dev/null || echo 1)" != 0 ]; then
    status=1
    # What went wrong, before the (unsymbolized) stack: the sanitizer's or the exception's words.
    grep -E 'runtime error|ERROR: |what\(\)|terminate called' "$log" | head -5 >&2 || true
    tail -40 "$log" >&2
    printf '[fuzz] %s: FAILED (input kept in build/fuzz/crashes/)\n' "$t" >&2
  fi
  runs="$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1 || echo '?')"
  cov="$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || echo 'cov: ?')"
  printf '[fuzz] %s: %s executions, %s\n' "$t" "$runs" "$cov" >&2
done
exit "$status"
