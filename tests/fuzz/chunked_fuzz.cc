// Fuzzes ChunkedDecoder. Invariants: Feed always makes progress or ends, consumed never exceeds
// the input, payload views lie inside the consumed bytes, the payload never exceeds the input,
// the outcome does not depend on how the input is split, and a decoded body re-encoded with
// WriteChunkHeader in other chunk sizes decodes to the same payload.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "http/chunked.h"

namespace icaht::http::fuzz {
namespace {

struct Decoded {
  std::string payload;
  size_t consumed = 0;
  bool done = false;
  bool failed = false;
};

Decoded Decode(std::string_view input, const std::vector<size_t>& cuts) {
  ChunkedDecoder decoder;
  Decoded out;
  size_t from = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  for (size_t to : ends) {
    if (to < from) continue;
    const ExactCopy piece(input.substr(from, to - from));
    std::string_view rest = piece.view();
    from = to;
    while (!rest.empty() && !decoder.done() && !decoder.failed()) {
      const ChunkedDecoder::Step step = decoder.Feed(rest);
      FUZZ_CHECK(step.consumed <= rest.size());
      FUZZ_CHECK(Inside(step.data, rest.substr(0, step.consumed)));
      FUZZ_CHECK(step.consumed > 0 || decoder.done() || decoder.failed());
      out.payload.append(step.data);
      out.consumed += step.consumed;
      rest.remove_prefix(step.consumed);
    }
  }
  out.done = decoder.done();
  out.failed = decoder.failed();
  FUZZ_CHECK(!(out.done && out.failed));
  FUZZ_CHECK(out.payload.size() <= out.consumed && out.consumed <= input.size());
  if (out.failed) FUZZ_CHECK(decoder.error_detail()[0] != '\0');
  return out;
}

void CheckSame(const Decoded& a, const Decoded& b) {
  FUZZ_CHECK(a.payload == b.payload);
  FUZZ_CHECK(a.consumed == b.consumed);
  FUZZ_CHECK(a.done == b.done && a.failed == b.failed);
}

}  // namespace
}  // namespace icaht::http::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace icaht::http;
  using namespace icaht::http::fuzz;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  uint64_t seed = Fnv1a(in);
  const Decoded whole = Decode(in, {});
  if (whole.done) FUZZ_CHECK(in.substr(0, whole.consumed).ends_with("\r\n"));

  if (size > 1) {
    std::vector<size_t> cuts;
    for (int i = 0; i < 3; ++i) {
      cuts.push_back(1 + (seed % (size - 1)));
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    }
    std::sort(cuts.begin(), cuts.end());
    CheckSame(Decode(in, cuts), whole);
  }
  if (size <= 512) {
    std::vector<size_t> every;
    for (size_t k = 1; k < size; ++k) every.push_back(k);
    CheckSame(Decode(in, every), whole);
  }

  // Re-encode what was decoded and decode it again.
  if (whole.done) {
    std::string encoded;
    char buf[18];
    size_t pos = 0;
    while (pos < whole.payload.size()) {
      const size_t n = std::min<size_t>(whole.payload.size() - pos, 1 + seed % 37);
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      encoded.append(buf, WriteChunkHeader(n, buf));
      encoded.append(whole.payload, pos, n);
      encoded += "\r\n";
      pos += n;
    }
    encoded += "0\r\n\r\n";
    const Decoded again = Decode(encoded, {});
    FUZZ_CHECK(again.done && again.payload == whole.payload && again.consumed == encoded.size());
  }
  return 0;
}
