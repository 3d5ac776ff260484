#pragma once
// The W3C `tracestate` field (Trace Context level 1, section 3.3): a list of
// up to 32 vendor entries `key=value`, carried next to `traceparent`. The proxy
// is no vendor: it adds no entry of its own and forwards the list it received
// when it continues that trace, within the specification's limits.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace icaht::tracing {

inline constexpr size_t kMaxTracestateMembers = 32;
// What this proxy forwards at most (the specification asks to propagate at
// least 512 characters of the combined field).
inline constexpr size_t kMaxTracestateLength = 512;
// Members longer than this go first when the list must be truncated.
inline constexpr size_t kLongTracestateMember = 128;

// key = simple-key / multi-tenant-key (level 1):
//   simple-key       = lcalpha 0*255( lcalpha / DIGIT / "_" / "-" / "*" / "/" )
//   multi-tenant-key = tenant-id "@" system-id
//   tenant-id        = ( lcalpha / DIGIT ) 0*240( lcalpha / DIGIT / "_" / "-" / "*" / "/" )
//   system-id        = lcalpha 0*13( lcalpha / DIGIT / "_" / "-" / "*" / "/" )
bool IsValidTracestateKey(std::string_view key);
// value = 0*255( %x20-2B / %x2D-3C / %x3E-7E ) ( %x21-2B / %x2D-3C / %x3E-7E )
bool IsValidTracestateValue(std::string_view value);

// Validates the request's `tracestate` field values (in the order received;
// several fields are one list joined with ',', RFC 9110 5.3) and returns what
// to forward:
//   - "" when the list is invalid (a member breaks the grammar, a key repeats,
//     more than 32 members) or holds no member: the whole tracestate is
//     dropped, the trace itself is not;
//   - the field itself (a view of `fields[0]`, OWS trimmed) when there is one
//     field of at most 512 characters: forwarded as received, empty members
//     included;
//   - otherwise the members joined with ',' in `buffer` (its previous content
//     is replaced) and a view of it; if that is longer than 512 characters,
//     whole members are dropped: those over 128 characters first, from the
//     end, then the others from the end (section 3.3.1.5).
// Empty and whitespace-only members are allowed and skipped; OWS around
// members is ignored. Does not allocate unless it writes `buffer`.
std::string_view ProcessTracestate(std::span<const std::string_view> fields, std::string& buffer);

}  // namespace icaht::tracing
