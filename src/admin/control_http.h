#pragma once
// A small HTTP/1.1 server on the control ring, used for the admin Unix socket
// and the ops listener. Low traffic: heads are parsed with the data path's
// strict parser, bodies are read whole (Content-Length only, bounded), one
// request at a time per connection, and the handler may answer later (an
// admin change answers only after every shard acked).

#include <functional>
#include <memory>
#include <string>

#include "core/buf_ring.h"
#include "core/ring.h"
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

class ControlHttpServer {
 public:
  using Handler = std::function<void(const ControlRequest&, Responder*)>;
  // Decides whether a freshly accepted peer may talk to us (e.g. SO_PEERCRED);
  // returns an empty string to allow, or the reason to refuse with 403.
  using PeerCheck = std::function<std::string(int fd)>;

  ControlHttpServer(core::Ring& ring, core::BufRing& bufs, net::Fd listener, Handler handler,
                    PeerCheck peer_check = nullptr);
  ~ControlHttpServer();
  void Start();
  // Stops accepting (closes the listener); open connections finish.
  void Stop();

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

  core::Ring& ring_;
  core::BufRing& bufs_;
  net::Fd listener_;
  Handler handler_;
  PeerCheck peer_check_;
  Accept accept_{this};
  bool armed_ = false;
  bool stopped_ = false;
};

}  // namespace icaht::admin
