#pragma once
// Where an MP4's bytes go when they must never touch storage as the muxer made them: a home kit
// seals its footage for the control room (firmware/evidence/sealed_file.hpp), so the recorder
// hands the muxer's output, buffer by buffer, to a sink the firmware makes, instead of a file.
// The pipelines know only this interface; what the sink does with the bytes is its own business.
// Without a factory (the default) clips and segments are plain MP4 files.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "assure/base/error.hpp"

namespace assure::pipelines {

// What a sealing sink reports once a file is finished: the manifest signs both the file's own
// hash (of what is on storage) and the plaintext's (of the MP4 the control room will open).
struct SealedFootage {
  std::string scheme;  // the sealed format, e.g. "assure-sealed-1"
  std::uint64_t plaintext_bytes = 0;
  std::string plaintext_sha256;
};

class FootageSink {
 public:
  virtual ~FootageSink() = default;
  // One buffer of the muxer's output, in order. A sink keeps each call's bytes together where it
  // can (a record per call), so a file cut short by a power loss ends at a muxer buffer's end.
  virtual Result<void> write(std::string_view bytes) = 0;
  // The file is whole and on storage (synced) when this returns.
  virtual Result<SealedFootage> finish() = 0;
};

// Makes the sink for one file (`part`: where its bytes go until it is finished and renamed).
using FootageSinkFactory = std::function<Result<std::unique_ptr<FootageSink>>(const std::filesystem::path& part)>;

}  // namespace assure::pipelines
