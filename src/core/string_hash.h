#pragma once
// A hasher for maps keyed by strings or string views. Debian's abseil is
// built without std::string_view aliasing, so absl::Hash<std::string_view>
// falls back to std::hash (MurmurHash, about twice as slow on a 600-byte
// JWT); this one hashes through absl::string_view instead.

#include <cstddef>
#include <string_view>

#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"

namespace icaht::core {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const {
    return absl::Hash<absl::string_view>{}(absl::string_view(text.data(), text.size()));
  }
};

}  // namespace icaht::core
