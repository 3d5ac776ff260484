#include "tracing/b3.h"

namespace icaht::tracing {
namespace {

// 32 or 16 hex characters; a 64-bit id fills the low 8 bytes.
bool ReadTraceId(std::string_view hex, TraceId& id) {
  if (hex.size() == kTraceIdHexSize) return ReadHex(hex, id) && !IsZero(id);
  if (hex.size() != kSpanIdHexSize) return false;
  SpanId low;
  if (!ReadHex(hex, low) || IsZero(low)) return false;
  id = {};
  for (size_t i = 0; i < 8; ++i) id[8 + i] = low[i];
  return true;
}

bool ReadSpanId(std::string_view hex, SpanId& id) {
  return hex.size() == kSpanIdHexSize && ReadHex(hex, id) && !IsZero(id);
}

std::optional<B3Sampling> SingleSampling(std::string_view s) {
  if (s == "0") return B3Sampling::kDeny;
  if (s == "1") return B3Sampling::kAccept;
  if (s == "d") return B3Sampling::kDebug;
  return std::nullopt;
}

}  // namespace

std::optional<B3Context> ParseB3Single(std::string_view value) {
  B3Context ctx;
  if (value.size() == 1) {
    std::optional<B3Sampling> sampling = SingleSampling(value);
    if (!sampling) return std::nullopt;
    ctx.sampling = *sampling;
    return ctx;
  }
  const size_t dash = value.find('-');
  if (dash == std::string_view::npos || !ReadTraceId(value.substr(0, dash), ctx.trace_id)) {
    return std::nullopt;
  }
  std::string_view rest = value.substr(dash + 1);
  if (rest.size() < kSpanIdHexSize || !ReadSpanId(rest.substr(0, kSpanIdHexSize), ctx.span_id)) {
    return std::nullopt;
  }
  ctx.has_ids = true;
  rest.remove_prefix(kSpanIdHexSize);
  if (rest.empty()) return ctx;
  // "-" SamplingState [ "-" ParentSpanId ]
  if (rest.size() < 2 || rest[0] != '-') return std::nullopt;
  std::optional<B3Sampling> sampling = SingleSampling(rest.substr(1, 1));
  if (!sampling) return std::nullopt;
  ctx.sampling = *sampling;
  rest.remove_prefix(2);
  if (rest.empty()) return ctx;
  SpanId parent;
  if (rest[0] != '-' || !ReadSpanId(rest.substr(1), parent)) return std::nullopt;
  return ctx;
}

std::optional<B3Context> ParseB3Multi(const B3MultiFields& fields) {
  B3Context ctx;
  if (fields.flags == "1") {
    ctx.sampling = B3Sampling::kDebug;
  } else if (fields.sampled == "1" || fields.sampled == "true") {
    ctx.sampling = B3Sampling::kAccept;
  } else if (fields.sampled == "0" || fields.sampled == "false") {
    ctx.sampling = B3Sampling::kDeny;
  }
  if (fields.trace_id.empty() && fields.span_id.empty()) {
    if (ctx.sampling == B3Sampling::kDefer) return std::nullopt;
    return ctx;
  }
  if (!ReadTraceId(fields.trace_id, ctx.trace_id) || !ReadSpanId(fields.span_id, ctx.span_id)) {
    return std::nullopt;
  }
  SpanId parent;
  if (!fields.parent_span_id.empty() && !ReadSpanId(fields.parent_span_id, parent)) {
    return std::nullopt;
  }
  ctx.has_ids = true;
  return ctx;
}

}  // namespace icaht::tracing
