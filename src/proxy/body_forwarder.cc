#include "proxy/body_forwarder.h"

#include <algorithm>

#include "core/check.h"
#include "core/timer_queue.h"
#include "proxy/shard_proxy.h"

namespace icaht::proxy {
namespace {
void AppendChunk(std::string_view data, std::string* out) {
  char header[24];
  size_t n = http::WriteChunkHeader(data.size(), header);
  out->append(header, n);
  out->append(data);
  out->append("\r\n");
}
}  // namespace

BodyForwarder::~BodyForwarder() { Abort(); }

void BodyForwarder::Start(net::Stream* from, net::Stream* to, const Options& options) {
  from_ = from;
  to_ = to;
  options_ = options;
  if (options_.keep != nullptr) {
    ICAHT_CHECK(!options_.allow_splice);
    options_.keep->clear();
  }
  if (options_.capture != nullptr) {
    ICAHT_CHECK(!options_.allow_splice);
    options_.capture->clear();
  }
  state_ = State::kCopying;
  remaining_ = options.in == In::kContentLength ? options.length : 0;
  copied_ = 0;
  spliced_ = 0;
  splice_tried_ = false;
  overrun_ = false;
  if (options.in == In::kChunked || options.out == Out::kChunked) {
    if (chunked_ == nullptr) chunked_ = std::make_unique<Chunked>();
    chunked_->held.clear();
    if (options.in == In::kChunked) chunked_->decoder.Reset();
  }
  last_input_ns_ = core::LoopNowNs();
  // A held body has no sink whose drain would restart reading: read now (the
  // connection stops reading when bytes pile up while a filter holds the
  // request, e.g. during a forward-auth check).
  if (to_ == nullptr) from_->StartReading();
  if (options.allow_splice && (options.in == In::kUntilEof || (options.in == In::kContentLength &&
                                                               remaining_ >= kSpliceThreshold))) {
    TrySplice();
  }
}

void BodyForwarder::SetSink(net::Stream* to) {
  to_ = to;
  MaybeStartSplice();
}

size_t BodyForwarder::OnData(std::string_view data) {
  if (state_ != State::kCopying && state_ != State::kSplicePending) return 0;
  last_input_ns_ = core::LoopNowNs();
  switch (options_.in) {
    case In::kContentLength:
      return CopyLength(data);
    case In::kChunked:
      return CopyChunked(data);
    case In::kUntilEof:
      copied_ += data.size();
      Capture(data);
      if (options_.out == Out::kChunked) {
        chunked_->scratch.clear();
        AppendChunk(data, &chunked_->scratch);
        Send(chunked_->scratch);
      } else {
        Send(data);
      }
      return data.size();
  }
  return 0;
}

size_t BodyForwarder::CopyLength(std::string_view data) {
  size_t take = std::min<uint64_t>(remaining_, data.size());
  remaining_ -= take;
  copied_ += take;
  shard_.stats().bytes_copied += take;
  Capture(data.substr(0, take));
  Send(data.substr(0, take));
  if (take < data.size()) overrun_ = true;
  if (remaining_ == 0) {
    Complete();
  } else if (!splice_tried_ && options_.allow_splice && remaining_ >= kSpliceThreshold) {
    TrySplice();
  }
  return take;
}

size_t BodyForwarder::CopyChunked(std::string_view data) {
  http::ChunkedDecoder& decoder = chunked_->decoder;
  std::string& scratch = chunked_->scratch;
  scratch.clear();
  size_t used = 0;
  while (used < data.size() && !decoder.done()) {
    http::ChunkedDecoder::Step step = decoder.Feed(data.substr(used));
    if (decoder.failed()) {
      Fail(Failure::kBadChunk);
      return used;
    }
    used += step.consumed;
    if (!step.data.empty()) {
      copied_ += step.data.size();
      Capture(step.data);
      if (options_.out == Out::kChunked) {
        AppendChunk(step.data, &scratch);
      } else {
        scratch.append(step.data);
      }
    }
    if (step.consumed == 0 && step.data.empty()) break;
  }
  if (options_.max_bytes != 0 && copied_ > options_.max_bytes) {
    Fail(Failure::kTooLarge);
    return used;
  }
  if (decoder.done() && options_.out == Out::kChunked) scratch.append("0\r\n\r\n");
  if (options_.hold) {
    chunked_->held.append(scratch);
  } else {
    Send(scratch);
  }
  if (decoder.done()) {
    if (used < data.size()) overrun_ = true;
    Complete();
  }
  return used;
}

void BodyForwarder::Send(std::string_view data) {
  if (data.empty()) return;
  if (std::string* keep = options_.keep; keep != nullptr) {
    if (keep->size() + data.size() <= options_.keep_max) {
      keep->append(data);
    } else {
      keep->clear();  // too long to replay: the copy is dropped
      options_.keep = nullptr;
    }
  }
  if (to_ == nullptr) return;
  to_->SendFrom(from_, data);  // lent, not copied, when it is the source's buffer
  if (to_->queued_bytes() > kHighWater) from_->PauseReading();
}

void BodyForwarder::Capture(std::string_view payload) {
  std::string* capture = options_.capture;
  if (capture == nullptr || payload.empty()) return;
  if (capture->size() + payload.size() <= options_.capture_max) {
    capture->append(payload);
  } else {
    capture->clear();  // too large to store: the copy is dropped
    options_.capture = nullptr;
  }
}

void BodyForwarder::OnSourceEof() {
  if (!active()) return;
  if (options_.in == In::kUntilEof && state_ != State::kSplicing) {
    if (options_.out == Out::kChunked && to_ != nullptr) to_->Send("0\r\n\r\n");
    return Complete();
  }
  if (state_ != State::kSplicing) Fail(Failure::kSourceClosed);
  // While splicing the pump sees the EOF itself.
}

void BodyForwarder::OnSourceReadStopped() { MaybeStartSplice(); }

void BodyForwarder::OnSinkDrained() {
  if (state_ == State::kSplicePending) return MaybeStartSplice();
  if (state_ == State::kCopying) from_->StartReading();  // resume after backpressure
}

void BodyForwarder::TrySplice() {
  splice_tried_ = true;
  // TLS bytes must pass through OpenSSL (no kTLS here): copied.
  if (from_->encrypted() || (to_ != nullptr && to_->encrypted())) return;
  if (!shard_.pipes().Acquire(&pipe_)) return;  // pool exhausted: keep copying
  state_ = State::kSplicePending;
  from_->PauseReading();
  MaybeStartSplice();
}

void BodyForwarder::MaybeStartSplice() {
  if (state_ == State::kSplicePending && to_ != nullptr && to_->encrypted()) {
    // The sink turned out to speak TLS: copy after all.
    shard_.pipes().Release(pipe_, true);
    state_ = State::kCopying;
    from_->StartReading();
    return;
  }
  if (state_ != State::kSplicePending || !from_->read_stopped() || to_ == nullptr ||
      !to_->connected() || to_->queued_bytes() > 0) {
    return;
  }
  state_ = State::kSplicing;
  uint64_t bytes = options_.in == In::kUntilEof ? SplicePump::kUntilEof : remaining_;
  // Both sockets' fds stay open until the pump is gone (see Stream::Ref).
  net::Stream* from = from_;
  net::Stream* to = to_;
  from->Ref();
  to->Ref();
  pump_ = SplicePump::Start(
      shard_.ring(), shard_.pipes(), pipe_, from->fd(), to->fd(), bytes,
      [this](int error) { OnPumpDone(error); },
      [from, to] {
        from->Unref();
        to->Unref();
      });
}

void BodyForwarder::OnPumpDone(int error) {
  spliced_ = pump_->moved();
  shard_.stats().bytes_spliced += spliced_;
  pump_ = nullptr;
  if (error != 0) {
    return Fail(error == -EPIPE ? Failure::kSourceClosed : Failure::kSinkFailed);
  }
  remaining_ = 0;
  // The source reads again: a client's next request, or an upstream that goes
  // back to the pool with a recv armed.
  from_->StartReading();
  Complete();
}

void BodyForwarder::Complete() {
  if (state_ == State::kSplicePending) {
    // Copying finished the body before the splice could start.
    shard_.pipes().Release(pipe_, true);
  }
  state_ = State::kDone;
  callbacks_->OnBodyDone(this);
}

void BodyForwarder::Fail(Failure failure) {
  Abort();
  state_ = State::kFailed;
  callbacks_->OnBodyFailed(this, failure);
}

void BodyForwarder::Abort() {
  if (pump_ != nullptr) {
    shard_.stats().bytes_spliced += pump_->moved();
    pump_->Abort();
    pump_ = nullptr;
  }
  if (state_ == State::kSplicePending) shard_.pipes().Release(pipe_, true);
  if (active()) state_ = State::kFailed;
}

bool BodyForwarder::TakeHeldInto(std::string* out) {
  if (!options_.hold) return false;
  out->append(chunked_->held);
  chunked_->held.clear();
  return true;
}

uint64_t BodyForwarder::bytes() const {
  return copied_ + (pump_ != nullptr ? pump_->moved() : spliced_);
}

int64_t BodyForwarder::last_progress_ns() const {
  int64_t last = last_input_ns_;
  if (to_ != nullptr) last = std::max(last, to_->last_send_ns());
  if (pump_ != nullptr) last = std::max(last, pump_->last_progress_ns());
  return last;
}

bool BodyForwarder::waiting_for_sink() const {
  if (pump_ != nullptr) return pump_->holds_bytes();
  return to_ != nullptr && to_->queued_bytes() > 0;
}

}  // namespace icaht::proxy
