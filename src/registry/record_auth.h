#pragma once
// The record's `auth` and `endpoints` fields.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "filters/auth_spec.h"
#include "registry/json_reader.h"
#include "registry/json_writer.h"

namespace icaht::registry {

// {"jwt": {...} | null, "api_key": {...} | null, "forward": {...} | null}, or
// null (none). Checks what can be checked without touching files or the
// network (the control thread loads key files and fetches URLs).
absl::Status ParseAuth(json::Value& value, const std::string& path, filters::AuthSpec& spec);
// null when no method is on, else every method with every field.
void WriteAuth(JsonWriter& w, const filters::AuthSpec& spec);

// [{"path_prefix": "/orders", "methods": ["GET"], "public": false,
//   "auth": {"required": true, "scopes": ["orders:read"], "claims": {"role": ["admin"]}}}]
absl::Status ParseEndpoints(json::Value& value, const std::string& path,
                            std::vector<filters::EndpointSpec>& out);
void WriteEndpoints(JsonWriter& w, const std::vector<filters::EndpointSpec>& endpoints);

// Checks between fields: endpoints that name scopes or claims need auth.jwt;
// forward auth copies no field that jwt.forward_claims sets (the upstream
// would get both). `record_path` names the record ("" or "services[2]").
absl::Status CheckAuthAndEndpoints(const filters::AuthSpec& auth,
                                   const std::vector<filters::EndpointSpec>& endpoints,
                                   std::string_view record_path);

}  // namespace icaht::registry
