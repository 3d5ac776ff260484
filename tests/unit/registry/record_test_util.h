#pragma once
// What the tests of the service record and its fields share: a record with
// more fields spliced in, and the message of a record that must be refused.

#include <string>
#include <string_view>

#include "gtest/gtest.h"
#include "registry/service_record.h"

namespace icaht::registry {

// The error message of parsing `json`, which must fail with InvalidArgument.
inline std::string ErrorOf(std::string_view json) {
  absl::StatusOr<ServiceRecord> result = ParseServiceRecord(json);
  EXPECT_FALSE(result.ok()) << json;
  if (result.ok()) return "";
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
  return std::string(result.status().message());
}

// `record` written as JSON reads back equal (every field survives a restart).
inline void ExpectRoundTrip(const ServiceRecord& record) {
  absl::StatusOr<ServiceRecord> again = ParseServiceRecord(ToJson(record));
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << ToJson(record);
  EXPECT_EQ(*again, record);
}

// A valid record with `extra` spliced in as more fields (", ..." form).
inline std::string With(std::string_view extra) {
  return std::string(R"({"name":"orders","upstreams":["127.0.0.1:8080"])") + std::string(extra) +
         "}";
}

}  // namespace icaht::registry
