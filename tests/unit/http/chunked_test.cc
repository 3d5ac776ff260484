// ChunkedDecoder: every case is decoded whole, split in two at every position, and one byte at a
// time; the reassembled payload, the bytes consumed and the outcome must not depend on the split.

#include "http/chunked.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "http_test_util.h"

namespace icaht::http {
namespace chunked_test {

using namespace std::string_view_literals;
using testing::ExactBuffer;
using testing::Inside;

enum class Outcome { kDone, kFailed, kIncomplete };

struct ChunkedCase {
  const char* name;
  std::string_view input;
  Outcome outcome = Outcome::kDone;
  std::string_view payload = "";
  size_t rest = 0;  // for kDone: bytes after the message that must not be consumed
};

struct Decoded {
  std::string payload;
  size_t consumed = 0;
  bool done = false;
  bool failed = false;
};

// Feeds `input` cut at `cuts` (ascending positions), each piece an exact-size copy, looping on
// Feed as the contract says.
Decoded Decode(std::string_view input, const std::vector<size_t>& cuts) {
  ChunkedDecoder decoder;
  Decoded out;
  size_t from = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  for (size_t to : ends) {
    const ExactBuffer piece_buf(input.substr(from, to - from));
    std::string_view rest = piece_buf.view();
    from = to;
    while (!rest.empty() && !decoder.done() && !decoder.failed()) {
      const ChunkedDecoder::Step step = decoder.Feed(rest);
      EXPECT_LE(step.consumed, rest.size());
      EXPECT_TRUE(Inside(step.data, rest.substr(0, step.consumed)));
      if (step.consumed == 0 && !decoder.done() && !decoder.failed()) {
        ADD_FAILURE() << "Feed made no progress";
        return out;
      }
      out.payload.append(step.data);
      out.consumed += step.consumed;
      rest.remove_prefix(step.consumed);
    }
  }
  out.done = decoder.done();
  out.failed = decoder.failed();
  if (out.failed) {
    EXPECT_STRNE(decoder.error_detail(), "");
  }
  return out;
}

const std::string kLongExtension = "5;" + std::string(5000, 'a') + "\r\nhello\r\n0\r\n\r\n";
const std::string kLongZeros = std::string(5000, '0') + "5\r\nhello\r\n0\r\n\r\n";
const std::string kBigTrailer = "0\r\nX: " + std::string(17 * 1024, 'v') + "\r\n\r\n";
const std::string kTrailerAtLimit = "0\r\nX: " + std::string(16 * 1024 - 7, 'v') + "\r\n\r\n";

const ChunkedCase kChunkedCases[] = {
    {.name = "one chunk", .input = "5\r\nhello\r\n0\r\n\r\n"sv, .payload = "hello"},
    {.name = "empty body", .input = "0\r\n\r\n"sv},
    {.name = "several chunks",
     .input = "3\r\nabc\r\n4\r\ndefg\r\n1\r\nh\r\n0\r\n\r\n"sv,
     .payload = "abcdefgh"},
    {.name = "uppercase hex", .input = "A\r\n0123456789\r\n0\r\n\r\n"sv, .payload = "0123456789"},
    {.name = "lowercase hex", .input = "b\r\n0123456789a\r\n0\r\n\r\n"sv, .payload = "0123456789a"},
    {.name = "leading zeros", .input = "0005\r\nhello\r\n000\r\n\r\n"sv, .payload = "hello"},
    {.name = "extension name", .input = "5;a\r\nhello\r\n0\r\n\r\n"sv, .payload = "hello"},
    {.name = "extension token value", .input = "5;a=b\r\nhello\r\n0\r\n\r\n"sv, .payload = "hello"},
    {.name = "extension quoted value",
     .input = "5;a=\"q s\"\r\nhello\r\n0\r\n\r\n"sv,
     .payload = "hello"},
    {.name = "extension quoted-pair",
     .input = "5;a=\"x\\\"y\\\\\"\r\nhello\r\n0\r\n\r\n"sv,
     .payload = "hello"},
    {.name = "extension quoted HTAB",
     .input = "5;a=\"x\ty\"\r\nhello\r\n0\r\n\r\n"sv,
     .payload = "hello"},
    {.name = "extension BWS",
     .input = "5 ; a = b\t;\tc\r\nhello\r\n0\r\n\r\n"sv,
     .payload = "hello"},
    {.name = "several extensions",
     .input = "5;a;b=c;d=\"e\"\r\nhello\r\n0\r\n\r\n"sv,
     .payload = "hello"},
    {.name = "extension token chars",
     .input = "5;a=!#$%&'*+-.^_`|~\r\nhello\r\n0\r\n\r\n"sv,
     .payload = "hello"},
    {.name = "extension on last chunk", .input = "0;x=y\r\n\r\n"sv},
    {.name = "trailer", .input = "0\r\nX: y\r\n\r\n"sv},
    {.name = "several trailers",
     .input = "2\r\nab\r\n0\r\nX: y\r\nExpires: 0\r\nZ:\r\n\r\n"sv,
     .payload = "ab"},
    {.name = "trailer HTAB obs-text", .input = "0\r\nX:\ta\x80\xff b\r\n\r\n"sv},
    {.name = "CRLF inside data", .input = "4\r\n\r\n\r\n\r\n0\r\n\r\n"sv, .payload = "\r\n\r\n"},
    {.name = "binary data", .input = "3\r\n\0\x01\xff\r\n0\r\n\r\n"sv, .payload = "\0\x01\xff"sv},
    {.name = "next message not consumed", .input = "0\r\n\r\nGET / HTTP/1.1\r\n"sv, .rest = 16},
    {.name = "trailer at the limit", .input = kTrailerAtLimit},
    {.name = "partial data",
     .input = "5\r\nhel"sv,
     .outcome = Outcome::kIncomplete,
     .payload = "hel"},
    {.name = "chunk without last-chunk",
     .input = "5\r\nhello\r\n"sv,
     .outcome = Outcome::kIncomplete,
     .payload = "hello"},
    {.name = "waiting for trailer", .input = "0\r\n"sv, .outcome = Outcome::kIncomplete},
    {.name = "largest chunk size",
     .input = "4000000000000000\r\nab"sv,
     .outcome = Outcome::kIncomplete,
     .payload = "ab"},
    {.name = "negative size", .input = "-5\r\nhello\r\n0\r\n\r\n"sv, .outcome = Outcome::kFailed},
    {.name = "hex prefix", .input = "0x5\r\nhello\r\n0\r\n\r\n"sv, .outcome = Outcome::kFailed},
    {.name = "leading space", .input = " 5\r\nhello\r\n0\r\n\r\n"sv, .outcome = Outcome::kFailed},
    {.name = "space before CRLF",
     .input = "5 \r\nhello\r\n0\r\n\r\n"sv,
     .outcome = Outcome::kFailed},
    {.name = "bare LF after size", .input = "5\nhello\r\n0\r\n\r\n"sv, .outcome = Outcome::kFailed},
    {.name = "bare CR after size", .input = "5\rhello\r\n0\r\n\r\n"sv, .outcome = Outcome::kFailed},
    {.name = "empty size line", .input = "\r\nhello\r\n0\r\n\r\n"sv, .outcome = Outcome::kFailed},
    {.name = "data too long",
     .input = "5\r\nhelloX\r\n0\r\n\r\n"sv,
     .outcome = Outcome::kFailed,
     .payload = "hello"},
    {.name = "bare LF after data",
     .input = "5\r\nhello\n0\r\n\r\n"sv,
     .outcome = Outcome::kFailed,
     .payload = "hello"},
    {.name = "bare CR after data",
     .input = "5\r\nhello\rX0\r\n\r\n"sv,
     .outcome = Outcome::kFailed,
     .payload = "hello"},
    {.name = "size over 2^62", .input = "4000000000000001\r\n"sv, .outcome = Outcome::kFailed},
    {.name = "size over 2^64",
     .input = "10000000000000005\r\nhello\r\n0\r\n\r\n"sv,
     .outcome = Outcome::kFailed},
    {.name = "overflow after leading zeros",
     .input = "000000000000000000004000000000000001\r\n"sv,
     .outcome = Outcome::kFailed},
    {.name = "extension without name",
     .input = "5;\r\nhello\r\n0\r\n\r\n"sv,
     .outcome = Outcome::kFailed},
    {.name = "extension empty name",
     .input = "5;=x\r\nhello\r\n0\r\n\r\n"sv,
     .outcome = Outcome::kFailed},
    {.name = "extension empty value",
     .input = "5;a=\r\nhello\r\n0\r\n\r\n"sv,
     .outcome = Outcome::kFailed},
    {.name = "extension unterminated quote",
     .input = "5;a=\"x\r\nhello\r\n0\r\n\r\n"sv,
     .outcome = Outcome::kFailed},
    {.name = "extension value with space",
     .input = "5;a=b c\r\nhello\r\n0\r\n\r\n"sv,
     .outcome = Outcome::kFailed},
    {.name = "extension quote in name",
     .input = "5;a\"b\r\nhello\r\n0\r\n\r\n"sv,
     .outcome = Outcome::kFailed},
    {.name = "extension BWS before CRLF",
     .input = "5;a \r\nhello\r\n0\r\n\r\n"sv,
     .outcome = Outcome::kFailed},
    {.name = "extension value BWS before CRLF",
     .input = "5;a=b \r\nhello\r\n0\r\n\r\n"sv,
     .outcome = Outcome::kFailed},
    {.name = "extension equals then CRLF",
     .input = "5;a = \r\nhello\r\n0\r\n\r\n"sv,
     .outcome = Outcome::kFailed},
    {.name = "extension CTL in quotes",
     .input = "5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n"sv,
     .outcome = Outcome::kFailed},
    {.name = "extension CTL in quoted-pair",
     .input = "5;a=\"\\\x01\"\r\nhello\r\n0\r\n\r\n"sv,
     .outcome = Outcome::kFailed},
    {.name = "extension too long", .input = kLongExtension, .outcome = Outcome::kFailed},
    {.name = "size line too long", .input = kLongZeros, .outcome = Outcome::kFailed},
    {.name = "trailer obs-fold", .input = "0\r\nX: y\r\n z\r\n\r\n"sv, .outcome = Outcome::kFailed},
    {.name = "trailer leading space", .input = "0\r\n X: y\r\n\r\n"sv, .outcome = Outcome::kFailed},
    {.name = "trailer space before colon",
     .input = "0\r\nX : y\r\n\r\n"sv,
     .outcome = Outcome::kFailed},
    {.name = "trailer without colon", .input = "0\r\nXY\r\n\r\n"sv, .outcome = Outcome::kFailed},
    {.name = "trailer empty name", .input = "0\r\n: y\r\n\r\n"sv, .outcome = Outcome::kFailed},
    {.name = "trailer bare LF", .input = "0\r\nX: y\n\r\n"sv, .outcome = Outcome::kFailed},
    {.name = "trailer NUL", .input = "0\r\nX: \0\r\n\r\n"sv, .outcome = Outcome::kFailed},
    {.name = "final bare LF", .input = "0\r\n\n"sv, .outcome = Outcome::kFailed},
    {.name = "final bare CR", .input = "0\r\n\rX"sv, .outcome = Outcome::kFailed},
    {.name = "trailer too large", .input = kBigTrailer, .outcome = Outcome::kFailed},
};

class ChunkedTableTest : public ::testing::TestWithParam<ChunkedCase> {};

TEST_P(ChunkedTableTest, AnySplitDecodesTheSame) {
  const ChunkedCase& c = GetParam();
  testing::MaybeDumpCorpus("chunked", c.input);
  const Decoded whole = Decode(c.input, {});
  EXPECT_EQ(whole.payload, c.payload);
  EXPECT_EQ(whole.done, c.outcome == Outcome::kDone);
  EXPECT_EQ(whole.failed, c.outcome == Outcome::kFailed);
  if (c.outcome != Outcome::kFailed) {
    EXPECT_EQ(whole.consumed, c.input.size() - c.rest);
  }
  EXPECT_LE(whole.payload.size(), c.input.size());

  auto same = [&](const Decoded& d, const std::string& how) {
    EXPECT_EQ(d.payload, whole.payload) << how;
    EXPECT_EQ(d.consumed, whole.consumed) << how;
    EXPECT_EQ(d.done, whole.done) << how;
    EXPECT_EQ(d.failed, whole.failed) << how;
  };
  for (size_t k = 1; k < c.input.size(); ++k)
    same(Decode(c.input, {k}), "split at " + std::to_string(k));
  if (c.input.size() <= 4096) {
    std::vector<size_t> every;
    for (size_t k = 1; k < c.input.size(); ++k) every.push_back(k);
    same(Decode(c.input, every), "byte at a time");
  }
}

INSTANTIATE_TEST_SUITE_P(Table, ChunkedTableTest, ::testing::ValuesIn(kChunkedCases),
                         [](const auto& info) {
                           return testing::SanitizeName(info.param.name, info.index);
                         });

TEST(ChunkedDecoderTest, NothingConsumedAfterDoneOrFailed) {
  ChunkedDecoder d;
  EXPECT_EQ(d.Feed("0\r\n\r\n").consumed, 5u);
  ASSERT_TRUE(d.done());
  EXPECT_EQ(d.Feed("5\r\nhello").consumed, 0u);
  d.Reset();
  EXPECT_FALSE(d.done());
  EXPECT_EQ(d.Feed("x").consumed, 0u);
  ASSERT_TRUE(d.failed());
  EXPECT_EQ(d.Feed("5\r\n").consumed, 0u);
  d.Reset();
  EXPECT_FALSE(d.failed());
  const ChunkedDecoder::Step step = d.Feed("3\r\nabc\r\n0\r\n\r\n");
  EXPECT_EQ(step.data, "abc");
  EXPECT_EQ(step.consumed, 6u);
}

TEST(ChunkedDecoderTest, PayloadIsAViewIntoTheInput) {
  const std::string input = "4\r\nwxyz\r\n0\r\n\r\n";
  ChunkedDecoder d;
  const ChunkedDecoder::Step step = d.Feed(input);
  EXPECT_EQ(step.data.data(), input.data() + 3);
  EXPECT_EQ(step.data.size(), 4u);
}

TEST(WriteChunkHeaderTest, LowercaseHexAndCrlf) {
  char buf[18];
  auto header = [&](uint64_t n) { return std::string(buf, WriteChunkHeader(n, buf)); };
  EXPECT_EQ(header(0), "0\r\n");
  EXPECT_EQ(header(1), "1\r\n");
  EXPECT_EQ(header(15), "f\r\n");
  EXPECT_EQ(header(16), "10\r\n");
  EXPECT_EQ(header(0xdeadbeef), "deadbeef\r\n");
  EXPECT_EQ(header(UINT64_MAX), "ffffffffffffffff\r\n");
}

TEST(ChunkedDecoderTest, RoundTripsRandomChunking) {
  std::mt19937 rng(42);
  std::string payload(64 * 1024, '\0');
  for (char& c : payload) c = static_cast<char>(rng());
  for (int round = 0; round < 20; ++round) {
    std::string encoded;
    size_t pos = 0;
    char buf[18];
    while (pos < payload.size()) {
      const size_t n = std::min<size_t>(payload.size() - pos, 1 + rng() % 9000);
      encoded.append(buf, WriteChunkHeader(n, buf));
      encoded.append(payload, pos, n);
      encoded += "\r\n";
      pos += n;
    }
    encoded += "0\r\n\r\n";
    std::vector<size_t> cuts;
    for (size_t k = rng() % 700; k < encoded.size(); k += 1 + rng() % 1400) cuts.push_back(k);
    if (!cuts.empty() && cuts[0] == 0) cuts.erase(cuts.begin());
    const Decoded d = Decode(encoded, cuts);
    ASSERT_TRUE(d.done);
    EXPECT_EQ(d.consumed, encoded.size());
    EXPECT_TRUE(d.payload == payload);
  }
}

}  // namespace chunked_test
}  // namespace icaht::http
