# Cross-compiling for a Raspberry Pi running 64-bit Raspberry Pi OS or Debian bookworm (arm64), from
# any Debian bookworm PC, against a sysroot of Debian's own arm64 packages. Each board's
# toolchain.cmake sets ASSURE_CPU and includes this.
#   tools/dev sysroot                 build/sysroot-arm64, from tools/debian-packages.txt (mmdebstrap)
#   cmake --preset rpi-zero2w-home-kit && cmake --build --preset rpi-zero2w-home-kit
#   tools/dev cross-test BOARD        the whole suite as aarch64 programs under qemu-user
# (dpkg multiarch, "apt-get install <pkg>-dev:arm64" beside the native packages, cannot work:
# gdal-plugins is not multi-arch, so apt would remove the native OpenCV and GStreamer -dev packages.)
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_C_FLAGS_INIT "-mcpu=${ASSURE_CPU}")
set(CMAKE_CXX_FLAGS_INIT "-mcpu=${ASSURE_CPU}")

# The sysroot: ASSURE_SYSROOT (cache or environment), or tools/dev sysroot's.
if(NOT ASSURE_SYSROOT)
  if(DEFINED ENV{ASSURE_SYSROOT})
    set(ASSURE_SYSROOT "$ENV{ASSURE_SYSROOT}")
  else()
    get_filename_component(ASSURE_SYSROOT "${CMAKE_CURRENT_LIST_DIR}/../build/sysroot-arm64" ABSOLUTE)
  endif()
endif()
set(ASSURE_SYSROOT "${ASSURE_SYSROOT}" CACHE PATH "the arm64 sysroot (tools/dev sysroot)")
if(NOT EXISTS "${ASSURE_SYSROOT}/usr/include/aarch64-linux-gnu")
  message(FATAL_ERROR "no arm64 sysroot at ${ASSURE_SYSROOT}: make it with `tools/dev sysroot` "
                      "(or set ASSURE_SYSROOT to one)")
endif()
set(CMAKE_SYSROOT "${ASSURE_SYSROOT}")
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# Programs (cmake, pkg-config, the compilers) from the host; headers, libraries and packages from
# the sysroot only.
set(CMAKE_FIND_ROOT_PATH "${ASSURE_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${ASSURE_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR}
    "${ASSURE_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${ASSURE_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
# Tests run the aarch64 programs under qemu-user with the sysroot's loader and libraries (never
# relying on binfmt_misc being registered); the tests and scripts run what they spawn through it too.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static -L "${ASSURE_SYSROOT}")
