// The upstream pool's keys on a real ring: a parked connection is found only
// under its own address, TLS context and verified name (a lookup views the
// caller's parts; a new key is copied when stored), and which ring a new upstream
// connection receives into.

#include "proxy/upstream_pool.h"

#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "net/address.h"
#include "net/socket.h"
#include "net/stream.h"
#include "net/tls_context.h"
#include "net/tls_session.h"
#include "test_shard.h"

namespace icaht::proxy {
namespace upstream_pool_test {

class UpstreamPoolTest : public ::testing::Test, private net::StreamHandler {
 protected:
  void TearDown() override {
    shard_.proxy->pool().CloseAll();
    for (int i = 0; i < 200 && net::Stream::live_count() > 0; ++i) shard_.ring->RunOnce(1'000'000);
    for (int fd : listeners_) close(fd);
  }

  // A listener on 127.0.0.1 (its backlog accepts for us: nothing reads).
  net::Address Listen() {
    absl::StatusOr<net::Fd> fd = net::ListenTcp(*net::Address::ParseListen("127.0.0.1:0"), {});
    EXPECT_TRUE(fd.ok());
    absl::StatusOr<uint16_t> port = net::LocalPort(fd->get());
    listeners_.push_back(fd->Release());
    return *net::Address::FromIp("127.0.0.1", *port);
  }

  // A stream to `to`, with a client TLS session for `name` when `tls` is set.
  net::Stream* Open(const net::Address& to,
                    const std::shared_ptr<const net::TlsClientContext>& tls = nullptr,
                    const std::string& name = "") {
    absl::StatusOr<net::Fd> fd = net::NewTcpSocket(to.family());
    EXPECT_TRUE(fd.ok());
    auto* stream = new net::Stream(*shard_.ring, *shard_.bufs, fd->Release(), this);
    stream->set_adaptive_recv();  // as UpstreamCall's
    if (tls != nullptr) stream->StartTls(net::TlsSession::ForClient(tls, name, nullptr));
    stream->Connect(to, 1000);
    for (int i = 0; i < 20; ++i) shard_.ring->RunOnce(1'000'000);
    return stream;
  }

  std::shared_ptr<const net::TlsClientContext> ClientContext() {
    net::TlsClientOptions options;
    options.verify = false;
    auto context = net::TlsClientContext::Create(options);
    EXPECT_TRUE(context.ok()) << context.status();
    return *context;
  }

  UpstreamPool& pool() { return shard_.proxy->pool(); }

  TestShard shard_;
  std::vector<int> listeners_;

 private:
  void OnData(net::Stream*, std::string_view) override {}
  void OnEof(net::Stream*) override {}
  void OnError(net::Stream*, int) override {}
};

TEST_F(UpstreamPoolTest, ATakeFindsOnlyItsOwnAddress) {
  net::Address a = Listen();
  net::Address b = Listen();
  net::Stream* to_a = Open(a);
  net::Stream* to_b = Open(b);
  pool().Put(to_a);
  pool().Put(to_b);
  EXPECT_EQ(pool().idle_count(), 2u);

  EXPECT_EQ(pool().Take({b}), to_b);
  EXPECT_EQ(pool().Take({b}), nullptr);
  EXPECT_EQ(pool().Take({a}), to_a);
  EXPECT_EQ(pool().idle_count(), 0u);
  to_a->Close();
  to_b->Close();
}

TEST_F(UpstreamPoolTest, TlsConnectionsAreKeptApartByContextAndName) {
  net::Address a = Listen();
  auto one = ClientContext();
  auto other = ClientContext();
  net::Stream* plain = Open(a);
  net::Stream* one_x = Open(a, one, "x.test");
  net::Stream* one_y = Open(a, one, "y.test");
  net::Stream* other_x = Open(a, other, "x.test");
  for (net::Stream* stream : {plain, one_x, one_y, other_x}) pool().Put(stream);
  EXPECT_EQ(pool().idle_count(), 4u);

  // The caller's name is viewed, not copied: a temporary string will do.
  std::string name = "y.test";
  EXPECT_EQ(pool().Take({a, one.get(), name}), one_y);
  EXPECT_EQ(pool().Take({a, one.get(), name}), nullptr);
  EXPECT_EQ(pool().Take({a, other.get(), "y.test"}), nullptr);
  EXPECT_EQ(pool().Take({a, other.get(), "x.test"}), other_x);
  EXPECT_EQ(pool().Take({a, one.get(), "x.test"}), one_x);
  EXPECT_EQ(pool().Take({a}), plain);
  EXPECT_EQ(pool().idle_count(), 0u);
  for (net::Stream* stream : {plain, one_x, one_y, other_x}) stream->Close();
}

TEST_F(UpstreamPoolTest, MostRecentlyParkedIsTakenFirst) {
  net::Address a = Listen();
  net::Stream* first = Open(a);
  net::Stream* second = Open(a);
  pool().Put(first);
  pool().Put(second);
  EXPECT_EQ(pool().Take({a}), second);
  EXPECT_EQ(pool().Take({a}), first);
  first->Close();
  second->Close();
}

TEST(ShardProxyRingsTest, TlsClientsUpstreamsReceiveIntoTheirOwnRingWhenThereIsOne) {
  std::unique_ptr<core::Ring> ring = std::move(*core::Ring::Create(64));
  std::unique_ptr<core::BufRing> bufs = std::move(*core::BufRing::Create(*ring, 0, 16, 4096));
  std::unique_ptr<core::BufRing> tls = std::move(*core::BufRing::Create(*ring, 1, 8, 4096));
  {
    ShardProxy proxy(*ring, *bufs, 0, tls.get());
    EXPECT_EQ(&proxy.upstream_bufs(true), tls.get());
    EXPECT_EQ(&proxy.upstream_bufs(false), bufs.get());
  }
  ShardProxy single(*ring, *bufs, 0);  // none given: the shard's ring serves both
  EXPECT_EQ(&single.upstream_bufs(true), bufs.get());
  EXPECT_EQ(&single.upstream_bufs(false), bufs.get());
}

}  // namespace upstream_pool_test
}  // namespace icaht::proxy
