#include "filters/forward_auth.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "core/log.h"
#include "http/message.h"

namespace icaht::filters {
namespace {

// A refusal's fields passed to the client, besides Content-Type.
constexpr std::string_view kRefusalFields[] = {"WWW-Authenticate", "Location", "Set-Cookie"};

bool Listed(const std::vector<std::string>& names, std::string_view name) {
  for (const std::string& n : names) {
    if (n.size() == name.size() && http::EqualsIgnoreCase(n, name)) return true;
  }
  return false;
}

// Appends to `store` the values of the fields of `answer` named in `names`
// (every occurrence, in the answer's order per name), then calls
// add(name, value) for each with `value` viewing `store`: all values are
// appended before the first view is taken, so no view moves.
template <typename Names, typename Add>
void CopyFields(const http::ClientResponse& answer, const Names& names, std::string& store,
                Add add) {
  size_t base = store.size();
  for (std::string_view name : names) {
    for (const auto& [key, value] : answer.headers) {
      if (key.size() == name.size() && http::EqualsIgnoreCase(key, name)) store.append(value);
    }
  }
  std::string_view copied = std::string_view(store).substr(base);
  for (std::string_view name : names) {
    for (const auto& [key, value] : answer.headers) {
      if (key.size() != name.size() || !http::EqualsIgnoreCase(key, name)) continue;
      add(name, copied.substr(0, value.size()));
      copied.remove_prefix(value.size());
    }
  }
}

}  // namespace

ForwardAuthFilter::ForwardAuthFilter(const ForwardAuthSpec& spec, SideCalls* calls)
    : spec_(spec), calls_(calls) {
  ICAHT_CHECK(calls_ != nullptr);
}

bool ForwardAuthFilter::BuildRequest(const RequestContext& ctx, std::string* out) const {
  const http::RequestHead& head = ctx.request();
  bool safe = true;
  auto field = [&](std::string_view name, std::string_view value) {
    safe &= value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
    out->append(name).append(": ").append(value).append("\r\n");
  };
  out->reserve(256 + head.target.size());
  out->append("GET ").append(spec_.path).append(" HTTP/1.1\r\n");
  field("Host", spec_.address);
  field("X-Forwarded-Method", head.method);
  field("X-Forwarded-Proto", "http");
  if (!head.host.empty()) field("X-Forwarded-Host", head.host);
  field("X-Forwarded-Uri", head.target);
  field("X-Forwarded-For", ctx.client_ip);
  for (const http::Header& h : head.headers) {
    if (Listed(spec_.copy_request_headers, h.name)) field(h.name, h.value);
  }
  out->append("Connection: close\r\n\r\n");
  return safe;
}

Verdict ForwardAuthFilter::OnRequestHead(RequestContext& ctx, FilterCallbacks& callbacks) {
  for (const std::string& name : spec_.copy_response_headers) ctx.upstream_edits.Remove(name);
  if (ctx.public_endpoint) return Verdict::kContinue;
  SideCallRequest request;
  request.address = spec_.resolved;
  request.timeout_ms = spec_.timeout_ms;
  request.max_body_bytes = kMaxAnswerBytes;
  if (!BuildRequest(ctx, &request.bytes)) {
    FailClosed(ctx, "a request field holds CR, LF or NUL");
    return Verdict::kRespond;
  }
  // The exchange (ctx, callbacks) outlives the call: it cancels it in OnCancel.
  RequestContext* c = &ctx;
  FilterCallbacks* cb = &callbacks;
  ctx.side_call = calls_->StartSideCall(std::move(request),
                                        [this, c, cb](absl::StatusOr<http::ClientResponse> answer) {
                                          c->side_call = nullptr;
                                          OnAnswer(*c, *cb, std::move(answer));
                                        });
  return Verdict::kPause;
}

void ForwardAuthFilter::OnCancel(RequestContext& ctx) {
  SideCall* call = ctx.side_call;
  ctx.side_call = nullptr;
  if (call != nullptr) call->Cancel();
}

void ForwardAuthFilter::OnAnswer(RequestContext& ctx, FilterCallbacks& callbacks,
                                 absl::StatusOr<http::ClientResponse> answer) {
  if (!answer.ok()) {
    FailClosed(ctx, answer.status().message());
    return callbacks.RespondLocally();
  }
  int status = answer->status;
  if (status >= 200 && status < 300) {
    ctx.forward_auth.clear();
    CopyFields(*answer, spec_.copy_response_headers, ctx.forward_auth,
               [&ctx](std::string_view name, std::string_view value) {
                 ctx.upstream_edits.Add(name, value);
               });
    return callbacks.Resume();
  }
  if (status < 300 || status > 599) {
    FailClosed(ctx, absl::StrCat("the auth service answered with status ", status));
    return callbacks.RespondLocally();
  }
  ++denials_;
  ctx.auth_failure = static_cast<int8_t>(AuthFailure::kForwardDenied);
  PassRefusal(ctx, *answer);
  callbacks.RespondLocally();
}

void ForwardAuthFilter::PassRefusal(RequestContext& ctx, http::ClientResponse& answer) {
  LocalResponse& response = ctx.local_response;
  std::string& store = ctx.forward_auth;
  store.clear();
  if (const std::string* type = answer.Find("content-type")) store.append(*type);
  size_t type_size = store.size();
  CopyFields(answer, kRefusalFields, store,
             [&response](std::string_view name, std::string_view value) {
               response.fields.push_back({name, value});
             });
  response.content_type = std::string_view(store).substr(0, type_size);  // "": none sent
  response.status = answer.status;
  response.body = std::move(answer.body);
}

void ForwardAuthFilter::FailClosed(RequestContext& ctx, absl::string_view why) {
  ++failures_;
  ctx.auth_failure = static_cast<int8_t>(AuthFailure::kForwardUnavailable);
  ICAHT_LOG_LIMITED(kWarn, "service '", std::string(ctx.service_name), "': forward auth to ",
                    spec_.address, " failed (answered 503): ", why);
  ctx.local_response.status = 503;
  ctx.local_response.content_type = "text/plain; charset=utf-8";
  ctx.local_response.body.assign("authentication service unavailable\n");
}

}  // namespace icaht::filters
