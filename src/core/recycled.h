#pragma once
// Recycled<T>: a class-specific operator new/delete that keeps freed blocks
// of T on a per-thread free list, for objects made and destroyed once per
// request (Exchange, UpstreamCall). With dozens of requests in flight per
// shard, blocks of ~1 KiB outgrow glibc's tcache (7 per size) and every
// new/delete pair went through the unsorted bin and malloc_consolidate; a
// free list turns that into a vector push and pop. Lifetimes are unchanged:
// construction and destruction still run as with plain new/delete.
//
// Under AddressSanitizer blocks go back to the global allocator, so a use
// after free is still reported.
//
//   class Exchange final : public core::Recycled<Exchange>, ... { ... };

#include <cstddef>
#include <new>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define ICAHT_RECYCLE_BLOCKS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ICAHT_RECYCLE_BLOCKS 0
#endif
#endif
#ifndef ICAHT_RECYCLE_BLOCKS
#define ICAHT_RECYCLE_BLOCKS 1
#endif

namespace icaht::core {

template <typename T>
class Recycled {
 public:
  // Blocks kept per thread at most (beyond that they are freed).
  static constexpr size_t kMaxFree = 1024;

  static void* operator new(std::size_t size) {
    if (ICAHT_RECYCLE_BLOCKS && size == sizeof(T)) {
      std::vector<void*>& free = FreeBlocks();
      if (!free.empty()) {
        void* block = free.back();
        free.pop_back();
        return block;
      }
    }
    return ::operator new(size);
  }

  static void operator delete(void* block, std::size_t size) {
    if (ICAHT_RECYCLE_BLOCKS && size == sizeof(T)) {
      std::vector<void*>& free = FreeBlocks();
      if (free.size() < kMaxFree) {
        free.push_back(block);
        return;
      }
    }
    ::operator delete(block);
  }

 private:
  struct FreeList {
    std::vector<void*> blocks;
    ~FreeList() {
      for (void* block : blocks) ::operator delete(block);
    }
  };
  static std::vector<void*>& FreeBlocks() {
    thread_local FreeList list;
    return list.blocks;
  }
};

}  // namespace icaht::core
