#pragma once
// The data path's one error type (Pingora's pingora-error, Envoy's response
// flags): what went wrong, on which side, and whether another attempt is
// safe. It decides the status code of the answer, and names the error in
// metrics and logs. No errno crosses a module boundary on the data path.

#include <cstdint>
#include <string_view>

namespace icaht::filters {

enum class ErrorSource : uint8_t { kDownstream, kUpstream, kInternal };

enum class ErrorKind : uint8_t {
  kNone,
  // Downstream (the client).
  kBadRequest,      // malformed head or body framing (the parser's status: 400/414/431/501/505)
  kBodyTooLarge,    // 413: over max_body_bytes
  kHeaderTimeout,   // 408: the head did not arrive within request_ms
  kBodyTimeout,     // 408: the client stopped sending its body
  kClientClosed,    // the client went away before the exchange ended (nothing to answer)
  kLoopDetected,    // 508: the request already passed this proxy too often (Via)
  kPeerNotAllowed,  // 403: the client certificate's identity is not in tls.allow_peers
  // Upstream (the service's instance).
  kConnectRefused,     // 502: connect refused/unreachable/reset (retryable: nothing was sent)
  kConnectTimeout,     // 504: connect timed out (retryable: nothing was sent)
  kUpstreamReset,      // 502: closed before any response byte
  kResponseTimeout,    // 504: no response head within request_ms
  kUpstreamStalled,    // 504: stopped reading the request body (or sending the response body)
  kBadResponse,        // 502: unparseable response head, bad chunk size, unsupported coding
  kProtocolSwitch,     // 502: a 101 the client did not ask for
  kBodyNotDelivered,   // 502: the request body could not be written upstream
  kResponseCut,        // the response died after its head was sent (the client is cut)
  kNoHealthyUpstream,  // 503: active health checks took every instance out (no connect tried)
  kUpstreamTls,        // 502: the TLS handshake with the upstream failed (its certificate, or
                       // the protocol); retryable: nothing of the request was sent
  // Internal (this proxy).
  kNoConnection,  // 503: no upstream socket could be opened (descriptors or memory)
  kOverloaded,    // 503: a circuit breaker's limit was reached (x-icaht-overloaded: true)
  kDrained,       // the service was removed and the drain deadline passed
};

struct ProxyError {
  ErrorKind kind = ErrorKind::kNone;
  // Only for kBadRequest: the parser's status (400, 414, 431, 501, 505).
  uint16_t parser_status = 0;
  // Another attempt (on another connection) cannot repeat a side effect.
  bool retryable = false;
  // Static text for the answer's body ("upstream timed out").
  const char* detail = "";

  bool ok() const { return kind == ErrorKind::kNone; }
  ErrorSource source() const;
  // The status the client is answered with (0 for kinds that cut instead).
  int status() const;
  // snake_case name of the kind: the metric label and the log field.
  std::string_view label() const;
};

inline ProxyError MakeError(ErrorKind kind, const char* detail, bool retryable = false) {
  return ProxyError{kind, 0, retryable, detail};
}

}  // namespace icaht::filters
