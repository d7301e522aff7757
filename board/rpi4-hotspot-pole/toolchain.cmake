# Raspberry Pi 4 Model B: Cortex-A72.
set(ASSURE_CPU cortex-a72)
include(${CMAKE_CURRENT_LIST_DIR}/../aarch64-linux-gnu.cmake)
