#pragma once
// A provided-buffer ring (IORING_REGISTER_PBUF_RING) for multishot recv.
// liburing 2.3 has no io_uring_setup_buf_ring, so the ring memory is mmapped
// here. Owned by one ring's thread.

#include <liburing.h>

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "core/ring.h"

namespace icaht::core {

class BufRing {
 public:
  // `count` must be a power of two.
  static absl::StatusOr<std::unique_ptr<BufRing>> Create(Ring& ring, uint16_t group_id,
                                                         unsigned count, size_t buffer_size);
  ~BufRing();
  BufRing(const BufRing&) = delete;
  BufRing& operator=(const BufRing&) = delete;

  uint16_t group_id() const { return group_id_; }
  size_t buffer_size() const { return buffer_size_; }
  char* Buffer(uint16_t bid) { return base_ + static_cast<size_t>(bid) * stride_; }
  // Hands buffer `bid` back to the kernel. Cheap; call as soon as the data was consumed.
  void Recycle(uint16_t bid);
  // Lending: a received buffer kept out of the ring until a send of its bytes
  // completes (no copy into a send queue). At most a quarter of the buffers
  // are out on loan, so that receives never run dry because of it; TryLend
  // says whether one more may go, and Return recycles a lent one.
  bool TryLend() {
    if (lent_ >= count_ / 4) return false;
    ++lent_;
    return true;
  }
  void Return(uint16_t bid) {
    --lent_;
    Recycle(bid);
  }
  unsigned lent() const { return lent_; }
  // Whether `data` lies inside buffer `bid`.
  bool Holds(uint16_t bid, const char* data, size_t size) const {
    const char* start = base_ + static_cast<size_t>(bid) * stride_;
    return data >= start && size <= buffer_size_ && data + size <= start + buffer_size_;
  }

 private:
  BufRing() = default;
  Ring* ring_ = nullptr;
  io_uring_buf_ring* br_ = nullptr;
  size_t ring_bytes_ = 0;
  char* base_ = nullptr;
  unsigned count_ = 0;
  unsigned lent_ = 0;
  size_t buffer_size_ = 0;
  // Buffers are laid out buffer_size + one cache line apart: with a power-of-
  // two stride every buffer would start in the same cache set, and the first
  // lines (where a small message lands) of the buffers in rotation would
  // evict each other.
  static constexpr size_t kColor = 64;
  size_t stride_ = 0;
  uint16_t group_id_ = 0;
};

}  // namespace icaht::core
