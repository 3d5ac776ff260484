#pragma once
// A shard's data-path pieces on the test's own thread: a ring (with Stream's
// per-round send flush), provided buffers and a ShardProxy (pipes, pool,
// stats). Tests drive it with ring->RunOnce().

#include <memory>

#include "core/buf_ring.h"
#include "core/ring.h"
#include "net/stream.h"
#include "proxy/shard_proxy.h"

namespace icaht::proxy {

struct TestShard {
  TestShard()
      : ring(std::move(*core::Ring::Create(256))),
        bufs(std::move(*core::BufRing::Create(*ring, 0, 64, 32 * 1024))) {
    ring->set_before_submit(&net::Stream::FlushQueued);
    proxy = std::make_unique<ShardProxy>(*ring, *bufs, 0);
  }

  std::unique_ptr<core::Ring> ring;
  std::unique_ptr<core::BufRing> bufs;
  std::unique_ptr<ShardProxy> proxy;
};

}  // namespace icaht::proxy
