// One body direction over socketpairs on a real ring: copied, re-framed,
// held, spliced, and cut short.

#include "proxy/body_forwarder.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/buf_ring.h"
#include "core/ring.h"
#include "gtest/gtest.h"
#include "net/stream.h"
#include "proxy/shard_proxy.h"
#include "test_shard.h"

namespace icaht::proxy {
namespace body_forwarder_test {

using Failure = BodyForwarder::Failure;

class BodyForwarderTest : public ::testing::Test,
                          private net::StreamHandler,
                          private BodyForwarder::Callbacks {
 protected:
  void SetUp() override {
    int src[2], dst[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, src), 0);
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, dst), 0);
    writer_ = src[0];
    reader_ = dst[1];
    source_ = new net::Stream(*shard_.ring, *shard_.bufs, src[1], this);
    sink_ = new net::Stream(*shard_.ring, *shard_.bufs, dst[0], this);
    forwarder_ = std::make_unique<BodyForwarder>(*shard_.proxy,
                                                 static_cast<BodyForwarder::Callbacks*>(this));
  }

  void TearDown() override {
    forwarder_.reset();
    source_->Close();
    sink_->Close();
    Run([] { return net::Stream::live_count() == 0; });
    shard_.proxy.reset();
    if (writer_ >= 0) close(writer_);
    close(reader_);
  }

  void Start(const BodyForwarder::Options& options, bool with_sink = true) {
    source_->StartReading();
    forwarder_->Start(source_, with_sink ? sink_ : nullptr, options);
  }

  // Runs the ring (writing `to_write` as the socket takes it, reading what
  // arrives at the far end) until `done` or 5 s.
  void Run(const std::function<bool()>& done) {
    int64_t deadline = core::NowNs() + 5'000'000'000;
    while (!done() && core::NowNs() < deadline) {
      if (written_ < to_write_.size()) {
        ssize_t n = write(writer_, to_write_.data() + written_, to_write_.size() - written_);
        if (n > 0) written_ += n;
      }
      shard_.ring->RunOnce(2'000'000);
      char buf[65536];
      ssize_t n;
      while ((n = read(reader_, buf, sizeof buf)) > 0) received_.append(buf, n);
    }
  }

  void OnData(net::Stream* stream, std::string_view data) override {
    if (stream != source_) return;
    size_t used = forwarder_->OnData(data);
    leftover_.append(data.substr(used));
    max_lent_ = std::max(max_lent_, shard_.bufs->lent());
  }
  void OnEof(net::Stream* stream) override {
    if (stream == source_) forwarder_->OnSourceEof();
  }
  void OnError(net::Stream*, int) override {}
  void OnSendDrained(net::Stream* stream) override {
    if (stream == sink_) forwarder_->OnSinkDrained();
  }
  void OnReadStopped(net::Stream* stream) override {
    if (stream == source_) forwarder_->OnSourceReadStopped();
  }
  void OnBodyDone(BodyForwarder*) override { done_ = true; }
  void OnBodyFailed(BodyForwarder*, Failure failure) override { failure_ = failure; }

  TestShard shard_;
  std::unique_ptr<BodyForwarder> forwarder_;
  net::Stream* source_ = nullptr;
  net::Stream* sink_ = nullptr;
  int writer_ = -1;
  int reader_ = -1;
  std::string to_write_;
  size_t written_ = 0;
  std::string received_;
  std::string leftover_;
  bool done_ = false;
  std::optional<Failure> failure_;
  unsigned max_lent_ = 0;  // provided buffers lent to the sink at once
};

TEST_F(BodyForwarderTest, ContentLengthBodyIsCopiedAndTheRestIsReturned) {
  Start({.in = BodyForwarder::In::kContentLength, .length = 5});
  to_write_ = "helloGET /next";
  Run([&] { return done_ && received_.size() == 5; });
  EXPECT_TRUE(done_);
  EXPECT_EQ(received_, "hello");
  EXPECT_EQ(leftover_, "GET /next");
  EXPECT_TRUE(forwarder_->overrun());
  EXPECT_EQ(forwarder_->bytes(), 5u);
}

TEST_F(BodyForwarderTest, ChunkedBodyIsReframedOrDecoded) {
  Start({.in = BodyForwarder::In::kChunked, .out = BodyForwarder::Out::kChunked});
  to_write_ = "3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: x\r\n\r\n";
  Run([&] { return done_; });
  Run([&] { return received_.size() >= 20; });
  EXPECT_EQ(received_, "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  EXPECT_EQ(forwarder_->bytes(), 5u);
}

TEST_F(BodyForwarderTest, ChunkedBodyDecodedRawForHttp10) {
  Start({.in = BodyForwarder::In::kChunked, .out = BodyForwarder::Out::kRaw});
  to_write_ = "3\r\nabc\r\n0\r\n\r\n";
  Run([&] { return done_ && received_.size() == 3; });
  EXPECT_EQ(received_, "abc");
}

TEST_F(BodyForwarderTest, BadChunkFails) {
  Start({.in = BodyForwarder::In::kChunked, .out = BodyForwarder::Out::kChunked});
  to_write_ = "zz\r\n";
  Run([&] { return failure_.has_value(); });
  EXPECT_EQ(failure_, Failure::kBadChunk);
  EXPECT_FALSE(done_);
}

TEST_F(BodyForwarderTest, HeldBodyWaitsUntilCompleteAndRefusesOversize) {
  Start({.in = BodyForwarder::In::kChunked,
         .out = BodyForwarder::Out::kChunked,
         .max_bytes = 8,
         .hold = true},
        /*with_sink=*/false);
  to_write_ = "4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n";
  Run([&] { return done_; });
  std::string held;
  EXPECT_TRUE(forwarder_->TakeHeldInto(&held));
  EXPECT_EQ(held, "4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n");
  EXPECT_EQ(received_, "");

  done_ = false;
  forwarder_->Start(source_, nullptr,
                    {.in = BodyForwarder::In::kChunked, .max_bytes = 8, .hold = true});
  to_write_ += "9\r\n123456789\r\n";
  Run([&] { return failure_.has_value(); });
  EXPECT_EQ(failure_, Failure::kTooLarge);
}

TEST_F(BodyForwarderTest, LongBodyIsSplicedWhole) {
  std::string body(3 << 20, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 131 + (i >> 12));
  uint64_t spliced_before = shard_.proxy->stats().bytes_spliced;
  Start({.in = BodyForwarder::In::kContentLength, .length = body.size(), .allow_splice = true});
  to_write_ = body;
  Run([&] { return done_ && received_.size() == body.size(); });
  EXPECT_TRUE(done_);
  EXPECT_TRUE(received_ == body) << "spliced bytes differ (" << received_.size() << " received)";
  EXPECT_GT(shard_.proxy->stats().bytes_spliced, spliced_before);
  EXPECT_EQ(forwarder_->bytes(), body.size());
}

TEST_F(BodyForwarderTest, CopiedBodyGoesOutFromTheReceiveBuffers) {
  // Not spliced: sent from the source's receive buffers (lent, not copied),
  // at most one queued and one in flight, all back in the ring at the end.
  std::string body(600 * 1024, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 151 + (i >> 13));
  Start({.in = BodyForwarder::In::kContentLength, .length = body.size()});
  to_write_ = body;
  Run([&] { return done_ && received_.size() == body.size() && shard_.bufs->lent() == 0; });
  EXPECT_TRUE(done_);
  EXPECT_TRUE(received_ == body) << "relayed bytes differ (" << received_.size() << " received)";
  EXPECT_GE(max_lent_, 1u);
  EXPECT_LE(max_lent_, 2u);
  EXPECT_EQ(shard_.bufs->lent(), 0u);
}

TEST_F(BodyForwarderTest, SourceClosingEarlyFails) {
  Start({.in = BodyForwarder::In::kContentLength, .length = 100});
  to_write_ = "short";
  Run([&] { return written_ == to_write_.size(); });
  close(writer_);
  writer_ = -1;
  Run([&] { return failure_.has_value(); });
  EXPECT_EQ(failure_, Failure::kSourceClosed);
}

TEST_F(BodyForwarderTest, UntilEofBodyEndsAtTheSourcesEof) {
  Start({.in = BodyForwarder::In::kUntilEof, .out = BodyForwarder::Out::kChunked});
  to_write_ = "abc";
  Run([&] { return written_ == to_write_.size() && received_.size() >= 8; });
  shutdown(writer_, SHUT_WR);
  Run([&] { return done_ && received_.size() == 13; });
  EXPECT_EQ(received_, "3\r\nabc\r\n0\r\n\r\n");
}

}  // namespace body_forwarder_test
}  // namespace icaht::proxy
