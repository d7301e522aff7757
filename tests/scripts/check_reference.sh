#!/usr/bin/env bash
# The configuration references are generated from the schemas; the committed copies must match.
set -u
root="$1" tool="$2"
status=0
for what in device:config/REFERENCE.md board:board/REFERENCE.md; do
  name="${what%%:*}" file="$root/${what#*:}"
  if ! diff -u "$file" <(${ASSURE_EMULATOR:-} "$tool" reference "$name"); then
    echo "FAIL: ${what#*:} is out of date: run: build/release/bin/assure-config reference $name > ${what#*:}"
    status=1
  else
    echo "ok: ${what#*:} matches the schema"
  fi
done
exit $status
