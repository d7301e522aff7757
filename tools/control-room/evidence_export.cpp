#include "evidence_export.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <fmt/format.h>

#include <memory>

#include "assure/base/files.hpp"

namespace assure::control_room {
namespace {

constexpr std::uint64_t kLargestClip = 512ull << 20;

std::string how_to_verify(const ExportItem& item) {
  return fmt::format(
      "Evidence from Assure 24: clip {clip} of device {device} at site {site}\n"
      "Exported by {by} at {at} (UTC).\n\n"
      "What is here\n"
      "  {clip}.mp4            the clip exactly as the device recorded it\n"
      "  {clip}.manifest.json  the device's signed manifest: the clip's SHA-256 and size, its chunks'\n"
      "                        hashes, when it was recorded, and its place in the device's chain\n"
      "  {device}.pub          the device's public key (Ed25519, hex), as enrolled at the control room\n\n"
      "How to check it\n"
      "  assure-verify {clip}.mp4 {clip}.manifest.json --key {device}.pub\n\n"
      "assure-verify (from the assure-edge tools) checks that the manifest is signed by that key and\n"
      "that every byte of the clip is the one the device hashed. Any change to either file fails it.\n"
      "With the previous clip's manifest, --previous FILE also checks that no clip is missing between.\n\n"
      "The control room's own check when the clip arrived: {message}\n",
      fmt::arg("clip", item.clip), fmt::arg("device", item.device), fmt::arg("site", item.site),
      fmt::arg("by", item.exported_by), fmt::arg("at", item.exported_at), fmt::arg("message", item.verified_message));
}

}  // namespace

Result<std::string> evidence_zip(const ExportItem& item) {
  auto clip = base::read_bounded(item.clip_file, kLargestClip);
  if (!clip) return std::unexpected(clip.error());
  auto manifest = base::read_bounded(item.manifest_file, 4u << 20);
  if (!manifest) return std::unexpected(manifest.error());

  std::unique_ptr<archive, decltype(&archive_write_free)> zip(archive_write_new(), archive_write_free);
  if (!zip || archive_write_set_format_zip(zip.get()) != ARCHIVE_OK) return fail(Errc::io, "libarchive: no ZIP writer");
  std::string out;
  out.reserve(clip->size() + manifest->size() + 4096);
  archive_write_set_bytes_in_last_block(zip.get(), 1);
  auto writer = [](archive*, void* data, const void* buffer, size_t length) -> la_ssize_t {
    static_cast<std::string*>(data)->append(static_cast<const char*>(buffer), length);
    return static_cast<la_ssize_t>(length);
  };
  if (archive_write_open(zip.get(), &out, nullptr, writer, nullptr) != ARCHIVE_OK) {
    return fail(Errc::io, std::string("libarchive: ") + archive_error_string(zip.get()));
  }
  auto add = [&](const std::string& name, const std::string& bytes) -> Result<void> {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(entry.get(), name.c_str());
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(bytes.size()));
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0644);
    archive_entry_set_mtime(entry.get(), std::time(nullptr), 0);
    if (archive_write_header(zip.get(), entry.get()) != ARCHIVE_OK ||
        archive_write_data(zip.get(), bytes.data(), bytes.size()) != static_cast<la_ssize_t>(bytes.size())) {
      return fail(Errc::io, "libarchive: writing " + name + ": " + archive_error_string(zip.get()));
    }
    return {};
  };
  const std::string folder = item.clip + "/";
  for (const auto& [name, bytes] : {std::pair<std::string, const std::string*>{item.clip + ".mp4", &*clip},
                                    {item.clip + ".manifest.json", &*manifest}}) {
    if (auto ok = add(folder + name, *bytes); !ok) return std::unexpected(ok.error());
  }
  if (auto ok = add(folder + item.device + ".pub", item.public_key_hex + "\n"); !ok) return std::unexpected(ok.error());
  if (auto ok = add(folder + "HOW-TO-VERIFY.txt", how_to_verify(item)); !ok) return std::unexpected(ok.error());
  if (archive_write_close(zip.get()) != ARCHIVE_OK) {
    return fail(Errc::io, std::string("libarchive: ") + archive_error_string(zip.get()));
  }
  return out;
}

}  // namespace assure::control_room
