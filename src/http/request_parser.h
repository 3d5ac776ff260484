#pragma once

#include "http/message.h"

namespace icaht::http {

// Parses one request head from the start of `data` (RFC 9112, strictly).
//
// Incremental by re-scan: when the head is not yet complete it returns
// kIncomplete without side effects the caller must keep, and the caller calls
// again with the same bytes plus more. Any split of a valid request parses to
// the same result. Limits are enforced even on incomplete input (a request line
// longer than max_request_line with no CRLF yet is already kUriTooLong).
//
// On kComplete, `out` holds views into `data` and out->head_size says how many
// bytes the head took; the body (if any) starts right after.
// On kError, *error says which status to answer and out->error_detail why.
//
// Strictness: CRLF line endings only (bare CR or bare LF -> 400), token
// method, single SP separators, HTTP/1.0 or HTTP/1.1 (HTTP/1.x with x > 1 is
// handled as 1.1, RFC 9110 section 2.5; a major version other than 1 -> 505;
// HTTP/0.9, i.e. no version -> 400), token field names, no whitespace before the
// colon, no obs-fold, no CTLs in values except HTAB. Framing: Transfer-Encoding
// together with Content-Length -> 400; Transfer-Encoding whose final coding is
// not chunked -> 400 (request); any coding other than chunked -> 501; differing or
// malformed Content-Length values -> 400; HTTP/1.1 without exactly one Host ->
// 400.
ParseStatus ParseRequestHead(std::string_view data, const Limits& limits, RequestHead* out,
                             ParseError* error);

}  // namespace icaht::http
