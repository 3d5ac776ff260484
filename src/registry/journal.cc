#include "registry/journal.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "core/crc32c.h"
#include "core/json_string.h"
#include "registry/json_reader.h"
#include "registry/service_record_json.h"

namespace icaht::registry {
namespace {

std::string Line(std::string_view json) {
  char crc[9];
  std::snprintf(crc, sizeof crc, "%08x", core::Crc32c(json));
  std::string line(crc, 8);
  line.push_back(' ');
  line.append(json);
  line.push_back('\n');
  return line;
}

absl::StatusOr<JournalEntry> ParseEntry(std::string_view json) {
  JournalEntry entry;
  std::string op;
  bool has_record = false;
  absl::Status status = json::ParseObjectDocument(json, [&](json::Value& root) {
    return json::ForEachField(root, "", [&](std::string_view key, json::Value& value) {
      if (key == "op") {
        auto text = json::ReadString(value, "op");
        if (!text.ok()) return text.status();
        op = *text;
      } else if (key == "name") {
        auto text = json::ReadString(value, "name");
        if (!text.ok()) return text.status();
        entry.name = *text;
      } else if (key == "record") {
        auto record = ParseServiceRecordValue(value, "record.");
        if (!record.ok()) return record.status();
        entry.record = *std::move(record);
        has_record = true;
      } else {
        return json::UnknownFieldError(key);
      }
      return absl::OkStatus();
    });
  });
  if (!status.ok()) return status;
  if (op == "put" && has_record) {
    entry.op = JournalEntry::Op::kPut;
    entry.name = entry.record.name;
  } else if (op == "delete" && !entry.name.empty()) {
    entry.op = JournalEntry::Op::kDelete;
  } else {
    return absl::InvalidArgumentError("neither a put with a record nor a delete with a name");
  }
  return entry;
}

}  // namespace

std::string JournalPutLine(const ServiceRecord& record) {
  return Line(absl::StrCat("{\"op\":\"put\",\"record\":", ToJson(record), "}"));
}

std::string JournalDeleteLine(std::string_view name) {
  std::string json = "{\"op\":\"delete\",\"name\":";
  core::AppendJsonString(json, name);
  json.push_back('}');
  return Line(json);
}

absl::StatusOr<JournalContents> ReadJournal(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return JournalContents{};
    return absl::UnavailableError(absl::StrCat(path, ": ", strerror(errno)));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  JournalContents out;
  size_t at = 0;
  size_t line_number = 1;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    auto stop = [&](std::string why) {
      out.problem =
          absl::StrCat(path, ": line ", line_number, " (byte ", at, "): ", why, "; it and the ",
                       text.size() - at, " bytes from there on are not used");
    };
    if (end == std::string::npos) {
      stop("torn (no end of line: the write was cut)");
      break;
    }
    std::string_view line(text.data() + at, end - at);
    unsigned crc = 0;
    if (line.size() < 10 || line[8] != ' ' ||
        std::sscanf(std::string(line.substr(0, 8)).c_str(), "%8x", &crc) != 1) {
      stop("not '<crc32c> <json>'");
      break;
    }
    std::string_view json = line.substr(9);
    if (core::Crc32c(json) != crc) {
      stop("checksum mismatch");
      break;
    }
    absl::StatusOr<JournalEntry> entry = ParseEntry(json);
    if (!entry.ok()) {
      // Its checksum holds, so it was written whole: most likely by a newer
      // version (a downgrade). Replay cannot skip it (order matters).
      stop(absl::StrCat("an entry that does not parse (written by a newer version?): ",
                        entry.status().message()));
      break;
    }
    out.entries.push_back(*std::move(entry));
    at = end + 1;
    out.intact_bytes = at;
    ++line_number;
  }
  return out;
}

}  // namespace icaht::registry
