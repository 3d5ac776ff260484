#pragma once
// What native plugins (filters/plugin_filter.h) and Lua scripts
// (filters/lua_filter.h) may do to an exchange, checked in one place: the
// host side of include/icaht/plugin.h, also behind the Lua API.
//
// Every change is checked before it is made: header names must be tokens of
// at most ICAHT_MAX_HEADER_NAME bytes, values at most ICAHT_MAX_HEADER_VALUE
// bytes without CR, LF, NUL or other controls (HTAB aside), the framing and
// hop-by-hop fields (Content-Length, Transfer-Encoding, Connection, ...) are
// the proxy's, and one exchange gets at most ICAHT_MAX_ADDED_BYTES of added
// fields. A refused change returns ICAHT_EINVAL or ICAHT_ETOOBIG and marks
// the call failed (ctx.extension.failed): the calling filter answers 500
// instead of letting a half-edited exchange go on.
//
// Strings given are copied into the context (ctx.extension.strings); strings
// returned view the context and are valid until the phase ends. Shard-owned.

#include <cstdint>
#include <optional>
#include <string_view>

#include "filters/request_context.h"

namespace icaht::filters::extension {

using Phase = ExtensionCall::Phase;

// Starts a call of `phase` by `owner` (the calling filter).
inline void Begin(const RequestContext& ctx, Phase phase, void* owner) {
  ctx.extension.phase = phase;
  ctx.extension.owner = owner;
  ctx.extension.failed = false;
  ctx.extension.failure = {};
  ctx.extension.responded = false;
}

std::string_view Path(const RequestContext& ctx);
// The request field as it goes upstream: an earlier filter's (or this
// call's) edit first, nothing when one removed it, else the client's.
std::optional<std::string_view> RequestHeader(const RequestContext& ctx, std::string_view name);
// The upstream's response field (nullopt for local answers and in the
// request phase).
std::optional<std::string_view> ResponseHeader(const RequestContext& ctx, std::string_view name);
// 0 in the request phase.
int Status(const RequestContext& ctx);
int64_t DurationUs(const RequestContext& ctx);

// Request phase only.
int SetRequestHeader(RequestContext& ctx, std::string_view name, std::string_view value);
int RemoveRequestHeader(RequestContext& ctx, std::string_view name);
// status 200..599, body at most ICAHT_MAX_BODY bytes.
int Respond(RequestContext& ctx, int status, std::string_view body);
// Request and response phases; `add` adds one more field instead of
// replacing those of that name.
int SetResponseHeader(RequestContext& ctx, std::string_view name, std::string_view value, bool add);
int RemoveResponseHeader(RequestContext& ctx, std::string_view name);
// Response phase only: 200..599, never to or from 204 or 304.
int SetStatus(RequestContext& ctx, int status);

// Marks the call failed (an invalid verdict, an error) and returns EINVAL.
int Fail(const RequestContext& ctx, std::string_view why);
// The 500 a failed request-phase call answers with, in ctx.local_response.
void FillFailure(RequestContext& ctx);
// A failed response-phase call: the head is not written yet but the body
// will follow, so the status becomes 500 (not for 1xx, 204, 304).
void FailResponse(RequestContext& ctx);

}  // namespace icaht::filters::extension
