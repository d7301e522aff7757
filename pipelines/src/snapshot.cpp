#include "snapshot.hpp"

#include <turbojpeg.h>

#include <algorithm>
#include <memory>

namespace assure::pipelines {
namespace {

void fill(std::uint8_t* plane, int stride, int x0, int y0, int x1, int y1, std::uint8_t value) {
  for (int y = y0; y < y1; ++y) std::fill(plane + y * stride + x0, plane + y * stride + x1, value);
}

// A rectangle outline `thick` pixels wide, clipped to the plane.
void outline(std::uint8_t* plane, int stride, int width, int height, int x0, int y0, int x1, int y1, int thick,
             std::uint8_t value) {
  x0 = std::clamp(x0, 0, width);
  x1 = std::clamp(x1, 0, width);
  y0 = std::clamp(y0, 0, height);
  y1 = std::clamp(y1, 0, height);
  if (x1 <= x0 || y1 <= y0) return;
  fill(plane, stride, x0, y0, x1, std::min(y0 + thick, y1), value);
  fill(plane, stride, x0, std::max(y1 - thick, y0), x1, y1, value);
  fill(plane, stride, x0, y0, std::min(x0 + thick, x1), y1, value);
  fill(plane, stride, std::max(x1 - thick, x0), y0, x1, y1, value);
}

}  // namespace

std::vector<std::uint8_t> snapshot_jpeg(const YuvView& f, const Box& box, int quality) {
  std::vector<std::uint8_t> jpeg;
  if (f.y == nullptr || f.width <= 0 || f.height <= 0) return jpeg;
  const bool colour = f.u != nullptr && f.v != nullptr;
  if (!box.empty()) {
    // Red in colour (BT.601: Y 81, U 90, V 240); white on grey. About 1/160 of the width thick.
    const int thick = std::max(2, f.width / 160) & ~1;
    const int x0 = static_cast<int>(box.x * f.width) & ~1, y0 = static_cast<int>(box.y * f.height) & ~1;
    const int x1 = (static_cast<int>((box.x + box.w) * f.width) + 1) & ~1;
    const int y1 = (static_cast<int>((box.y + box.h) * f.height) + 1) & ~1;
    outline(f.y, f.y_stride, f.width, f.height, x0, y0, x1, y1, thick, colour ? 81 : 255);
    if (colour) {
      const int cw = (f.width + 1) / 2, ch = (f.height + 1) / 2;
      outline(f.u, f.uv_stride, cw, ch, x0 / 2, y0 / 2, x1 / 2, y1 / 2, thick / 2, 90);
      outline(f.v, f.uv_stride, cw, ch, x0 / 2, y0 / 2, x1 / 2, y1 / 2, thick / 2, 240);
    }
  }
  std::unique_ptr<void, int (*)(tjhandle)> encoder(tjInitCompress(), tjDestroy);
  if (!encoder) return jpeg;
  const unsigned char* planes[3] = {f.y, f.u, f.v};
  const int strides[3] = {f.y_stride, f.uv_stride, f.uv_stride};
  unsigned char* out = nullptr;
  unsigned long length = 0;
  if (tjCompressFromYUVPlanes(encoder.get(), planes, f.width, strides, f.height, colour ? TJSAMP_420 : TJSAMP_GRAY,
                              &out, &length, quality, TJFLAG_FASTDCT) == 0) {
    jpeg.assign(out, out + length);
  }
  tjFree(out);
  return jpeg;
}

}  // namespace assure::pipelines
