#include "tracing/span.h"

namespace icaht::tracing {

void Span::SetContext(const TraceContext& ctx) {
  trace_id = ctx.trace_id;
  span_id = ctx.span_id;
  parent_span_id = ctx.parent_span_id;
}

void Span::SetName(std::string_view request_method, std::string_view request_route) {
  name.assign(request_method);
  if (!request_route.empty()) {
    name.push_back(' ');
    name.append(request_route);
  }
}

void Span::SetOutcome(uint16_t status, std::string_view error_label) {
  status_code = status;
  error_kind.assign(error_label);
  error = status >= 500 || (status == 0 && !error_label.empty());
}

}  // namespace icaht::tracing
