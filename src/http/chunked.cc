#include "http/chunked.h"

#include <algorithm>

#include "core/check.h"
#include "http/field_syntax.h"

namespace icaht::http {

bool ChunkedDecoder::Fail(const char* detail) {
  state_ = State::kError;
  error_detail_ = detail;
  return false;
}

void ChunkedDecoder::Reset() { *this = ChunkedDecoder(); }

// One byte of a chunk-size line after the digits. Returns false on a syntax error.
bool ChunkedDecoder::SizeExtByte(char c) {
  const bool ws = IsWs(c);
  switch (sub_) {
    case Sub::kExtBeforeSemi:
      if (ws) {
        ext_ws_ = true;
        return true;
      }
      if (c == ';') {
        sub_ = Sub::kExtBeforeName;
        return true;
      }
      if (c == '\r' && !ext_ws_) {
        state_ = State::kSizeLf;
        return true;
      }
      return Fail(c == '\r' ? "whitespace before CRLF in chunk size line" : "invalid chunk size");
    case Sub::kExtBeforeName:
      if (ws) return true;
      if (!IsTchar(c)) return Fail("invalid chunk extension name");
      sub_ = Sub::kExtName;
      return true;
    case Sub::kExtName:
    case Sub::kExtToken:
      if (IsTchar(c)) return true;
      if (ws) {
        ext_ws_ = true;
        sub_ = sub_ == Sub::kExtName ? Sub::kExtAfterName : Sub::kExtBeforeSemi;
        return true;
      }
      if (c == '=' && sub_ == Sub::kExtName) {
        sub_ = Sub::kExtBeforeValue;
        return true;
      }
      if (c == ';') {
        sub_ = Sub::kExtBeforeName;
        return true;
      }
      if (c == '\r') {
        state_ = State::kSizeLf;
        return true;
      }
      return Fail("invalid chunk extension");
    case Sub::kExtAfterName:
      if (ws) return true;
      ext_ws_ = false;
      if (c == '=') {
        sub_ = Sub::kExtBeforeValue;
        return true;
      }
      if (c == ';') {
        sub_ = Sub::kExtBeforeName;
        return true;
      }
      return Fail("invalid chunk extension");
    case Sub::kExtBeforeValue:
      if (ws) return true;
      if (c == '"') {
        sub_ = Sub::kExtQuoted;
        return true;
      }
      if (!IsTchar(c)) return Fail("invalid chunk extension value");
      sub_ = Sub::kExtToken;
      return true;
    case Sub::kExtQuoted:
      if (c == '"') {
        sub_ = Sub::kExtBeforeSemi;
        ext_ws_ = false;
        return true;
      }
      if (c == '\\') {
        sub_ = Sub::kExtQuotedPair;
        return true;
      }
      if (!HasClass(c, kQdtextBit)) return Fail("invalid character in chunk extension value");
      return true;
    case Sub::kExtQuotedPair:
      if (!HasClass(c, kFieldCharBit)) return Fail("invalid quoted-pair in chunk extension");
      sub_ = Sub::kExtQuoted;
      return true;
    default:
      ICAHT_CHECK(false && "trailer sub-state inside a chunk-size line");
      return false;
  }
}

// One byte of the trailer section. Returns false on a syntax error or over the size limit.
bool ChunkedDecoder::TrailerByte(char c) {
  if (++trailer_bytes_ > kMaxTrailerBytes) return Fail("trailer section too large");
  if (trailer_line_empty_) {
    trailer_line_empty_ = false;
    if (c == '\r') {
      sub_ = Sub::kTrailerEnd;
      return true;
    }
    if (IsWs(c)) return Fail("obs-fold or whitespace at start of a trailer line");
    if (!IsTchar(c)) return Fail(c == '\n' ? "bare LF" : "invalid trailer field name");
    sub_ = Sub::kTrailerName;
    return true;
  }
  switch (sub_) {
    case Sub::kTrailerName:
      if (IsTchar(c)) return true;
      if (c == ':') {
        sub_ = Sub::kTrailerValue;
        return true;
      }
      return Fail(IsWs(c) ? "whitespace between trailer name and colon"
                          : "invalid trailer field name");
    case Sub::kTrailerValue:
      if (HasClass(c, kFieldCharBit)) return true;
      if (c == '\r') {
        sub_ = Sub::kTrailerLf;
        return true;
      }
      return Fail(c == '\n' ? "bare LF" : "invalid character in trailer value");
    case Sub::kTrailerLf:
      if (c != '\n') return Fail("bare CR");
      trailer_line_empty_ = true;
      return true;
    case Sub::kTrailerEnd:
      if (c != '\n') return Fail("bare CR");
      state_ = State::kDone;
      return true;
    default:
      ICAHT_CHECK(false && "chunk-extension sub-state inside the trailer section");
      return false;
  }
}

ChunkedDecoder::Step ChunkedDecoder::Feed(std::string_view input) {
  Step step;
  const char* const begin = input.data();
  const char* const end = begin + input.size();
  const char* p = begin;
  while (p < end) {
    const char c = *p;
    switch (state_) {
      case State::kSize: {
        if (++line_bytes_ > kMaxSizeLineBytes) {
          Fail("chunk size line too long");
          break;
        }
        const int digit = HexValue(c);
        if (digit >= 0) {
          if (remaining_ > (kMaxChunkSize - static_cast<uint64_t>(digit)) / 16) {
            Fail("chunk size too large");
            break;
          }
          remaining_ = remaining_ * 16 + static_cast<uint64_t>(digit);
          ++size_digits_;
          ++p;
          break;
        }
        if (size_digits_ == 0) {
          Fail("missing chunk size");
          break;
        }
        if (c == '\r') {
          state_ = State::kSizeLf;
          ++p;
          break;
        }
        if (c != ';' && !IsWs(c)) {
          Fail("invalid chunk size");
          break;
        }
        state_ = State::kSizeExt;
        sub_ = Sub::kExtBeforeSemi;
        ext_ws_ = false;
        if (SizeExtByte(c)) ++p;
        break;
      }
      case State::kSizeExt:
        if (++line_bytes_ > kMaxSizeLineBytes) {
          Fail("chunk extension too long");
          break;
        }
        if (SizeExtByte(c)) ++p;
        break;
      case State::kSizeLf:
        if (c != '\n') {
          Fail("bare CR in chunk size line");
          break;
        }
        ++p;
        line_bytes_ = 0;
        size_digits_ = 0;
        if (remaining_ == 0) {
          state_ = State::kTrailer;
          trailer_line_empty_ = true;
        } else {
          state_ = State::kData;
        }
        break;
      case State::kData: {
        const size_t n =
            static_cast<size_t>(std::min<uint64_t>(remaining_, static_cast<uint64_t>(end - p)));
        step.data = std::string_view(p, n);
        p += n;
        remaining_ -= n;
        if (remaining_ == 0) state_ = State::kDataCr;
        step.consumed = static_cast<size_t>(p - begin);
        return step;
      }
      case State::kDataCr:
        if (c != '\r') {
          Fail("missing CRLF after chunk data");
          break;
        }
        state_ = State::kDataLf;
        ++p;
        break;
      case State::kDataLf:
        if (c != '\n') {
          Fail("bare CR after chunk data");
          break;
        }
        state_ = State::kSize;
        ++p;
        break;
      case State::kTrailer:
        if (TrailerByte(c)) ++p;
        break;
      case State::kDone:
      case State::kError:
        step.consumed = static_cast<size_t>(p - begin);
        return step;
    }
  }
  step.consumed = static_cast<size_t>(p - begin);
  return step;
}

size_t WriteChunkHeader(uint64_t size, char* buf) {
  static constexpr char kHex[] = "0123456789abcdef";
  int digits = 1;
  while (digits < 16 && (size >> (4 * digits)) != 0) ++digits;
  for (int i = 0; i < digits; ++i) {
    buf[digits - 1 - i] = kHex[(size >> (4 * i)) & 0xf];
  }
  buf[digits] = '\r';
  buf[digits + 1] = '\n';
  return static_cast<size_t>(digits) + 2;
}

}  // namespace icaht::http
