#pragma once
// Table-driven checks shared by the http parser tests: every case is parsed whole and as every
// proper prefix (the re-scan contract), from exact-size heap copies so that ASan catches any
// read past the input.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"
#include "http/request_parser.h"
#include "http/response_parser.h"

namespace icaht::http::testing {

// An exact-size copy of `s`: reading one byte past it is a heap-buffer-overflow under ASan.
class ExactBuffer {
 public:
  explicit ExactBuffer(std::string_view s) : bytes_(s.begin(), s.end()) {}
  std::string_view view() const { return {bytes_.data(), bytes_.size()}; }

 private:
  std::vector<char> bytes_;
};

inline bool Inside(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

// With ICAHT_HTTP_CORPUS_DIR set, the current test's input is written to $DIR/<target>/ (inputs
// up to 1 KiB); this is how tests/fuzz/corpus was seeded.
inline void MaybeDumpCorpus(const char* target, std::string_view data) {
  const char* dir = std::getenv("ICAHT_HTTP_CORPUS_DIR");
  if (dir == nullptr || data.size() > 1024) return;
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(info->test_suite_name()) + "." + info->name();
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  std::ofstream(std::string(dir) + "/" + target + "/" + name, std::ios::binary)
      .write(data.data(), static_cast<std::streamsize>(data.size()));
}

// gtest parameter names must be [A-Za-z0-9_].
inline std::string SanitizeName(std::string_view name, size_t index) {
  std::string out;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    out.push_back(ok ? c : '_');
  }
  return out + "_" + std::to_string(index);
}

struct RequestCase {
  const char* name;
  std::string_view input;
  ParseError error = ParseError::kNone;  // kNone: the head must parse completely
  // Checked only for complete heads.
  Method method = Method::kGet;
  std::string_view target = "/";
  Version version = Version::kHttp11;
  BodyFraming framing = BodyFraming::kNone;
  uint64_t content_length = 0;
  bool keep_alive = true;
  std::string_view host = "a";
  bool expect_continue = false;
  bool upgrade = false;
  size_t body = 0;   // bytes of `input` after the head
  int headers = -1;  // number of header fields, -1: not checked
  TargetForm form = TargetForm::kOrigin;
  const Limits* limits = nullptr;  // nullptr: defaults
};

inline void ExpectSameRequest(const RequestHead& a, const RequestHead& b) {
  EXPECT_EQ(a.method, b.method);
  EXPECT_EQ(a.method_id, b.method_id);
  EXPECT_EQ(a.target, b.target);
  EXPECT_EQ(a.target_form, b.target_form);
  EXPECT_EQ(a.version, b.version);
  ASSERT_EQ(a.headers.size(), b.headers.size());
  for (size_t i = 0; i < a.headers.size(); ++i) {
    EXPECT_EQ(a.headers[i].name, b.headers[i].name);
    EXPECT_EQ(a.headers[i].value, b.headers[i].value);
  }
  EXPECT_EQ(a.framing, b.framing);
  EXPECT_EQ(a.content_length, b.content_length);
  EXPECT_EQ(a.host, b.host);
  EXPECT_EQ(a.keep_alive, b.keep_alive);
  EXPECT_EQ(a.expect_continue, b.expect_continue);
  EXPECT_EQ(a.upgrade, b.upgrade);
  EXPECT_EQ(a.head_size, b.head_size);
}

inline void ExpectRequestViewsInside(const RequestHead& h, std::string_view input) {
  EXPECT_LE(h.head_size, input.size());
  EXPECT_TRUE(Inside(h.method, input));
  EXPECT_TRUE(Inside(h.target, input));
  EXPECT_TRUE(Inside(h.host, input));
  for (const Header& f : h.headers) {
    EXPECT_TRUE(Inside(f.name, input));
    EXPECT_TRUE(Inside(f.value, input));
  }
}

inline void CheckRequestCase(const RequestCase& c) {
  MaybeDumpCorpus("request_parser", c.input);
  const Limits limits = c.limits != nullptr ? *c.limits : Limits{};
  const ExactBuffer whole_buf(c.input);
  const std::string_view whole = whole_buf.view();
  RequestHead head;
  ParseError error = ParseError::kNone;
  const ParseStatus status = ParseRequestHead(whole, limits, &head, &error);
  if (c.error == ParseError::kNone) {
    ASSERT_EQ(status, ParseStatus::kComplete) << "error_detail: " << head.error_detail;
    EXPECT_EQ(error, ParseError::kNone);
    EXPECT_EQ(head.method_id, c.method);
    EXPECT_EQ(head.target, c.target);
    EXPECT_EQ(head.target_form, c.form);
    EXPECT_EQ(head.version, c.version);
    EXPECT_EQ(head.framing, c.framing);
    EXPECT_EQ(head.content_length, c.content_length);
    EXPECT_EQ(head.keep_alive, c.keep_alive);
    EXPECT_EQ(head.host, c.host);
    EXPECT_EQ(head.expect_continue, c.expect_continue);
    EXPECT_EQ(head.upgrade, c.upgrade);
    EXPECT_EQ(head.head_size, c.input.size() - c.body);
    if (c.headers >= 0) {
      EXPECT_EQ(head.headers.size(), static_cast<size_t>(c.headers));
    }
    ExpectRequestViewsInside(head, whole);
  } else {
    ASSERT_EQ(status, ParseStatus::kError);
    EXPECT_EQ(error, c.error) << "error_detail: " << head.error_detail;
    EXPECT_STRNE(head.error_detail, "");
  }

  // Every proper prefix, parsed into a head that still holds the previous parse (the parser
  // must not depend on what the caller left in it).
  RequestHead reused;
  for (size_t n = 0; n < c.input.size(); ++n) {
    const ExactBuffer prefix_buf(c.input.substr(0, n));
    const std::string_view prefix = prefix_buf.view();
    ParseError prefix_error = ParseError::kNone;
    const ParseStatus s = ParseRequestHead(prefix, limits, &reused, &prefix_error);
    if (c.error == ParseError::kNone) {
      if (n < head.head_size) {
        ASSERT_EQ(s, ParseStatus::kIncomplete) << "prefix " << n << ": " << reused.error_detail;
      } else {
        ASSERT_EQ(s, ParseStatus::kComplete) << "prefix " << n;
        ExpectSameRequest(reused, head);
        ExpectRequestViewsInside(reused, prefix);
      }
    } else if (s != ParseStatus::kIncomplete) {
      ASSERT_EQ(s, ParseStatus::kError) << "prefix " << n;
      ASSERT_EQ(prefix_error, c.error) << "prefix " << n << ": " << reused.error_detail;
    }
  }
}

struct ResponseCase {
  const char* name;
  std::string_view input;
  ParseError error = ParseError::kNone;
  Method request_method = Method::kGet;
  int status = 200;
  std::string_view reason = "OK";
  Version version = Version::kHttp11;
  BodyFraming framing = BodyFraming::kContentLength;
  uint64_t content_length = 0;
  bool keep_alive = true;
  size_t body = 0;
  const Limits* limits = nullptr;
};

inline void ExpectSameResponse(const ResponseHead& a, const ResponseHead& b) {
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.reason, b.reason);
  ASSERT_EQ(a.headers.size(), b.headers.size());
  for (size_t i = 0; i < a.headers.size(); ++i) {
    EXPECT_EQ(a.headers[i].name, b.headers[i].name);
    EXPECT_EQ(a.headers[i].value, b.headers[i].value);
  }
  EXPECT_EQ(a.framing, b.framing);
  EXPECT_EQ(a.content_length, b.content_length);
  EXPECT_EQ(a.keep_alive, b.keep_alive);
  EXPECT_EQ(a.head_size, b.head_size);
}

inline void CheckResponseCase(const ResponseCase& c) {
  MaybeDumpCorpus("response_parser", c.input);
  const Limits limits = c.limits != nullptr ? *c.limits : Limits{};
  const ExactBuffer whole_buf(c.input);
  const std::string_view whole = whole_buf.view();
  ResponseHead head;
  ParseError error = ParseError::kNone;
  const ParseStatus status = ParseResponseHead(whole, c.request_method, limits, &head, &error);
  if (c.error == ParseError::kNone) {
    ASSERT_EQ(status, ParseStatus::kComplete) << "error_detail: " << head.error_detail;
    EXPECT_EQ(head.status, c.status);
    EXPECT_EQ(head.reason, c.reason);
    EXPECT_EQ(head.version, c.version);
    EXPECT_EQ(head.framing, c.framing);
    EXPECT_EQ(head.content_length, c.content_length);
    EXPECT_EQ(head.keep_alive, c.keep_alive);
    EXPECT_EQ(head.head_size, c.input.size() - c.body);
    EXPECT_TRUE(Inside(head.reason, whole));
    for (const Header& f : head.headers) {
      EXPECT_TRUE(Inside(f.name, whole));
      EXPECT_TRUE(Inside(f.value, whole));
    }
  } else {
    ASSERT_EQ(status, ParseStatus::kError);
    EXPECT_EQ(error, c.error) << "error_detail: " << head.error_detail;
    EXPECT_STRNE(head.error_detail, "");
  }
  ResponseHead reused;
  for (size_t n = 0; n < c.input.size(); ++n) {
    const ExactBuffer prefix_buf(c.input.substr(0, n));
    ParseError prefix_error = ParseError::kNone;
    const ParseStatus s =
        ParseResponseHead(prefix_buf.view(), c.request_method, limits, &reused, &prefix_error);
    if (c.error == ParseError::kNone) {
      if (n < head.head_size) {
        ASSERT_EQ(s, ParseStatus::kIncomplete) << "prefix " << n << ": " << reused.error_detail;
      } else {
        ASSERT_EQ(s, ParseStatus::kComplete) << "prefix " << n;
        ExpectSameResponse(reused, head);
      }
    } else if (s != ParseStatus::kIncomplete) {
      ASSERT_EQ(s, ParseStatus::kError) << "prefix " << n;
      ASSERT_EQ(prefix_error, c.error) << "prefix " << n << ": " << reused.error_detail;
    }
  }
}

}  // namespace icaht::http::testing
