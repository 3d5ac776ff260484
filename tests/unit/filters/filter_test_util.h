#pragma once
// What the filter tests share: callbacks nobody calls (or that count), and a context holding
// its own copy of a raw request head, as an exchange's does.

#include <string>

#include "filters/filter.h"
#include "filters/request_context.h"
#include "gtest/gtest.h"
#include "http/request_parser.h"

namespace icaht::filters {

class NoCallbacks final : public FilterCallbacks {
 public:
  void Resume() override {}
  void RespondLocally() override {}
};

// Counts how a paused exchange was resumed.
class CountingCallbacks final : public FilterCallbacks {
 public:
  void Resume() override { ++resumed; }
  void RespondLocally() override { ++responded; }
  int resumed = 0;
  int responded = 0;
};

// Parses `raw` (a complete head) into `ctx`, which copies it.
inline void SetRequestText(RequestContext& ctx, const std::string& raw) {
  http::RequestHead head;
  http::ParseError error;
  EXPECT_EQ(http::ParseRequestHead(raw, http::Limits{}, &head, &error),
            http::ParseStatus::kComplete)
      << raw;
  ctx.SetRequest(head, raw);
}

}  // namespace icaht::filters
