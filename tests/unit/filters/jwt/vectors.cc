#include "vectors.h"

#include <fstream>
#include <sstream>

#include "core/check.h"
#include "simdjson.h"

#ifndef JWT_VECTORS_DIR
#error "JWT_VECTORS_DIR must name tests/unit/filters/jwt_vectors"
#endif

namespace icaht::filters::jwt::testing {
namespace {

std::vector<std::string> Strings(simdjson::dom::array array) {
  std::vector<std::string> out;
  for (simdjson::dom::element item : array) out.emplace_back(std::string_view(item));
  return out;
}

Vectors Parse() {
  Vectors vectors;
  std::string text = ReadVectorFile("vectors.json");
  simdjson::dom::parser parser;
  simdjson::dom::element root = parser.parse(text);
  vectors.now = int64_t(root["now"]);
  simdjson::dom::element policy = root["policy"];
  vectors.policy.issuer = std::string(std::string_view(policy["issuer"]));
  vectors.policy.audiences = Strings(policy["audiences"]);
  vectors.policy.leeway_s = int64_t(policy["leeway_s"]);
  vectors.policy.max_token_bytes = uint64_t(policy["max_token_bytes"]);
  for (simdjson::dom::object item : root["cases"].get_array()) {
    VectorCase c;
    c.name = std::string_view(item["name"]);
    c.token = std::string_view(item["token"]);
    c.expect = std::string_view(item["expect"]);
    c.jwks = "main";
    for (auto [key, value] : item) {
      if (key == "jwks") c.jwks = std::string_view(value);
      if (key == "sub") c.sub = std::string(std::string_view(value));
      if (key == "scopes") c.scopes = Strings(value);
      if (key == "algorithms") c.algorithms = Strings(value);
      if (key == "claims") {
        for (auto [name, text] : simdjson::dom::object(value)) {
          c.claims.emplace_back(std::string(name), std::string(std::string_view(text)));
        }
      }
    }
    vectors.cases.push_back(std::move(c));
  }
  return vectors;
}

std::shared_ptr<const JwkSet> Keys(const std::string& file) {
  absl::StatusOr<std::shared_ptr<const JwkSet>> keys = JwkSet::Parse(ReadVectorFile(file));
  ICAHT_CHECK(keys.ok());
  return *keys;
}

}  // namespace

std::string ReadVectorFile(const std::string& name) {
  std::ifstream in(std::string(JWT_VECTORS_DIR) + "/" + name, std::ios::binary);
  ICAHT_CHECK(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const Vectors& LoadVectors() {
  static const Vectors vectors = Parse();
  return vectors;
}

std::shared_ptr<const JwkSet> MainKeys() {
  static const std::shared_ptr<const JwkSet> keys = Keys("jwks.json");
  return keys;
}

std::shared_ptr<const JwkSet> RotatedKeys() {
  static const std::shared_ptr<const JwkSet> keys = Keys("jwks_rotated.json");
  return keys;
}

const std::string& VectorToken(const std::string& name) {
  for (const VectorCase& c : LoadVectors().cases) {
    if (c.name == name) return c.token;
  }
  ICAHT_CHECK(false && "no such vector");
  std::abort();
}

}  // namespace icaht::filters::jwt::testing
