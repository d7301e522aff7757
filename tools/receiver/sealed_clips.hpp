#pragma once
// A sealed clip at the control room (a home kit's footage, firmware/evidence/sealed_file.hpp):
// its signed manifest has already verified the bytes as they travelled; this opens them with the
// control room's key and checks what they open to against the manifest's plaintext hash and size.
// A clip the device sealed and then lost power in has no plaintext hash (the device could not
// read it back): every whole record is opened, each authenticated, and the MP4 cut to its whole
// fragments so it plays.

#include <filesystem>
#include <string>

#include "assure/base/error.hpp"
#include "assure/firmware/evidence/signing.hpp"

namespace assure::receiver {

struct OpenedClip {
  std::string mp4;   // what the camera recorded
  bool cut_short = false;
  std::string note;  // for the verified notice: "sealed, opened: ..." 
};

Result<OpenedClip> open_sealed_clip(const std::string& sealed, const evidence::Manifest& manifest,
                                    const evidence::SigningKey& control_room);

// Writes an opened clip that was cut short to `file` and cuts it to its whole fragments; the
// note says how many. An error when nothing whole is in it (the file is then left as opened).
Result<std::string> write_opened_cut_clip(const std::filesystem::path& file, const std::string& mp4);

}  // namespace assure::receiver
