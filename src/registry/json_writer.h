#pragma once
// A small streaming JSON writer. simdjson only reads; everything this daemon
// writes as JSON (admin answers and errors, service records, /traefik) goes
// through here so that escaping is done in one place.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_string.h"

namespace icaht::registry {

// Builds one JSON text into a std::string. Commas and the ':' after keys are
// inserted automatically:
//
//   JsonWriter w;
//   w.StartObject().Key("name").String("orders").Key("port").Uint(7001).EndObject();
//   std::string text = std::move(w).Take();  // {"name":"orders","port":7001}
//
// Misuse (a value in an object without a Key, EndArray closing an object, ...)
// is a programming error and trips an assert; it is never caused by input.
// Strings are escaped per RFC 8259 (control characters as \u00XX); bytes that
// are not valid UTF-8 are replaced with U+FFFD so that the output is always
// valid JSON, even when a message quotes raw bytes from the network.
// Not thread-safe; a writer is used by one thread and then dropped.
class JsonWriter {
 public:
  JsonWriter() = default;

  JsonWriter& StartObject();
  JsonWriter& EndObject();
  JsonWriter& StartArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);

  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Uint(uint64_t value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();
  // Shortest text that reads back as the same double; NaN and infinities
  // (not representable in JSON) are written as null.
  JsonWriter& Double(double value);
  // Inserts `json`, which the caller guarantees is one complete, valid JSON
  // value (e.g. a record serialized earlier), as the next value.
  JsonWriter& RawValue(std::string_view json);

  // The text so far. Complete once every container has been closed.
  const std::string& str() const { return out_; }
  std::string Take() && { return std::move(out_); }

 private:
  enum class Frame : uint8_t { kObject, kArray };
  // Writes the separator a new value needs and checks the value is allowed here.
  void BeforeValue();

  std::string out_;
  std::vector<Frame> stack_;
  bool first_in_container_ = true;
  bool after_key_ = false;
};

// Appends `value` as a quoted, escaped JSON string (core/json_string.h).
using core::AppendJsonString;

// {"error":{"code":"<code>","message":"<message>"}} -- the admin API's error
// body (DESIGN.md "Admin API").
std::string JsonErrorBody(std::string_view code, std::string_view message);

}  // namespace icaht::registry
