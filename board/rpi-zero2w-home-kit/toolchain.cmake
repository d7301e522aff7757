# Raspberry Pi Zero 2 W (RP3A0): Cortex-A53.
set(ASSURE_CPU cortex-a53)
include(${CMAKE_CURRENT_LIST_DIR}/../aarch64-linux-gnu.cmake)
