#include "registry/state_file.h"

#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "registry/json_reader.h"
#include "registry/json_writer.h"
#include "registry/service_record_json.h"

namespace icaht::registry {

absl::StatusOr<net::Fd> LockStateDir(const std::string& dir, int wait_ms) {
  std::string path = dir + "/lock";
  net::Fd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640));
  if (!fd.valid()) return absl::UnavailableError(absl::StrCat(path, ": ", strerror(errno)));
  for (int waited_ms = 0;; waited_ms += 10) {
    if (flock(fd.get(), LOCK_EX | LOCK_NB) == 0) break;
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return absl::UnavailableError(absl::StrCat(path, ": flock: ", strerror(errno)));
    }
    if (waited_ms >= wait_ms) {
      char pid[32] = {};
      ssize_t n = pread(fd.get(), pid, sizeof pid - 1, 0);
      std::string holder =
          n > 0 ? absl::StrCat(" (pid ", std::string(pid, strcspn(pid, "\n")), ")") : std::string();
      return absl::FailedPreconditionError(absl::StrCat("another icaht-sidecar", holder,
                                                        " is running with state directory ", dir,
                                                        " (", path, " is locked)"));
    }
    timespec pause{0, 10'000'000};
    nanosleep(&pause, nullptr);
  }
  std::string pid = absl::StrCat(getpid(), "\n");
  if (ftruncate(fd.get(), 0) == 0) {
    ssize_t ignored = pwrite(fd.get(), pid.data(), pid.size(), 0);
    (void)ignored;
  }
  return fd;
}

absl::Status SaveServices(const std::string& path,
                          const std::vector<const ServiceRecord*>& records) {
  JsonWriter json;
  json.StartObject().Key("services").StartArray();
  for (const ServiceRecord* record : records) WriteJson(json, *record);
  json.EndArray().EndObject();
  std::string text = std::move(json).Take();
  text.push_back('\n');

  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return absl::UnavailableError(absl::StrCat(tmp, ": ", strerror(errno)));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      return absl::UnavailableError(absl::StrCat(tmp, ": ", strerror(err)));
    }
    done += n;
  }
  fsync(fd);
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) < 0) {
    return absl::UnavailableError(absl::StrCat(path, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ServiceRecord>> LoadServices(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return std::vector<ServiceRecord>{};
    return absl::UnavailableError(absl::StrCat(path, ": ", strerror(errno)));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  std::vector<ServiceRecord> records;
  absl::Status status = json::ParseObjectDocument(text, [&](json::Value& root) {
    return json::ForEachField(root, "", [&](std::string_view key, json::Value& value) {
      if (key != "services") return json::UnknownFieldError(key);
      return json::ForEachElement(value, "services", [&](size_t index, json::Value& element) {
        absl::StatusOr<ServiceRecord> record =
            ParseServiceRecordValue(element, json::IndexPath("services", index) + ".");
        if (!record.ok()) return record.status();
        records.push_back(std::move(*record));
        return absl::OkStatus();
      });
    });
  });
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat(path, ": ", std::string(status.message())));
  }
  return records;
}

}  // namespace icaht::registry
