#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace icaht::http {

// Incremental decoder for the chunked transfer coding (RFC 9112 section 7.1).
// Feed it the bytes after the head in any pieces. It never copies: it tells the
// caller which part of the input is chunk data. Trailer fields are validated but not kept
// (RFC 9110 section 6.5.1 allows a proxy to discard them). One decoder per message body; it
// is not thread-safe.
class ChunkedDecoder {
 public:
  enum class State : uint8_t {
    kSize,
    kSizeExt,
    kSizeLf,
    kData,
    kDataCr,
    kDataLf,
    kTrailer,
    kDone,
    kError
  };

  struct Step {
    size_t consumed = 0;    // bytes of the input used by this step
    std::string_view data;  // chunk payload found in this step (subrange of input; may be empty)
  };

  // Consumes framing bytes up to and including the next run of payload bytes
  // (or the end of input, or the end of the message). Call repeatedly until
  // consumed == input.size() or done() or failed(). Bytes after the message's final CRLF are
  // not consumed (they belong to the next message). On failure, consumed stops before the
  // offending byte; later calls consume nothing.
  Step Feed(std::string_view input);

  bool done() const { return state_ == State::kDone; }
  bool failed() const { return state_ == State::kError; }
  const char* error_detail() const { return error_detail_; }
  // Makes the decoder ready for a new message body.
  void Reset();

  // Limits: chunk size up to 2^62 (more -> error), chunk extension line up to 4 KiB,
  // trailer section up to 16 KiB.
  //
  // Grammar (RFC 9112 section 7.1), enforced strictly: chunk-size = 1*HEXDIG; chunk-ext =
  // *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ) with no whitespace before
  // the CRLF; every line ends in CRLF (bare CR or LF is an error); chunk data is followed by
  // CRLF; trailer fields are checked like header fields (token name, no whitespace before the
  // colon, no obs-fold, no CTLs but HTAB in values). Extensions are validated, then ignored.
  static constexpr uint64_t kMaxChunkSize = uint64_t{1} << 62;
  static constexpr size_t kMaxSizeLineBytes = 4 * 1024;
  static constexpr size_t kMaxTrailerBytes = 16 * 1024;

 private:
  // Where inside a chunk-size line (kSizeExt) or a trailer line (kTrailer) the decoder is.
  enum class Sub : uint8_t {
    kExtBeforeSemi,  // after the size or a complete extension: BWS, then ';' or CR
    kExtBeforeName,
    kExtName,
    kExtAfterName,  // BWS after a name: '=' or ';' must follow
    kExtBeforeValue,
    kExtToken,
    kExtQuoted,
    kExtQuotedPair,
    kTrailerName,
    kTrailerValue,
    kTrailerLf,   // CR of a trailer field line seen
    kTrailerEnd,  // CR of the final empty line seen
  };

  bool Fail(const char* detail);
  bool SizeExtByte(char c);
  bool TrailerByte(char c);

  State state_ = State::kSize;
  uint64_t remaining_ = 0;
  size_t size_digits_ = 0;
  size_t line_bytes_ = 0;
  size_t trailer_bytes_ = 0;
  bool trailer_line_empty_ = true;
  const char* error_detail_ = "";
  Sub sub_ = Sub::kExtBeforeSemi;
  bool ext_ws_ = false;  // whitespace seen since the last token (BWS must precede ';' or '=')
};

// Writes the chunk header for `size` bytes ("<hex>\r\n") into buf (>= 18 bytes);
// returns its length.
size_t WriteChunkHeader(uint64_t size, char* buf);

}  // namespace icaht::http
