// The engineer's shell's inputs: a candidate config edited by any keys and values (set, delete,
// add, show, diff, validate), the shell's own line parser, and an audit log read back from disk.
// Input: a mode byte, then text. Mode 0: a TOML file, a line "----", then one edit a line
// ("s KEY VALUE", "d KEY", "a ARRAY", "k KEY" for show, "l LINE" for the shell's parser).
// Mode 1: the bytes are an audit log file, verified.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "assure/config/candidate.hpp"
#include "assure/firmware/evidence/audit_log.hpp"
#include "lines.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 1) {
    static const std::filesystem::path file =
        std::filesystem::temp_directory_path() / ("fuzz-audit-" + std::to_string(::getpid()) + ".log");
    std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
    (void)assure::evidence::verify_audit_log(file);
    return 0;
  }
  const auto split = text.find("\n----\n");
  auto candidate = assure::config::Candidate::from_text(text.substr(0, split), "device.toml", "/etc/assure");
  if (!candidate) return 0;
  const assure::config::Candidate before = *candidate;
  if (split == std::string::npos) return 0;
  std::istringstream edits(text.substr(split + 6));
  int n = 0;
  for (std::string line; std::getline(edits, line) && n < 64; ++n) {
    if (line.size() < 2) continue;
    const std::string rest = line.substr(2);
    const auto space = rest.find(' ');
    const std::string key = rest.substr(0, space);
    const std::string value = space == std::string::npos ? "" : rest.substr(space + 1);
    switch (line[0]) {
      case 's': (void)candidate->set(key, value); break;
      case 'd': (void)candidate->erase(key); break;
      case 'a': (void)candidate->append(key); break;
      case 'k': (void)candidate->show(key); (void)assure::config::key_help(key); break;
      case 'l': (void)assure::shell_tool::parse_line(rest); (void)assure::shell_tool::completions(rest, value); break;
      default: break;
    }
  }
  (void)candidate->diff_from(before);
  (void)candidate->validate();
  (void)candidate->text();
  return 0;
}
