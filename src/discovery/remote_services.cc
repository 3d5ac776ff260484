#include "discovery/remote_services.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "discovery/etcd_layout.h"
#include "registry/json_reader.h"

namespace icaht::discovery {
namespace {

namespace json = registry::json;
using simdjson::ondemand::json_type;

absl::Status Ignore(json::Value&) { return absl::OkStatus(); }

template <typename T>
bool ParseDecimal(std::string_view text, T* out) {
  if (text.empty() || text.size() > 10) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

// "http(s)://HOST:PORT" as the publisher writes it (no path, no user info).
absl::Status ParseUrl(std::string_view url, RemoteInstance* out) {
  size_t colon_slashes = url.find("://");
  if (colon_slashes == std::string_view::npos) return absl::InvalidArgumentError("url: no scheme");
  out->scheme = std::string(url.substr(0, colon_slashes));
  if (out->scheme != "http" && out->scheme != "https") {
    return absl::InvalidArgumentError("url: the scheme must be http or https");
  }
  std::string_view rest = url.substr(colon_slashes + 3);
  std::string_view host;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return absl::InvalidArgumentError("url: unclosed [");
    host = rest.substr(1, close - 1);
    rest.remove_prefix(close + 1);
  } else {
    size_t colon = rest.find(':');
    host = rest.substr(0, colon);
    rest.remove_prefix(colon == std::string_view::npos ? rest.size() : colon);
  }
  if (host.empty() || host.find_first_of("/?#@ ") != std::string_view::npos) {
    return absl::InvalidArgumentError("url: bad host");
  }
  uint32_t port = 0;
  if (rest.empty() || rest.front() != ':' || !ParseDecimal(rest.substr(1), &port) || port == 0 ||
      port > 65535) {
    return absl::InvalidArgumentError("url: needs a port 1..65535 and nothing after it");
  }
  out->host = std::string(host);
  out->port = static_cast<uint16_t>(port);
  return absl::OkStatus();
}

// "icaht/services/<name>/<host_id>": false for any other key.
bool SplitKey(std::string_view key, std::string* name, uint32_t* host_id) {
  if (key.substr(0, kServicesPrefix.size()) != kServicesPrefix) return false;
  key.remove_prefix(kServicesPrefix.size());
  size_t slash = key.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return false;
  if (!ParseDecimal(key.substr(slash + 1), host_id)) return false;
  *name = std::string(key.substr(0, slash));
  return true;
}

// The record's fields the table keeps; the rest is skipped.
absl::Status ReadRecord(json::Value& record, std::string_view name, RemoteInstance* out) {
  bool named = false;
  ICAHT_RETURN_IF_ERROR(
      json::ForEachField(record, "record", [&](std::string_view field, json::Value& value) {
        if (field == "name") {
          ICAHT_ASSIGN_OR_RETURN(std::string got, json::ReadString(value, "record.name"));
          if (got != name) return json::FieldError("record.name", "differs from the key's name");
          named = true;
        } else if (field == "version") {
          ICAHT_ASSIGN_OR_RETURN(out->version, json::ReadString(value, "record.version"));
        }
        return absl::OkStatus();
      }));
  if (!named) return json::FieldError("record.name", "missing");
  return absl::OkStatus();
}

// One "kv" of a range answer or a watch event: what the table needs of it.
struct Kv {
  std::string key;
  std::string value;
  int64_t mod_revision = 0;
};

absl::Status ReadKv(json::Value& object, std::string_view path, Kv* out) {
  bool has_key = false;
  ICAHT_RETURN_IF_ERROR(
      json::ForEachField(object, path, [&](std::string_view field, json::Value& value) {
        if (field == "key" || field == "value") {
          ICAHT_ASSIGN_OR_RETURN(std::string encoded, json::ReadString(value, field));
          std::string* target = field == "key" ? &out->key : &out->value;
          if (!Base64Decode(encoded, target)) return json::FieldError(field, "not base64");
          if (field == "key") has_key = true;
        } else if (field == "mod_revision") {
          ICAHT_ASSIGN_OR_RETURN(out->mod_revision, ReadGatewayInt64(value, "mod_revision"));
        }
        return absl::OkStatus();
      }));
  if (!has_key) return json::FieldError(path, "no key");
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ReadHeaderRevision(json::Value& header) {
  int64_t revision = 0;
  ICAHT_RETURN_IF_ERROR(
      json::ForEachField(header, "header", [&](std::string_view field, json::Value& value) {
        if (field != "revision") return Ignore(value);
        ICAHT_ASSIGN_OR_RETURN(revision, ReadGatewayInt64(value, "header.revision"));
        return absl::OkStatus();
      }));
  return revision;
}

std::string RangeBody(std::string_view extra) {
  return absl::StrCat("{\"key\":\"", Base64Encode(kServicesPrefix), "\",\"range_end\":\"",
                      Base64Encode(PrefixEnd(kServicesPrefix)), "\"", std::string(extra), "}");
}

}  // namespace

absl::StatusOr<RemoteInstance> ParseRemoteInstance(std::string_view value, std::string_view name,
                                                   uint32_t host_id) {
  RemoteInstance out;
  bool has_id = false, has_url = false, has_record = false;
  ICAHT_RETURN_IF_ERROR(json::ParseObjectDocument(value, [&](json::Value& root) {
    return json::ForEachField(root, "", [&](std::string_view field, json::Value& v) {
      if (field == "host_id") {
        ICAHT_ASSIGN_OR_RETURN(int64_t id, json::ReadInt(v, "host_id", 0, UINT32_MAX));
        if (id != host_id) return json::FieldError("host_id", "differs from the key's id");
        out.host_id = host_id;
        has_id = true;
      } else if (field == "url") {
        ICAHT_ASSIGN_OR_RETURN(std::string url, json::ReadString(v, "url"));
        ICAHT_RETURN_IF_ERROR(ParseUrl(url, &out));
        has_url = true;
      } else if (field == "record") {
        simdjson::ondemand::object object;
        std::string_view raw;
        if (v.get_object().get(object) != simdjson::SUCCESS ||
            object.raw_json().get(raw) != simdjson::SUCCESS) {
          return json::FieldError("record", "must be an object");
        }
        out.record = std::string(raw);
        has_record = true;
      }
      return absl::OkStatus();
    });
  }));
  if (!has_id || !has_url || !has_record) {
    return absl::InvalidArgumentError("needs host_id, url and record");
  }
  ICAHT_RETURN_IF_ERROR(json::ParseObjectDocument(
      out.record, [&](json::Value& record) { return ReadRecord(record, name, &out); }));
  return out;
}

absl::StatusOr<bool> RemoteServices::Reset(std::string_view range_body) {
  int64_t revision = 0;
  bool more = false;
  std::vector<Kv> kvs;
  ICAHT_RETURN_IF_ERROR(json::ParseObjectDocument(range_body, [&](json::Value& root) {
    return json::ForEachField(root, "", [&](std::string_view field, json::Value& value) {
      if (field == "header") {
        ICAHT_ASSIGN_OR_RETURN(revision, ReadHeaderRevision(value));
      } else if (field == "kvs") {
        return json::ForEachElement(value, "kvs", [&](size_t, json::Value& kv) {
          return ReadKv(kv, "kvs", &kvs.emplace_back());
        });
      } else if (field == "more") {
        ICAHT_ASSIGN_OR_RETURN(more, json::ReadBool(value, "more"));
      }
      return absl::OkStatus();
    });
  }));
  if (revision <= 0) return absl::DataLossError("etcd's range answer has no revision");
  if (more) return absl::DataLossError("etcd's range answer is incomplete (more)");
  absl::flat_hash_map<std::string, Instances> before = std::move(services_);
  keys_.clear();
  services_.clear();
  invalid_keys_ = 0;
  for (const Kv& kv : kvs) ApplyEvent({.put = true, .key = kv.key, .value = kv.value});
  revision_ = revision;
  return before != services_;
}

absl::StatusOr<WatchMessage> RemoteServices::Apply(std::string_view message) {
  WatchMessage out;
  std::vector<Event> events;
  bool result = false;
  ICAHT_RETURN_IF_ERROR(json::ParseObjectDocument(message, [&](json::Value& root) {
    return json::ForEachField(root, "", [&](std::string_view field, json::Value& value) {
      if (field == "error") {
        // The gateway ends a broken stream with {"error":{"grpc_code":..,"message":..}}.
        out.canceled = true;
        return json::ForEachField(value, "error", [&](std::string_view name, json::Value& v) {
          if (name != "message") return Ignore(v);
          ICAHT_ASSIGN_OR_RETURN(out.cancel_reason, json::ReadString(v, "error.message"));
          return absl::OkStatus();
        });
      }
      if (field != "result") return Ignore(value);
      result = true;
      return json::ForEachField(value, "result", [&](std::string_view name, json::Value& v) {
        if (name == "created") {
          ICAHT_ASSIGN_OR_RETURN(out.created, json::ReadBool(v, "result.created"));
        } else if (name == "canceled") {
          ICAHT_ASSIGN_OR_RETURN(bool canceled, json::ReadBool(v, "result.canceled"));
          out.canceled = out.canceled || canceled;
        } else if (name == "compact_revision") {
          ICAHT_ASSIGN_OR_RETURN(out.compact_revision, ReadGatewayInt64(v, "compact_revision"));
        } else if (name == "cancel_reason") {
          ICAHT_ASSIGN_OR_RETURN(out.cancel_reason, json::ReadString(v, "cancel_reason"));
        } else if (name == "events") {
          return json::ForEachElement(v, "events", [&](size_t, json::Value& element) {
            Event& event = events.emplace_back();
            Kv kv;
            bool has_kv = false;
            ICAHT_RETURN_IF_ERROR(json::ForEachField(
                element, "events", [&](std::string_view part, json::Value& item) -> absl::Status {
                  if (part == "type") {
                    ICAHT_ASSIGN_OR_RETURN(std::string type, json::ReadString(item, "type"));
                    if (type != "PUT" && type != "DELETE") {
                      return json::FieldError("type", "must be PUT or DELETE");
                    }
                    event.put = type == "PUT";
                  } else if (part == "kv") {
                    has_kv = true;
                    return ReadKv(item, "kv", &kv);
                  }
                  return absl::OkStatus();
                }));
            if (!has_kv) return json::FieldError("events", "an event without kv");
            event.key = std::move(kv.key);
            event.value = std::move(kv.value);
            event.mod_revision = kv.mod_revision;
            return absl::OkStatus();
          });
        }
        return absl::OkStatus();
      });
    });
  }));
  if (!result && !out.canceled) return absl::DataLossError("not a watch message");
  if (out.canceled && out.cancel_reason.empty() && out.compact_revision > 0) {
    out.cancel_reason = absl::StrCat("revision compacted up to ", out.compact_revision);
  }
  for (const Event& event : events) {
    out.changed = ApplyEvent(event) || out.changed;
    revision_ = std::max(revision_, event.mod_revision);
  }
  out.events = events.size();
  return out;
}

const RemoteServices::Instances* RemoteServices::Find(std::string_view name) const {
  // (This abseil's heterogeneous lookup takes absl::string_view, not std's.)
  auto it = services_.find(absl::string_view(name.data(), name.size()));
  return it == services_.end() ? nullptr : &it->second;
}

bool RemoteServices::ApplyEvent(const Event& event) {
  // The key's previous instance goes, whatever comes instead.
  std::optional<RemoteInstance> before;
  if (auto it = keys_.find(event.key); it != keys_.end()) {
    if (it->second.in_table) {
      before = TakeInstance(it->second.name, it->second.host_id);
    }
    if (it->second.invalid) --invalid_keys_;
    keys_.erase(it);
  }
  std::optional<RemoteInstance> after;
  std::string name;
  if (event.put) {
    KeyState& state = keys_[event.key];
    uint32_t host_id = 0;
    if (SplitKey(event.key, &name, &host_id)) {
      state.name = name;
      state.host_id = host_id;
      if (host_id == own_host_id_) return before.has_value();
      absl::StatusOr<RemoteInstance> instance = ParseRemoteInstance(event.value, name, host_id);
      if (instance.ok()) after = *std::move(instance);
    }
    if (after.has_value()) {
      Instances& list = services_[name];
      auto at =
          std::lower_bound(list.begin(), list.end(), after->host_id,
                           [](const RemoteInstance& i, uint32_t id) { return i.host_id < id; });
      list.insert(at, *after);
      state.in_table = true;
    } else {
      state.invalid = true;
      ++invalid_keys_;
      ++invalid_seen_;
    }
  }
  return before != after;
}

std::optional<RemoteInstance> RemoteServices::TakeInstance(const std::string& name,
                                                           uint32_t host_id) {
  auto it = services_.find(name);
  if (it == services_.end()) return std::nullopt;
  Instances& list = it->second;
  std::optional<RemoteInstance> out;
  for (auto i = list.begin(); i != list.end(); ++i) {
    if (i->host_id == host_id) {
      out = std::move(*i);
      list.erase(i);
      break;
    }
  }
  if (list.empty()) services_.erase(it);
  return out;
}

std::string ServicesRangeBody() { return RangeBody(""); }

std::string ServicesCountBody() { return RangeBody(",\"count_only\":true"); }

std::string ServicesWatchBody(int64_t start_revision) {
  return absl::StrCat("{\"create_request\":{\"key\":\"", Base64Encode(kServicesPrefix),
                      "\",\"range_end\":\"", Base64Encode(PrefixEnd(kServicesPrefix)),
                      "\",\"start_revision\":\"", start_revision, "\"}}");
}

absl::StatusOr<RangeCount> ParseRangeCount(std::string_view body) {
  RangeCount out;
  ICAHT_RETURN_IF_ERROR(json::ParseObjectDocument(body, [&](json::Value& root) {
    return json::ForEachField(root, "", [&](std::string_view field, json::Value& value) {
      if (field == "header") {
        ICAHT_ASSIGN_OR_RETURN(out.revision, ReadHeaderRevision(value));
      } else if (field == "count") {
        ICAHT_ASSIGN_OR_RETURN(out.count, ReadGatewayInt64(value, "count"));
      }
      return absl::OkStatus();
    });
  }));
  if (out.revision <= 0) return absl::DataLossError("etcd's count answer has no revision");
  return out;
}

}  // namespace icaht::discovery
