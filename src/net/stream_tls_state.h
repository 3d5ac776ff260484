#pragma once
// Stream's TLS state (private to net/stream*.cc).

#include <memory>
#include <string>

#include "core/deferred.h"
#include "core/timer_queue.h"
#include "net/stream.h"
#include "net/tls_session.h"

namespace icaht::net {

struct Stream::TlsState {
  explicit TlsState(Stream* stream, std::unique_ptr<TlsSession> s)
      : session(std::move(s)),
        pump([stream] { stream->TlsPump(); }),
        handshake_timer([stream] { stream->TlsHandshakeTimedOut(); }) {}
  std::unique_ptr<TlsSession> session;
  std::string plain;  // queued by Send(), not yet encrypted
  // Runs TlsProcess after StartReading found decrypted or undecrypted bytes
  // waiting (reading had paused with them buffered).
  core::DeferredTask pump;
  // A connecting stream's handshake must end within the connect timeout.
  core::Timer handshake_timer;
  bool client = false;       // a connecting stream: OnConnected after the handshake
  bool eof_pending = false;  // TCP EOF seen while bytes still wait to be read
  bool eof_delivered = false;
  bool answer_queued = false;  // kPlainHttpAnswer is in the send queue
};

}  // namespace icaht::net
