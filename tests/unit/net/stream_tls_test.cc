// net::Stream with TLS, on a real ring and loopback TCP: a server-side Stream
// (what a service port accepts) against a client TlsSession driven by hand
// over a plain socket, so the test decides exactly which records arrive when.

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include "core/buf_ring.h"
#include "core/deferred.h"
#include "core/ring.h"
#include "gtest/gtest.h"
#include "net/stream.h"
#include "net/tls_context.h"
#include "net/tls_session.h"
#include "test_certs.h"

namespace icaht::net {
namespace stream_tls_test {

using testing::PemPair;
using testing::TestPki;

// Records what the server stream's handler saw; `on_data` may act on the stream.
struct Recorder : StreamHandler {
  void OnData(Stream* stream, std::string_view data) override {
    data_.append(data);
    ++pieces_;
    if (on_data) on_data(stream, data);
  }
  void OnEof(Stream*) override { ++eofs_; }
  void OnError(Stream* stream, int error) override {
    error_ = error;
    if (stream->tls() != nullptr) tls_error_ = stream->tls()->error();
  }
  void OnConnected(Stream*) override { connected_ = true; }

  std::function<void(Stream*, std::string_view)> on_data;
  std::string data_;
  int pieces_ = 0;
  int eofs_ = 0;
  int error_ = 0;
  std::string tls_error_;
  bool connected_ = false;
};

class StreamTlsTest : public ::testing::Test {
 protected:
  StreamTlsTest()
      : ring_(std::move(*core::Ring::Create(64))),
        bufs_(std::move(*core::BufRing::Create(*ring_, 0, 16, 16 * 1024))) {
    ring_->set_before_submit(&Stream::FlushQueued);
    PemPair leaf = pki_.Leaf("server", "DNS:localhost");
    TlsServerOptions server_options;
    server_options.certificate = {leaf.cert_file, leaf.key_file, "tls"};
    server_ctx_ = *TlsServerContext::Create(server_options);
    TlsClientOptions client_options;
    client_options.ca_file = pki_.ca_file();
    client_ctx_ = *TlsClientContext::Create(client_options);
  }

  ~StreamTlsTest() override {
    if (server_ != nullptr) server_->Close();
    for (int i = 0; i < 50 && Stream::live_count() > 0; ++i) ring_->RunOnce(2'000'000);
    EXPECT_EQ(Stream::live_count(), 0u);
    if (client_fd_ >= 0) close(client_fd_);
  }

  // A TCP connection on loopback: the accepted end becomes a TLS server
  // Stream, the other a non-blocking socket for the hand-driven client.
  void ConnectTcp() {
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(listen(listener, 1), 0);
    socklen_t len = sizeof(addr);
    getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
    client_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(connect(client_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    fcntl(client_fd_, F_SETFL, O_NONBLOCK);
    int fd = accept(listener, nullptr, nullptr);
    close(listener);
    ASSERT_GE(fd, 0);
    server_ = new Stream(*ring_, *bufs_, fd, &handler_);
    server_->StartTls(TlsSession::ForServer(server_ctx_));
    server_->StartReading();
  }

  void Connect() {
    ConnectTcp();
    client_ = TlsSession::ForClient(client_ctx_, "localhost", nullptr);
    client_->set_output(&to_server_);
    for (int i = 0; i < 200 && !(client_->established() && handler_.connected_); ++i) {
      client_->Handshake();
      Pump();
    }
    ASSERT_TRUE(client_->established()) << client_->error();
    ASSERT_TRUE(handler_.connected_);
  }

  // Sends what the client wrote, runs the ring once, and reads what the
  // server sent (decrypted into from_server_).
  void Pump() {
    if (!to_server_.empty()) SendRaw(to_server_);
    to_server_.clear();
    ring_->RunOnce(1'000'000);
    char buf[64 * 1024];
    ssize_t n = 0;
    while (client_ != nullptr && (n = recv(client_fd_, buf, sizeof(buf), 0)) > 0) {
      client_->SetInput(std::string_view(buf, static_cast<size_t>(n)));
      if (!client_->established()) client_->Handshake();
      if (client_->established()) {
        char plain[16 * 1024];
        size_t got = 0;
        while (client_->Read(plain, sizeof(plain), &got) == TlsSession::Result::kOk) {
          from_server_.append(plain, got);
        }
      }
      client_->KeepInput();
    }
  }

  // Runs the ring until `done` or about `rounds` rounds have passed.
  void PumpUntil(const std::function<bool()>& done, int rounds = 500) {
    for (int i = 0; i < rounds && !done(); ++i) Pump();
  }

  void SendRaw(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = send(client_fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EAGAIN) {
        ring_->RunOnce(1'000'000);
        continue;
      }
      ASSERT_GT(n, 0) << std::strerror(errno);
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }

  TestPki pki_;
  std::unique_ptr<core::Ring> ring_;
  std::unique_ptr<core::BufRing> bufs_;
  std::shared_ptr<const TlsServerContext> server_ctx_;
  std::shared_ptr<const TlsClientContext> client_ctx_;
  Recorder handler_;
  Stream* server_ = nullptr;
  int client_fd_ = -1;
  std::unique_ptr<TlsSession> client_;
  std::string to_server_;
  std::string from_server_;
};

std::string Pattern(size_t n) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>('a' + (i * 7 + i / 991) % 26);
  return out;
}

TEST_F(StreamTlsTest, PausedReadingHoldsBufferedPlaintextUntilResumed) {
  Connect();
  // Several records in one go: after the first piece the handler pauses, with
  // the rest decrypted or still ciphertext inside the session.
  handler_.on_data = [](Stream* stream, std::string_view) { stream->PauseReading(); };
  std::string sent = Pattern(100 * 1024);
  ASSERT_TRUE(client_->Write(sent));
  PumpUntil([&] { return handler_.pieces_ > 0; });
  ASSERT_EQ(handler_.pieces_, 1);
  EXPECT_LT(handler_.data_.size(), sent.size());
  // Paused: nothing more, however long the ring runs.
  for (int i = 0; i < 20; ++i) Pump();
  EXPECT_EQ(handler_.pieces_, 1);
  EXPECT_TRUE(server_->read_stopped());
  // Resumed one piece at a time: everything arrives, in order.
  while (handler_.data_.size() < sent.size()) {
    int pieces = handler_.pieces_;
    server_->StartReading();
    core::RunDeferred();  // as after the dispatch a handler resumes from
    PumpUntil([&] { return handler_.pieces_ > pieces; });
    ASSERT_GT(handler_.pieces_, pieces) << "stalled at " << handler_.data_.size();
  }
  EXPECT_EQ(handler_.data_, sent);
  EXPECT_EQ(handler_.error_, 0);
  EXPECT_EQ(handler_.eofs_, 0);
}

TEST_F(StreamTlsTest, CloseInsideOnDataEndsTheStream) {
  Connect();
  handler_.on_data = [this](Stream* stream, std::string_view) {
    stream->Close();
    server_ = nullptr;
  };
  // More records than the first OnData takes: none is delivered after Close.
  ASSERT_TRUE(client_->Write(Pattern(64 * 1024)));
  PumpUntil([&] { return Stream::live_count() == 0; });
  EXPECT_EQ(Stream::live_count(), 0u);
  EXPECT_EQ(handler_.pieces_, 1);
  EXPECT_EQ(handler_.eofs_, 0);
  EXPECT_EQ(handler_.error_, 0);
}

TEST_F(StreamTlsTest, ApplicationDataAfterCloseNotifyIsDropped) {
  // A peer that goes on writing after its close_notify: plain OpenSSL over
  // the socket, its shutdown flag cleared so that it still writes.
  ConnectTcp();
  SSL* ssl = SSL_new(client_ctx_->ctx());
  SSL_set_fd(ssl, client_fd_);
  SSL_set_connect_state(ssl);
  SSL_set_tlsext_host_name(ssl, "localhost");
  for (int i = 0; i < 200 && !(SSL_do_handshake(ssl) == 1 && handler_.connected_); ++i) {
    ring_->RunOnce(1'000'000);
  }
  ASSERT_TRUE(handler_.connected_);
  ASSERT_EQ(SSL_write(ssl, "hello", 5), 5);
  SSL_shutdown(ssl);
  SSL_set_shutdown(ssl, 0);
  ASSERT_EQ(SSL_write(ssl, "late", 4), 4);
  PumpUntil([&] { return handler_.eofs_ > 0; });
  for (int i = 0; i < 10; ++i) ring_->RunOnce(1'000'000);
  EXPECT_EQ(handler_.data_, "hello");
  EXPECT_EQ(handler_.eofs_, 1);
  EXPECT_EQ(handler_.error_, 0) << handler_.tls_error_;
  // More of it, and the TCP EOF that follows: no data, no second OnEof.
  ASSERT_EQ(SSL_write(ssl, "later", 5), 5);
  shutdown(client_fd_, SHUT_WR);
  for (int i = 0; i < 10; ++i) ring_->RunOnce(1'000'000);
  EXPECT_EQ(handler_.eofs_, 1);
  EXPECT_EQ(handler_.error_, 0) << handler_.tls_error_;
  EXPECT_EQ(handler_.data_, "hello");
  SSL_free(ssl);
}

TEST_F(StreamTlsTest, LargeSendsAreEncryptedWholeAndInOrder) {
  Connect();
  // A head queued in place, a body in sends large enough to be encrypted at
  // once, a small tail: the peer reads exactly what was queued, in order.
  std::string body = Pattern(1 << 20);
  server_->SendBuffer().append("HTTP/1.1 200 OK\r\n\r\n");
  size_t mark = server_->send_mark();
  for (size_t at = 0; at < body.size(); at += 40000) {
    server_->Send(std::string_view(body).substr(at, 40000));
  }
  EXPECT_EQ(server_->send_mark() - mark, body.size());
  server_->Send("tail");
  // A mark taken after the large sends can still be truncated to.
  size_t before_extra = server_->send_mark();
  server_->Send("extra");
  server_->TruncateTo(before_extra);
  std::string want = "HTTP/1.1 200 OK\r\n\r\n" + body + "tail";
  PumpUntil([&] { return from_server_.size() >= want.size(); }, 5000);
  EXPECT_EQ(from_server_.size(), want.size());
  EXPECT_TRUE(from_server_ == want);
}

TEST_F(StreamTlsTest, EveryWriteIsDeliveredWholeWithoutALaterOne) {
  Connect();
  // Records sent straight to the socket, all but a write's last with
  // MSG_MORE: the last must push them out (Linux would hold a corked rest
  // for up to 200 ms; this checks nothing is lost or reordered at the
  // boundaries). Sizes around record boundaries, each read whole by the
  // peer before anything else is sent.
  std::string want;
  for (size_t size : {32u << 10, (32u << 10) + 1, 48u << 10, (64u << 10) - 1, (64u << 10) + 100}) {
    std::string body = Pattern(size);
    server_->Send(body);
    want += body;
    PumpUntil([&] { return from_server_.size() >= want.size(); }, 5000);
    ASSERT_EQ(from_server_.size(), want.size()) << "a write of " << size << " bytes was held back";
  }
  EXPECT_TRUE(from_server_ == want);
}

TEST_F(StreamTlsTest, DirectSendsFallBackToTheQueueWhenTheSocketIsFull) {
  Connect();
  // Far more than both sockets' buffers hold, sent before the peer reads a
  // byte: the first records go straight to the socket, the rest queue behind
  // them once it is full, and the peer gets everything in order.
  std::string body = Pattern(24 << 20);
  for (size_t at = 0; at < body.size(); at += 64 * 1024) {
    server_->Send(std::string_view(body).substr(at, 64 * 1024));
  }
  EXPECT_GT(server_->queued_bytes(), 0u);  // the socket did not take it all
  PumpUntil([&] { return from_server_.size() >= body.size(); }, 20000);
  EXPECT_EQ(from_server_.size(), body.size());
  EXPECT_TRUE(from_server_ == body);
}

}  // namespace stream_tls_test
}  // namespace icaht::net
