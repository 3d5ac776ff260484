#pragma once
// One client connection on a service port and the HTTP/1.1 exchanges on it:
// read a request head, pick an upstream, forward head and body, read the
// response head, forward it and its body, then keep-alive or close.
//
// Shard-owned. Lifetime: created on accept, deletes itself in Destroy().
// Every method that can reach Destroy() is called as a tail call, so no
// member is touched after the object is gone.

#include <memory>
#include <string>

#include "core/timer_queue.h"
#include "http/chunked.h"
#include "http/message.h"
#include "proxy/shard_proxy.h"
#include "proxy/splice_pump.h"
#include "proxy/stream.h"

namespace icaht::proxy {

class HttpConnection final : private StreamHandler {
 public:
  HttpConnection(ShardProxy* shard, ShardService* service, int fd, std::string client_ip);

  void Start();
  // Between requests (nothing read, nothing pending)?
  bool idle() const;
  // The service is going away: close now if idle, else after this response.
  void Drain();
  // Drain deadline passed: abort whatever is in flight.
  void Abort();

 private:
  enum class ReqState : uint8_t { kHead, kBody, kDone };
  enum class RespState : uint8_t { kNone, kHead, kBody, kDone };
  // What the connection's one timer bounds. The *Body and tunnel purposes are
  // inactivity bounds (re-armed lazily from last_activity_ns_), the others
  // are deadlines.
  enum class TimerPurpose : uint8_t {
    kNone,
    kIdle,          // keep-alive idle (idle_ms): close quietly
    kHeaderRead,    // request head incomplete (request_ms): 408
    kRequestBody,   // request body stalls (request_ms): 408
    kResponse,      // request sent, no response head yet (request_ms): 504
    kResponseBody,  // response body stalls (request_ms): cut the client
    kTunnelIdle,    // upgraded connection silent (idle_ms): close
  };
  enum class BodyOut : uint8_t { kRaw, kChunkEncode };

  ~HttpConnection();
  void OnData(Stream* stream, std::string_view data) override;
  void OnEof(Stream* stream) override;
  void OnError(Stream* stream, int error) override;
  void OnConnected(Stream* stream) override;
  void OnSendDrained(Stream* stream) override;
  void OnReadStopped(Stream* stream) override;

  void ProcessRequestHead();
  void StartExchange();
  void ForwardRequestBody(std::string_view data);
  // Picks an upstream (avoiding index `skip`) and takes a pooled connection
  // or starts a new one. False when no socket could be had.
  bool ConnectUpstream(int skip);
  void UpstreamFailed(int error);
  void ProcessResponseHead();
  void ForwardResponseBody(std::string_view data);
  void ResponseDone();
  void FinishExchange();
  void RespondError(int status, std::string_view body);
  // Opens (or takes from the pool) an upstream connection and queues the
  // request head; on failure answers 503 and returns false (the connection may
  // be gone: return at once).
  bool SendHeadUpstream();
  void Destroy();
  void ArmTimer(TimerPurpose purpose, uint32_t ms);
  // For an inactivity purpose: true if it really expired, else re-armed.
  bool InactiveFor(uint32_t ms, int64_t last_progress_ns);
  // The request is complete; if no response head came yet, wait for one.
  void RequestDone();
  void OnTimer();
  void SendToClient(std::string_view data);
  // Large Content-Length response bodies go upstream -> pipe -> client with
  // splice once the upstream's recv has stopped and the client's queue is
  // empty (so bytes stay in order). Falls back to copying without a pipe.
  void TrySplice();
  void MaybeStartSplice();
  void OnSpliceDone(int error);
  // The same for large Content-Length request bodies: client -> pipe -> upstream
  // once the client's recv has stopped, the upstream is connected and its
  // queue (the request head) is out.
  void TrySpliceRequest();
  void MaybeStartRequestSplice();
  void OnRequestSpliceDone(int error);
  // Starts moving `bytes` from `from` to `to` through `pipe`, keeping both
  // streams' fds open until the pump is gone.
  SplicePump* StartPump(const Pipe& pipe, Stream* from, Stream* to, uint64_t bytes,
                        SplicePump::Done done);
  // After a 101: bytes flow both ways untouched until both sides closed.
  void StartTunnel();
  void TunnelData(Stream* from, std::string_view data);
  void TunnelEof(Stream* from);
  // Moves a tunnel to splice (both directions) once both recvs have stopped
  // and both queues are empty; falls back to copying without two pipes.
  void MaybeStartTunnelSplice();
  void OnTunnelPumpDone(bool from_client, int error);

  ShardProxy* shard_;
  ShardService* service_;
  std::shared_ptr<const ServiceConfig> config_;  // of the current exchange
  Stream* client_;
  Stream* upstream_ = nullptr;
  std::string client_ip_;
  core::Timer timer_;
  TimerPurpose timer_purpose_ = TimerPurpose::kNone;

  // Request side.
  std::string in_;  // client bytes not yet consumed (head being read, or pipelined)
  http::RequestHead req_;
  ReqState req_state_ = ReqState::kHead;
  http::Method req_method_ = http::Method::kGet;
  bool req_http10_ = false;
  bool req_chunked_ = false;
  bool req_upgrade_ = false;
  uint64_t req_remaining_ = 0;
  http::ChunkedDecoder req_decoder_;
  std::string upstream_head_;  // kept until the response starts, for a safe retry
  // With max_body_bytes set, a chunked body (length unknown up front) is held
  // until complete, so an oversized one gets 413 without reaching upstream.
  bool hold_body_ = false;
  std::string held_body_;
  uint64_t req_body_bytes_ = 0;
  bool client_keep_alive_ = true;
  bool close_after_ = false;

  // Upstream side.
  size_t upstream_index_ = 0;
  bool upstream_reused_ = false;
  bool upstream_dirty_ = false;  // cannot go back to the pool
  int attempts_ = 0;

  // Response side.
  std::string resp_in_;
  http::ResponseHead resp_;
  RespState resp_state_ = RespState::kNone;
  http::BodyFraming resp_framing_ = http::BodyFraming::kNone;
  BodyOut resp_out_ = BodyOut::kRaw;
  uint64_t resp_remaining_ = 0;
  bool resp_keep_alive_ = true;
  http::ChunkedDecoder resp_decoder_;
  bool response_started_ = false;

  // Zero-copy response body.
  bool splice_pending_ = false;
  bool splice_tried_ = false;
  Pipe pipe_;
  SplicePump* pump_ = nullptr;
  bool req_splice_pending_ = false;
  bool req_splice_tried_ = false;
  Pipe req_pipe_;
  SplicePump* req_pump_ = nullptr;

  // Tunnel (upgraded connection).
  bool tunnel_ = false;
  bool client_eof_ = false;
  bool upstream_eof_ = false;
  bool tunnel_splice_pending_ = false;
  int64_t last_activity_ns_ = 0;
};

}  // namespace icaht::proxy
