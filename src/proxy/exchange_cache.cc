// The exchange's side of the response cache (filters/cache_filter.h): the
// filter decides, the exchange keeps the body it wants and lets it answer in
// the upstream's place.

#include "proxy/exchange.h"

namespace icaht::proxy {

void Exchange::KeepBodyForCache(BodyForwarder::Options* body) {
  // The filter checked a known length against the object limit; a body of
  // unknown length that outgrows it is dropped on the way (captured_whole).
  body->allow_splice = false;
  body->capture = &ctx_.cache.body;
  body->capture_max = service_.cache != nullptr ? service_.cache->max_object_bytes() : 0;
}

void Exchange::StoreKeptBody() {
  if (response_body_.state() == BodyForwarder::State::kIdle || response_body_.captured_whole()) {
    Chain().RunResponseComplete(ctx_);
  }
}

bool Exchange::AnsweredFromCache(const http::ResponseHead* head) {
  ctx_.upstream_response = head;
  filters::Verdict verdict =
      Chain().RunUpstreamResponse(ctx_, head != nullptr ? head->status : ctx_.error.status());
  ctx_.upstream_response = nullptr;
  if (verdict != filters::Verdict::kRespond) return false;
  ctx_.cache.consult = false;
  // The upstream's answer is dropped: its connection is not reused.
  if (call_ != nullptr) {
    call_->MarkDirty();
    RetireCall(false);
  }
  RespondLocally();
  return true;
}

}  // namespace icaht::proxy
