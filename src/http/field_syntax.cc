#include "http/field_syntax.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace icaht::http {
namespace {

constexpr uint64_t kMaxContentLength = static_cast<uint64_t>(INT64_MAX);

const char* SkipClass(const char* p, const char* end, uint8_t bit) {
  while (p < end && HasClass(*p, bit)) ++p;
  return p;
}

}  // namespace

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsToken(std::string_view s) {
  return !s.empty() && SkipTchars(s.data(), s.data() + s.size()) == s.data() + s.size();
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsWs(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsWs(s.back())) s.remove_suffix(1);
  return s;
}

bool NameEquals(std::string_view name, std::string_view lowercase_literal) {
  if (name.size() != lowercase_literal.size()) return false;
  size_t i = 0;
  for (; i + 8 <= name.size(); i += 8) {
    uint64_t a;
    uint64_t b;
    std::memcpy(&a, name.data() + i, 8);
    std::memcpy(&b, lowercase_literal.data() + i, 8);
    if ((a | 0x2020202020202020ull) != b) return false;
  }
  for (; i < name.size(); ++i) {
    if ((name[i] | 0x20) != lowercase_literal[i]) return false;
  }
  return true;
}

const char* SkipTchars(const char* p, const char* end) {
  while (end - p >= 4) {
    if (!IsTchar(p[0])) return p;
    if (!IsTchar(p[1])) return p + 1;
    if (!IsTchar(p[2])) return p + 2;
    if (!IsTchar(p[3])) return p + 3;
    p += 4;
  }
  return SkipClass(p, end, kTcharBit);
}

const char* SkipFieldChars(const char* p, const char* end) {
#if defined(__SSE2__)
  // Bad bytes are the CTLs except HTAB (0x00-0x08, 0x0a-0x1f) and DEL.
  const __m128i k1f = _mm_set1_epi8(0x1f);
  const __m128i ktab = _mm_set1_epi8('\t');
  const __m128i kdel = _mm_set1_epi8(0x7f);
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, k1f), v);  // v <= 0x1f
    const __m128i bad =
        _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(v, ktab), ctl), _mm_cmpeq_epi8(v, kdel));
    const int mask = _mm_movemask_epi8(bad);
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  return SkipClass(p, end, kFieldCharBit);
}

const char* SkipTargetChars(const char* p, const char* end) {
#if defined(__SSE2__)
  // Good bytes are 0x21-0x7e and 0x80-0xff (see kTargetBit).
  const __m128i k20 = _mm_set1_epi8(0x20);
  const __m128i k7f = _mm_set1_epi8(0x7f);
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i low = _mm_cmpeq_epi8(_mm_min_epu8(v, k20), v);  // v <= 0x20
    const __m128i bad = _mm_or_si128(low, _mm_cmpeq_epi8(v, k7f));
    const int mask = _mm_movemask_epi8(bad);
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  return SkipClass(p, end, kTargetBit);
}

HeadWindow MakeHeadWindow(std::string_view data, size_t max_header_bytes) {
  const bool at_limit = data.size() >= max_header_bytes;
  const size_t n = at_limit ? max_header_bytes : data.size();
  return HeadWindow{data.data(), data.data() + n, at_limit};
}

bool HeadMayBeDecided(std::string_view data, size_t line_start, size_t max_first_line,
                      size_t max_headers) {
  const char* d = data.data();
  const size_t size = data.size();
  size_t lines = 0;
  size_t pos = line_start;
  for (;;) {
    const void* lf = std::memchr(d + pos, '\n', size - pos);
    if (lf == nullptr) return lines == 0 && size - line_start > SatAdd(max_first_line, 1);
    const size_t i = static_cast<size_t>(static_cast<const char*>(lf) - d);
    if (i == line_start || d[i - 1] != '\r') return true;
    if (lines == 0 && i - line_start > SatAdd(max_first_line, 1)) return true;
    if (++lines > SatAdd(max_headers, 1)) return true;
    // LF CR LF ends the head; LF CR <other> is a bare CR that would otherwise hide the end.
    if (i + 2 < size && d[i + 1] == '\r') return true;
    pos = i + 1;
  }
}

FieldsResult ParseFieldLines(const HeadWindow& window, const char* p, size_t max_fields,
                             std::vector<Header>* headers, const char** head_end,
                             const char** detail) {
  const char* const end = window.end;
  // Running out of window: either the rest has not arrived or the head is over the limit.
  auto exhausted = [&]() {
    if (!window.end_is_limit) return FieldsResult::kIncomplete;
    *detail = "header section larger than the limit";
    return FieldsResult::kTooLarge;
  };
  auto fail = [&](const char* why) {
    *detail = why;
    return FieldsResult::kError;
  };
  for (;;) {
    if (p == end) return exhausted();
    const char c = *p;
    if (c == '\r') {
      if (p + 1 == end) return exhausted();
      if (p[1] != '\n') return fail("bare CR");
      *head_end = p + 2;
      return FieldsResult::kComplete;
    }
    if (c == '\n') return fail("bare LF");
    // RFC 9112 5.2: obs-fold is refused (a server MAY reject it with 400). Whitespace before
    // the first field line (RFC 9112 2.2) is refused the same way.
    if (IsWs(c)) return fail("obs-fold or whitespace at start of a field line");
    if (headers->size() >= max_fields) {
      *detail = "too many header fields";
      return FieldsResult::kTooLarge;
    }
    const char* name = p;
    p = SkipTchars(p, end);
    if (p == end) return exhausted();
    if (*p != ':') {
      if (IsWs(*p)) return fail("whitespace between field name and colon");
      if (*p == '\r' || *p == '\n') return fail("field line without colon");
      return fail("invalid character in field name");
    }
    if (p == name) return fail("empty field name");
    const std::string_view name_view(name, static_cast<size_t>(p - name));
    ++p;
    while (p < end && IsWs(*p)) ++p;
    const char* value = p;
    p = SkipFieldChars(p, end);
    if (p == end) return exhausted();
    if (*p != '\r') return fail(*p == '\n' ? "bare LF" : "invalid character in field value");
    if (p + 1 == end) return exhausted();
    if (p[1] != '\n') return fail("bare CR");
    const char* value_end = p;
    while (value_end > value && IsWs(value_end[-1])) --value_end;
    headers->push_back(Header{name_view, std::string_view(value, value_end - value)});
    p += 2;
  }
}

bool ParseContentLength(std::string_view value, uint64_t* length, bool allow_list) {
  bool have = false;
  uint64_t first = 0;
  size_t i = 0;
  for (;;) {
    while (i < value.size() && IsWs(value[i])) ++i;
    const size_t digits_start = i;
    uint64_t n = 0;
    for (; i < value.size() && IsDigit(value[i]); ++i) {
      const uint64_t d = static_cast<uint64_t>(value[i] - '0');
      if (n > (kMaxContentLength - d) / 10) return false;
      n = n * 10 + d;
    }
    if (i == digits_start) return false;  // empty element, sign, or other junk
    if (have && n != first) return false;
    have = true;
    first = n;
    while (i < value.size() && IsWs(value[i])) ++i;
    if (i == value.size()) break;
    if (value[i] != ',' || !allow_list) return false;
    ++i;
  }
  *length = first;
  return true;
}

namespace {

// Scans a quoted-string starting at s[i] == '"'; returns the index after the closing quote, or
// npos if it is malformed or unterminated.
size_t SkipQuotedString(std::string_view s, size_t i) {
  for (++i; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '"') return i + 1;
    if (c == '\\') {
      if (++i == s.size() || !HasClass(s[i], kFieldCharBit)) return std::string_view::npos;
    } else if (!HasClass(c, kQdtextBit)) {
      return std::string_view::npos;
    }
  }
  return std::string_view::npos;
}

size_t SkipToken(std::string_view s, size_t i) {
  while (i < s.size() && IsTchar(s[i])) ++i;
  return i;
}

size_t SkipWs(std::string_view s, size_t i) {
  while (i < s.size() && IsWs(s[i])) ++i;
  return i;
}

}  // namespace

bool AddTransferCodings(std::string_view value, CodingSummary* summary) {
  size_t i = SkipWs(value, 0);
  for (;;) {
    const size_t name_start = i;
    i = SkipToken(value, i);
    if (i == name_start) return false;  // empty element, quoted value or junk
    const std::string_view name = value.substr(name_start, i - name_start);
    bool has_params = false;
    for (;;) {
      const size_t before = i;
      i = SkipWs(value, i);
      if (i == value.size() || value[i] != ';') {
        i = before;
        break;
      }
      has_params = true;
      i = SkipWs(value, i + 1);
      const size_t param_start = i;
      i = SkipToken(value, i);
      if (i == param_start) return false;
      i = SkipWs(value, i);
      if (i == value.size() || value[i] != '=') return false;
      i = SkipWs(value, i + 1);
      if (i < value.size() && value[i] == '"') {
        i = SkipQuotedString(value, i);
        if (i == std::string_view::npos) return false;
      } else {
        const size_t v = i;
        i = SkipToken(value, i);
        if (i == v) return false;
      }
    }
    const bool chunked = NameEquals(name, "chunked");
    if (chunked && has_params) return false;
    ++summary->codings;
    if (chunked) ++summary->chunked;
    summary->last_is_chunked = chunked;
    i = SkipWs(value, i);
    if (i == value.size()) return true;
    if (value[i] != ',') return false;
    i = SkipWs(value, i + 1);
  }
}

bool AddConnectionOptions(std::string_view value, ConnectionOptions* options) {
  size_t i = 0;
  for (;;) {
    i = SkipWs(value, i);
    const size_t start = i;
    i = SkipToken(value, i);
    const std::string_view token = value.substr(start, i - start);
    switch (token.size()) {
      case 5:
        options->close |= NameEquals(token, "close");
        break;
      case 7:
        options->upgrade |= NameEquals(token, "upgrade");
        break;
      case 10:
        options->keep_alive |= NameEquals(token, "keep-alive");
        break;
    }
    i = SkipWs(value, i);
    if (i == value.size()) return true;
    if (value[i] != ',') return false;
    ++i;
  }
}

bool IsValidHostPort(std::string_view s, bool require_port) {
  const char* p = s.data();
  const char* const end = p + s.size();
  if (p < end && *p == '[') {
    // IP-literal: IPv6address or IPvFuture; both use only unreserved, sub-delims and ':'.
    const char* const literal = ++p;
    while (p < end && (HasClass(*p, kHostBit) || *p == ':')) ++p;
    if (p == literal || p == end || *p != ']') return false;
    ++p;
  } else {
    const char* const name = p;
    for (;;) {
      p = SkipClass(p, end, kHostBit);
      if (p == end || *p != '%') break;
      if (end - p < 3 || HexValue(p[1]) < 0 || HexValue(p[2]) < 0) return false;
      p += 3;
    }
    if (p == name) return false;
  }
  if (p == end) return !require_port;
  if (*p != ':') return false;
  const std::string_view port(p + 1, static_cast<size_t>(end - p - 1));
  if (port.empty() || port.size() > 5) return false;
  uint32_t n = 0;
  for (char c : port) {
    if (!IsDigit(c)) return false;
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  return n <= 65535;
}

}  // namespace icaht::http
