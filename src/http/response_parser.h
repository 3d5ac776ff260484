#pragma once

#include "http/message.h"

namespace icaht::http {

// Parses one response head from the start of `data`, like ParseRequestHead.
// `request_method` decides framing: a response to HEAD, any 1xx, 204 and 304
// have no body; a 2xx to CONNECT has none either (tunnel). Without
// Content-Length or chunked, the body runs until close (kUntilClose).
// Errors are kBadResponse (or kHeadersTooLarge).
ParseStatus ParseResponseHead(std::string_view data, Method request_method, const Limits& limits,
                              ResponseHead* out, ParseError* error);

}  // namespace icaht::http
