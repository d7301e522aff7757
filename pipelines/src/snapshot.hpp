#pragma once
// The JPEG an operator sees first: a frame with the moving object's box drawn on it, encoded by
// libjpeg-turbo straight from the YUV planes (no colour conversion; OpenCV's imgcodecs would bring
// GDAL and DICOM libraries into the process).

#include <cstdint>
#include <vector>

#include "assure/pipelines/motion.hpp"

namespace assure::pipelines {

// A planar frame borrowed from its owner: I420 (three planes) or greyscale (u and v null).
struct YuvView {
  std::uint8_t* y = nullptr;
  std::uint8_t* u = nullptr;
  std::uint8_t* v = nullptr;
  int width = 0, height = 0;
  int y_stride = 0, uv_stride = 0;
};

// Draws `box` (normalised) into the frame, in place, then encodes it. Empty when the frame is
// unusable or the encoder fails.
std::vector<std::uint8_t> snapshot_jpeg(const YuvView& frame, const Box& box, int quality = 85);

}  // namespace assure::pipelines
