#include "tracing/tracestate.h"

#include <array>
#include <cstdint>

#include "http/field_syntax.h"

namespace icaht::tracing {
namespace {

constexpr uint8_t kLcalpha = 1;
constexpr uint8_t kDigit = 2;
constexpr uint8_t kKeySymbol = 4;  // "_" / "-" / "*" / "/"
constexpr uint8_t kKeyChar = kLcalpha | kDigit | kKeySymbol;
constexpr uint8_t kValueChar = 8;  // %x20-2B / %x2D-3C / %x3E-7E

constexpr std::array<uint8_t, 256> kCharClass = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = kLcalpha;
  for (int c = '0'; c <= '9'; ++c) t[c] = kDigit;
  for (char c : {'_', '-', '*', '/'}) t[static_cast<unsigned char>(c)] = kKeySymbol;
  for (int c = 0x20; c <= 0x7e; ++c) {
    if (c != ',' && c != '=') t[c] |= kValueChar;
  }
  return t;
}();

bool Is(char c, uint8_t cls) { return (kCharClass[static_cast<unsigned char>(c)] & cls) != 0; }

// `first` for the first character, key characters after it, 1..max_size in all.
bool IsKeyPart(std::string_view s, uint8_t first, size_t max_size) {
  if (s.empty() || s.size() > max_size || !Is(s[0], first)) return false;
  for (size_t i = 1; i < s.size(); ++i) {
    if (!Is(s[i], kKeyChar)) return false;
  }
  return true;
}

// Trivially constructible (no string_view): the array of 32 is not cleared per call.
struct Member {
  const char* data;  // key=value
  uint32_t size;
  uint32_t key_size;

  std::string_view text() const { return {data, size}; }
};

// Splits one field into members, appending them to `members`; false if the
// field breaks the grammar or the limits.
bool AddMembers(std::string_view field, Member* members, size_t& count) {
  while (true) {
    const size_t comma = field.find(',');
    const std::string_view member = http::TrimOws(field.substr(0, comma));
    if (!member.empty()) {
      const size_t eq = member.find('=');
      if (eq == std::string_view::npos || count == kMaxTracestateMembers) return false;
      const std::string_view key = member.substr(0, eq);
      if (!IsValidTracestateKey(key) || !IsValidTracestateValue(member.substr(eq + 1))) {
        return false;
      }
      for (size_t i = 0; i < count; ++i) {
        if (members[i].key_size == eq && std::string_view(members[i].data, eq) == key) {
          return false;
        }
      }
      members[count++] = {member.data(), static_cast<uint32_t>(member.size()),
                          static_cast<uint32_t>(eq)};
    }
    if (comma == std::string_view::npos) return true;
    field.remove_prefix(comma + 1);
  }
}

}  // namespace

bool IsValidTracestateKey(std::string_view key) {
  const size_t at = key.find('@');
  if (at == std::string_view::npos) return IsKeyPart(key, kLcalpha, 256);
  return IsKeyPart(key.substr(0, at), kLcalpha | kDigit, 241) &&
         IsKeyPart(key.substr(at + 1), kLcalpha, 14);
}

bool IsValidTracestateValue(std::string_view value) {
  if (value.empty() || value.size() > 256 || value.back() == ' ') return false;
  for (char c : value) {
    if (!Is(c, kValueChar)) return false;
  }
  return true;
}

std::string_view ProcessTracestate(std::span<const std::string_view> fields, std::string& buffer) {
  Member members[kMaxTracestateMembers];
  size_t count = 0;
  for (std::string_view field : fields) {
    if (!AddMembers(field, members, count)) return {};
  }
  if (count == 0) return {};
  if (fields.size() == 1) {
    const std::string_view whole = http::TrimOws(fields[0]);
    if (whole.size() <= kMaxTracestateLength) return whole;
  }

  bool keep[kMaxTracestateMembers];
  size_t length = count - 1;  // the commas
  for (size_t i = 0; i < count; ++i) {
    keep[i] = true;
    length += members[i].size;
  }
  // Drop the last long member, or else the last member, until the list fits.
  for (size_t kept = count; length > kMaxTracestateLength && kept > 0; --kept) {
    size_t victim = count;
    for (size_t i = count; i-- > 0;) {
      if (keep[i] && members[i].size > kLongTracestateMember) {
        victim = i;
        break;
      }
    }
    if (victim == count) {
      for (size_t i = count; i-- > 0;) {
        if (keep[i]) {
          victim = i;
          break;
        }
      }
    }
    keep[victim] = false;
    length -= members[victim].size + (kept > 1 ? 1 : 0);
  }

  buffer.clear();
  for (size_t i = 0; i < count; ++i) {
    if (!keep[i]) continue;
    if (!buffer.empty()) buffer.push_back(',');
    buffer.append(members[i].text());
  }
  return buffer;
}

}  // namespace icaht::tracing
