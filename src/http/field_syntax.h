#pragma once
// Character classes and field syntax shared by the request, response and chunked parsers
// (RFC 9110 section 5, RFC 9112 sections 2-7). Internal to src/http: the proxy uses message.h.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "http/message.h"

namespace icaht::http {

// Bits of kCharClass.
inline constexpr uint8_t kTcharBit = 1;      // tchar (RFC 9110 5.6.2)
inline constexpr uint8_t kFieldCharBit = 2;  // field-vchar, SP, HTAB: allowed inside a field value
// Allowed in a request-target: VCHAR and obs-text bytes, as browsers, tools and nginx send
// and accept them (raw UTF-8, | { } ^ " < > \ `, '#'); the target is forwarded unchanged.
// Controls, SP, DEL and NUL stay refused.
inline constexpr uint8_t kTargetBit = 4;
inline constexpr uint8_t kHostBit = 8;     // unreserved / sub-delims (RFC 3986): reg-name less %
inline constexpr uint8_t kHexBit = 16;     // HEXDIG
inline constexpr uint8_t kQdtextBit = 32;  // qdtext (RFC 9110 5.6.4)

constexpr std::array<uint8_t, 256> BuildCharClass() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    uint8_t bits = 0;
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    const bool vchar = c >= 0x21 && c <= 0x7e;
    const bool obs_text = c >= 0x80;
    if (alpha || digit ||
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos) {
      bits |= kTcharBit;
    }
    if (vchar || obs_text || c == ' ' || c == '\t') bits |= kFieldCharBit;
    if (vchar || obs_text) bits |= kTargetBit;
    if (alpha || digit ||
        std::string_view("-._~!$&'()*+,;=").find(static_cast<char>(c)) != std::string_view::npos) {
      bits |= kHostBit;
    }
    if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) bits |= kHexBit;
    if (c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
        (c >= 0x5d && c <= 0x7e) || obs_text) {
      bits |= kQdtextBit;
    }
    t[c] = bits;
  }
  return t;
}

inline constexpr std::array<uint8_t, 256> kCharClass = BuildCharClass();

inline bool HasClass(char c, uint8_t bit) {
  return (kCharClass[static_cast<uint8_t>(c)] & bit) != 0;
}
inline bool IsTchar(char c) { return HasClass(c, kTcharBit); }
inline bool IsWs(char c) { return c == ' ' || c == '\t'; }
inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline char ToLowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
// -1 for a byte that is not HEXDIG.
int HexValue(char c);

bool IsToken(std::string_view s);

// Case-insensitive comparison of a field name (a token) with a literal made of lowercase
// letters and '-'. Exact for those inputs only: a|0x20 maps no other tchar onto them.
bool NameEquals(std::string_view name, std::string_view lowercase_literal);
std::string_view TrimOws(std::string_view s);

// Calls fn(token) for each non-empty element of the Connection field(s) in `headers` (split at
// commas, OWS trimmed, nothing else interpreted) until fn returns true; returns whether it did.
template <typename Fn>
bool AnyConnectionToken(const std::vector<Header>& headers, Fn&& fn) {
  for (const Header& h : headers) {
    if (!EqualsIgnoreCase(h.name, "connection")) continue;
    std::string_view rest = h.value;
    for (;;) {
      const size_t comma = rest.find(',');
      const std::string_view token = TrimOws(rest.substr(0, comma));
      if (!token.empty() && fn(token)) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

// Each returns the first byte in [p, end) outside its class, or end.
const char* SkipTchars(const char* p, const char* end);
const char* SkipFieldChars(const char* p, const char* end);   // vectorised: values are the bulk
const char* SkipTargetChars(const char* p, const char* end);  // vectorised: targets can be long

// The part of the input a head parser may look at: the data, cut at Limits::max_header_bytes.
// Needing a byte at `end` means "incomplete" unless end_is_limit, in which case the head is
// already larger than the limit (431), whether or not that byte has arrived.
struct HeadWindow {
  const char* begin;
  const char* end;
  bool end_is_limit;
};

HeadWindow MakeHeadWindow(std::string_view data, size_t max_header_bytes);

inline size_t SatAdd(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

// Cheap pre-check for the re-scan path, where the caller re-feeds a growing head. Returns false
// only when the full parse would answer kIncomplete or an error that it will still report once
// more bytes arrive; so a false answer may be turned into kIncomplete. It never misses a
// complete head or a crossed limit: it walks the lines from `line_start` (the first byte of the
// start line, which is not CR or LF) with memchr and answers true on a possible end of head
// (LF CR LF), a bare LF, a bare CR at the start of a line, a first line longer than max_first_line,
// or more than max_headers + 1 lines. The caller checks max_header_bytes. This keeps a head fed one
// byte at a time at a memchr per line per call instead of a full validation per call.
bool HeadMayBeDecided(std::string_view data, size_t line_start, size_t max_first_line,
                      size_t max_headers);

enum class FieldsResult : uint8_t { kComplete, kIncomplete, kTooLarge, kError };

// Parses field lines starting at `p` (the byte after the start line's LF) through the empty
// line, appending to `headers`. Every error is decided from the bytes before the position where
// it is reported, so any prefix of an input yields kIncomplete or the same result as the whole
// input. On kComplete, *head_end points past the final CRLF. More than max_fields lines, or
// running into the window's limit, is kTooLarge. On kError/kTooLarge *detail says why.
FieldsResult ParseFieldLines(const HeadWindow& window, const char* p, size_t max_fields,
                             std::vector<Header>* headers, const char** head_end,
                             const char** detail);

// Content-Length value: 1*DIGIT, or (with `allow_list`) a comma list of identical 1*DIGIT
// values (RFC 9110 8.6 lets a recipient accept those; requests refuse them, as nginx does, so
// that no two parsers on the path can disagree). Values above INT64_MAX, signs, spaces inside
// a number and empty elements are rejected.
bool ParseContentLength(std::string_view value, uint64_t* length, bool allow_list = true);

// Transfer-Encoding lists, accumulated over every Transfer-Encoding field line in order.
struct CodingSummary {
  int codings = 0;  // list elements seen
  int chunked = 0;  // elements that are exactly the token "chunked"
  bool last_is_chunked = false;
};
// Adds the codings in `value` (RFC 9112 7: transfer-coding = token *( OWS ";" OWS
// transfer-parameter )). Returns false on a syntax error, an empty element or an empty value
// (where RFC 9110 5.6.1 would let a recipient skip empty elements, we refuse them: no
// legitimate sender emits them and every guess is a desync risk), and for "chunked" with
// parameters, which is not defined.
bool AddTransferCodings(std::string_view value, CodingSummary* summary);

struct ConnectionOptions {
  bool close = false;
  bool keep_alive = false;
  bool upgrade = false;
};
// Adds the options of one Connection field value (#token). Returns false if an element is not a
// token; empty elements are skipped as RFC 9110 5.6.1 asks (they cannot change framing).
bool AddConnectionOptions(std::string_view value, ConnectionOptions* options);

// uri-host [ ":" port ] (RFC 9110 7.2 / RFC 3986 3.2.2): a non-empty reg-name (with valid
// %-escapes) or a bracketed IP-literal; port 1-5 digits, required when require_port. Userinfo,
// whitespace, CTLs and anything else are refused.
bool IsValidHostPort(std::string_view s, bool require_port);

}  // namespace icaht::http
