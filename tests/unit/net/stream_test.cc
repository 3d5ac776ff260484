// net::Stream's send queue with lent receive buffers (SendFrom) and its
// adaptive receive mode, on a real ring over socketpairs: a source stream
// whose handler queues what it receives on a sink stream, and a plain socket
// reading the sink's far end.

#include "net/stream.h"

#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <string>

#include "core/buf_ring.h"
#include "core/ring.h"
#include "gtest/gtest.h"

namespace icaht::net {
namespace stream_test {

struct Handler : StreamHandler {
  void OnData(Stream* stream, std::string_view data) override {
    if (on_data) on_data(stream, data);
  }
  void OnEof(Stream*) override {}
  void OnError(Stream*, int error) override { error_ = error; }
  std::function<void(Stream*, std::string_view)> on_data;
  int error_ = 0;
};

std::string Pattern(size_t size) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return out;
}

class StreamLoanTest : public ::testing::Test {
 protected:
  StreamLoanTest()
      : ring_(std::move(*core::Ring::Create(64))),
        bufs_(std::move(*core::BufRing::Create(*ring_, 0, 16, 32 * 1024))) {
    ring_->set_before_submit(&Stream::FlushQueued);
    int src[2], dst[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, src), 0);
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, dst), 0);
    writer_ = src[0];
    reader_ = dst[1];
    source_ = new Stream(*ring_, *bufs_, src[1], &handler_);
    sink_ = new Stream(*ring_, *bufs_, dst[0], &handler_);
  }

  ~StreamLoanTest() override {
    if (source_ != nullptr) source_->Close();
    if (sink_ != nullptr) sink_->Close();
    for (int i = 0; i < 50 && Stream::live_count() > 0; ++i) ring_->RunOnce(2'000'000);
    EXPECT_EQ(Stream::live_count(), 0u);
    EXPECT_EQ(bufs_->lent(), 0u) << "a lent buffer never went back to the ring";
    close(writer_);
    close(reader_);
  }

  // Writes `input` to the source, runs the ring until `done` (or 2 s),
  // collecting what the sink's far end receives.
  void Deliver(const std::string& input, const std::function<bool()>& done) {
    source_->StartReading();
    ASSERT_EQ(write(writer_, input.data(), input.size()), static_cast<ssize_t>(input.size()));
    for (int i = 0; i < 1000 && !done(); ++i) {
      ring_->RunOnce(2'000'000);
      char buf[65536];
      ssize_t n;
      while ((n = read(reader_, buf, sizeof buf)) > 0) received_.append(buf, n);
    }
  }

  // Queues "HEAD", `data` lent from the source and `tail` on the sink;
  // returns the sink's mark before them.
  size_t QueueAroundLoan(std::string_view data, std::string_view tail) {
    size_t mark = sink_->send_mark();
    sink_->Send("HEAD");
    sink_->SendFrom(source_, data);
    sink_->Send(tail);
    return mark;
  }

  std::unique_ptr<core::Ring> ring_;
  std::unique_ptr<core::BufRing> bufs_;
  Handler handler_;
  Stream* source_ = nullptr;
  Stream* sink_ = nullptr;
  int writer_ = -1;
  int reader_ = -1;
  std::string received_;
};

TEST_F(StreamLoanTest, SendFromLendsTheBufferUntilItsSendCompletes) {
  const std::string body = Pattern(8192);
  unsigned lent_inside = 0;
  size_t mark_before = 0, mark_after = 0;
  handler_.on_data = [&](Stream* stream, std::string_view data) {
    if (stream != source_) return;
    mark_before = QueueAroundLoan(data, "TAIL");
    mark_after = sink_->send_mark();
    lent_inside = bufs_->lent();
    EXPECT_EQ(sink_->queued_bytes(), data.size() + 8);
  };
  std::string expected = "HEAD" + body + "TAIL";
  Deliver(body, [&] { return received_.size() >= expected.size() && bufs_->lent() == 0; });
  EXPECT_EQ(lent_inside, 1u);
  EXPECT_EQ(mark_after - mark_before, expected.size());
  EXPECT_TRUE(received_ == expected) << received_.size() << " bytes received";
  EXPECT_EQ(bufs_->lent(), 0u);
  // Marks stay offsets in one stream after the loan left.
  EXPECT_EQ(sink_->send_mark(), mark_after);
}

TEST_F(StreamLoanTest, SmallPiecesAndASecondLoanAreCopied) {
  const std::string body = Pattern(12000);
  unsigned lent_inside = 0;
  handler_.on_data = [&](Stream* stream, std::string_view data) {
    if (stream != source_) return;
    sink_->SendFrom(source_, data.substr(0, 100));     // too small to lend
    sink_->SendFrom(source_, data.substr(100, 6000));  // lent
    sink_->SendFrom(source_, data.substr(6100));       // the buffer is lent already
    lent_inside = bufs_->lent();
  };
  Deliver(body, [&] { return received_.size() >= body.size() && bufs_->lent() == 0; });
  EXPECT_EQ(lent_inside, 1u);
  EXPECT_TRUE(received_ == body);
}

TEST_F(StreamLoanTest, TruncatingBeforeALoanReturnsIt) {
  const std::string body = Pattern(8192);
  unsigned lent_after_truncate = 1;
  handler_.on_data = [&](Stream* stream, std::string_view data) {
    if (stream != source_) return;
    size_t mark = QueueAroundLoan(data, "MORE");
    sink_->TruncateTo(mark);  // e.g. a response head replaced by an error answer
    lent_after_truncate = bufs_->lent();
    sink_->Send("ERROR");
  };
  Deliver(body, [&] { return received_.size() >= 5; });
  EXPECT_EQ(lent_after_truncate, 0u);
  EXPECT_EQ(received_, "ERROR");
}

TEST_F(StreamLoanTest, TruncatingInsideALoanKeepsItsStart) {
  const std::string body = Pattern(8192);
  handler_.on_data = [&](Stream* stream, std::string_view data) {
    if (stream != source_) return;
    size_t mark = QueueAroundLoan(data, "MORE");
    sink_->TruncateTo(mark + 4 + 5000);
    sink_->Send("END");
  };
  std::string expected = "HEAD" + body.substr(0, 5000) + "END";
  Deliver(body, [&] { return received_.size() >= expected.size() && bufs_->lent() == 0; });
  EXPECT_TRUE(received_ == expected) << received_.size() << " bytes received";
}

TEST_F(StreamLoanTest, TakeUnsentCopiesTheLoanOutAndReturnsIt) {
  const std::string body = Pattern(8192);
  std::string unsent;
  unsigned lent_after = 1;
  handler_.on_data = [&](Stream* stream, std::string_view data) {
    if (stream != source_) return;
    QueueAroundLoan(data, "TAIL");
    unsent = sink_->TakeUnsent();  // a retry on another connection
    lent_after = bufs_->lent();
  };
  Deliver(body, [&] { return !unsent.empty(); });
  EXPECT_TRUE(unsent == "HEAD" + body + "TAIL");
  EXPECT_EQ(lent_after, 0u);
  EXPECT_EQ(sink_->queued_bytes(), 0u);
}

TEST_F(StreamLoanTest, ClosingTheSinkReturnsItsLoan) {
  const std::string body = Pattern(8192);
  bool closed = false;
  handler_.on_data = [&](Stream* stream, std::string_view data) {
    if (stream != source_) return;
    sink_->SendFrom(source_, data);
    sink_->Close();
    sink_ = nullptr;
    closed = true;
  };
  Deliver(body, [&] { return closed && Stream::live_count() == 1; });
  EXPECT_EQ(bufs_->lent(), 0u);
}

// An upstream socket's receive mode: single-shot at first and after a
// pause, multishot once kCalmArms receives were armed without a pause.
TEST_F(StreamLoanTest, AdaptiveReceiveIsSingleShotAfterAPauseUntilCalm) {
  source_->set_adaptive_recv();
  EXPECT_TRUE(source_->single_shot());
  std::string got;
  std::string expected;
  handler_.on_data = [&](Stream* stream, std::string_view data) {
    if (stream == source_) got.append(data);
  };
  // One receive is armed per piece read: single-shot for the first pieces,
  // multishot once kCalmArms were armed. Returns how many were single-shot.
  auto read_until_multishot = [&](const char* tag) {
    int pieces_single = 0;
    for (int i = 0; i < 2 * Stream::kCalmArms && source_->single_shot(); ++i) {
      ++pieces_single;
      expected += tag + std::to_string(i) + ".";
      Deliver(expected.substr(got.size()), [&] { return got == expected; });
      EXPECT_EQ(got, expected);
    }
    return pieces_single;
  };
  // The 64th arm (the one after the 63rd piece) is multishot.
  EXPECT_EQ(read_until_multishot("a"), Stream::kCalmArms - 1);
  EXPECT_FALSE(source_->single_shot());
  expected += "multi.";
  Deliver("multi.", [&] { return got == expected; });
  EXPECT_EQ(got, expected);
  EXPECT_FALSE(source_->single_shot()) << "reading without a pause stays multishot";
  source_->PauseReading();
  EXPECT_TRUE(source_->single_shot());
  for (int i = 0; i < 100 && !source_->read_stopped(); ++i) ring_->RunOnce(2'000'000);
  ASSERT_TRUE(source_->read_stopped());
  ASSERT_EQ(write(writer_, "held.", 5), 5);
  for (int i = 0; i < 5; ++i) ring_->RunOnce(1'000'000);
  EXPECT_EQ(got, expected) << "read while paused";
  expected += "held.";
  Deliver("", [&] { return got == expected; });
  EXPECT_EQ(got, expected);
  // The held piece took the first arm since the pause.
  EXPECT_EQ(read_until_multishot("b"), Stream::kCalmArms - 2);
  EXPECT_FALSE(source_->single_shot());
}

TEST(BufRingLoanTest, AQuarterOfTheBuffersMayBeLent) {
  std::unique_ptr<core::Ring> ring = std::move(*core::Ring::Create(8));
  std::unique_ptr<core::BufRing> bufs = std::move(*core::BufRing::Create(*ring, 0, 16, 4096));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(bufs->TryLend());
  EXPECT_FALSE(bufs->TryLend());
  EXPECT_EQ(bufs->lent(), 4u);
  bufs->Return(3);
  EXPECT_TRUE(bufs->TryLend());
  for (uint16_t bid = 0; bid < 4; ++bid) bufs->Return(bid);
  EXPECT_EQ(bufs->lent(), 0u);
  EXPECT_TRUE(bufs->Holds(2, bufs->Buffer(2) + 10, 100));
  EXPECT_FALSE(bufs->Holds(2, bufs->Buffer(3), 100));
  EXPECT_FALSE(bufs->Holds(2, bufs->Buffer(2) + 4000, 100));
}

}  // namespace stream_test
}  // namespace icaht::net
