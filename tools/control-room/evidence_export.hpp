#pragma once
// Evidence for the police: one ZIP holding the clip as the device recorded it, its signed
// manifest, the device's enrolled public key and a short text on how to check them with
// assure-verify (libarchive writes the archive).

#include <filesystem>
#include <string>

#include "assure/base/error.hpp"

namespace assure::control_room {

struct ExportItem {
  std::string site, device, clip;
  std::filesystem::path clip_file, manifest_file;
  std::string public_key_hex;
  std::string verified_message;  // what the control room's check said when it arrived
  std::string exported_by, exported_at;
};

Result<std::string> evidence_zip(const ExportItem& item);

}  // namespace assure::control_room
