#pragma once
// A small HTTP/1.1 server on the control ring, used for the admin Unix socket
// and the ops listener. Low traffic (one accept at a time): heads are parsed with the data path's
// strict parser, bodies are read whole (Content-Length only, bounded), one
// request at a time per connection, and the handler may answer later (an
// admin change answers only after every shard acked).

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>

#include "core/buf_ring.h"
#include "core/ring.h"
#include "core/timer_queue.h"
#include "http/message.h"
#include "net/socket.h"

namespace icaht::admin {

struct ControlRequest {
  std::string method;
  std::string path;   // target without the query
  std::string query;  // after '?', without it
  std::string accept;
  std::string body;
};

struct ControlResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// Given to the handler; call Send exactly once, now or later (same thread).
class Responder {
 public:
  virtual void Send(ControlResponse response) = 0;

 protected:
  ~Responder() = default;
};

class ControlConnection;

// Bounds on what one listener's peers may hold, so that nobody who can
// connect (the ops listener is open to every local user) can pin descriptors
// or memory: idle and half-sent connections time out, and at the cap the
// longest-idle connection makes room for the new one.
struct ControlLimits {
  std::string name = "control";       // in log lines: "admin socket", "ops listener"
  uint32_t max_connections = 32;      // open at once; at the cap the oldest idle one is closed
  uint32_t header_timeout_ms = 5000;  // from a request's first byte until it is complete -> 408
  uint32_t idle_timeout_ms = 10000;   // no request (after accept or an answer) -> closed
};

class ControlHttpServer {
 public:
  using Handler = std::function<void(const ControlRequest&, Responder*)>;
  // Decides whether a freshly accepted peer may talk to us (e.g. SO_PEERCRED);
  // returns an empty string to allow, or the reason to refuse with 403.
  using PeerCheck = std::function<std::string(int fd)>;

  ControlHttpServer(core::Ring& ring, core::BufRing& bufs, net::Fd listener, Handler handler,
                    ControlLimits limits, PeerCheck peer_check = nullptr);
  ~ControlHttpServer();
  void Start();
  // Stops accepting (closes the listener); open connections finish.
  void Stop();
  // Aborts every open connection (at exit, before the streams are torn down).
  void CloseConnections();

  size_t connection_count() const { return connections_.size(); }
  const ControlLimits& limits() const { return limits_; }

  // ControlConnection's bookkeeping (same thread).
  using ConnectionList = std::list<ControlConnection*>;
  ConnectionList::iterator Track(ControlConnection* connection);
  void Untrack(ConnectionList::iterator it);
  // Moves `it` to the back (most recently active).
  void Touch(ConnectionList::iterator it);
  core::Ring& ring() { return ring_; }

 private:
  class Accept : public core::Completion {
   public:
    explicit Accept(ControlHttpServer* server) : server_(server) {}
    void Complete(int res, uint32_t flags) override { server_->OnAccept(res, flags); }

   private:
    ControlHttpServer* server_;
  };
  void OnAccept(int res, uint32_t flags);
  void Arm();
  // At the cap: closes the least recently active connection that is not
  // waiting for its handler. False if every one is busy.
  bool EvictOne();

  core::Ring& ring_;
  core::BufRing& bufs_;
  net::Fd listener_;
  Handler handler_;
  ControlLimits limits_;
  PeerCheck peer_check_;
  Accept accept_{this};
  // Paused at the fd limit (EMFILE/ENFILE): an armed accept would fail again
  // at once, so wait a little before re-arming.
  core::Timer backoff_;
  // Least recently active first.
  ConnectionList connections_;
  bool armed_ = false;
  bool stopped_ = false;
};

}  // namespace icaht::admin
