// Fuzzes the trace header parsers and the per-request decision (src/tracing). The input is a
// head's fields, one "name:value" per line; the first byte picks the formats and the sampling
// ratio. Invariants: the decision always yields valid ids; a kept tracestate is valid, within
// 512 characters when rebuilt, views the input or the buffer, and processing it again gives it
// back; every header written upstream parses back to the same ids; a version-00 traceparent that
// parses is written back the same.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "tracing/b3.h"
#include "tracing/trace_context.h"
#include "tracing/tracestate.h"

namespace icaht::tracing {
namespace {

using http::fuzz::Inside;

void CheckTraceparent(std::string_view value) {
  const std::optional<Traceparent> tp = ParseTraceparent(value);
  if (!tp) return;
  FUZZ_CHECK(!IsZero(tp->trace_id) && !IsZero(tp->parent_id) && tp->version != 0xff);
  FUZZ_CHECK(value.size() >= 55);
  if (tp->version == 0) {
    char text[55];
    std::memcpy(text, "00-", 3);
    char* p = WriteHex(tp->trace_id, text + 3);
    *p++ = '-';
    p = WriteHex(tp->parent_id, p);
    *p++ = '-';
    std::array<uint8_t, 1> flags = {tp->flags};
    WriteHex(flags, p);
    FUZZ_CHECK(value == std::string_view(text, sizeof text));
  }
}

void CheckTracestate(std::string_view kept) {
  std::string again_buffer;
  const std::string_view fields[] = {kept};
  FUZZ_CHECK(ProcessTracestate(fields, again_buffer) == kept);
}

void CheckRoundTrip(const TraceContext& ctx, const TracingSpec& spec) {
  char buffer[kTraceHeaderBufferSize];
  const TraceHeaders out = FormatTraceHeaders(ctx, spec.propagation, buffer);
  std::vector<http::Header> forwarded(out.begin(), out.end());
  for (const http::Header& h : forwarded) {
    // tracestate views the context's, the B3 sampling values are literals.
    if (h.name == "tracestate" || h.name == "X-B3-Sampled" || h.name == "X-B3-Flags") continue;
    FUZZ_CHECK(Inside(h.value, std::string_view(buffer, sizeof buffer)));
  }
  if (!spec.propagation.w3c && !spec.propagation.b3 && !spec.propagation.b3_multi) return;
  core::FastRandom rng(1);
  std::string tracestate_buffer;
  const TraceContext next = DecideTrace(forwarded, spec, rng, tracestate_buffer);
  FUZZ_CHECK(next.continued);
  FUZZ_CHECK(next.trace_id == ctx.trace_id);
  FUZZ_CHECK(next.parent_span_id == ctx.span_id);
  FUZZ_CHECK(next.sampled == ctx.sampled);
  if (spec.propagation.w3c) FUZZ_CHECK(next.tracestate == ctx.tracestate);
}

}  // namespace
}  // namespace icaht::tracing

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace icaht;
  using namespace icaht::tracing;
  if (size == 0) return 0;
  const http::fuzz::ExactCopy copy(
      std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  const std::string_view input = copy.view();
  TracingSpec spec;
  spec.propagation = {
      .w3c = (data[0] & 1) != 0, .b3 = (data[0] & 2) != 0, .b3_multi = (data[0] & 4) != 0};
  spec.sample_ratio = static_cast<double>(data[0] >> 3) / 31.0;

  std::vector<http::Header> headers;
  size_t from = 0;
  while (from <= input.size()) {
    size_t end = input.find('\n', from);
    if (end == std::string_view::npos) end = input.size();
    const std::string_view line = input.substr(from, end - from);
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      headers.push_back({line.substr(0, colon), line.substr(colon + 1)});
      CheckTraceparent(line.substr(colon + 1));
      (void)ParseB3Single(line.substr(colon + 1));
    }
    from = end + 1;
  }

  core::FastRandom rng(2);
  std::string tracestate_buffer;
  const TraceContext ctx = DecideTrace(headers, spec, rng, tracestate_buffer);
  FUZZ_CHECK(!IsZero(ctx.trace_id) && !IsZero(ctx.span_id));
  FUZZ_CHECK(ctx.continued == ctx.has_parent());
  if (!ctx.tracestate.empty()) {
    FUZZ_CHECK(ctx.continued && spec.propagation.w3c);
    FUZZ_CHECK(Inside(ctx.tracestate, input) || Inside(ctx.tracestate, tracestate_buffer));
    if (Inside(ctx.tracestate, tracestate_buffer)) {
      FUZZ_CHECK(ctx.tracestate.size() <= kMaxTracestateLength);
    }
    CheckTracestate(ctx.tracestate);
  }
  if (ctx.continued) CheckRoundTrip(ctx, spec);
  return 0;
}
