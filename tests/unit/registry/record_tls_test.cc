#include "registry/record_tls.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/tls_context.h"
#include "record_test_util.h"
#include "registry/service_record.h"

namespace icaht::registry {
namespace record_tls_test {

using ::testing::HasSubstr;

// A record with `tls`, and one upstream with `upstream_tls` when not empty.
std::string TlsRecord(std::string_view tls, std::string_view upstream_tls = "") {
  std::string upstream =
      upstream_tls.empty()
          ? std::string(R"("127.0.0.1:8443")")
          : absl::StrCat(R"({"address":"127.0.0.1:8443","tls":)", std::string(upstream_tls), "}");
  return absl::StrCat(R"({"name":"orders","upstreams":[)", upstream, R"(],"tls":)",
                      std::string(tls), "}");
}

absl::StatusOr<ServiceRecord> Parse(std::string_view tls, std::string_view upstream_tls = "") {
  return ParseServiceRecord(TlsRecord(tls, upstream_tls));
}

std::string TlsError(std::string_view tls, std::string_view upstream_tls = "") {
  return ErrorOf(TlsRecord(tls, upstream_tls));
}

constexpr std::string_view kPair = R"("cert_file":"/c.pem","key_file":"/k.pem")";

TEST(RecordTlsTest, NullIsPlainAndDefaultsAreSafe) {
  absl::StatusOr<ServiceRecord> r = Parse("null");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->tls.has_value());
  r = Parse(absl::StrCat("{", std::string(kPair), "}"));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->tls.has_value());
  EXPECT_EQ(r->tls->min_version, "1.2");
  EXPECT_TRUE(r->tls->session_tickets);
  EXPECT_FALSE(r->tls->require_client_cert);
  EXPECT_THAT(ToJson(*r), HasSubstr(R"("tls":{"cert_file":"/c.pem","key_file":"/k.pem",)"
                                    R"("certificates":[],"min_version":"1.2","ciphers":"",)"
                                    R"("ciphersuites":"","session_tickets":true,)"
                                    R"("client_ca_file":"","require_client_cert":false,)"
                                    R"("allow_peers":[],"peer_header":null})"));
}

TEST(RecordTlsTest, EveryMemberRoundTrips) {
  std::string tls = absl::StrCat(
      "{", std::string(kPair),
      R"(,"certificates":[{"server_names":["API.example","*.b.example"],"cert_file":"/a.pem",)"
      R"("key_file":"/a.key"}],"min_version":"1.3","ciphers":"ECDHE-ECDSA-AES128-GCM-SHA256",)"
      R"("ciphersuites":"TLS_AES_128_GCM_SHA256","session_tickets":false,)"
      R"("client_ca_file":"/ca.pem","allow_peers":["spiffe://fleet/a","spiffe://fleet/svc/*"],)"
      R"("peer_header":"X-Client-Cert"})");
  absl::StatusOr<ServiceRecord> r =
      Parse(tls, R"({"ca_file":"/ca.pem","server_name":"orders.internal","verify":false,)"
                 R"("cert_file":"/m.pem","key_file":"/m.key","fleet":true})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->tls->certificates[0].server_names[0], "api.example");  // lower case
  EXPECT_TRUE(r->tls->require_client_cert);                           // implied by allow_peers
  EXPECT_EQ(r->tls->peer_header, "x-client-cert");
  ASSERT_TRUE(r->upstreams[0].tls.has_value());
  EXPECT_FALSE(r->upstreams[0].tls->verify);
  absl::StatusOr<ServiceRecord> again = ParseServiceRecord(ToJson(*r));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *r);
}

TEST(RecordTlsTest, ErrorsNameTheField) {
  EXPECT_THAT(TlsError(R"({"cert_file":"/c.pem"})"), HasSubstr("field 'tls.key_file': required"));
  std::string pair(kPair);
  EXPECT_THAT(TlsError(absl::StrCat("{", pair, R"(,"min_version":"1.1"})")),
              HasSubstr("field 'tls.min_version'"));
  // Without client_ca_file or a certificate, the host's identity is used (checked when
  // the record is applied, against the daemon's --tls-* flags).
  absl::StatusOr<ServiceRecord> host = Parse(R"({"require_client_cert":true})");
  ASSERT_TRUE(host.ok()) << host.status();
  EXPECT_TRUE(host->tls->certificate.cert_file.empty());
  EXPECT_THAT(TlsError(R"({"key_file":"/k.pem"})"),
              HasSubstr("field 'tls.cert_file': required with the other"));
  EXPECT_THAT(TlsError(absl::StrCat("{", pair,
                                    R"(,"client_ca_file":"/ca","allow_peers":["spiffe://*/x"]})")),
              HasSubstr("field 'tls.allow_peers[0]'"));
  EXPECT_THAT(TlsError(absl::StrCat("{", pair, R"(,"certificates":[{"cert_file":"/a",)",
                                    R"("key_file":"/b"}]})")),
              HasSubstr("field 'tls.certificates[0].server_names': required"));
  EXPECT_THAT(TlsError(absl::StrCat("{", pair, R"(,"certificates":[{"server_names":["a b"],)",
                                    R"("cert_file":"/a","key_file":"/b"}]})")),
              HasSubstr("field 'tls.certificates[0].server_names[0]'"));
  EXPECT_THAT(TlsError(absl::StrCat("{", pair, R"(,"peer_header":"bad header"})")),
              HasSubstr("field 'tls.peer_header'"));
  EXPECT_THAT(TlsError(absl::StrCat("{", pair, R"(,"sni":{}})")),
              HasSubstr("unknown field 'tls.sni'"));
  EXPECT_THAT(TlsError("null", R"({"cert_file":"/m.pem"})"),
              HasSubstr("field 'upstreams[0].tls.key_file'"));
  EXPECT_THAT(TlsError("null", R"({"verify":"yes"})"),
              HasSubstr("field 'upstreams[0].tls.verify'"));
}

TEST(RecordTlsTest, PeerClaimsNeedClientCertificates) {
  std::string endpoints =
      R"(,"endpoints":[{"path_prefix":"/a","auth":{"claims":{"peer.uri_san":["spiffe://x"]}}}])";
  EXPECT_THAT(TlsError(absl::StrCat("null", endpoints)),
              HasSubstr("field 'endpoints[0].auth': peer.* claims need tls"));
  std::string tls = absl::StrCat("{", std::string(kPair), R"(,"client_ca_file":"/ca"})");
  EXPECT_TRUE(Parse(absl::StrCat(tls, endpoints)).ok());
  EXPECT_THAT(TlsError(absl::StrCat(
                  tls, R"(,"endpoints":[{"path_prefix":"/","auth":{"claims":{"peer.x":["y"]}}}])")),
              HasSubstr("peer.uri_san and peer.subject"));
}

TEST(RecordTlsTest, PeerAllowedMatchesExactOrPrefix) {
  std::vector<std::string> allowed = {"spiffe://fleet/host/a", "spiffe://fleet/svc/*"};
  EXPECT_TRUE(net::PeerAllowed(allowed, "spiffe://fleet/host/a"));
  EXPECT_FALSE(net::PeerAllowed(allowed, "spiffe://fleet/host/ab"));
  EXPECT_TRUE(net::PeerAllowed(allowed, "urn:x, spiffe://fleet/svc/billing"));
  EXPECT_FALSE(net::PeerAllowed(allowed, "spiffe://fleet/sv"));
  EXPECT_FALSE(net::PeerAllowed(allowed, ""));
}

}  // namespace record_tls_test
}  // namespace icaht::registry
