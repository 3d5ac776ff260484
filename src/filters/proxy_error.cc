#include "filters/proxy_error.h"

namespace icaht::filters {

ErrorSource ProxyError::source() const {
  switch (kind) {
    case ErrorKind::kNone:
    case ErrorKind::kBadRequest:
    case ErrorKind::kBodyTooLarge:
    case ErrorKind::kHeaderTimeout:
    case ErrorKind::kBodyTimeout:
    case ErrorKind::kClientClosed:
    case ErrorKind::kLoopDetected:
    case ErrorKind::kPeerNotAllowed:
      return ErrorSource::kDownstream;
    case ErrorKind::kConnectRefused:
    case ErrorKind::kConnectTimeout:
    case ErrorKind::kUpstreamReset:
    case ErrorKind::kResponseTimeout:
    case ErrorKind::kUpstreamStalled:
    case ErrorKind::kBadResponse:
    case ErrorKind::kProtocolSwitch:
    case ErrorKind::kBodyNotDelivered:
    case ErrorKind::kResponseCut:
    case ErrorKind::kNoHealthyUpstream:
    case ErrorKind::kUpstreamTls:
      return ErrorSource::kUpstream;
    case ErrorKind::kNoConnection:
    case ErrorKind::kOverloaded:
    case ErrorKind::kDrained:
      return ErrorSource::kInternal;
  }
  return ErrorSource::kInternal;
}

int ProxyError::status() const {
  switch (kind) {
    case ErrorKind::kNone:
      return 0;
    case ErrorKind::kBadRequest:
      return parser_status != 0 ? parser_status : 400;
    case ErrorKind::kBodyTooLarge:
      return 413;
    case ErrorKind::kHeaderTimeout:
    case ErrorKind::kBodyTimeout:
      return 408;
    case ErrorKind::kLoopDetected:
      return 508;
    case ErrorKind::kPeerNotAllowed:
      return 403;
    case ErrorKind::kConnectRefused:
    case ErrorKind::kUpstreamReset:
    case ErrorKind::kBadResponse:
    case ErrorKind::kProtocolSwitch:
    case ErrorKind::kBodyNotDelivered:
    case ErrorKind::kUpstreamTls:
      return 502;
    case ErrorKind::kConnectTimeout:
    case ErrorKind::kResponseTimeout:
    case ErrorKind::kUpstreamStalled:
      return 504;
    case ErrorKind::kNoConnection:
    case ErrorKind::kNoHealthyUpstream:
    case ErrorKind::kOverloaded:
      return 503;
    case ErrorKind::kClientClosed:
    case ErrorKind::kResponseCut:
    case ErrorKind::kDrained:
      return 0;  // nobody to answer, or the answer has begun: the connection is cut
  }
  return 500;
}

std::string_view ProxyError::label() const {
  switch (kind) {
    case ErrorKind::kNone:
      return "none";
    case ErrorKind::kBadRequest:
      return "bad_request";
    case ErrorKind::kBodyTooLarge:
      return "body_too_large";
    case ErrorKind::kHeaderTimeout:
      return "header_timeout";
    case ErrorKind::kBodyTimeout:
      return "body_timeout";
    case ErrorKind::kClientClosed:
      return "client_closed";
    case ErrorKind::kLoopDetected:
      return "loop_detected";
    case ErrorKind::kPeerNotAllowed:
      return "peer_not_allowed";
    case ErrorKind::kConnectRefused:
      return "connect_refused";
    case ErrorKind::kConnectTimeout:
      return "connect_timeout";
    case ErrorKind::kUpstreamReset:
      return "upstream_reset";
    case ErrorKind::kResponseTimeout:
      return "response_timeout";
    case ErrorKind::kUpstreamStalled:
      return "upstream_stalled";
    case ErrorKind::kBadResponse:
      return "bad_response";
    case ErrorKind::kProtocolSwitch:
      return "protocol_switch";
    case ErrorKind::kBodyNotDelivered:
      return "body_not_delivered";
    case ErrorKind::kUpstreamTls:
      return "upstream_tls";
    case ErrorKind::kResponseCut:
      return "response_cut";
    case ErrorKind::kNoConnection:
      return "no_connection";
    case ErrorKind::kNoHealthyUpstream:
      return "no_healthy_upstream";
    case ErrorKind::kOverloaded:
      return "overloaded";
    case ErrorKind::kDrained:
      return "drained";
  }
  return "unknown";
}

}  // namespace icaht::filters
