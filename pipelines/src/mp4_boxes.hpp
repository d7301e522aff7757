#pragma once
// The top level of an MP4 file as boxes (ISO/IEC 14496-12: a 32-bit size, or 1 and a 64-bit size,
// or 0 for "to the end of the file"; then a four-letter type), read from disk without trusting
// a size: a box that runs past the end of the file, or claims less than its own header, ends the
// walk there. For the clip writer (the creation time in moov) and the salvage of a clip cut
// short (its whole fragments).

#include <array>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace assure::pipelines::mp4 {

inline std::uint64_t read_be(const std::uint8_t* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

inline void write_be(std::uint8_t* p, int bytes, std::uint64_t v) {
  for (int i = bytes - 1; i >= 0; --i, v >>= 8) p[i] = static_cast<std::uint8_t>(v & 0xff);
}

struct Box {
  std::string type;
  std::uint64_t offset = 0;  // of its header
  std::uint64_t size = 0;    // header included
};

struct TopLevel {
  std::vector<Box> boxes;      // whole and well-formed, in order
  std::uint64_t readable = 0;  // where they end: the rest of the file is torn or not boxes
};

// At most `max_boxes` (a clip of an hour in one-second fragments has about 7,200).
inline TopLevel top_level_boxes(std::istream& in, std::uint64_t length, std::size_t max_boxes = 1u << 20) {
  TopLevel out;
  std::uint64_t at = 0;
  while (at + 8 <= length && out.boxes.size() < max_boxes) {
    std::array<std::uint8_t, 16> head{};
    in.clear();
    in.seekg(static_cast<std::streamoff>(at));
    in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(std::min<std::uint64_t>(16, length - at)));
    if (in.gcount() < 8) break;
    std::uint64_t size = read_be(head.data(), 4);
    std::uint64_t header = 8;
    if (size == 1) {
      if (in.gcount() < 16) break;
      size = read_be(head.data() + 8, 8);
      header = 16;
    } else if (size == 0) {
      size = length - at;
    }
    if (size < header || size > length - at) break;
    out.boxes.push_back({std::string(reinterpret_cast<const char*>(head.data() + 4), 4), at, size});
    at += size;
  }
  in.clear();
  out.readable = at;
  return out;
}

}  // namespace assure::pipelines::mp4
