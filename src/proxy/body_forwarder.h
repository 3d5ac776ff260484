#pragma once
// One direction of a message body, from a source stream to a sink stream:
// copied (Content-Length or until the source's EOF), re-framed (a chunked
// body is decoded and, when the sink speaks HTTP/1.1, chunk-encoded again),
// or spliced (socket -> pipe -> socket, for long Content-Length bodies and
// tunnels). The state is one enum; backpressure pauses the source while the
// sink has more than kHighWater queued.
//
// Shard-owned, owned by an Exchange or a Tunnel, which routes the two
// streams' events to it (OnData from the source, OnSinkDrained from the sink,
// ...). It reports the end through Callbacks, never by reaching into its
// owner; after OnBodyDone/OnBodyFailed it makes no further calls.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http/chunked.h"
#include "net/stream.h"
#include "proxy/splice_pump.h"

namespace icaht::proxy {

class ShardProxy;

class BodyForwarder {
 public:
  enum class In : uint8_t { kContentLength, kChunked, kUntilEof };
  enum class Out : uint8_t { kRaw, kChunked };
  enum class State : uint8_t {
    kIdle,           // not started
    kCopying,        // bytes pass through user space
    kSplicePending,  // a pipe is held; waiting for the source's recv to stop and the sink to drain
    kSplicing,       // a SplicePump moves the rest
    kDone,
    kFailed,
  };
  enum class Failure : uint8_t {
    kSourceClosed,  // EOF or error before the body was complete
    kSinkFailed,    // the splice could not write to the sink
    kBadChunk,      // invalid chunked framing
    kTooLarge,      // over Options::max_bytes
  };

  struct Options {
    In in = In::kContentLength;
    Out out = Out::kRaw;
    uint64_t length = 0;     // kContentLength: the body's size (> 0)
    uint64_t max_bytes = 0;  // kChunked: payload limit (0 = none)
    // kChunked: keep the re-framed body until it is complete (TakeHeld), so
    // an oversized one is refused before any of it leaves.
    bool hold = false;
    bool allow_splice = false;
    // Keep a copy of everything sent to the sink (as framed for it) in
    // `*keep`, for a retry to send again, up to `keep_max` bytes; past that
    // the copy is dropped (kept_whole() turns false). Not with splice.
    std::string* keep = nullptr;
    uint64_t keep_max = 0;
    // Keep a copy of the payload (de-chunked) in `*capture`, up to
    // `capture_max` bytes; past that the copy is dropped (captured_whole()
    // turns false). Not with splice. For the response cache.
    std::string* capture = nullptr;
    uint64_t capture_max = 0;
  };

  class Callbacks {
   public:
    virtual void OnBodyDone(BodyForwarder* body) = 0;
    virtual void OnBodyFailed(BodyForwarder* body, Failure failure) = 0;

   protected:
    ~Callbacks() = default;
  };

  // Bodies with at least this much left go through splice (when allowed).
  static constexpr uint64_t kSpliceThreshold = 64 * 1024;
  // Backpressure: the source pauses while the sink has this much queued.
  static constexpr size_t kHighWater = 1 << 20;

  BodyForwarder(ShardProxy& shard, Callbacks* callbacks) : shard_(shard), callbacks_(callbacks) {}
  ~BodyForwarder();
  BodyForwarder(const BodyForwarder&) = delete;
  BodyForwarder& operator=(const BodyForwarder&) = delete;

  // `to` may be null (hold mode, until SetSink) and may not be connected yet.
  void Start(net::Stream* from, net::Stream* to, const Options& options);
  // The sink was replaced (a retried upstream) or became known.
  void SetSink(net::Stream* to);

  // Bytes read from the source. Returns how many belong to this body; the
  // rest is the caller's (a pipelined request, or bytes nobody asked for).
  size_t OnData(std::string_view data);
  void OnSourceEof();
  void OnSourceReadStopped();
  void OnSinkDrained();
  void OnSinkConnected() { MaybeStartSplice(); }
  // Stops without a callback (the owner is ending); releases pipe and pump.
  void Abort();

  State state() const { return state_; }
  bool active() const {
    return state_ != State::kIdle && state_ != State::kDone && state_ != State::kFailed;
  }
  bool done() const { return state_ == State::kDone; }
  // Payload bytes delivered (or queued) to the sink so far.
  uint64_t bytes() const;
  // When the body last made progress in either direction (LoopNowNs clock).
  int64_t last_progress_ns() const;
  // True when what is stuck waits for the sink to take bytes (so a stall is
  // the sink's fault, not the source's).
  bool waiting_for_sink() const;
  // The source sent more than the body (the rest was returned by OnData).
  bool overrun() const { return overrun_; }
  // Hold mode: appends the complete re-framed body to `out` and returns true.
  bool TakeHeldInto(std::string* out);
  // Everything sent so far is in Options::keep (or, in hold mode, held).
  bool kept_whole() const { return options_.keep != nullptr || options_.hold; }
  // The whole payload is in Options::capture.
  bool captured_whole() const { return options_.capture != nullptr; }

 private:
  void Send(std::string_view data);
  void Capture(std::string_view payload);
  size_t CopyLength(std::string_view data);
  size_t CopyChunked(std::string_view data);
  void TrySplice();
  void MaybeStartSplice();
  void OnPumpDone(int error);
  void Complete();
  void Fail(Failure failure);

  ShardProxy& shard_;
  Callbacks* callbacks_;
  net::Stream* from_ = nullptr;
  net::Stream* to_ = nullptr;
  Options options_;
  State state_ = State::kIdle;
  uint64_t remaining_ = 0;  // kContentLength
  uint64_t copied_ = 0;     // payload bytes copied
  // Only chunked input or output needs these (kept out of line: exchanges,
  // which hold a forwarder, are allocated per request and stay small).
  struct Chunked {
    http::ChunkedDecoder decoder;
    std::string held;
    std::string scratch;  // re-framed output of one OnData
  };
  std::unique_ptr<Chunked> chunked_;
  bool splice_tried_ = false;
  bool overrun_ = false;
  Pipe pipe_;
  SplicePump* pump_ = nullptr;
  uint64_t spliced_ = 0;  // bytes the finished pump delivered
  int64_t last_input_ns_ = 0;
};

}  // namespace icaht::proxy
