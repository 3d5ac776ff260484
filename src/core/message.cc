#include "core/message.h"

#include "core/check.h"
#include "core/log.h"

namespace icaht::core {
namespace {

// The sender's own CQE for a MSG_RING op. Failure means the target ring is
// gone or its CQ overflowed: a broken invariant, since rings outlive messages
// and CQs are sized for the traffic.
class MsgSentCompletion final : public Completion {
 public:
  void Complete(int res, uint32_t) override {
    if (res < 0) {
      ICAHT_LOG_LIMITED(kError, "MSG_RING failed: ", res);
      ICAHT_CHECK(res >= 0);
    }
  }
};
MsgSentCompletion g_msg_sent;

// PostOrDrop's: the message never arrived when the post failed (the target
// shard's ring is closed at its stop): it goes.
class DropOnFailure final : public Completion {
 public:
  explicit DropOnFailure(Message* msg) : msg_(msg) {}
  void Complete(int res, uint32_t) override {
    if (res < 0) delete msg_;
    delete this;
  }

 private:
  Message* msg_;
};

void PostTo(Ring& from, int target_fd, Message* msg, Completion* sent = &g_msg_sent) {
  io_uring_sqe* sqe = from.GetSqe();
  io_uring_prep_msg_ring(sqe, target_fd, 0, reinterpret_cast<uint64_t>(msg), 0);
  io_uring_sqe_set_data(sqe, sent);
  // Messages are rare and latency-sensitive (an admin call waits): submit now.
  io_uring_submit(from.raw());
}

}  // namespace

void Message::Post(Ring& from, int target_fd) {
  origin_fd_ = from.fd();
  returning_ = false;
  PostTo(from, target_fd, this);
}

void Message::PostOrDrop(Ring& from, int target_fd) {
  origin_fd_ = from.fd();
  returning_ = false;
  PostTo(from, target_fd, this, new DropOnFailure(this));
}

void Message::Reply(Ring& self) {
  returning_ = true;
  PostTo(self, origin_fd_, this);
}

void Message::Complete(int, uint32_t) {
  if (returning_) {
    OnReturn();
  } else {
    OnArrive();
  }
}

}  // namespace icaht::core
