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
#include "core/file_util.h"
#include "registry/json_reader.h"
#include "registry/json_writer.h"
#include "registry/service_record_json.h"
#include "simdjson.h"

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
  // Written about 64 KiB at a time: the whole text of 10,000 services (tens
  // of MB) would be a peak of memory the allocator may keep.
  constexpr size_t kPieceBytes = 64 * 1024;
  size_t next = 0;
  bool ended = false;
  // Only a file known to be on disk may replace the old one (a compaction
  // empties the journal right after).
  return core::WriteFileAtomically(path, 0640, [&](std::string& piece) -> std::string_view {
    if (ended) return {};
    if (next == 0) piece = "{\"services\":[";
    while (next < records.size() && piece.size() < kPieceBytes) {
      if (next != 0) piece.push_back(',');
      piece += ToJson(*records[next++]);
    }
    if (next == records.size()) {
      piece += "]}\n";
      ended = true;
    }
    return piece;
  });
}

namespace {

// The value of a top-level "name" string in one record's JSON, or "".
std::string NameOf(std::string_view record_json) {
  simdjson::padded_string padded(record_json);
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  simdjson::ondemand::object object;
  std::string_view name;
  if (parser.iterate(padded).get(doc) || doc.get_object().get(object) ||
      object.find_field_unordered("name").get_string().get(name)) {
    return "";
  }
  return std::string(name);
}

}  // namespace

absl::StatusOr<SavedServices> LoadServices(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return SavedServices{};
    return absl::UnavailableError(absl::StrCat(path, ": ", strerror(errno)));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  // First the file's shape, keeping each record's text; then each record on
  // its own (On Demand cannot go on in a document after an error).
  std::vector<std::string> record_texts;
  absl::Status status = json::ParseObjectDocument(text, [&](json::Value& root) {
    return json::ForEachField(root, "", [&](std::string_view key, json::Value& value) {
      if (key != "services") return json::UnknownFieldError(key);
      return json::ForEachElement(value, "services", [&](size_t, json::Value& element) {
        std::string_view raw;
        simdjson::ondemand::object object;
        if (element.get_object().get(object) == simdjson::SUCCESS) {
          if (auto err = object.raw_json().get(raw)) return json::SyntaxError(err);
        } else {
          raw = element.raw_json_token();  // a scalar: refused below as not an object
        }
        record_texts.emplace_back(raw);
        return absl::OkStatus();
      });
    });
  });
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat(path, ": ", std::string(status.message())));
  }
  SavedServices saved;
  for (size_t i = 0; i < record_texts.size(); ++i) {
    ServiceRecord record;
    std::string prefix = json::IndexPath("services", i) + ".";
    absl::Status parsed = json::ParseObjectDocument(record_texts[i], [&](json::Value& root) {
      absl::StatusOr<ServiceRecord> r = ParseServiceRecordValue(root, prefix);
      if (!r.ok()) return r.status();
      record = std::move(*r);
      return absl::OkStatus();
    });
    if (parsed.ok()) {
      saved.records.push_back(std::move(record));
    } else {
      saved.refused.push_back({i, NameOf(record_texts[i]), std::move(parsed)});
    }
  }
  return saved;
}

absl::StatusOr<std::string> SetAside(const std::string& path, bool move) {
  time_t now = time(nullptr);
  tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
  std::string base = absl::StrCat(path, ".bad-", stamp);
  for (int n = 1; n < 1000; ++n) {
    std::string name = n == 1 ? base : absl::StrCat(base, "-", n);
    // link() never replaces an existing name, so two set-asides in one second
    // (or two daemons' clocks) cannot overwrite each other.
    if (link(path.c_str(), name.c_str()) == 0) {
      if (move) unlink(path.c_str());
      return name;
    }
    if (errno != EEXIST) return absl::UnavailableError(absl::StrCat(name, ": ", strerror(errno)));
  }
  return absl::AlreadyExistsError(absl::StrCat(base, ": too many set-aside copies"));
}

}  // namespace icaht::registry
