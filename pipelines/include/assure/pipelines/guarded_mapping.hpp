#pragma once
// A part of a file mapped into memory, safe against the file being cut short while it is mapped.
//
// Reading a frame straight from the page cache saves the copy a read() makes into a buffer, as a
// camera's mapped buffers save it (the raw-frame source's thread, 720p, three interleaved pairs:
// 0.56-0.77 ms a frame copying, 0.21-0.24 mapped). Then, if another process cuts the file while a frame is still
// downstream, touching a page past the file's new end raises SIGBUS, and that would kill the
// daemon. The guard's SIGBUS handler catches faults inside a live mapping: it maps zeroed pages
// over the whole mapping, so the read that faulted goes on, and marks the mapping torn for its
// owner to report. A SIGBUS anywhere else goes to the handler that was there before (or the
// default: the process dies, as it would have).
//
// The mapping is private: a write downstream (a privacy mask) goes to a copy of the page, never
// to the file. At most kMaxMappings live at once; map() returns nothing past that, or when mmap
// fails, and the caller reads the frame the slow way.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace assure::pipelines {

class GuardedMapping {
 public:
  static constexpr int kMaxMappings = 256;

  // [offset, offset + length) of the open file `fd`, or nothing (no free slot, mmap failed).
  static std::optional<GuardedMapping> map(int fd, off_t offset, std::size_t length);

  GuardedMapping(GuardedMapping&& other) noexcept;
  GuardedMapping& operator=(GuardedMapping&& other) noexcept;
  GuardedMapping(const GuardedMapping&) = delete;
  GuardedMapping& operator=(const GuardedMapping&) = delete;
  ~GuardedMapping();

  std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  // A page of it was touched after the file had been cut short: it now reads as zeroes.
  bool torn() const;

 private:
  GuardedMapping(int slot, void* base, std::size_t mapped, std::uint8_t* data, std::size_t size)
      : slot_(slot), base_(base), mapped_(mapped), data_(data), size_(size) {}
  void release();

  int slot_ = -1;
  void* base_ = nullptr;  // page-aligned start of the mapping
  std::size_t mapped_ = 0;
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace assure::pipelines
