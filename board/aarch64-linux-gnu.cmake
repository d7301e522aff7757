# Cross-compiling for a Raspberry Pi running 64-bit Raspberry Pi OS or Debian bookworm (arm64),
# from a Debian bookworm PC with multiarch. Each board's toolchain.cmake sets ASSURE_CPU and
# includes this. Setting up the PC once:
#   dpkg --add-architecture arm64 && apt-get update
#   apt-get install crossbuild-essential-arm64 qemu-user-static \
#     $(grep -v '^#' tools/debian-packages.txt | grep -- '-dev$' | sed 's/$/:arm64/')
# then: cmake --preset rpi-zero2w-home-kit && cmake --build --preset rpi-zero2w-home-kit
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_C_FLAGS_INIT "-mcpu=${ASSURE_CPU}")
set(CMAKE_CXX_FLAGS_INIT "-mcpu=${ASSURE_CPU}")
# Headers and libraries from the arm64 packages; programs (cmake, pkg-config) from the host.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
# Tests run on the device (or under qemu-user-static), not on the build PC.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static -L /usr/aarch64-linux-gnu)
