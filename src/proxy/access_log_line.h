#pragma once
// One exchange as one JSON object on one line (the access log's format,
// documented in README.md "Access logs"). Pure: appends to a buffer, no
// allocation once the buffer has grown.

#include <cstdint>
#include <string>
#include <string_view>

#include "filters/request_context.h"

namespace icaht::proxy {

// RFC 3339 UTC with milliseconds ("2026-11-30T19:26:33.123Z") for a wall
// clock time; keeps the text of the last second so a line usually costs a
// copy, not a date conversion.
class TimeFormatter {
 public:
  // Valid until the next call.
  std::string_view Text(int64_t unix_ns);

 private:
  int64_t second_ = INT64_MIN;
  char text_[32] = {};  // "YYYY-MM-DDTHH:MM:SS" then ".mmmZ"
  size_t prefix_len_ = 0;
};

// `ctx` is a finished exchange (its log phase) that started at
// `start_unix_ns` on the wall clock.
void AppendAccessLogLine(const filters::RequestContext& ctx, int64_t start_unix_ns,
                         TimeFormatter& time, std::string* out);

// `text` as the inside of a JSON string: quotes, backslashes and control
// characters escaped; bytes outside ASCII as \u00XX (the head's obs-text is
// not necessarily UTF-8, and the line must be valid JSON).
void AppendJsonEscaped(std::string_view text, std::string* out);

}  // namespace icaht::proxy
