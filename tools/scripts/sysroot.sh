#!/usr/bin/env bash
# tools/dev sysroot [ARCH]: a Debian bookworm sysroot for cross builds (default arm64), made from
# Debian's own packages with mmdebstrap and kept in build/sysroot-ARCH. It holds the -dev packages
# of tools/debian-packages.txt's "libraries the firmware links" and "tests" sections, the C and C++
# runtime headers, and the GStreamer plugins the pipelines build, so that both the cross build and
# its tests under qemu-user find everything inside it. Rebuilt only when that list changes.
#
# An extract runs no maintainer scripts; what they would have done that a build needs is done here:
# the BLAS and LAPACK alternatives links (OpenCV links them), and absolute symlinks (libz.so ->
# /lib/...) made relative, so the linker never follows one into the build machine's own /lib.
# An extract registers nothing with dpkg either: a dpkg database is written from the packages'
# own control files (status, file lists, shlibs and symbols), so that dpkg-shlibdeps can work out
# a board package's Depends from the libraries it links (tools/scripts/cross-shlibdeps.sh). Its
# file lists name the files where they are, inside this sysroot.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
arch="${1:-arm64}"
case "$arch" in
  arm64) triplet=aarch64-linux-gnu ;;
  *) echo "sysroot: only arm64 is supported (the boards are aarch64)" >&2; exit 2 ;;
esac
dir="$ROOT/build/sysroot-$arch"

# The packages: every library -dev the firmware and its tests link, the toolchain's target headers,
# and the GStreamer elements the pipelines and tests build at run time.
packages=$(sed -e 's/#.*//' "$ROOT/tools/debian-packages.txt" | awk '
  /^[[:space:]]*$/ { next }
  { print $1 }' | grep -E -- '-dev$' | grep -v -E '^libclang-rt-' || true)
packages="$packages libc6-dev libstdc++-12-dev libgcc-12-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly
  gstreamer1.0-libav libgstrtspserver-1.0-dev"
packages=$(echo "$packages" | tr ' \n' '\n\n' | sed '/^$/d' | sort -u | tr '\n' ' ')
recipe=4  # raise when what this script does to a sysroot changes
stamp="$(printf '%s %s %s' "$recipe" "$arch" "$packages" | sha256sum | cut -c1-16)"

if [ -f "$dir/.assure-sysroot" ] && [ "$(cat "$dir/.assure-sysroot")" = "$stamp" ]; then
  echo "sysroot: $dir is up to date ($(du -sh "$dir" 2>/dev/null | cut -f1))" >&2
  exit 0
fi
command -v mmdebstrap >/dev/null || { echo "sysroot: needs mmdebstrap (tools/dev deps)" >&2; exit 1; }
rm -rf "$dir.new"
start=$(date +%s)
echo "sysroot: making $dir from Debian bookworm ($arch): $(echo "$packages" | wc -w) packages and their dependencies" >&2
# shellcheck disable=SC2086
mmdebstrap --quiet --variant=extract --architectures="$arch" --include="$(echo $packages | tr ' ' ',')" \
  --skip=cleanup/apt/cache \
  bookworm "$dir.new" \
  "deb http://deb.debian.org/debian bookworm main" \
  "deb http://deb.debian.org/debian bookworm-updates main" \
  "deb http://deb.debian.org/debian-security bookworm-security main"

"$ROOT/tools/scripts/extract_fixups.sh" "$dir.new" "$triplet"
# Debian's merged /usr: /lib and /lib64 are usr/lib (the extract leaves them as they are packaged).
for d in lib lib64 bin sbin; do
  [ -e "$dir.new/$d" ] || ln -s "usr/$d" "$dir.new/$d"
done
# The dpkg database, from the downloaded packages (then let go of).
db="$dir.new/var/lib/dpkg"
mkdir -p "$db/info"
echo 1 > "$db/info/format"
: > "$db/status"
for deb in "$dir.new"/var/cache/apt/archives/*.deb; do
  pkg=$(dpkg-deb -f "$deb" Package)
  # dpkg's database format 1: a Multi-Arch: same package's files are named pkg:arch.
  name=$pkg
  [ "$(dpkg-deb -f "$deb" Multi-Arch)" = same ] && name="$pkg:$(dpkg-deb -f "$deb" Architecture)"
  { dpkg-deb -f "$deb" | sed "/^Package:/a Status: install ok installed"; echo; } >> "$db/status"
  dpkg-deb -c "$deb" | awk '{ print $6 }' | sed -e 's|^\./|/|' -e 's|/$||' -e '/^$/d' -e "s|^|$dir|" \
    > "$db/info/$name.list"
  control=$(mktemp -d)
  dpkg-deb -e "$deb" "$control"
  for f in shlibs symbols; do [ -f "$control/$f" ] && cp "$control/$f" "$db/info/$name.$f"; done
  rm -rf "$control"
done
rm -f "$dir.new"/var/cache/apt/archives/*.deb
echo "$stamp" > "$dir.new/.assure-sysroot"
rm -rf "$dir"
mv "$dir.new" "$dir"
echo "sysroot: $dir made in $(( $(date +%s) - start )) s, $(du -sh "$dir" | cut -f1)" >&2
