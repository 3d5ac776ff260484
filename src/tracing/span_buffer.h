#pragma once
// A shard's finished spans until the control thread collects them (a
// message every second takes the whole vector): bounded, so that a stalled
// exporter costs a counter, never memory. Shard-owned, single-threaded.

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "tracing/span.h"

namespace icaht::tracing {

class SpanBuffer {
 public:
  // capacity 0: spans are not collected (the daemon has no trace endpoint).
  explicit SpanBuffer(size_t capacity = 0) : capacity_(capacity) {}

  bool collecting() const { return capacity_ > 0; }
  // A span to fill in, or nullptr when the buffer is full (counted) or not
  // collecting.
  Span* Next() {
    if (spans_.size() >= capacity_) {
      dropped_ += collecting();
      return nullptr;
    }
    return &spans_.emplace_back();
  }

  struct Harvest {
    std::vector<Span> spans;
    uint64_t dropped = 0;  // since the last harvest
  };
  Harvest Take() {
    Harvest out{std::move(spans_), dropped_};
    spans_ = {};
    dropped_ = 0;
    return out;
  }
  size_t size() const { return spans_.size(); }

 private:
  size_t capacity_;
  std::vector<Span> spans_;
  uint64_t dropped_ = 0;
};

}  // namespace icaht::tracing
