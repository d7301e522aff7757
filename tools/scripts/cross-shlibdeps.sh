#!/usr/bin/env bash
# dpkg-shlibdeps for a cross build (CPack calls it): the libraries are looked for in the sysroot
# ($ASSURE_SYSROOT), and the packages that hold them in the sysroot's dpkg database, which
# tools/scripts/sysroot.sh writes; the target's objdump reads the programs (DEB_HOST_ARCH).
set -euo pipefail
: "${ASSURE_SYSROOT:?the sysroot (tools/dev sysroot)}"
[ -s "$ASSURE_SYSROOT/var/lib/dpkg/status" ] || { echo "cross-shlibdeps: $ASSURE_SYSROOT has no dpkg database: run tools/dev sysroot" >&2; exit 1; }
export DEB_HOST_ARCH="${DEB_HOST_ARCH:-arm64}"
multiarch=$(dpkg-architecture -a"$DEB_HOST_ARCH" -qDEB_HOST_MULTIARCH 2>/dev/null)
export LD_LIBRARY_PATH="$ASSURE_SYSROOT/lib/$multiarch:$ASSURE_SYSROOT/usr/lib/$multiarch"
exec /usr/bin/dpkg-shlibdeps --admindir="$ASSURE_SYSROOT/var/lib/dpkg" "$@"
