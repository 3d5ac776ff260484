#include "registry/json_writer.h"

#include <cassert>
#include <charconv>
#include <cmath>

namespace icaht::registry {
void JsonWriter::BeforeValue() {
  if (stack_.empty()) {
    assert(out_.empty() && "JsonWriter: only one top-level value");
    return;
  }
  if (stack_.back() == Frame::kObject) {
    assert(after_key_ && "JsonWriter: value in an object needs a Key first");
    after_key_ = false;
    return;
  }
  if (!first_in_container_) out_.push_back(',');
  first_in_container_ = false;
}

JsonWriter& JsonWriter::StartObject() {
  BeforeValue();
  out_.push_back('{');
  stack_.push_back(Frame::kObject);
  first_in_container_ = true;
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  assert(!stack_.empty() && stack_.back() == Frame::kObject && !after_key_);
  stack_.pop_back();
  out_.push_back('}');
  first_in_container_ = false;
  return *this;
}

JsonWriter& JsonWriter::StartArray() {
  BeforeValue();
  out_.push_back('[');
  stack_.push_back(Frame::kArray);
  first_in_container_ = true;
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  assert(!stack_.empty() && stack_.back() == Frame::kArray);
  stack_.pop_back();
  out_.push_back(']');
  first_in_container_ = false;
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  assert(!stack_.empty() && stack_.back() == Frame::kObject && !after_key_);
  if (!first_in_container_) out_.push_back(',');
  first_in_container_ = false;
  AppendJsonString(out_, key);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view value) {
  BeforeValue();
  AppendJsonString(out_, value);
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t value) {
  BeforeValue();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  out_.append(buf, end);
  return *this;
}

JsonWriter& JsonWriter::Uint(uint64_t value) {
  BeforeValue();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  out_.append(buf, end);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool value) {
  BeforeValue();
  out_.append(value ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::Null() {
  BeforeValue();
  out_.append("null");
  return *this;
}

JsonWriter& JsonWriter::Double(double value) {
  if (!std::isfinite(value)) return Null();
  BeforeValue();
  // Shortest round-trip form; it is always valid JSON ("1e+20", "0.1", "-0").
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  out_.append(buf, end);
  return *this;
}

JsonWriter& JsonWriter::RawValue(std::string_view json) {
  BeforeValue();
  out_.append(json);
  return *this;
}

std::string JsonErrorBody(std::string_view code, std::string_view message) {
  JsonWriter w;
  w.StartObject().Key("error").StartObject();
  w.Key("code").String(code).Key("message").String(message);
  w.EndObject().EndObject();
  return std::move(w).Take();
}

}  // namespace icaht::registry
