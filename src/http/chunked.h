#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace icaht::http {

// Incremental decoder for the chunked transfer coding (RFC 9112 section 7.1).
// Feed it the bytes after the head in any pieces. It never copies: it tells the
// caller which part of the input is chunk data.
class ChunkedDecoder {
 public:
  enum class State : uint8_t { kSize, kSizeExt, kSizeLf, kData, kDataCr, kDataLf, kTrailer, kDone, kError };

  struct Step {
    size_t consumed = 0;    // bytes of the input used by this step
    std::string_view data;  // chunk payload found in this step (subrange of input; may be empty)
  };

  // Consumes framing bytes up to and including the next run of payload bytes
  // (or the end of input, or the end of the message). Call repeatedly until
  // consumed == input.size() or done() or failed().
  Step Feed(std::string_view input);

  bool done() const { return state_ == State::kDone; }
  bool failed() const { return state_ == State::kError; }
  const char* error_detail() const { return error_detail_; }
  // Raw trailer section bytes seen so far are not kept; trailers are dropped
  // (RFC 9110 section 6.5.1 allows a proxy to discard them).
  void Reset();

  // Limits: chunk size up to 2^62 (more -> error), chunk extension line up to 4 KiB,
  // trailer section up to 16 KiB.
 private:
  State state_ = State::kSize;
  uint64_t remaining_ = 0;
  size_t size_digits_ = 0;
  size_t line_bytes_ = 0;
  size_t trailer_bytes_ = 0;
  bool trailer_line_empty_ = true;
  const char* error_detail_ = "";
};

// Writes the chunk header for `size` bytes ("<hex>\r\n") into buf (>= 18 bytes);
// returns its length.
size_t WriteChunkHeader(uint64_t size, char* buf);

}  // namespace icaht::http
