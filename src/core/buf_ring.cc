#include "core/buf_ring.h"

#include <string.h>
#include <sys/mman.h>

#include "absl/strings/str_cat.h"

namespace icaht::core {

absl::StatusOr<std::unique_ptr<BufRing>> BufRing::Create(Ring& ring, uint16_t group_id,
                                                         unsigned count, size_t buffer_size) {
  std::unique_ptr<BufRing> self(new BufRing());
  self->ring_ = &ring;
  self->count_ = count;
  self->buffer_size_ = buffer_size;
  self->stride_ = buffer_size + kColor;
  self->group_id_ = group_id;
  self->ring_bytes_ = count * sizeof(io_uring_buf);
  void* mem =
      mmap(nullptr, self->ring_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) return absl::ResourceExhaustedError("mmap for buffer ring failed");
  self->br_ = static_cast<io_uring_buf_ring*>(mem);
  void* bufs = mmap(nullptr, count * self->stride_, PROT_READ | PROT_WRITE,
                    MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (bufs == MAP_FAILED) return absl::ResourceExhaustedError("mmap for buffers failed");
  self->base_ = static_cast<char*>(bufs);

  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(self->br_);
  reg.ring_entries = count;
  reg.bgid = group_id;
  int ret = io_uring_register_buf_ring(ring.raw(), &reg, 0);
  if (ret < 0) {
    return absl::UnavailableError(
        absl::StrCat("io_uring provided buffer rings unsupported: ", strerror(-ret)));
  }
  io_uring_buf_ring_init(self->br_);
  for (unsigned i = 0; i < count; ++i) {
    io_uring_buf_ring_add(self->br_, self->Buffer(i), buffer_size, i, io_uring_buf_ring_mask(count),
                          i);
  }
  io_uring_buf_ring_advance(self->br_, count);
  return self;
}

BufRing::~BufRing() {
  if (br_ != nullptr) {
    io_uring_unregister_buf_ring(ring_->raw(), group_id_);
    munmap(br_, ring_bytes_);
  }
  if (base_ != nullptr) munmap(base_, count_ * stride_);
}

void BufRing::Recycle(uint16_t bid) {
  io_uring_buf_ring_add(br_, Buffer(bid), buffer_size_, bid, io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(br_, 1);
}

}  // namespace icaht::core
