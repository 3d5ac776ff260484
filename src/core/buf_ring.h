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

 private:
  BufRing() = default;
  Ring* ring_ = nullptr;
  io_uring_buf_ring* br_ = nullptr;
  size_t ring_bytes_ = 0;
  char* base_ = nullptr;
  unsigned count_ = 0;
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
