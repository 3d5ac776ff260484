#include "tracing/encode.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <map>
#include <string>
#include <vector>

namespace icaht::tracing {
namespace encode_test {

Span FixedSpan() {
  Span span;
  EXPECT_TRUE(ReadHex("4bf92f3577b34da6a3ce929d0e0e4736", span.trace_id));
  EXPECT_TRUE(ReadHex("00f067aa0ba902b7", span.span_id));
  EXPECT_TRUE(ReadHex("53995c3f42cd8ad8", span.parent_span_id));
  span.start_unix_ns = 1700000000123456789;
  span.end_unix_ns = 1700000000125456789;  // 2 ms
  span.SetName("GET", "/orders");
  span.service = "orders";
  span.method = "GET";
  span.path = "/orders/42";
  span.route = "/orders";
  span.server_address = "orders.local";
  span.upstream_address = "127.0.0.1:8080";
  span.client_address = "10.1.2.3";
  span.user_agent = "curl/8.0";
  span.request_body_bytes = 0;
  span.response_body_bytes = 512;
  span.attempts = 1;
  span.SetOutcome(200, "");
  return span;
}

ExportResource Resource() {
  ExportResource r;
  r.host_name = "host-1";
  r.scope_version = "0.1.0";
  return r;
}

TEST(EncodeTest, OtlpExactText) {
  const Span span = FixedSpan();
  std::string out;
  EncodeOtlpJson({&span, 1}, Resource(), out);
  EXPECT_EQ(out,
            R"({"resourceSpans":[{"resource":{"attributes":[)"
            R"({"key":"service.name","value":{"stringValue":"icaht-sidecar"}},)"
            R"({"key":"host.name","value":{"stringValue":"host-1"}}]},)"
            R"("scopeSpans":[{"scope":{"name":"icaht-sidecar","version":"0.1.0"},"spans":[{)"
            R"("traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7",)"
            R"("parentSpanId":"53995c3f42cd8ad8","name":"GET /orders","kind":2,)"
            R"("startTimeUnixNano":"1700000000123456789","endTimeUnixNano":"1700000000125456789",)"
            R"("attributes":[)"
            R"({"key":"icaht.service","value":{"stringValue":"orders"}},)"
            R"({"key":"http.request.method","value":{"stringValue":"GET"}},)"
            R"({"key":"url.path","value":{"stringValue":"/orders/42"}},)"
            R"({"key":"http.route","value":{"stringValue":"/orders"}},)"
            R"({"key":"server.address","value":{"stringValue":"orders.local"}},)"
            R"({"key":"icaht.upstream.address","value":{"stringValue":"127.0.0.1:8080"}},)"
            R"({"key":"client.address","value":{"stringValue":"10.1.2.3"}},)"
            R"({"key":"user_agent.original","value":{"stringValue":"curl/8.0"}},)"
            R"({"key":"http.response.status_code","value":{"intValue":"200"}},)"
            R"({"key":"http.request.body.size","value":{"intValue":"0"}},)"
            R"({"key":"http.response.body.size","value":{"intValue":"512"}},)"
            R"({"key":"icaht.attempts","value":{"intValue":"1"}}],)"
            R"("status":{"code":0}}]}]}]})");
}

TEST(EncodeTest, ZipkinExactText) {
  const Span span = FixedSpan();
  std::string out;
  EncodeZipkinJson({&span, 1}, Resource(), out);
  EXPECT_EQ(out, R"([{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","id":"00f067aa0ba902b7",)"
                 R"("parentId":"53995c3f42cd8ad8","kind":"SERVER","name":"GET /orders",)"
                 R"("timestamp":1700000000123456,"duration":2000,)"
                 R"("localEndpoint":{"serviceName":"icaht-sidecar"},)"
                 R"("remoteEndpoint":{"ipv4":"10.1.2.3"},"tags":{)"
                 R"("icaht.service":"orders","http.request.method":"GET","url.path":"/orders/42",)"
                 R"("http.route":"/orders","server.address":"orders.local",)"
                 R"("icaht.upstream.address":"127.0.0.1:8080","client.address":"10.1.2.3",)"
                 R"("user_agent.original":"curl/8.0","http.response.status_code":"200",)"
                 R"("http.request.body.size":"0","http.response.body.size":"512",)"
                 R"("icaht.attempts":"1"}}])");
}

// Everything else is checked by parsing the output back.
simdjson::dom::element Parse(simdjson::dom::parser& parser, const std::string& json) {
  simdjson::dom::element root;
  const auto error = parser.parse(json).get(root);
  EXPECT_EQ(error, simdjson::SUCCESS) << json;
  return root;
}

std::map<std::string, std::string> OtlpAttributes(simdjson::dom::element span) {
  std::map<std::string, std::string> out;
  for (simdjson::dom::element kv : span["attributes"].get_array()) {
    simdjson::dom::object value = kv["value"].get_object();
    std::string_view text;
    if (value["stringValue"].get(text) != simdjson::SUCCESS) text = value["intValue"];
    out[std::string(std::string_view(kv["key"]))] = std::string(text);
  }
  return out;
}

TEST(EncodeTest, RootSpanErrorAndEscaping) {
  Span span = FixedSpan();
  span.parent_span_id = {};
  span.user_agent = "bad \"agent\"\n\x01 \xff\xfe end";
  span.path = "/caf\xC3\xA9";
  span.client_address = "2001:db8::1";
  span.end_unix_ns = span.start_unix_ns + 10;  // under 1 us
  span.SetOutcome(0, "upstream_reset");
  span.kind = SpanKind::kClient;

  simdjson::dom::parser parser;
  std::string otlp;
  EncodeOtlpJson({&span, 1}, ExportResource{}, otlp);
  const simdjson::dom::element root = Parse(parser, otlp);
  const simdjson::dom::element scope = root["resourceSpans"].at(0)["scopeSpans"].at(0);
  EXPECT_EQ(scope["scope"]["version"].error(), simdjson::NO_SUCH_FIELD);
  const simdjson::dom::element s = scope["spans"].at(0);
  EXPECT_EQ(s["parentSpanId"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(int64_t(s["kind"]), 3);
  EXPECT_EQ(int64_t(s["status"]["code"]), 2);
  EXPECT_EQ(std::string_view(s["status"]["message"]), "upstream_reset");
  auto attributes = OtlpAttributes(s);
  EXPECT_EQ(attributes["user_agent.original"], "bad \"agent\"\n\x01 \xEF\xBF\xBD\xEF\xBF\xBD end");
  EXPECT_EQ(attributes["url.path"], "/caf\xC3\xA9");
  EXPECT_EQ(attributes["error.type"], "upstream_reset");
  EXPECT_EQ(attributes.count("http.response.status_code"), 0u);  // no answer: omitted
  EXPECT_EQ(root["resourceSpans"].at(0)["resource"]["attributes"].get_array().size(), 1u);

  std::string zipkin;
  EncodeZipkinJson({&span, 1}, ExportResource{}, zipkin);
  const simdjson::dom::element z = Parse(parser, zipkin).at(0);
  EXPECT_EQ(z["parentId"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(std::string_view(z["kind"]), "CLIENT");
  EXPECT_EQ(int64_t(z["duration"]), 1);
  EXPECT_EQ(std::string_view(z["remoteEndpoint"]["ipv6"]), "2001:db8::1");
  EXPECT_EQ(std::string_view(z["tags"]["error"]), "upstream_reset");
  EXPECT_EQ(std::string_view(z["tags"]["user_agent.original"]),
            "bad \"agent\"\n\x01 \xEF\xBF\xBD\xEF\xBF\xBD end");
}

TEST(EncodeTest, ZipkinErrorTagNamesTheStatusWithoutAKind) {
  Span span = FixedSpan();
  span.SetOutcome(503, "");
  span.client_address.clear();
  std::string zipkin;
  EncodeZipkinJson({&span, 1}, ExportResource{}, zipkin);
  simdjson::dom::parser parser;
  const simdjson::dom::element z = Parse(parser, zipkin).at(0);
  EXPECT_EQ(std::string_view(z["tags"]["error"]), "503");
  EXPECT_EQ(z["remoteEndpoint"].error(), simdjson::NO_SUCH_FIELD);
}

TEST(EncodeTest, BatchesParseBackWithEverySpan) {
  std::vector<Span> spans;
  for (int i = 0; i < 512; ++i) {
    Span span = FixedSpan();
    span.span_id[7] = static_cast<uint8_t>(i);
    span.span_id[6] = static_cast<uint8_t>(i >> 8);
    span.status_code = static_cast<uint16_t>(200 + i % 400);
    spans.push_back(std::move(span));
  }
  simdjson::dom::parser parser;
  for (ExportFormat format : {ExportFormat::kOtlpJson, ExportFormat::kZipkinJson}) {
    std::string out;
    EncodeSpans(format, spans, Resource(), out);
    const simdjson::dom::element root = Parse(parser, out);
    simdjson::dom::array list;
    if (format == ExportFormat::kOtlpJson) {
      list = root["resourceSpans"].at(0)["scopeSpans"].at(0)["spans"];
    } else {
      list = root;
    }
    ASSERT_EQ(list.size(), 512u);
    size_t i = 0;
    for (simdjson::dom::element s : list) {
      const std::string_view id = format == ExportFormat::kOtlpJson ? s["spanId"] : s["id"];
      EXPECT_EQ(id, ToHex(spans[i].span_id));
      ++i;
    }
  }
  EXPECT_EQ(ExportPath(ExportFormat::kOtlpJson), "/v1/traces");
  EXPECT_EQ(ExportPath(ExportFormat::kZipkinJson), "/api/v2/spans");
}

TEST(EncodeTest, EmptyBatch) {
  std::string out;
  EncodeZipkinJson({}, ExportResource{}, out);
  EXPECT_EQ(out, "[]");
  out.clear();
  EncodeOtlpJson({}, ExportResource{}, out);
  simdjson::dom::parser parser;
  EXPECT_EQ(
      Parse(parser, out)["resourceSpans"].at(0)["scopeSpans"].at(0)["spans"].get_array().size(),
      0u);
}

}  // namespace encode_test
}  // namespace icaht::tracing
