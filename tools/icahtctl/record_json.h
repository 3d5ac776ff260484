#pragma once

// The JSON icahtctl reads and writes: service records (as far as the client needs to show
// them), API errors, and request bodies built from command-line flags.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "simdjson.h"

namespace icaht::ctl {

struct UpstreamArg {
  std::string address;
  std::optional<uint32_t> weight;  // unset: the daemon's default
};

// What the table shows of a service record; other fields are ignored.
struct RecordSummary {
  std::string name;
  std::optional<uint64_t> port;
  std::string version;
  std::vector<UpstreamArg> upstreams;
};

// "malformed response from daemon: WHAT: <simdjson's message>".
absl::Status Malformed(std::string_view what, simdjson::error_code err);

struct ApiError {
  std::string code;
  std::string message;
};

// Appends `s` as a JSON string literal (quotes included) with RFC 8259 escaping.
void AppendJsonString(std::string* out, std::string_view s);

// {"name":...,"upstreams":[{"address":...,"weight":...}],"port":...,"version":...}
std::string BuildRecordJson(std::string_view name, const std::vector<UpstreamArg>& upstreams,
                            std::optional<uint32_t> port, std::optional<std::string> version);

// Parses one record object.
absl::StatusOr<RecordSummary> ParseRecord(std::string_view json);
// Parses {"services":[record,...]}.
absl::StatusOr<std::vector<RecordSummary>> ParseRecordList(std::string_view json);
// Parses {"error":{"code":...,"message":...}}.
absl::StatusOr<ApiError> ParseApiError(std::string_view json);

// Returns the record `json` (an object) with "upstreams" replaced when `upstreams` is set and
// "version" replaced when `version` is set; every other field is kept verbatim.
absl::StatusOr<std::string> ReplaceRecordFields(
    std::string_view json, const std::optional<std::vector<UpstreamArg>>& upstreams,
    const std::optional<std::string>& version);

// Renders records as an aligned table: NAME PORT UPSTREAMS VERSION.
std::string FormatTable(const std::vector<RecordSummary>& records);

}  // namespace icaht::ctl
