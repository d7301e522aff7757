#!/usr/bin/env bash
# extract_fixups.sh ROOT TRIPLET: what the maintainer scripts of a Debian root made with
# mmdebstrap --variant=extract (which runs none) would have done that its programs need: the BLAS
# and LAPACK alternatives links (libblas3's and liblapack3's postinst; OpenCV links them), and
# absolute symlinks made relative, so that nothing inside resolves into the build machine's /lib.
# And no /dev: mmdebstrap makes device nodes (ptmx, null, ...) that, with no devpts mounted, do not
# work; without them a program under qemu-user -L ROOT opens the build machine's own /dev.
set -euo pipefail
root="$1" triplet="$2"
rm -rf "$root/dev"
lib="$root/usr/lib/$triplet"
for alt in blas/libblas.so.3 lapack/liblapack.so.3 blas/libblas.so lapack/liblapack.so; do
  if [ -e "$lib/$alt" ] && [ ! -e "$lib/$(basename "$alt")" ]; then ln -s "$alt" "$lib/$(basename "$alt")"; fi
done
find "$root" -xdev -type l -lname '/*' -print0 | while IFS= read -r -d '' link; do
  target="$(readlink "$link")"
  ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$root$target")" "$link"
done
