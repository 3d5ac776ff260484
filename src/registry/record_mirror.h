#pragma once
// The record's `mirror` field: a copy of a share of the service's requests
// goes to another upstream, fire-and-forget, its answer discarded (request
// shadowing; semantics in proxy/mirror.h):
//
//   "mirror": null   off, as when absent
//   "mirror": {"upstream": "127.0.0.1:9090", "percent": 10,
//              "max_body_bytes": 65536, "timeout_ms": 1000}
//              `upstream` required ("host:port", as an upstreams[] address:
//              an IP literal or localhost); `percent` a number 0..100,
//              fractions allowed (default 100); `max_body_bytes` 0..16 MiB
//              (default 64 KiB: a request with a longer body is not
//              mirrored); `timeout_ms` 1..60000 for the copy's whole exchange
//              (default 1000)
//
// Errors name the field ("field 'mirror.percent': ...").

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "core/boxed.h"
#include "net/address.h"
#include "registry/json_reader.h"
#include "registry/json_writer.h"

namespace icaht::registry {

struct MirrorSpec {
  std::string upstream;  // as the user wrote it ("127.0.0.1:9090")
  net::Address resolved;
  double percent = 100;                 // 0..100: the share of requests copied
  uint32_t max_body_bytes = 64 * 1024;  // 0..16 MiB: longer bodies are not mirrored
  uint32_t timeout_ms = 1000;           // 1..60000: connect + request + whole answer

  friend bool operator==(const MirrorSpec&, const MirrorSpec&) = default;
};

inline constexpr uint32_t kMaxMirrorBodyBytes = 16 << 20;

absl::Status ParseMirror(json::Value& value, const std::string& path, core::Boxed<MirrorSpec>& out);
// Null when off, else every member. ParseMirror(WriteMirror(m)) == m.
void WriteMirror(JsonWriter& writer, const core::Boxed<MirrorSpec>& mirror);

}  // namespace icaht::registry
