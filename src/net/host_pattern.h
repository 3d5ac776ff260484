#pragma once
// Which external hosts the egress listener may call (--egress-allow): a
// pattern is a host name ("api.example.com"), a wildcard over its subdomains
// ("*.example.com": "a.example.com" and "b.a.example.com", not
// "example.com"), or an IP literal ("10.0.0.5", "[::1]"); optionally with
// ":PORT" (else any port). Host names compare case-insensitively.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace icaht::net {

class HostPattern {
 public:
  // "expected a host name, *.domain or IP literal, with an optional :PORT".
  static absl::StatusOr<HostPattern> Parse(std::string_view text);
  // `host` without brackets ("::1"), any case.
  bool Matches(std::string_view host, uint16_t port) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::string host_;  // lower case, no brackets; the suffix ".example.com" for a wildcard
  bool wildcard_ = false;
  uint16_t port_ = 0;  // 0: any
};

bool AnyMatches(const std::vector<HostPattern>& patterns, std::string_view host, uint16_t port);

// A syntactically valid DNS host name (letters, digits, '-', dots between
// labels of 1..63, at most 253 characters)?
bool IsValidHostName(std::string_view host);

}  // namespace icaht::net
