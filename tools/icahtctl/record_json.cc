#include "record_json.h"

#include <utility>

#include "absl/status/status.h"
#include "simdjson.h"
#include "table.h"
#include "text.h"

namespace icaht::ctl {
namespace {

namespace od = simdjson::ondemand;

absl::Status ParseUpstreams(od::value& value, std::vector<UpstreamArg>* out) {
  od::array array;
  if (auto err = value.get_array().get(array)) return Malformed("upstreams", err);
  for (auto element_result : array) {
    od::value element;
    if (auto err = std::move(element_result).get(element)) return Malformed("upstreams", err);
    od::json_type type;
    if (auto err = element.type().get(type)) return Malformed("upstreams", err);
    UpstreamArg upstream;
    if (type == od::json_type::string) {
      std::string_view address;
      if (auto err = element.get_string().get(address)) return Malformed("upstreams", err);
      upstream.address = address;
    } else if (type == od::json_type::object) {
      od::object object;
      if (auto err = element.get_object().get(object)) return Malformed("upstreams", err);
      for (auto field_result : object) {
        od::field field;
        std::string_view key;
        if (auto err = std::move(field_result).get(field)) return Malformed("upstreams", err);
        if (auto err = field.unescaped_key().get(key)) return Malformed("upstreams", err);
        if (key == "address") {
          std::string_view address;
          if (auto err = field.value().get_string().get(address)) {
            return Malformed("upstreams[].address", err);
          }
          upstream.address = address;
        } else if (key == "weight") {
          uint64_t weight = 0;
          if (auto err = field.value().get_uint64().get(weight)) {
            return Malformed("upstreams[].weight", err);
          }
          upstream.weight = static_cast<uint32_t>(weight);
        }
      }
    } else {
      return absl::InternalError("malformed response from daemon: upstreams: unexpected type");
    }
    out->push_back(std::move(upstream));
  }
  return absl::OkStatus();
}

absl::Status ParseRecordObject(od::object& object, RecordSummary* record) {
  for (auto field_result : object) {
    od::field field;
    std::string_view key;
    if (auto err = std::move(field_result).get(field)) return Malformed("record", err);
    if (auto err = field.unescaped_key().get(key)) return Malformed("record", err);
    if (key == "name") {
      std::string_view name;
      if (auto err = field.value().get_string().get(name)) return Malformed("name", err);
      record->name = name;
    } else if (key == "version") {
      std::string_view version;
      if (auto err = field.value().get_string().get(version)) return Malformed("version", err);
      record->version = version;
    } else if (key == "port") {
      bool is_null = false;
      if (auto err = field.value().is_null().get(is_null)) return Malformed("port", err);
      if (!is_null) {
        uint64_t port = 0;
        if (auto err = field.value().get_uint64().get(port)) return Malformed("port", err);
        record->port = port;
      }
    } else if (key == "upstreams") {
      if (absl::Status s = ParseUpstreams(field.value(), &record->upstreams); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

// Raw JSON text of `value` (which must not have been consumed yet), without trailing space.
absl::StatusOr<std::string_view> RawValue(od::value& value) {
  od::json_type type;
  if (auto err = value.type().get(type)) return Malformed("record", err);
  std::string_view raw;
  if (type == od::json_type::object) {
    od::object object;
    if (auto err = value.get_object().get(object)) return Malformed("record", err);
    if (auto err = object.raw_json().get(raw)) return Malformed("record", err);
  } else if (type == od::json_type::array) {
    od::array array;
    if (auto err = value.get_array().get(array)) return Malformed("record", err);
    if (auto err = array.raw_json().get(raw)) return Malformed("record", err);
  } else {
    raw = value.raw_json_token();
  }
  return StripTrailingSpace(raw);
}

void AppendUpstreams(std::string* out, const std::vector<UpstreamArg>& upstreams) {
  out->push_back('[');
  for (size_t i = 0; i < upstreams.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->append("{\"address\":");
    AppendJsonString(out, upstreams[i].address);
    if (upstreams[i].weight) Append(out, ",\"weight\":", *upstreams[i].weight);
    out->push_back('}');
  }
  out->push_back(']');
}

}  // namespace

absl::Status Malformed(std::string_view what, simdjson::error_code err) {
  return absl::InternalError(
      Cat("malformed response from daemon: ", what, ": ", simdjson::error_message(err)));
}

void AppendJsonString(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
        } else {
          out->push_back(ch);  // UTF-8 passes through; the daemon validates it
        }
    }
  }
  out->push_back('"');
}

std::string BuildRecordJson(std::string_view name, const std::vector<UpstreamArg>& upstreams,
                            std::optional<uint32_t> port, std::optional<std::string> version) {
  std::string out = "{\"name\":";
  AppendJsonString(&out, name);
  out.append(",\"upstreams\":");
  AppendUpstreams(&out, upstreams);
  if (port) Append(&out, ",\"port\":", *port);
  if (version) {
    out.append(",\"version\":");
    AppendJsonString(&out, *version);
  }
  out.push_back('}');
  return out;
}

absl::StatusOr<RecordSummary> ParseRecord(std::string_view json) {
  simdjson::padded_string padded(json);
  od::parser parser;
  od::document doc;
  if (auto err = parser.iterate(padded).get(doc)) return Malformed("record", err);
  od::object object;
  if (auto err = doc.get_object().get(object)) return Malformed("record", err);
  RecordSummary record;
  if (absl::Status s = ParseRecordObject(object, &record); !s.ok()) return s;
  return record;
}

absl::StatusOr<std::vector<RecordSummary>> ParseRecordList(std::string_view json) {
  simdjson::padded_string padded(json);
  od::parser parser;
  od::document doc;
  if (auto err = parser.iterate(padded).get(doc)) return Malformed("service list", err);
  od::object top;
  if (auto err = doc.get_object().get(top)) return Malformed("service list", err);
  std::vector<RecordSummary> records;
  bool seen = false;
  for (auto field_result : top) {
    od::field field;
    std::string_view key;
    if (auto err = std::move(field_result).get(field)) return Malformed("service list", err);
    if (auto err = field.unescaped_key().get(key)) return Malformed("service list", err);
    if (key != "services") continue;
    seen = true;
    od::array array;
    if (auto err = field.value().get_array().get(array)) return Malformed("services", err);
    for (auto element_result : array) {
      od::object object;
      if (auto err = element_result.get_object().get(object)) return Malformed("services", err);
      RecordSummary record;
      if (absl::Status s = ParseRecordObject(object, &record); !s.ok()) return s;
      records.push_back(std::move(record));
    }
  }
  if (!seen) return absl::InternalError("malformed response from daemon: no \"services\" array");
  return records;
}

absl::StatusOr<ApiError> ParseApiError(std::string_view json) {
  simdjson::padded_string padded(json);
  od::parser parser;
  od::document doc;
  if (auto err = parser.iterate(padded).get(doc)) return Malformed("error", err);
  od::object error;
  if (auto err = doc["error"].get_object().get(error)) return Malformed("error", err);
  ApiError out;
  for (auto field_result : error) {
    od::field field;
    std::string_view key;
    if (auto err = std::move(field_result).get(field)) return Malformed("error", err);
    if (auto err = field.unescaped_key().get(key)) return Malformed("error", err);
    std::string_view text;
    if (key == "code") {
      if (auto err = field.value().get_string().get(text)) return Malformed("error.code", err);
      out.code = text;
    } else if (key == "message") {
      if (auto err = field.value().get_string().get(text)) return Malformed("error.message", err);
      out.message = text;
    }
  }
  return out;
}

absl::StatusOr<std::string> ReplaceRecordFields(
    std::string_view json, const std::optional<std::vector<UpstreamArg>>& upstreams,
    const std::optional<std::string>& version) {
  simdjson::padded_string padded(json);
  od::parser parser;
  od::document doc;
  if (auto err = parser.iterate(padded).get(doc)) return Malformed("record", err);
  od::object object;
  if (auto err = doc.get_object().get(object)) return Malformed("record", err);
  std::string out = "{";
  auto separator = [&out] {
    if (out.size() > 1) out.push_back(',');
  };
  for (auto field_result : object) {
    od::field field;
    std::string_view key;
    if (auto err = std::move(field_result).get(field)) return Malformed("record", err);
    if (auto err = field.unescaped_key().get(key)) return Malformed("record", err);
    if ((key == "upstreams" && upstreams) || (key == "version" && version)) continue;
    std::string key_copy(key);  // `key` lives in the parser's scratch space
    absl::StatusOr<std::string_view> raw = RawValue(field.value());
    if (!raw.ok()) return raw.status();
    separator();
    AppendJsonString(&out, key_copy);
    out.push_back(':');
    out.append(*raw);
  }
  if (upstreams) {
    separator();
    out.append("\"upstreams\":");
    AppendUpstreams(&out, *upstreams);
  }
  if (version) {
    separator();
    out.append("\"version\":");
    AppendJsonString(&out, *version);
  }
  out.push_back('}');
  return out;
}

std::string FormatTable(const std::vector<RecordSummary>& records) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"NAME", "PORT", "UPSTREAMS", "VERSION"});
  for (const RecordSummary& r : records) {
    std::string upstreams;
    for (const UpstreamArg& u : r.upstreams) {
      if (!upstreams.empty()) upstreams.push_back(',');
      upstreams.append(u.address);
      if (u.weight && *u.weight != 1) Append(&upstreams, '=', *u.weight);
    }
    rows.push_back({r.name, r.port ? Cat(*r.port) : "-", upstreams.empty() ? "-" : upstreams,
                    r.version.empty() ? "-" : r.version});
  }
  return AlignColumns(rows);
}

}  // namespace icaht::ctl
