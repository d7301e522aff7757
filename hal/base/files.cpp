#include "assure/base/files.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace assure::base {
namespace fs = std::filesystem;

Result<void> fsync_path(const fs::path& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return fail(Errc::io, fmt::format("cannot open {} to sync it: {}", path.string(), std::strerror(errno)));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return fail(Errc::io, fmt::format("cannot sync {} to storage", path.string()));
  return {};
}

Result<void> write_durably(const fs::path& path, const std::string& text, unsigned mode) {
  const fs::path temporary = path.string() + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) return fail(Errc::io, fmt::format("cannot write {}: {}", temporary.string(), std::strerror(errno)));
  ::fchmod(fd, static_cast<mode_t>(mode));  // whatever the umask says
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return fail(Errc::io, fmt::format("cannot write {}: {}", temporary.string(), why));
    }
    done += static_cast<std::size_t>(n);
  }
  const int synced = ::fsync(fd);
  ::close(fd);
  if (synced != 0) return fail(Errc::io, fmt::format("cannot sync {} to storage", temporary.string()));
  std::error_code ec;
  fs::rename(temporary, path, ec);
  if (ec) return fail(Errc::io, fmt::format("cannot rename {} to {}: {}", temporary.string(), path.string(), ec.message()));
  return fsync_path(path.parent_path().empty() ? fs::path(".") : path.parent_path(), true);
}

Result<std::string> read_bounded(const fs::path& path, std::uint64_t limit) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return fail(ec || !fs::exists(path) ? Errc::not_found : Errc::invalid_argument,
                fmt::format("{} is not a regular file", path.string()));
  }
  const auto size = fs::file_size(path, ec);
  if (ec) return fail(Errc::io, fmt::format("cannot read {}: {}", path.string(), ec.message()));
  if (size > limit) return fail(Errc::invalid_argument, fmt::format("{}: {} bytes, more than the {} it may hold", path.string(), size, limit));
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(Errc::io, fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
  std::string text(static_cast<std::size_t>(size), '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::read(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (done != text.size()) return fail(Errc::io, fmt::format("cannot read {} whole", path.string()));
  return text;
}

}  // namespace assure::pipelines
