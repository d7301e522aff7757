#include "sealed_clips.hpp"

#include <fmt/format.h>

#include "assure/base/files.hpp"
#include "assure/firmware/evidence/sealed_file.hpp"
#include "assure/pipelines/clip_salvage.hpp"

namespace assure::receiver {

Result<OpenedClip> open_sealed_clip(const std::string& sealed, const evidence::Manifest& m,
                                    const evidence::SigningKey& control_room) {
  if (m.sealed_scheme != evidence::kSealedScheme) {
    return fail(Errc::unsupported, fmt::format("clip {} is sealed as \"{}\", which this receiver does not know (it knows {})",
                                               m.clip, m.sealed_scheme, evidence::kSealedScheme));
  }
  // Sealing adds 21 bytes a record to what it seals: the plaintext is never larger than the file.
  auto opened = evidence::open_sealed_allowing_cut(sealed, control_room, sealed.size());
  if (!opened) return fail(opened.error().code, fmt::format("clip {}: sealed, and it does not open: {}", m.clip, opened.error().message));
  OpenedClip out;
  if (!m.plaintext_sha256.empty()) {  // the device finished it: all of it, exactly what it signed
    if (!opened->complete) {
      return fail(Errc::invalid_argument, fmt::format("clip {}: sealed, and cut short although its manifest says it was "
                                                      "finished", m.clip));
    }
    if (opened->plaintext.size() != m.plaintext_size || evidence::sha256_hex(opened->plaintext) != m.plaintext_sha256) {
      return fail(Errc::invalid_argument,
                  fmt::format("clip {}: it opens to {} bytes whose SHA-256 is not the one its manifest signs",
                              m.clip, opened->plaintext.size()));
    }
    out.note = fmt::format("sealed, opened: {} bytes of MP4, plaintext SHA-256 matches", opened->plaintext.size());
  } else {
    out.cut_short = !opened->complete;
    out.note = fmt::format("sealed and cut short on the device, opened: {} whole records, {} bytes of MP4",
                           opened->records, opened->plaintext.size());
  }
  out.mp4 = std::move(opened->plaintext);
  return out;
}

Result<std::string> write_opened_cut_clip(const std::filesystem::path& file, const std::string& mp4) {
  if (auto written = base::write_durably(file, mp4); !written) return std::unexpected(written.error());
  auto fragments = pipelines::cut_to_whole_fragments(file);
  if (!fragments) return std::unexpected(fragments.error());
  return fmt::format("{} whole fragment(s) play", *fragments);
}

}  // namespace assure::receiver
