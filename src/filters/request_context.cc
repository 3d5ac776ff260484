#include "filters/request_context.h"

#include <algorithm>

#include "http/field_syntax.h"

namespace icaht::filters {

bool HeaderEdits::Removes(std::string_view name) const {
  for (std::string_view removed : removed_) {
    if (removed.size() == name.size() && http::EqualsIgnoreCase(removed, name)) return true;
  }
  return false;
}

namespace {
bool SameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && http::EqualsIgnoreCase(a, b);
}
}  // namespace

void HeaderEdits::RemoveAll(std::string_view name) {
  if (!Removes(name)) removed_.push_back(name);
  added_.erase(std::remove_if(added_.begin(), added_.end(),
                              [&](const http::Header& h) { return SameName(h.name, name); }),
               added_.end());
}

void HeaderEdits::Set(std::string_view name, std::string_view value) {
  RemoveAll(name);
  added_.push_back({name, value});
}

const std::string_view* HeaderEdits::FindAdded(std::string_view name) const {
  for (size_t i = added_.size(); i-- > 0;) {
    if (SameName(added_[i].name, name)) return &added_[i].value;
  }
  return nullptr;
}

std::string_view KeptStrings::Keep(std::string_view text) {
  if (used_ == strings_.size()) strings_.push_back(std::make_unique<std::string>());
  std::string& kept = *strings_[used_++];
  kept.assign(text.data(), text.size());
  bytes_ += text.size();
  return kept;
}

const http::RequestHead& RequestContext::EmptyHead() {
  static const http::RequestHead kEmpty;
  return kEmpty;
}

void RequestContext::Reset() {
  // request_ keeps the last head: request() hides it, SetRequest overwrites it.
  has_request_ = false;
  service_name = {};
  client_ip = {};
  tls = nullptr;
  request_id.clear();
  identity.clear();
  claims.clear();
  rate_limit_header.clear();
  upstream_edits.Clear();
  response_edits.Clear();
  local_response.status = 0;
  local_response.content_type = LocalResponse{}.content_type;
  local_response.body.clear();
  local_response.body_view = {};
  local_response.fields.clear();
  www_authenticate.clear();
  auth_failure = -1;
  rate_limited = RateLimited::kNo;
  fault = FaultInjected::kNone;
  if (extension.phase != ExtensionCall::Phase::kNone) {
    extension.phase = ExtensionCall::Phase::kNone;
    extension.failed = extension.responded = false;
    extension.failure = {};
    extension.owner = nullptr;
    extension.paused = extension.timer_armed = false;
    extension.callbacks = nullptr;
    extension.resumed = nullptr;
    extension.strings.Clear();
  }
  if (cache.result != CacheResult::kNone || !cache.key.empty() || cache.unsafe) {
    cache.result = CacheResult::kNone;
    cache.unsafe = cache.revalidating = cache.consult = cache.store = cache.head_request = false;
    cache.leader = false;
    cache.key.clear();
    // A large body's buffer is not kept for the connection's next exchanges.
    if (cache.body.capacity() > 64 * 1024) {
      std::string().swap(cache.body);
    } else {
      cache.body.clear();
    }
    cache.age.clear();
    cache.if_none_match.clear();
    cache.if_modified_since.clear();
    cache.request_time = 0;
    cache.pending.reset();
    cache.stale.reset();
  }
  forward_auth.clear();
  public_endpoint = false;
  route = {};
  route_name = {};
  subset = {};
  side_call = nullptr;
  trace = {};
  tracestate_buffer.clear();
  start_ns = response_head_ns = end_ns = upstream_start_ns = upstream_head_ns = 0;
  response_status = 0;
  response_head_bytes = 0;
  upstream_response = nullptr;
  upstream_index = -1;
  upstream_address = {};
  attempts = 0;
  retry_budget_exhausted = false;
  overflow = Overflow::kNone;
  request_body_bytes = response_body_bytes = 0;
  outcome = Outcome::kNone;
  error = ProxyError{};
}

void RequestContext::SetRequest(const http::RequestHead& head, std::string_view input) {
  // The head's views all point into the head's bytes: copy them once and
  // re-point the views (one copy, no allocation per field).
  const char* base = input.data();
  head_bytes_.assign(base, head.head_size);
  const char* copy = head_bytes_.data();
  auto rebase = [base, copy](std::string_view view) {
    if (view.empty()) return std::string_view();
    return std::string_view(copy + (view.data() - base), view.size());
  };
  request_ = head;
  request_.method = rebase(head.method);
  request_.target = rebase(head.target);
  request_.host = rebase(head.host);
  for (http::Header& h : request_.headers) {
    h.name = rebase(h.name);
    h.value = rebase(h.value);
  }
  has_request_ = true;
}

void RequestContext::RewriteTarget(std::string_view target, std::string_view host) {
  target_.assign(target);
  request_.target = target_;
  request_.target_form = http::TargetForm::kOrigin;
  if (host.empty()) return;
  host_.assign(host);
  request_.host = host_;
  for (http::Header& h : request_.headers) {
    if (http::EqualsIgnoreCase(h.name, "host")) {
      h.value = host_;
      return;
    }
  }
  request_.headers.push_back({"Host", host_});
}

std::string_view RequestContext::path() const {
  std::string_view target = request().target;
  size_t q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

const http::Header* RequestContext::FindRequestHeader(std::string_view name) const {
  for (const http::Header& h : request().headers) {
    if (h.name.size() == name.size() && http::EqualsIgnoreCase(h.name, name)) return &h;
  }
  return nullptr;
}

std::string_view RequestContext::FindCookie(std::string_view name) const {
  for (const http::Header& h : request().headers) {
    if (!http::EqualsIgnoreCase(h.name, "cookie")) continue;
    std::string_view rest = h.value;
    while (!rest.empty()) {
      size_t semi = rest.find(';');
      std::string_view pair = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      size_t eq = pair.find('=');
      // RFC 6265 5.2: name and value trimmed of spaces and tabs.
      if (eq != std::string_view::npos && http::TrimOws(pair.substr(0, eq)) == name) {
        std::string_view value = http::TrimOws(pair.substr(eq + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
          value = value.substr(1, value.size() - 2);
        }
        return value;
      }
    }
  }
  return {};
}

}  // namespace icaht::filters
