// The request path on a real ring: an HttpConnection over a socketpair (the
// client), a scripted TCP upstream on a thread, and recording filters. Checks
// the filter contract (order, respond, pause/resume, reverse response phase)
// and that the log phase runs exactly once on every way an exchange ends.

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/buf_ring.h"
#include "core/ring.h"
#include "filters/filter.h"
#include "filters/filter_chain.h"
#include "filters/forward_auth.h"
#include "gtest/gtest.h"
#include "net/socket.h"
#include "net/stream.h"
#include "proxy/http_connection.h"
#include "proxy/shard_proxy.h"
#include "scripted_upstream.h"
#include "test_shard.h"

namespace icaht::proxy {
namespace exchange_test {

using filters::Outcome;

using filters::Verdict;

struct Journal {
  std::vector<std::string> events;
  std::vector<Outcome> outcomes;
  std::vector<std::string> errors;
  filters::FilterCallbacks* paused = nullptr;
  int cancels = 0;
};

class RecordingFilter final : public filters::Filter {
 public:
  enum class Mode { kContinue, kRespond, kPause };
  RecordingFilter(std::string name, Journal* journal, Mode mode = Mode::kContinue)
      : name_(std::move(name)), journal_(journal), mode_(mode) {}
  std::string_view name() const override { return name_; }
  Verdict OnRequestHead(filters::RequestContext& ctx,
                        filters::FilterCallbacks& callbacks) override {
    journal_->events.push_back(name_ + ":request " + std::string(ctx.request().target));
    switch (mode_) {
      case Mode::kContinue:
        return Verdict::kContinue;
      case Mode::kRespond:
        ctx.local_response.status = 403;
        ctx.local_response.body = "no\n";
        return Verdict::kRespond;
      case Mode::kPause:
        journal_->paused = &callbacks;
        return Verdict::kPause;
    }
    return Verdict::kContinue;
  }
  void OnResponseHead(filters::RequestContext& ctx) override {
    // Runs after the connection's read buffer moved on: the target must be
    // the exchange's own copy.
    std::string target = ctx.has_request() ? std::string(ctx.request().target) : "-";
    journal_->events.push_back(name_ + ":response " + target + " " +
                               std::to_string(ctx.response_status));
    ctx.response_edits.Add("X-Seen-By", name_);
  }
  void OnLog(const filters::RequestContext& ctx) override {
    journal_->events.push_back(name_ + ":log");
    if (name_ == "a") {
      journal_->outcomes.push_back(ctx.outcome);
      journal_->errors.push_back(std::string(ctx.error.label()));
    }
  }
  void OnCancel(filters::RequestContext&) override {
    ++journal_->cancels;
    journal_->paused = nullptr;
  }

 private:
  std::string name_;
  Journal* journal_;
  Mode mode_;
};

// A peer the test thread serves by hand between ring rounds (non-blocking),
// so that what happens while an exchange waits for it is ordered for certain.
class ManualPeer {
 public:
  ManualPeer() {
    auto fd = net::ListenTcp(LoopbackPort(0), {});
    EXPECT_TRUE(fd.ok());
    listen_fd_ = fd->Release();
    fcntl(listen_fd_, F_SETFL, O_NONBLOCK);
    address_ = LoopbackPort(*net::LocalPort(listen_fd_));
  }
  ~ManualPeer() {
    if (conn_ >= 0) close(conn_);
    close(listen_fd_);
  }
  const net::Address& address() const { return address_; }
  // True once a whole request head arrived on the (first) connection.
  bool HeadRead() {
    if (conn_ < 0) conn_ = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK);
    char buf[4096];
    ssize_t n;
    while (conn_ >= 0 && (n = read(conn_, buf, sizeof buf)) > 0) received_.append(buf, n);
    return received_.find("\r\n\r\n") != std::string::npos;
  }
  // True once the connection was closed by the other side.
  bool Closed() {
    char buf[256];
    return conn_ >= 0 && read(conn_, buf, sizeof buf) == 0;
  }
  void Send(std::string_view data) { (void)!send(conn_, data.data(), data.size(), MSG_NOSIGNAL); }
  const std::string& received() const { return received_; }

 private:
  int listen_fd_ = -1;
  int conn_ = -1;
  net::Address address_;
  std::string received_;
};

class ExchangeTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (connection_alive_) connection_->Abort();
    if (client_ >= 0) close(client_);  // a lingering close ends at the client's EOF
    client_ = -1;
    RunUntil([] { return net::Stream::live_count() == 0; });
    delete service_;
    shard_.proxy.reset();
  }

  // A service whose chain is "a" then "b" (b's mode given), with one upstream.
  void AddService(const net::Address& upstream,
                  RecordingFilter::Mode b_mode = RecordingFilter::Mode::kContinue,
                  uint32_t request_ms = 2000, uint64_t max_body_bytes = 0) {
    auto config = std::make_unique<ServiceConfig>();
    config->name = "svc";
    config->upstreams.push_back({upstream, 1});
    config->request_timeout_ms = request_ms;
    config->max_body_bytes = max_body_bytes;
    std::vector<std::unique_ptr<filters::Filter>> chain;
    chain.push_back(std::make_unique<RecordingFilter>("a", &journal_));
    chain.push_back(std::make_unique<RecordingFilter>("b", &journal_, b_mode));
    config->chain = std::make_unique<filters::FilterChain>(std::move(chain));
    service_ = new ShardService(shard_.proxy.get(), std::move(config));
  }

  // A service whose chain is "a" then forward auth (with the shard's side
  // calls) asking `auth`.
  void AddForwardAuthService(const net::Address& upstream, const net::Address& auth,
                             uint32_t auth_timeout_ms = 1000) {
    filters::ForwardAuthSpec spec;
    spec.enabled = true;
    spec.address = auth.ToString();
    spec.resolved = auth;
    spec.timeout_ms = auth_timeout_ms;
    spec.copy_response_headers = {"X-User-Id"};
    auto config = std::make_unique<ServiceConfig>();
    config->name = "svc";
    config->upstreams.push_back({upstream, 1});
    config->request_timeout_ms = 2000;
    std::vector<std::unique_ptr<filters::Filter>> chain;
    chain.push_back(std::make_unique<RecordingFilter>("a", &journal_));
    chain.push_back(std::make_unique<filters::ForwardAuthFilter>(spec, shard_.proxy.get()));
    config->chain = std::make_unique<filters::FilterChain>(std::move(chain));
    service_ = new ShardService(shard_.proxy.get(), std::move(config));
  }

  // Sends a request through a forward-auth service asking `auth`; true once
  // `auth` has the whole check (the exchange waits for its answer).
  bool RequestWaitingAt(ManualPeer& auth, const net::Address& upstream) {
    AddForwardAuthService(upstream, auth.address());
    Connect();
    Send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
    RunUntil([&] { return auth.HeadRead(); });
    return auth.HeadRead();
  }

  void Connect() {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    client_ = sv[0];
    connection_ = new HttpConnection(shard_.proxy.get(), service_, sv[1], "192.0.2.1");
    service_->connections.insert(connection_);
    connection_alive_ = true;
    connection_->Start();
  }

  void Send(std::string_view data) {
    ASSERT_EQ(write(client_, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  }

  // Drives the ring until `done` or 3 s, reading what the client receives.
  void RunUntil(const std::function<bool()>& done) {
    int64_t deadline = core::NowNs() + 3'000'000'000;
    while (!done() && core::NowNs() < deadline) {
      shard_.ring->RunOnce(5'000'000);
      char buf[8192];
      ssize_t n;
      while (client_ >= 0 && (n = read(client_, buf, sizeof buf)) > 0) received_.append(buf, n);
      if (client_ >= 0 && n == 0) client_eof_ = true;
      if (connection_alive_ && service_->connections.empty()) connection_alive_ = false;
    }
  }
  bool Logged(size_t n) const { return journal_.outcomes.size() >= n; }
  size_t Count(std::string_view needle) const {
    size_t count = 0;
    for (size_t at = 0; (at = received_.find(needle, at)) != std::string::npos; ++at) ++count;
    return count;
  }

  TestShard shard_;
  ShardService* service_ = nullptr;
  HttpConnection* connection_ = nullptr;
  bool connection_alive_ = false;
  int client_ = -1;
  std::string received_;
  bool client_eof_ = false;
  Journal journal_;
};

constexpr char kOk[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

TEST_F(ExchangeTest, ForwardedRequestRunsPhasesInOrderAndResponseInReverse) {
  ScriptedUpstream upstream(kOk);
  AddService(upstream.address());
  Connect();
  Send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
  RunUntil([&] { return Logged(1); });
  EXPECT_EQ(journal_.events,
            (std::vector<std::string>{"a:request /x", "b:request /x", "b:response /x 200",
                                      "a:response /x 200", "a:log", "b:log"}));
  EXPECT_EQ(journal_.outcomes, std::vector<Outcome>{Outcome::kForwarded});
  RunUntil([&] { return received_.find("ok") != std::string::npos; });
  EXPECT_NE(received_.find("X-Seen-By: b\r\nX-Seen-By: a\r\n"), std::string::npos) << received_;
}

TEST_F(ExchangeTest, RespondShortCircuitsTheChainAndTheUpstream) {
  ScriptedUpstream upstream(kOk);
  AddService(upstream.address(), RecordingFilter::Mode::kRespond);
  Connect();
  Send("GET /deny HTTP/1.1\r\nHost: h\r\n\r\n");
  RunUntil([&] { return Logged(1) && received_.find("no\n") != std::string::npos; });
  EXPECT_EQ(journal_.events,
            (std::vector<std::string>{"a:request /deny", "b:request /deny", "b:response /deny 403",
                                      "a:response /deny 403", "a:log", "b:log"}));
  EXPECT_EQ(journal_.outcomes, std::vector<Outcome>{Outcome::kLocal});
  EXPECT_EQ(received_.rfind("HTTP/1.1 403 Forbidden\r\n", 0), 0u) << received_;
  EXPECT_EQ(upstream.requests(), 0);
}

TEST_F(ExchangeTest, PauseThenResumeContinuesWithTheNextFilter) {
  ScriptedUpstream upstream(kOk);
  AddService(upstream.address(), RecordingFilter::Mode::kPause);
  Connect();
  Send("GET /p HTTP/1.1\r\nHost: h\r\n\r\n");
  RunUntil([&] { return journal_.paused != nullptr; });
  ASSERT_NE(journal_.paused, nullptr);
  for (int i = 0; i < 5; ++i) shard_.ring->RunOnce(1'000'000);
  EXPECT_EQ(upstream.requests(), 0) << "the upstream was called while a filter held the request";
  journal_.paused->Resume();
  RunUntil([&] { return Logged(1); });
  EXPECT_EQ(journal_.outcomes, std::vector<Outcome>{Outcome::kForwarded});
  EXPECT_EQ(upstream.requests(), 1);
  EXPECT_EQ(journal_.cancels, 0);
}

TEST_F(ExchangeTest, BodySentWhileAFilterHoldsTheRequestIsReadAfterResume) {
  // More body than the connection buffers while nobody reads it (so it stops
  // reading), for a held chunked body (max_body_bytes set): no sink whose
  // drain would restart reading.
  ScriptedUpstream upstream(kOk);
  AddService(upstream.address(), RecordingFilter::Mode::kPause, 2000, /*max_body_bytes=*/4 << 20);
  Connect();
  std::string chunk(64 * 1024, 'x');
  std::string body;
  for (int i = 0; i < 12; ++i) body += "10000\r\n" + chunk + "\r\n";
  body += "0\r\n\r\n";
  std::string out = "POST /big HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + body;
  size_t sent = 0;
  auto push = [&] {
    ssize_t n = write(client_, out.data() + sent, out.size() - sent);
    if (n > 0) sent += n;
    return sent == out.size();
  };
  RunUntil([&] {
    push();
    return journal_.paused != nullptr && sent > 300 * 1024;
  });
  ASSERT_NE(journal_.paused, nullptr);
  for (int i = 0; i < 5; ++i) {
    push();
    shard_.ring->RunOnce(1'000'000);
  }
  journal_.paused->Resume();
  RunUntil([&] { return push() && Logged(1); });
  EXPECT_EQ(sent, out.size());
  EXPECT_EQ(journal_.outcomes, std::vector<Outcome>{Outcome::kForwarded});
  EXPECT_EQ(journal_.errors, std::vector<std::string>{"none"});
}

TEST_F(ExchangeTest, PausedExchangeThatEndsCancelsTheFilterAndLogsOnce) {
  ScriptedUpstream upstream(kOk);
  AddService(upstream.address(), RecordingFilter::Mode::kPause, /*request_ms=*/100);
  Connect();
  Send("GET /p HTTP/1.1\r\nHost: h\r\n\r\n");
  RunUntil([&] { return Logged(1); });
  EXPECT_EQ(journal_.cancels, 1);
  EXPECT_EQ(journal_.errors, std::vector<std::string>{"response_timeout"});
  RunUntil([&] { return received_.find("504") != std::string::npos; });
  EXPECT_EQ(received_.rfind("HTTP/1.1 504 ", 0), 0u) << received_;
}

TEST_F(ExchangeTest, UpstreamErrorLogsOnceWithItsKind) {
  // A port nobody listens on: bind and close to find one.
  auto probe = net::ListenTcp(LoopbackPort(0), {});
  ASSERT_TRUE(probe.ok());
  net::Address dead = LoopbackPort(*net::LocalPort(probe->get()));
  probe->Reset();
  AddService(dead);
  Connect();
  Send("GET /e HTTP/1.1\r\nHost: h\r\n\r\n");
  RunUntil([&] { return Logged(1); });
  for (int i = 0; i < 5; ++i) shard_.ring->RunOnce(1'000'000);
  EXPECT_EQ(journal_.outcomes, std::vector<Outcome>{Outcome::kError});
  EXPECT_EQ(journal_.errors, std::vector<std::string>{"connect_refused"});
  RunUntil([&] { return received_.find("\r\n\r\n") != std::string::npos; });
  EXPECT_EQ(received_.rfind("HTTP/1.1 502 ", 0), 0u) << received_;
}

TEST_F(ExchangeTest, ClientAbortMidBodyLogsOnce) {
  ScriptedUpstream upstream("");
  AddService(upstream.address());
  Connect();
  Send("POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n0123456789");
  RunUntil([&] { return upstream.requests() == 1; });
  close(client_);
  client_ = -1;
  RunUntil([&] { return Logged(1); });
  for (int i = 0; i < 5; ++i) shard_.ring->RunOnce(1'000'000);
  EXPECT_EQ(journal_.outcomes, std::vector<Outcome>{Outcome::kError});
  EXPECT_EQ(journal_.errors, std::vector<std::string>{"client_closed"});
}

TEST_F(ExchangeTest, UpstreamTimeoutLogsOnce) {
  ScriptedUpstream upstream("");
  AddService(upstream.address(), RecordingFilter::Mode::kContinue, /*request_ms=*/100);
  Connect();
  Send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n");
  RunUntil([&] { return Logged(1); });
  EXPECT_EQ(journal_.errors, std::vector<std::string>{"response_timeout"});
  RunUntil([&] { return received_.find("\r\n\r\n") != std::string::npos; });
  EXPECT_EQ(received_.rfind("HTTP/1.1 504 ", 0), 0u) << received_;
}

TEST_F(ExchangeTest, DrainDeadlineAbortsAndLogsOnce) {
  ScriptedUpstream upstream("");
  AddService(upstream.address());
  Connect();
  Send("GET /d HTTP/1.1\r\nHost: h\r\n\r\n");
  RunUntil([&] { return upstream.requests() == 1; });
  connection_->Abort();  // what the drain timer does
  connection_alive_ = false;
  RunUntil([&] { return client_eof_; });
  EXPECT_EQ(journal_.outcomes, std::vector<Outcome>{Outcome::kError});
  EXPECT_EQ(journal_.errors, std::vector<std::string>{"drained"});
}

TEST_F(ExchangeTest, PipelinedRequestsKeepTheirOwnHeads) {
  ScriptedUpstream upstream(kOk);
  AddService(upstream.address());
  Connect();
  Send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
  RunUntil([&] { return Logged(2); });
  EXPECT_EQ(journal_.outcomes, (std::vector<Outcome>{Outcome::kForwarded, Outcome::kForwarded}));
  std::vector<std::string> responses;
  for (const std::string& e : journal_.events) {
    if (e.rfind("a:response", 0) == 0) responses.push_back(e);
  }
  EXPECT_EQ(responses, (std::vector<std::string>{"a:response /1 200", "a:response /2 200"}));
  RunUntil([&] { return Count("ok") == 2; });
  EXPECT_EQ(Count("HTTP/1.1 200 OK"), 2u);
}

TEST_F(ExchangeTest, InterimAndFinalHeadsInOneReadAreBothForwarded) {
  // Parsed where they were received: the 103, then the final head and body.
  ScriptedUpstream upstream(std::string("HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n") +
                            kOk);
  AddService(upstream.address());
  Connect();
  Send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
  RunUntil([&] { return Logged(1) && received_.find("ok") != std::string::npos; });
  EXPECT_EQ(journal_.outcomes, std::vector<Outcome>{Outcome::kForwarded});
  size_t early = received_.find("HTTP/1.1 103 Early Hints\r\n");
  size_t final_head = received_.find("HTTP/1.1 200 OK\r\n");
  ASSERT_NE(early, std::string::npos) << received_;
  ASSERT_NE(final_head, std::string::npos) << received_;
  EXPECT_LT(early, final_head);
  EXPECT_NE(received_.find("Link: </s.css>"), std::string::npos);
}

TEST_F(ExchangeTest, BodyThatArrivesWithItsHeadIsRelayedWhole) {
  // Over Stream::kMinLoan: sent from the receive buffer it arrived in.
  std::string body(20000, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 23);
  ScriptedUpstream upstream("HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n" + body);
  AddService(upstream.address());
  Connect();
  Send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
  RunUntil([&] { return Logged(1) && received_.size() >= body.size(); });
  size_t end_of_head = received_.find("\r\n\r\n");
  ASSERT_NE(end_of_head, std::string::npos);
  EXPECT_TRUE(received_.substr(end_of_head + 4) == body)
      << received_.size() - end_of_head - 4 << " body bytes received";
  RunUntil([&] { return shard_.bufs->lent() == 0; });
  EXPECT_EQ(shard_.bufs->lent(), 0u);
}

TEST_F(ExchangeTest, MalformedHeadIsAnsweredAndLoggedWithoutARequest) {
  ScriptedUpstream upstream(kOk);
  AddService(upstream.address());
  Connect();
  Send("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n");
  RunUntil([&] { return Logged(1) && client_eof_; });
  EXPECT_EQ(journal_.errors, std::vector<std::string>{"bad_request"});
  EXPECT_EQ(received_.rfind("HTTP/1.1 400 ", 0), 0u) << received_;
  EXPECT_NE(received_.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(upstream.requests(), 0);
}

// ---- A real pausing filter: forward auth over the shard's side calls -------

TEST_F(ExchangeTest, ForwardAuthAllowsAndTheUpstreamGetsTheCopiedField) {
  ScriptedUpstream upstream(kOk);
  ScriptedUpstream auth("HTTP/1.1 200 OK\r\nX-User-Id: 42\r\nContent-Length: 0\r\n\r\n", true);
  AddForwardAuthService(upstream.address(), auth.address());
  Connect();
  Send("GET /x?y HTTP/1.1\r\nHost: h\r\nX-User-Id: mallory\r\nAuthorization: Basic eA==\r\n\r\n");
  RunUntil([&] { return Logged(1) && Count("ok") == 1; });
  EXPECT_EQ(journal_.outcomes, std::vector<Outcome>{Outcome::kForwarded});
  EXPECT_EQ(received_.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << received_;
  std::string head = upstream.last_head();
  EXPECT_NE(head.find("\r\nX-User-Id: 42\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("mallory"), std::string::npos) << head;
  std::string asked = auth.last_head();
  EXPECT_NE(asked.find("\r\nX-Forwarded-Uri: /x?y\r\n"), std::string::npos) << asked;
  EXPECT_NE(asked.find("\r\nAuthorization: Basic eA==\r\n"), std::string::npos) << asked;
}

TEST_F(ExchangeTest, ForwardAuthRefusalIsAnsweredWithItsFields) {
  ScriptedUpstream upstream(kOk);
  ScriptedUpstream auth(
      "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\n"
      "Content-Type: text/html\r\nContent-Length: 7\r\n\r\nlogin!\n",
      true);
  AddForwardAuthService(upstream.address(), auth.address());
  Connect();
  Send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
  RunUntil([&] { return Logged(1) && Count("login!\n") == 1; });
  EXPECT_EQ(journal_.outcomes, std::vector<Outcome>{Outcome::kLocal});
  EXPECT_EQ(received_,
            "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/html\r\nContent-Length: 7\r\n"
            "X-Seen-By: a\r\nWWW-Authenticate: Basic realm=\"x\"\r\n\r\nlogin!\n");
  EXPECT_EQ(upstream.requests(), 0);
}

TEST_F(ExchangeTest, ForwardAuthSilenceFailsClosedAfterItsTimeout) {
  ScriptedUpstream upstream(kOk);
  ScriptedUpstream auth("");
  AddForwardAuthService(upstream.address(), auth.address(), /*auth_timeout_ms=*/100);
  Connect();
  Send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
  RunUntil([&] { return Logged(1); });
  EXPECT_EQ(journal_.outcomes, std::vector<Outcome>{Outcome::kLocal});
  RunUntil([&] { return received_.find("\r\n\r\n") != std::string::npos; });
  EXPECT_EQ(received_.rfind("HTTP/1.1 503 ", 0), 0u) << received_;
  EXPECT_EQ(upstream.requests(), 0);
}

TEST_F(ExchangeTest, ConfigSwappedWhileForwardAuthWaitsKeepsTheExchangesFilter) {
  ScriptedUpstream upstream(kOk);
  ManualPeer auth;
  ASSERT_TRUE(RequestWaitingAt(auth, upstream.address()));
  // Re-registered meanwhile: new requests get a chain without forward auth;
  // the waiting exchange keeps its config and so its filter.
  auto next = std::make_unique<ServiceConfig>();
  next->name = "svc";
  next->upstreams.push_back({upstream.address(), 1});
  next->chain = std::make_unique<filters::FilterChain>();
  service_->SetConfig(std::move(next));
  auth.Send("HTTP/1.1 200 OK\r\nX-User-Id: 7\r\nContent-Length: 0\r\n\r\n");
  RunUntil([&] { return Logged(1) && Count("ok") == 1; });
  EXPECT_EQ(journal_.outcomes, std::vector<Outcome>{Outcome::kForwarded});
  EXPECT_NE(upstream.last_head().find("\r\nX-User-Id: 7\r\n"), std::string::npos);
}

TEST_F(ExchangeTest, TheConnectionsNextRequestRunsTheNewConfigAndTheOldOneIsLetGo) {
  ScriptedUpstream upstream(kOk);
  ManualPeer auth;
  ASSERT_TRUE(RequestWaitingAt(auth, upstream.address()));
  std::weak_ptr<const ServiceConfig> old = service_->config;
  auto next = std::make_unique<ServiceConfig>();
  next->name = "svc";
  next->upstreams.push_back({upstream.address(), 1});
  next->chain = std::make_unique<filters::FilterChain>();
  service_->SetConfig(std::move(next));
  // The exchange still waiting holds the old config (through its connection).
  EXPECT_FALSE(old.expired());
  auth.Send("HTTP/1.1 200 OK\r\nX-User-Id: 7\r\nContent-Length: 0\r\n\r\n");
  RunUntil([&] { return Logged(1) && Count("ok") == 1; });
  // The same client connection's next request: no forward auth any more.
  Send("GET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
  RunUntil([&] { return Count("ok") == 2; });  // (the new chain has no recording filter)
  EXPECT_EQ(upstream.requests(), 2);
  EXPECT_EQ(upstream.last_head().find("X-User-Id"), std::string::npos) << upstream.last_head();
  close(client_);
  client_ = -1;
  RunUntil([&] { return !connection_alive_; });
  EXPECT_TRUE(old.expired()) << "the old config outlived its last connection";
}

TEST_F(ExchangeTest, ExchangeEndingWhileForwardAuthWaitsCancelsTheCall) {
  ScriptedUpstream upstream(kOk);
  ManualPeer auth;
  ASSERT_TRUE(RequestWaitingAt(auth, upstream.address()));
  connection_->Abort();  // what the drain deadline does
  connection_alive_ = false;
  RunUntil([&] { return Logged(1) && auth.Closed(); });
  EXPECT_EQ(journal_.errors, std::vector<std::string>{"drained"});
  EXPECT_TRUE(auth.Closed()) << "the call's connection is still open";
  // An answer now finds nobody (ASan: nobody freed).
  auth.Send("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  for (int i = 0; i < 5; ++i) shard_.ring->RunOnce(1'000'000);
  EXPECT_EQ(upstream.requests(), 0);
  EXPECT_EQ(journal_.outcomes.size(), 1u);
}

}  // namespace exchange_test
}  // namespace icaht::proxy
