#include "core/file_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace icaht::core {

absl::Status WriteFileAtomically(const std::string& path, std::string_view text, unsigned mode) {
  // One piece, the text itself (not copied).
  return WriteFileAtomically(
      path, mode, [&text](std::string&) { return std::exchange(text, std::string_view()); });
}

absl::Status WriteFileAtomically(const std::string& path, unsigned mode,
                                 const std::function<std::string_view(std::string&)>& next) {
  const std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return absl::UnavailableError(absl::StrCat(tmp, ": ", strerror(errno)));
  auto fail = [&](int err) {
    if (fd >= 0) close(fd);
    unlink(tmp.c_str());
    return absl::UnavailableError(absl::StrCat(tmp, ": ", strerror(err)));
  };
  std::string buffer;
  for (std::string_view text = next(buffer); !text.empty(); buffer.clear(), text = next(buffer)) {
    size_t done = 0;
    while (done < text.size()) {
      ssize_t n = write(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return fail(n < 0 ? errno : EIO);
      done += static_cast<size_t>(n);
    }
  }
  if (fsync(fd) != 0) return fail(errno);
  int closed = close(fd);
  fd = -1;
  if (closed != 0) return fail(errno);
  if (rename(tmp.c_str(), path.c_str()) < 0) {
    int err = errno;
    unlink(tmp.c_str());
    return absl::UnavailableError(absl::StrCat(path, ": ", strerror(err)));
  }
  return absl::OkStatus();
}

void SyncDirectory(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  fsync(fd);
  close(fd);
}

}  // namespace icaht::core
