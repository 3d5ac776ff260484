#include "discovery/etcd_layout.h"

#include <openssl/evp.h>

#include <initializer_list>

#include "absl/strings/str_cat.h"
#include "core/json_string.h"

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

}  // namespace

std::vector<KeyValue> HostKeys(const registry::ServiceRecord& record, const EtcdHost& host) {
  const std::string url = absl::StrCat(host.scheme, "://", host.advertise_host, ":", record.port);
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

std::string PutTxnBody(const std::vector<KeyValue>& leased, int64_t lease,
                       const std::vector<KeyValue>& plain) {
  std::string out = "{\"success\":[";
  bool first = true;
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

std::string DeleteTxnBody(const std::vector<std::string>& keys) {
  std::string out = "{\"success\":[";
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"requestDeleteRange\":{\"key\":\"";
    out += Base64Encode(keys[i]);
    out += "\"}}";
  }
  out += "]}";
  return out;
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
