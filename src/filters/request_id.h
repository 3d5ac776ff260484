#pragma once
// Request IDs (`request_id` in the service record): every exchange gets one,
// forwarded upstream and echoed on the response, including local answers and
// errors. A valid incoming ID (1-200 visible ASCII characters) is kept when
// trusted; otherwise a UUIDv4 is generated.

#include <cstdint>
#include <string>
#include <string_view>

#include "filters/filter.h"

namespace icaht::filters {

struct RequestIdSpec {
  bool enabled = false;  // the record names `request_id`
  std::string header = "X-Request-Id";
  bool trust_incoming = true;

  friend bool operator==(const RequestIdSpec&, const RequestIdSpec&) = default;
};

// 1-200 characters, each visible ASCII (0x21-0x7E).
bool IsValidRequestId(std::string_view id);

// Random UUIDv4s from a per-thread core::FastRandom seeded once from
// getrandom(2): no system call per ID.
class UuidGenerator {
 public:
  // Writes 36 characters ("xxxxxxxx-xxxx-4xxx-Nxxx-xxxxxxxxxxxx") to `out`.
  static void Generate(char out[36]);
};

class RequestIdFilter final : public Filter {
 public:
  explicit RequestIdFilter(RequestIdSpec spec) : spec_(std::move(spec)) {}
  std::string_view name() const override { return "request_id"; }
  Verdict OnRequestHead(RequestContext& ctx, FilterCallbacks& callbacks) override;
  void OnResponseHead(RequestContext& ctx) override;

 private:
  enum class Choice : uint8_t {
    kKept,      // the trusted incoming ID
    kNew,       // a new UUID; the request had none
    kReplaced,  // a new UUID instead of the one the request had
  };
  // Sets ctx.request_id.
  Choice ChooseId(RequestContext& ctx) const;
  RequestIdSpec spec_;
};

}  // namespace icaht::filters
