#include "filters/request_id.h"

#include <cstring>

#include "core/random.h"

namespace icaht::filters {

bool IsValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 200) return false;
  for (unsigned char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

void UuidGenerator::Generate(char out[36]) {
  thread_local core::FastRandom generator = core::FastRandom::FromEntropy();
  uint64_t hi = generator.Next();
  uint64_t lo = generator.Next();
  hi = (hi & ~0xf000ULL) | 0x4000ULL;              // version 4
  lo = (lo & ~(0xc0ULL << 56)) | (0x80ULL << 56);  // variant 10xx
  static constexpr char kHex[] = "0123456789abcdef";
  uint8_t bytes[16];
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    bytes[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  char* p = out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) *p++ = '-';
    *p++ = kHex[bytes[i] >> 4];
    *p++ = kHex[bytes[i] & 0xf];
  }
}

RequestIdFilter::Choice RequestIdFilter::ChooseId(RequestContext& ctx) const {
  const http::Header* incoming = ctx.has_request() ? ctx.FindRequestHeader(spec_.header) : nullptr;
  if (spec_.trust_incoming && incoming != nullptr && IsValidRequestId(incoming->value)) {
    ctx.request_id.assign(incoming->value);
    return Choice::kKept;
  }
  char uuid[36];
  UuidGenerator::Generate(uuid);
  ctx.request_id.assign(uuid, sizeof uuid);
  return incoming != nullptr ? Choice::kReplaced : Choice::kNew;
}

Verdict RequestIdFilter::OnRequestHead(RequestContext& ctx, FilterCallbacks&) {
  // A kept ID is forwarded with the rest of the head; a new one replaces
  // whatever the client sent (a removal only when it sent one: every field
  // forwarded is checked against the removals).
  Choice choice = ChooseId(ctx);
  if (choice == Choice::kKept) return Verdict::kContinue;
  if (choice == Choice::kReplaced) ctx.upstream_edits.Remove(spec_.header);
  ctx.upstream_edits.Add(spec_.header, ctx.request_id);
  return Verdict::kContinue;
}

void RequestIdFilter::OnResponseHead(RequestContext& ctx) {
  // An answer given before the request phase reached this filter (a
  // malformed head, a health answer) still gets an ID.
  if (ctx.request_id.empty()) ChooseId(ctx);
  ctx.response_edits.Remove(spec_.header);
  ctx.response_edits.Add(spec_.header, ctx.request_id);
}

}  // namespace icaht::filters
