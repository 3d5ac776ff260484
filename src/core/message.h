#pragma once
// Messages between rings (IORING_OP_MSG_RING). The only way the control
// thread and the shards talk: no locks, no shared mutable state.
//
// A Message is posted from ring A to ring B: B gets a CQE it did not submit,
// whose user_data is the Message, and runs OnArrive() on B's thread. The
// receiver may post the same Message back (Reply), and A then runs OnReturn()
// on A's thread. Ownership travels with the message: whoever holds the leg
// owns it. The kernel's MSG_RING orders the sender's prior writes before the
// receiver's CQE (it is a syscall on the sender, a CQE read on the receiver).

#include <cstdint>

#include "core/ring.h"

namespace icaht::core {

class Message : public Completion {
 public:
  virtual ~Message() = default;

  // Posts this message from `from` (the calling thread's ring) to the ring
  // whose fd is `target_fd`. The reply, if any, goes back to `from`.
  void Post(Ring& from, int target_fd);
  // For a message nobody answers, between shards that may be stopping: if
  // the target ring is gone, the message is deleted instead of arriving.
  void PostOrDrop(Ring& from, int target_fd);
  // Called on the receiving thread (inside OnArrive or later): posts the
  // message back to its origin through `self`, the receiver's ring.
  void Reply(Ring& self);

 protected:
  virtual void OnArrive() = 0;
  virtual void OnReturn() {}

 private:
  void Complete(int res, uint32_t flags) final;
  int origin_fd_ = -1;
  bool returning_ = false;
};

}  // namespace icaht::core
