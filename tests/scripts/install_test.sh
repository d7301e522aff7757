#!/usr/bin/env bash
# What `cmake --install` puts on a device: the programs, the board files, the systemd unit with
# each board's drop-in, the sysusers and udev files. systemd-analyze verifies the unit as systemd
# would load it (with the paths it was configured with moved under the test's own prefix), and the
# installed daemon checks each board's example device file against the installed board files.
set -euo pipefail
build=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$work/root" > "$work/install.log"
configured=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
[ -n "$configured" ] || fail "no CMAKE_INSTALL_PREFIX in $build/CMakeCache.txt"
root=$work/root
for f in bin/assure-edged bin/assure-receiver bin/assure-config bin/assure-key bin/assure-verify bin/assure-replay \
         lib/systemd/system/assure-edged.service lib/sysusers.d/assure-edge.conf lib/tmpfiles.d/assure-edge.conf \
         lib/udev/rules.d/99-assure-watchdog.rules share/doc/assure-edge/README.md; do
  [ -e "$root/$f" ] || fail "cmake --install did not install $f"
done
# Nothing on a device builds: no toolchain files among the boards.
if find "$root/share/assure-edge/board" -name '*.cmake' | grep -q .; then
  fail "toolchain files were installed: $(find "$root/share/assure-edge/board" -name '*.cmake' | tr '\n' ' ')"
fi

boards=0
for board_dir in "$root"/share/assure-edge/board/*/; do
  board=$(basename "$board_dir")
  [ -f "$board_dir/board.toml" ] || fail "installed board folder $board has no board.toml"
  # The unit and the board's drop-in, as systemd would load them from /etc/systemd/system.
  units=$work/units-$board
  mkdir -p "$units/assure-edged.service.d"
  sed "s|$configured|$root|g" "$root/lib/systemd/system/assure-edged.service" > "$units/assure-edged.service"
  if [ -f "$board_dir/systemd/board.conf" ]; then
    cp "$board_dir/systemd/board.conf" "$units/assure-edged.service.d/board.conf"
  elif [ "$board" != sim ]; then
    fail "board $board has no systemd drop-in (board/$board/systemd/board.conf)"
  fi
  if ! SYSTEMD_UNIT_PATH="$units:" systemd-analyze verify --man=no "$units/assure-edged.service" \
       > "$work/verify.log" 2>&1 || [ -s "$work/verify.log" ]; then
    cat "$work/verify.log" >&2
    fail "systemd-analyze verify found problems in the unit with board $board's drop-in"
  fi
  if [ -f "$board_dir/device.example.toml" ]; then
    ${ASSURE_EMULATOR:-} "$root/bin/assure-edged" --config "$board_dir/device.example.toml" --board-dir "$root/share/assure-edge/board" \
      --check > "$work/check.log" 2>&1 || { cat "$work/check.log" >&2; fail "$board's example device file does not check"; }
    grep -q ": ok (board $board," "$work/check.log" || { cat "$work/check.log" >&2; fail "no ok from --check for $board"; }
  elif [ "$board" != sim ]; then
    fail "board $board has no example device file (board/$board/device.example.toml)"
  fi
  boards=$((boards + 1))
done
[ "$boards" -ge 3 ] || fail "expected the sim board and two real boards, found $boards"
echo "install: $boards boards, unit verified with each drop-in, example device files check"
