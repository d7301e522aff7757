#pragma once
// Files that survive a power cut: evidence sidecars, the uplink's journal and keys are written
// through these.

#include <cstdint>
#include <filesystem>
#include <string>

#include "assure/base/error.hpp"

namespace assure::base {

// fsync of a file or (directory true) of a folder, so a rename in it is on storage.
Result<void> fsync_path(const std::filesystem::path& path, bool directory);

// Writes `text` to `path` whole or not at all: a temporary file, synced, renamed over it, the
// folder synced. `mode` is the new file's permission bits (0600 for a private key).
Result<void> write_durably(const std::filesystem::path& path, const std::string& text, unsigned mode = 0644);

// The whole of a regular file of at most `limit` bytes: a folder, a device, a FIFO or a file past
// the limit is an error naming it, never read (a state file or a key may have been tampered with).
Result<std::string> read_bounded(const std::filesystem::path& path, std::uint64_t limit);

}  // namespace assure::pipelines
