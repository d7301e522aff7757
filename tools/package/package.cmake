# One Debian package per board, made by CPack in the board's build:
#   assure-edge-rpi4-hotspot-pole, assure-edge-rpi-zero2w-home-kit (arm64), assure-edge-sim (amd64)
# each with a -dbgsym package of the split debug files. `tools/dev package BOARD` makes them.
#
# What goes in: the programs (stripped), the systemd unit with the board's drop-in, the sysusers,
# tmpfiles and udev files, the board folders at the path the binaries default to, the documents,
# and the board's device file to start from as /etc/assure-edge/device.toml, a conffile (an upgrade
# never overwrites what the installer edited). Depends: the Debian libraries the programs link,
# worked out by dpkg-shlibdeps (against the sysroot's packages for a cross build), and the
# GStreamer plugin packages the pipelines build at run time, which no linker sees.
set(board ${ASSURE_PACKAGE_BOARD})
set(board_dir ${PROJECT_SOURCE_DIR}/board/${board})
if(NOT EXISTS ${board_dir}/board.toml)
  message(FATAL_ERROR "ASSURE_PACKAGE_BOARD: no board '${board}' (board/${board}/board.toml)")
endif()
if(NOT EXISTS ${board_dir}/device.example.toml)
  message(FATAL_ERROR "board/${board}/device.example.toml: a package needs the board's device file to start from")
endif()
set(package assure-edge-${board})

if(EXISTS ${board_dir}/systemd/board.conf)
  install(FILES ${board_dir}/systemd/board.conf DESTINATION ${ASSURE_UNIT_DIR}/assure-edged.service.d)
endif()
install(FILES ${board_dir}/device.example.toml DESTINATION /etc/assure-edge RENAME device.toml
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
# Debian's changelog, compressed as policy asks (-9, no name or time stamp).
set(changelog ${CMAKE_BINARY_DIR}/package/changelog.Debian)
string(TIMESTAMP when "%a, %d %b %Y %H:%M:%S +0000" UTC)
file(WRITE ${changelog}
     "${package} (${PROJECT_VERSION}-1) bookworm; urgency=medium\n\n"
     "  * Built from the assure-edge sources for board ${board}.\n\n"
     " -- Assure 24 firmware team <firmware@assure24.example>  ${when}\n")
execute_process(COMMAND gzip -9nf ${changelog})
install(FILES ${changelog}.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(WRITE ${CMAKE_BINARY_DIR}/package/conffiles "/etc/assure-edge/device.toml\n")

if(CMAKE_CROSSCOMPILING)
  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE arm64)
else()
  execute_process(COMMAND dpkg --print-architecture OUTPUT_VARIABLE CPACK_DEBIAN_PACKAGE_ARCHITECTURE
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
endif()
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ${package})
set(CPACK_DEBIAN_PACKAGE_NAME ${package})
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_PACKAGE_CONTACT "Assure 24 firmware team <firmware@assure24.example>")
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "CCTV and alarm firmware for Assure 24's ${board} devices")
set(CPACK_PACKAGE_DESCRIPTION
    "assure-edge runs a community-safety camera and alarm device: motion\n"
    "detection with privacy masks, signed evidence clips with a pre-event\n"
    "buffer, an alarm panel with Contact ID events, lights and sounder, and a\n"
    "durable MQTT uplink to the control room. This package is built for the\n"
    "board ${board},\n"
    "with its board files and a device file to start from.")
string(REPLACE ";" "" CPACK_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Elements the pipelines build by name: videoconvert/videoscale/appsink (base), mp4mux/qtdemux
# (good), h264parse (bad), x264enc (ugly), the software decoders (libav), libcamerasrc.
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "systemd, init-system-helpers (>= 1.54~), gstreamer1.0-plugins-base, gstreamer1.0-plugins-good, gstreamer1.0-plugins-bad, gstreamer1.0-plugins-ugly, gstreamer1.0-libav")
if(NOT board STREQUAL "sim")
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", gstreamer1.0-libcamera")
endif()
set(CPACK_DEBIAN_DEBUGINFO_PACKAGE ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_LIST_DIR}/postinst ${CMAKE_CURRENT_LIST_DIR}/prerm ${CMAKE_CURRENT_LIST_DIR}/postrm
    ${CMAKE_BINARY_DIR}/package/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
# At packaging time: a cross build's dpkg-shlibdeps looks in the sysroot, and its debug files are
# split by the target's objcopy.
if(CMAKE_CROSSCOMPILING)
  set(assure_cross 1)
else()
  set(assure_cross 0)
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/cpack-config.cmake.in ${CMAKE_BINARY_DIR}/package/cpack-config.cmake @ONLY)
if(CMAKE_CROSSCOMPILING)
  file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/package/bin/dpkg-shlibdeps
       CONTENT "#!/bin/sh\nexec \"${PROJECT_SOURCE_DIR}/tools/scripts/cross-shlibdeps.sh\" \"$@\"\n" @ONLY)
  file(CHMOD ${CMAKE_BINARY_DIR}/package/bin/dpkg-shlibdeps PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE
       GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endif()
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_BINARY_DIR}/package/cpack-config.cmake)
include(CPack)
