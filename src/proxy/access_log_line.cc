#include "proxy/access_log_line.h"

#include <cstring>
#include <ctime>

#include "filters/fault.h"
#include "tracing/ids.h"

namespace icaht::proxy {
namespace {

constexpr char kHex[] = "0123456789abcdef";

constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kHighs = 0x8080808080808080ULL;

// Whether any byte of `w` is a control character (< 0x20), DEL or beyond
// ASCII (>= 0x7f), '"' or '\\' (the classic "has a zero byte" test: exact
// about whether there is one, which is all that is asked).
inline bool NeedsEscape(uint64_t w) {
  auto has_zero = [](uint64_t x) { return ((x - kOnes) & ~x & kHighs) != 0; };
  const bool below_space = ((w - 0x20 * kOnes) & ~w & kHighs) != 0;
  return below_space || (w & kHighs) != 0 || has_zero(w ^ (0x7f * kOnes)) ||
         has_zero(w ^ ('"' * kOnes)) || has_zero(w ^ ('\\' * kOnes));
}

// Writes through a raw cursor into space reserved up front (the bound is
// computed from the field sizes): no capacity check per byte.
class Cursor {
 public:
  explicit Cursor(char* p) : p_(p) {}
  char* end() const { return p_; }
  void Put(char c) { *p_++ = c; }
  void Put(std::string_view s) {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void Escaped(std::string_view text) {
    const char* data = text.data();
    const size_t n = text.size();
    size_t i = 0;
    // Eight bytes at a time while none needs escaping (the common case: a
    // path, an address, an ID), then byte by byte from the first that does.
    while (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, data + i, 8);
      if (NeedsEscape(word)) break;
      std::memcpy(p_, &word, 8);
      p_ += 8;
      i += 8;
    }
    if (i < n && n >= 8 && n - i < 8) {
      // The last few bytes: the string's last word (overlapping bytes already
      // checked) decides for them.
      uint64_t word;
      std::memcpy(&word, data + n - 8, 8);
      if (!NeedsEscape(word)) {
        std::memcpy(p_, data + i, n - i);
        p_ += n - i;
        return;
      }
    }
    size_t start = i;
    for (; i < n; ++i) {
      unsigned char c = static_cast<unsigned char>(data[i]);
      if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') continue;
      Put(text.substr(start, i - start));
      start = i + 1;
      if (c == '"' || c == '\\') {
        Put('\\');
        Put(static_cast<char>(c));
      } else {
        Put("\\u00");
        Put(kHex[c >> 4]);
        Put(kHex[c & 15]);
      }
    }
    Put(text.substr(start));
  }
  void Uint(uint64_t v) {
    char buf[20];
    char* q = buf + sizeof buf;
    do {
      *--q = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    Put(std::string_view(q, static_cast<size_t>(buf + sizeof buf - q)));
  }
  // ,"name":"<lowercase hex>"
  template <size_t N>
  void Hex(std::string_view name, const std::array<uint8_t, N>& id) {
    Field(name);
    Put('"');
    p_ = tracing::WriteHex(id, p_);
    Put('"');
  }
  // ,"name":
  void Field(std::string_view name) {
    Put(",\"");
    Put(name);
    Put("\":");
  }
  void String(std::string_view name, std::string_view value) {
    Field(name);
    Put('"');
    Escaped(value);
    Put('"');
  }
  // Milliseconds with microsecond precision ("12.345").
  void Millis(std::string_view name, int64_t ns) {
    Field(name);
    uint64_t us = ns < 0 ? 0 : static_cast<uint64_t>(ns) / 1000;
    Uint(us / 1000);
    Put('.');
    uint64_t frac = us % 1000;
    Put(static_cast<char>('0' + frac / 100));
    Put(static_cast<char>('0' + frac / 10 % 10));
    Put(static_cast<char>('0' + frac % 10));
  }

 private:
  char* p_;
};

std::string_view ProtocolText(http::Version v) {
  return v == http::Version::kHttp10 ? "HTTP/1.0" : "HTTP/1.1";
}

}  // namespace

std::string_view TimeFormatter::Text(int64_t unix_ns) {
  int64_t second = unix_ns / 1'000'000'000;
  if (second != second_) {
    second_ = second;
    time_t t = static_cast<time_t>(second);
    tm utc{};
    gmtime_r(&t, &utc);
    prefix_len_ = strftime(text_, sizeof text_, "%Y-%m-%dT%H:%M:%S", &utc);
  }
  int ms = static_cast<int>(unix_ns / 1'000'000 % 1000);
  char* p = text_ + prefix_len_;
  p[0] = '.';
  p[1] = static_cast<char>('0' + ms / 100);
  p[2] = static_cast<char>('0' + ms / 10 % 10);
  p[3] = static_cast<char>('0' + ms % 10);
  p[4] = 'Z';
  return std::string_view(text_, prefix_len_ + 5);
}

void AppendJsonEscaped(std::string_view text, std::string* out) {
  size_t old = out->size();
  out->resize(old + text.size() * 6);
  Cursor c(out->data() + old);
  c.Escaped(text);
  out->resize(static_cast<size_t>(c.end() - out->data()));
}

void AppendAccessLogLine(const filters::RequestContext& ctx, int64_t start_unix_ns,
                         TimeFormatter& time, std::string* out) {
  const http::Header* ua = nullptr;
  std::string_view method, target, route;
  if (ctx.has_request()) {
    ua = ctx.FindRequestHeader("user-agent");
    method = ctx.request().method;
    target = ctx.request().target;
    route = ctx.path();
  }
  // Every escaped byte takes at most 6; the names, numbers and fixed text fit
  // in the 640 bytes added.
  size_t variable = ctx.service_name.size() + method.size() + target.size() + route.size() +
                    ctx.upstream_address.size() + ctx.request_id.size() + ctx.identity.size() +
                    ctx.client_ip.size() + ctx.route_name.size() + ctx.subset.size() +
                    (ua ? ua->value.size() : 0);
  // Formatted in a scratch buffer that only ever grows (resizing `out` to the
  // bound would zero-fill ~2 KB per line), then appended.
  thread_local std::string scratch;
  const size_t bound = 640 + 6 * variable;
  if (scratch.size() < bound) scratch.resize(bound);
  Cursor c(scratch.data());
  c.Put("{\"time\":\"");
  c.Put(time.Text(start_unix_ns));
  c.Put('"');
  c.String("service", ctx.service_name);
  if (ctx.has_request()) {
    c.String("method", method);
    c.String("path", target);
    c.String("route", route);
    c.String("protocol", ProtocolText(ctx.request().version));
  }
  c.Field("status");
  c.Uint(static_cast<uint64_t>(ctx.response_status < 0 ? 0 : ctx.response_status));
  c.Field("request_bytes");
  c.Uint((ctx.has_request() ? ctx.request().head_size : 0) + ctx.request_body_bytes);
  c.Field("response_bytes");
  c.Uint(ctx.response_head_bytes + ctx.response_body_bytes);
  c.Millis("duration_ms", ctx.end_ns - ctx.start_ns);
  if (ctx.upstream_head_ns != 0)
    c.Millis("upstream_ms", ctx.upstream_head_ns - ctx.upstream_start_ns);
  if (!ctx.route_name.empty()) c.String("route_name", ctx.route_name);
  if (!ctx.subset.empty()) c.String("subset", ctx.subset);
  if (!ctx.upstream_address.empty()) c.String("upstream", ctx.upstream_address);
  c.Field("attempts");
  c.Uint(static_cast<uint64_t>(ctx.attempts));
  if (!ctx.request_id.empty()) c.String("request_id", ctx.request_id);
  if (!tracing::IsZero(ctx.trace.trace_id)) {
    c.Hex("trace_id", ctx.trace.trace_id);
    c.Hex("span_id", ctx.trace.span_id);
  }
  if (!ctx.identity.empty()) c.String("user", ctx.identity);
  c.String("client", ctx.client_ip);
  if (ua != nullptr) c.String("user_agent", ua->value);
  if (!ctx.error.ok()) c.String("error", ctx.error.label());
  if (ctx.fault != filters::RequestContext::FaultInjected::kNone) {
    c.String("fault", filters::FaultInjectedLabel(ctx.fault));
  }
  c.Put("}\n");
  out->append(scratch.data(), static_cast<size_t>(c.end() - scratch.data()));
}

}  // namespace icaht::proxy
