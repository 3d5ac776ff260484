#pragma once
// JSON string escaping (RFC 8259), shared by every module that writes JSON:
// the registry's JsonWriter (admin answers, records) and the span encoders.

#include <string>
#include <string_view>

namespace icaht::core {

// Appends `value` as a quoted, escaped JSON string. Control characters are
// written as \u00XX (\b \f \n \r \t in short form); bytes that are not valid
// UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF) are replaced
// with U+FFFD, so the output is valid JSON even for raw bytes off the network.
// Runs of plain ASCII are copied in one append.
void AppendJsonString(std::string& out, std::string_view value);

}  // namespace icaht::core
