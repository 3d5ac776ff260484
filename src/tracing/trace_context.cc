#include "tracing/trace_context.h"

#include <cstring>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "http/field_syntax.h"
#include "tracing/b3.h"
#include "tracing/tracestate.h"

namespace icaht::tracing {
namespace {

constexpr size_t kTraceparentSize = 55;  // version 00

// The trace header fields a request may carry.
enum Field : uint8_t {
  kTraceparent,
  kTracestate,
  kB3,
  kB3TraceId,
  kB3SpanId,
  kB3ParentSpanId,
  kB3Sampled,
  kB3Flags,
  kFieldCount,
  kOther = kFieldCount,
};

// Case-insensitive match of a header name against a lowercase literal. Folding
// with | 0x20 maps exactly the letters onto their lowercase; the literals'
// digits and '-' could be matched otherwise only by control characters, which
// no field name holds. Cheaper than http::EqualsIgnoreCase on this path.
template <size_t N>
bool NameIs(std::string_view name, const char (&lower)[N]) {
  if (name.size() != N - 1) return false;
  for (size_t i = 0; i + 1 < N; ++i) {
    if ((name[i] | 0x20) != lower[i]) return false;
  }
  return true;
}

// Which field `name` is, among the formats `p` reads.
Field Classify(std::string_view name, const Propagation& p) {
  switch (name.size()) {  // tells the names apart, but for two pairs
    case 2:
      return p.b3 && NameIs(name, "b3") ? kB3 : kOther;
    case 10:
      if (p.w3c && NameIs(name, "tracestate")) return kTracestate;
      return p.b3_multi && NameIs(name, "x-b3-flags") ? kB3Flags : kOther;
    case 11:
      if (p.w3c && NameIs(name, "traceparent")) return kTraceparent;
      return p.b3_multi && NameIs(name, "x-b3-spanid") ? kB3SpanId : kOther;
    case 12:
      if (!p.b3_multi) return kOther;
      if (NameIs(name, "x-b3-traceid")) return kB3TraceId;
      return NameIs(name, "x-b3-sampled") ? kB3Sampled : kOther;
    case 17:
      return p.b3_multi && NameIs(name, "x-b3-parentspanid") ? kB3ParentSpanId : kOther;
    default:
      return kOther;
  }
}

// The trace fields of one request, from one pass over its headers: the first
// field of each name, and how many there were (counting to 2: "repeated").
// Pointers rather than views keep it small to clear.
struct Incoming {
  const http::Header* first[kFieldCount] = {};
  uint8_t count[kFieldCount] = {};

  std::string_view value(Field f) const { return first[f] ? http::TrimOws(first[f]->value) : ""; }
};

Incoming Collect(std::span<const http::Header> headers, const Propagation& p) {
  Incoming in;
  for (const http::Header& h : headers) {
    const Field f = Classify(h.name, p);
    if (f == kOther) continue;
    if (in.count[f] == 0) in.first[f] = &h;
    if (in.count[f] < 2) ++in.count[f];
  }
  return in;
}

// Several tracestate fields are one list (rare: gathered in a second pass).
std::string_view CombinedTracestate(std::span<const http::Header> headers, const Incoming& in,
                                    std::string& buffer) {
  if (in.count[kTracestate] == 1) {
    const std::string_view field = in.value(kTracestate);
    return ProcessTracestate({&field, 1}, buffer);
  }
  absl::InlinedVector<std::string_view, 8> fields;
  for (const http::Header& h : headers) {
    if (NameIs(h.name, "tracestate")) fields.push_back(http::TrimOws(h.value));
  }
  return ProcessTracestate(fields, buffer);
}

// The X-B3-* fields, unless one of them is repeated.
std::optional<B3Context> B3MultiContext(const Incoming& in) {
  for (Field f : {kB3TraceId, kB3SpanId, kB3ParentSpanId, kB3Sampled, kB3Flags}) {
    if (in.count[f] > 1) return std::nullopt;
  }
  return ParseB3Multi({.trace_id = in.value(kB3TraceId),
                       .span_id = in.value(kB3SpanId),
                       .parent_span_id = in.value(kB3ParentSpanId),
                       .sampled = in.value(kB3Sampled),
                       .flags = in.value(kB3Flags)});
}

bool SampleByRatio(const TraceId& trace_id, double ratio) {
  if (ratio >= 1.0) return true;
  if (!(ratio > 0.0)) return false;  // NaN too
  return static_cast<double>(LowBits(trace_id) >> 11) * 0x1.0p-53 < ratio;
}

void ApplyB3(const B3Context& b3, double ratio, core::FastRandom& rng, TraceContext& ctx) {
  if (b3.has_ids) {
    ctx.trace_id = b3.trace_id;
    ctx.parent_span_id = b3.span_id;
    ctx.continued = true;
  } else {
    ctx.trace_id = NewTraceId(rng);
  }
  switch (b3.sampling) {
    case B3Sampling::kDefer:
      ctx.sampled = SampleByRatio(ctx.trace_id, ratio);
      break;
    case B3Sampling::kDeny:
      ctx.sampled = false;
      break;
    case B3Sampling::kAccept:
      ctx.sampled = true;
      break;
    case B3Sampling::kDebug:
      ctx.sampled = ctx.debug = true;
      break;
  }
}

}  // namespace

absl::StatusOr<Propagation> ParsePropagation(std::span<const std::string> names) {
  if (names.empty()) {
    return absl::InvalidArgumentError("must name at least one of w3c, b3, b3multi");
  }
  Propagation p{.w3c = false};
  for (const std::string& name : names) {
    bool* flag = name == "w3c"       ? &p.w3c
                 : name == "b3"      ? &p.b3
                 : name == "b3multi" ? &p.b3_multi
                                     : nullptr;
    if (flag == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown format \"", name, "\" (use w3c, b3 or b3multi)"));
    }
    if (*flag) {
      return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" is listed twice"));
    }
    *flag = true;
  }
  return p;
}

std::optional<Traceparent> ParseTraceparent(std::string_view v) {
  // version "-" trace-id "-" parent-id "-" trace-flags
  if (v.size() < kTraceparentSize || v[2] != '-' || v[35] != '-' || v[52] != '-') {
    return std::nullopt;
  }
  std::array<uint8_t, 1> version;
  std::array<uint8_t, 1> flags;
  Traceparent tp;
  if (!ReadHex(v, version) || version[0] == 0xff || !ReadHex(v.substr(3), tp.trace_id) ||
      !ReadHex(v.substr(36), tp.parent_id) || !ReadHex(v.substr(53), flags) ||
      IsZero(tp.trace_id) || IsZero(tp.parent_id)) {
    return std::nullopt;
  }
  // Version 00 is exactly 55 characters; a later one may append "-" fields.
  if (v.size() > kTraceparentSize && (version[0] == 0 || v[kTraceparentSize] != '-')) {
    return std::nullopt;
  }
  tp.version = version[0];
  tp.flags = flags[0];
  return tp;
}

TraceContext DecideTrace(std::span<const http::Header> headers, const TracingSpec& spec,
                         core::FastRandom& rng, std::string& tracestate_buffer) {
  const Propagation& p = spec.propagation;
  const Incoming in = Collect(headers, p);
  TraceContext ctx;
  ctx.span_id = NewSpanId(rng);
  for (uint8_t count : in.count) ctx.had_fields |= count != 0;

  // A repeated field is ambiguous: as invalid as a malformed one.
  if (in.count[kTraceparent] == 1) {
    if (std::optional<Traceparent> tp = ParseTraceparent(in.value(kTraceparent))) {
      ctx.trace_id = tp->trace_id;
      ctx.parent_span_id = tp->parent_id;
      ctx.sampled = (tp->flags & 1) != 0;
      ctx.continued = true;
      if (in.count[kTracestate] > 0) {
        ctx.tracestate = CombinedTracestate(headers, in, tracestate_buffer);
      }
      return ctx;
    }
  }
  if (in.count[kB3] == 1) {
    if (std::optional<B3Context> b3 = ParseB3Single(in.value(kB3))) {
      ApplyB3(*b3, spec.sample_ratio, rng, ctx);
      return ctx;
    }
  }
  if (p.b3_multi) {
    if (std::optional<B3Context> b3 = B3MultiContext(in)) {
      ApplyB3(*b3, spec.sample_ratio, rng, ctx);
      return ctx;
    }
  }
  ctx.trace_id = NewTraceId(rng);
  ctx.sampled = SampleByRatio(ctx.trace_id, spec.sample_ratio);
  return ctx;
}

TraceHeaders FormatTraceHeaders(const TraceContext& ctx, const Propagation& propagation,
                                std::span<char, kTraceHeaderBufferSize> buffer) {
  TraceHeaders out;
  char* p = buffer.data();
  auto add = [&out](std::string_view name, const char* begin, const char* end) {
    out.Add(name, std::string_view(begin, static_cast<size_t>(end - begin)));
  };
  if (propagation.w3c) {
    char* begin = p;
    std::memcpy(p, "00-", 3);
    p = WriteHex(ctx.trace_id, p + 3);
    *p++ = '-';
    p = WriteHex(ctx.span_id, p);
    std::memcpy(p, ctx.sampled ? "-01" : "-00", 3);
    p += 3;
    add("traceparent", begin, p);
    if (!ctx.tracestate.empty()) out.Add("tracestate", ctx.tracestate);
  }
  const char sampling = ctx.debug ? 'd' : ctx.sampled ? '1' : '0';
  if (propagation.b3) {
    char* begin = p;
    p = WriteHex(ctx.trace_id, p);
    *p++ = '-';
    p = WriteHex(ctx.span_id, p);
    *p++ = '-';
    *p++ = sampling;
    if (ctx.has_parent()) {
      *p++ = '-';
      p = WriteHex(ctx.parent_span_id, p);
    }
    add("b3", begin, p);
  }
  if (propagation.b3_multi) {
    char* begin = p;
    p = WriteHex(ctx.trace_id, p);
    add("X-B3-TraceId", begin, p);
    begin = p;
    p = WriteHex(ctx.span_id, p);
    add("X-B3-SpanId", begin, p);
    if (ctx.has_parent()) {
      begin = p;
      p = WriteHex(ctx.parent_span_id, p);
      add("X-B3-ParentSpanId", begin, p);
    }
    // Debug implies an accept decision: X-B3-Flags alone.
    static constexpr char kOne[] = "1";
    static constexpr char kZero[] = "0";
    const char* value = ctx.sampled ? kOne : kZero;
    add(ctx.debug ? "X-B3-Flags" : "X-B3-Sampled", value, value + 1);
  }
  return out;
}

}  // namespace icaht::tracing
