#include "discovery/etcd_layout.h"

#include <openssl/evp.h>

#include <charconv>
#include <initializer_list>

#include "absl/strings/str_cat.h"
#include "core/json_string.h"
#include "core/status_macros.h"
#include "registry/json_reader.h"

namespace icaht::discovery {
namespace {

// (absl::StrCat takes no std::string_view in this abseil.)
std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view part : parts) out.append(part);
  return out;
}

std::string RouterKey(std::string_view name, std::string_view rest) {
  return Cat({"traefik/http/routers/", name, "/", rest});
}

std::string ServiceKey(std::string_view name, std::string_view rest) {
  return Cat({"traefik/http/services/", name, "/loadBalancer/", rest});
}

void AppendRequestPut(std::string& out, const KeyValue& kv, int64_t lease) {
  out += "{\"requestPut\":{\"key\":\"";
  out += Base64Encode(kv.key);
  out += "\",\"value\":\"";
  out += Base64Encode(kv.value);
  out += '"';
  // The gateway reads 64-bit integers as JSON strings.
  if (lease != 0) absl::StrAppend(&out, ",\"lease\":\"", lease, "\"");
  out += "}}";
}

void AppendRangeKeys(std::string& out, std::string_view prefix) {
  out += "\"key\":\"";
  out += Base64Encode(prefix);
  out += "\",\"range_end\":\"";
  out += Base64Encode(PrefixEnd(prefix));
  out += '"';
}

void AppendDelete(std::string& out, std::string_view key) {
  out += "{\"requestDeleteRange\":{\"key\":\"";
  out += Base64Encode(key);
  out += "\"}}";
}

std::string RangesTxnBody(const std::vector<std::string>& prefixes, std::string_view flag) {
  std::string out = "{\"success\":[";
  for (size_t i = 0; i < prefixes.size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"requestRange\":{";
    AppendRangeKeys(out, prefixes[i]);
    out += ",\"";
    out += flag;
    out += "\":true}}";
  }
  out += "]}";
  return out;
}

namespace json = registry::json;

// A field we do not read (iterating on skips it).
absl::Status Skip(json::Value&) { return absl::OkStatus(); }

// Calls `fn` with each element of the transaction answer's "responses"; the
// header's revision into `revision` (if given).
absl::Status ForEachTxnResponse(std::string_view body, int64_t* revision,
                                absl::FunctionRef<absl::Status(json::Value&)> fn) {
  return json::ParseObjectDocument(body, [&](json::Value& root) {
    return json::ForEachField(root, "", [&](std::string_view key, json::Value& value) {
      if (key == "header" && revision != nullptr) {
        return json::ForEachField(value, key, [&](std::string_view field, json::Value& v) {
          if (field != "revision") return Skip(v);
          ICAHT_ASSIGN_OR_RETURN(*revision, ReadGatewayInt64(v, "header.revision"));
          return absl::OkStatus();
        });
      }
      if (key != "responses") return Skip(value);
      return json::ForEachElement(value, "responses",
                                  [&](size_t, json::Value& element) { return fn(element); });
    });
  });
}

}  // namespace

absl::StatusOr<int64_t> ReadGatewayInt64(json::Value& value, std::string_view path) {
  ICAHT_ASSIGN_OR_RETURN(auto type, json::TypeOf(value));
  if (type == simdjson::ondemand::json_type::number) {
    return json::ReadInt(value, path, INT64_MIN, INT64_MAX);
  }
  ICAHT_ASSIGN_OR_RETURN(std::string text, json::ReadString(value, path));
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return json::FieldError(path, "expected an integer");
  }
  return n;
}

absl::StatusOr<std::vector<net::HttpUrl>> ParseEtcdEndpoints(
    const std::vector<std::string>& endpoints) {
  std::vector<net::HttpUrl> urls;
  for (const std::string& endpoint : endpoints) {
    absl::StatusOr<net::HttpUrl> url = net::ParseHttpUrl(endpoint);
    if (!url.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--etcd-endpoints ", endpoint, ": ", url.status().message()));
    }
    urls.push_back(*std::move(url));
  }
  if (urls.empty()) return absl::InvalidArgumentError("--etcd-endpoints: none given");
  return urls;
}

std::vector<KeyValue> HostKeys(const registry::ServiceRecord& record, const EtcdHost& host) {
  // A port that terminates TLS is reached over https.
  const std::string url = absl::StrCat(record.tls ? std::string("https") : host.scheme, "://",
                                       host.advertise_host, ":", record.port);
  std::string value = "{\"host_id\":";
  absl::StrAppend(&value, host.host_id, ",\"url\":");
  core::AppendJsonString(value, url);
  value += ",\"record\":";
  value += registry::ToJson(record);
  value += '}';
  return {
      {ServiceKey(record.name, absl::StrCat("servers/", host.host_id, "/url")), url},
      {absl::StrCat("icaht/services/", record.name, "/", host.host_id), std::move(value)},
  };
}

std::vector<KeyValue> SharedKeys(const registry::ServiceRecord& record) {
  std::vector<KeyValue> out;
  out.push_back({RouterKey(record.name, "rule"), registry::EffectiveRouteRule(record)});
  out.push_back({RouterKey(record.name, "service"), record.name});
  for (size_t i = 0; i < record.route_entry_points.size(); ++i) {
    out.push_back(
        {RouterKey(record.name, absl::StrCat("entryPoints/", i)), record.route_entry_points[i]});
  }
  for (size_t i = 0; i < record.route_middlewares.size(); ++i) {
    out.push_back(
        {RouterKey(record.name, absl::StrCat("middlewares/", i)), record.route_middlewares[i]});
  }
  if (record.route_priority != 0) {
    out.push_back({RouterKey(record.name, "priority"), absl::StrCat(record.route_priority)});
  }
  if (!record.health.ready_path.empty()) {
    out.push_back({ServiceKey(record.name, "healthCheck/path"), record.health.ready_path});
    out.push_back({ServiceKey(record.name, "healthCheck/interval"), "5s"});
    out.push_back({ServiceKey(record.name, "healthCheck/timeout"), "2s"});
  }
  return out;
}

std::vector<std::string> HostKeyNames(std::string_view name, uint32_t host_id) {
  const std::string id = absl::StrCat(host_id);
  return {ServiceKey(name, Cat({"servers/", id, "/url"})), Cat({"icaht/services/", name, "/", id})};
}

std::string MarkerKey(std::string_view name) { return Cat({"icaht/shared/", name}); }

std::vector<std::string> SharedPrefixes(std::string_view name) {
  return {RouterKey(name, ""), ServiceKey(name, "healthCheck/")};
}

std::string ServersPrefix(std::string_view name) { return ServiceKey(name, "servers/"); }

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      ++end.back();
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key: etcd's "from key to the end"
}

std::string PutTxnBody(const std::vector<KeyValue>& leased, int64_t lease,
                       const std::vector<KeyValue>& plain,
                       const std::vector<std::string>& delete_keys,
                       const std::vector<std::string>& unchanged_prefixes, int64_t revision) {
  std::string out = "{";
  if (!unchanged_prefixes.empty()) {
    out += "\"compare\":[";
    for (size_t i = 0; i < unchanged_prefixes.size(); ++i) {
      if (i > 0) out += ',';
      out += '{';
      AppendRangeKeys(out, unchanged_prefixes[i]);
      absl::StrAppend(&out, ",\"target\":\"MOD\",\"result\":\"LESS\",\"mod_revision\":\"",
                      revision + 1, "\"}");
    }
    out += "],";
  }
  out += "\"success\":[";
  bool first = true;
  for (const std::string& key : delete_keys) {
    if (!first) out += ',';
    first = false;
    AppendDelete(out, key);
  }
  for (const KeyValue& kv : leased) {
    if (!first) out += ',';
    first = false;
    AppendRequestPut(out, kv, lease);
  }
  for (const KeyValue& kv : plain) {
    if (!first) out += ',';
    first = false;
    AppendRequestPut(out, kv, 0);
  }
  out += "]}";
  return out;
}

std::string DeleteHostKeysTxnBody(std::string_view name, uint32_t host_id, int64_t lease) {
  std::vector<std::string> keys = HostKeyNames(name, host_id);
  std::string out = "{\"compare\":[{\"key\":\"";
  out += Base64Encode(keys[0]);
  absl::StrAppend(&out, "\",\"target\":\"LEASE\",\"result\":\"EQUAL\",\"lease\":\"", lease,
                  "\"}],\"success\":[");
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) out += ',';
    AppendDelete(out, keys[i]);
  }
  out += "]}";
  return out;
}

std::string DeleteTxnBody(const std::vector<std::string>& keys) {
  std::string out = "{\"success\":[";
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) out += ',';
    AppendDelete(out, keys[i]);
  }
  out += "]}";
  return out;
}

std::string RangeTxnBody(const std::vector<std::string>& prefixes) {
  return RangesTxnBody(prefixes, "keys_only");
}

std::string CountTxnBody(const std::vector<std::string>& prefixes) {
  return RangesTxnBody(prefixes, "count_only");
}

std::string UnpublishSharedTxnBody(std::string_view name) {
  // An empty range compares as one key that does not exist: create_revision 0.
  std::string out = "{\"compare\":[{";
  AppendRangeKeys(out, ServersPrefix(name));
  out += ",\"target\":\"CREATE\",\"create_revision\":\"0\",\"result\":\"EQUAL\"},";
  out += "{\"key\":\"";
  out += Base64Encode(MarkerKey(name));
  out += "\",\"target\":\"CREATE\",\"create_revision\":\"0\",\"result\":\"GREATER\"}],";
  out += "\"success\":[";
  for (const std::string& prefix : SharedPrefixes(name)) {
    out += "{\"requestDeleteRange\":{";
    AppendRangeKeys(out, prefix);
    out += "}},";
  }
  AppendDelete(out, MarkerKey(name));
  out += "]}";
  return out;
}

std::string LeaseGrantBody(int64_t ttl_s) { return absl::StrCat("{\"TTL\":", ttl_s, "}"); }

std::string LeaseIdBody(int64_t lease) { return absl::StrCat("{\"ID\":\"", lease, "\"}"); }

absl::StatusOr<int64_t> ParseLeaseGrant(std::string_view body) {
  int64_t id = 0;
  ICAHT_RETURN_IF_ERROR(json::ParseObjectDocument(body, [&](json::Value& root) {
    return json::ForEachField(root, "", [&](std::string_view key, json::Value& value) {
      if (key != "ID") return Skip(value);
      ICAHT_ASSIGN_OR_RETURN(id, ReadGatewayInt64(value, "ID"));
      return absl::OkStatus();
    });
  }));
  if (id == 0) return absl::DataLossError("etcd granted no lease ID");
  return id;
}

absl::StatusOr<int64_t> ParseKeepalive(std::string_view body) {
  // {"result":{"header":{...},"ID":"...","TTL":"10"}}; no TTL: the lease is gone.
  int64_t ttl = 0;
  bool result = false;
  ICAHT_RETURN_IF_ERROR(json::ParseObjectDocument(body, [&](json::Value& root) {
    return json::ForEachField(root, "", [&](std::string_view key, json::Value& value) {
      if (key != "result") return Skip(value);
      result = true;
      return json::ForEachField(value, "result", [&](std::string_view field, json::Value& v) {
        if (field != "TTL") return Skip(v);
        ICAHT_ASSIGN_OR_RETURN(ttl, ReadGatewayInt64(v, "result.TTL"));
        return absl::OkStatus();
      });
    });
  }));
  if (!result) return absl::DataLossError("etcd's keepalive answer has no result");
  return ttl < 0 ? 0 : ttl;
}

absl::StatusOr<RangeAnswer> ParseRangeTxn(std::string_view body) {
  RangeAnswer out;
  ICAHT_RETURN_IF_ERROR(ForEachTxnResponse(body, &out.revision, [&](json::Value& response) {
    std::vector<std::string>& keys = out.keys.emplace_back();
    return json::ForEachField(response, "", [&](std::string_view op, json::Value& range) {
      if (op != "response_range") return Skip(range);
      return json::ForEachField(range, op, [&](std::string_view field, json::Value& v) {
        if (field != "kvs") return Skip(v);
        return json::ForEachElement(v, "kvs", [&](size_t, json::Value& kv) {
          return json::ForEachField(kv, "kvs", [&](std::string_view name, json::Value& item) {
            if (name != "key") return Skip(item);
            ICAHT_ASSIGN_OR_RETURN(std::string encoded, json::ReadString(item, "key"));
            std::string key;
            if (!Base64Decode(encoded, &key)) return json::FieldError("key", "not base64");
            keys.push_back(std::move(key));
            return absl::OkStatus();
          });
        });
      });
    });
  }));
  return out;
}

absl::StatusOr<std::vector<int64_t>> ParseCountTxn(std::string_view body) {
  std::vector<int64_t> out;
  ICAHT_RETURN_IF_ERROR(ForEachTxnResponse(body, nullptr, [&](json::Value& response) {
    int64_t& count = out.emplace_back(0);
    return json::ForEachField(response, "", [&](std::string_view op, json::Value& range) {
      if (op != "response_range") return Skip(range);
      return json::ForEachField(range, op, [&](std::string_view field, json::Value& v) {
        if (field != "count") return Skip(v);
        ICAHT_ASSIGN_OR_RETURN(count, ReadGatewayInt64(v, "count"));
        return absl::OkStatus();
      });
    });
  }));
  return out;
}

bool TxnSucceeded(std::string_view body) {
  bool succeeded = false;
  absl::Status parsed = json::ParseObjectDocument(body, [&](json::Value& root) {
    return json::ForEachField(root, "", [&](std::string_view key, json::Value& value) {
      if (key != "succeeded") return Skip(value);
      ICAHT_ASSIGN_OR_RETURN(succeeded, json::ReadBool(value, "succeeded"));
      return absl::OkStatus();
    });
  });
  return parsed.ok() && succeeded;
}

std::optional<int> ErrorCode(std::string_view body) {
  std::optional<int> code;
  absl::Status parsed = json::ParseObjectDocument(body, [&](json::Value& root) {
    return json::ForEachField(root, "", [&](std::string_view key, json::Value& value) {
      if (key != "code") return Skip(value);
      ICAHT_ASSIGN_OR_RETURN(int64_t n, json::ReadInt(value, "code", 0, 1000));
      code = static_cast<int>(n);
      return absl::OkStatus();
    });
  });
  if (!parsed.ok()) return std::nullopt;
  return code;
}

std::string Base64Encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

bool Base64Decode(std::string_view text, std::string* out) {
  if (text.size() % 4 != 0) return false;
  out->assign(3 * (text.size() / 4), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out->data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return false;
  // EVP_DecodeBlock counts the padding's bytes too.
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') ++pad;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++pad;
  out->resize(static_cast<size_t>(n) - pad);
  return true;
}

}  // namespace icaht::discovery
