#include "net/tls_session.h"

#include <gtest/gtest.h>

#include "net/tls_context.h"
#include "test_certs.h"

namespace icaht::net {
namespace tls_session_test {

using testing::PemPair;
using testing::TestPki;
using Result = TlsSession::Result;

// A client and a server session joined by two strings (one per direction).
struct Pair {
  std::unique_ptr<TlsSession> client;
  std::unique_ptr<TlsSession> server;
  std::string to_server;
  std::string to_client;

  Pair(std::shared_ptr<const TlsClientContext> client_ctx, const std::string& name,
       std::shared_ptr<const TlsServerContext> server_ctx, SSL_SESSION* resume = nullptr)
      : client(TlsSession::ForClient(std::move(client_ctx), name, resume)),
        server(TlsSession::ForServer(std::move(server_ctx))) {
    client->set_output(&to_server);
    server->set_output(&to_client);
  }

  // Delivers what each side wrote to the other, and lets both read.
  static std::string Deliver(TlsSession& to, std::string* wire) {
    std::string in = std::move(*wire);
    wire->clear();
    to.SetInput(in);
    std::string plain;
    if (!to.established()) {
      if (to.Handshake() != Result::kOk) {
        to.KeepInput();
        return plain;
      }
    }
    char buf[4096];
    size_t n = 0;
    while (to.Read(buf, sizeof(buf), &n) == Result::kOk) plain.append(buf, n);
    to.KeepInput();
    return plain;
  }

  // Runs the handshake to the end (or a failure); false if it failed.
  bool Handshake() {
    for (int round = 0; round < 10; ++round) {
      client->Handshake();
      if (!to_server.empty()) Deliver(*server, &to_server);
      if (!to_client.empty()) Deliver(*client, &to_client);
      if (!client->error().empty() || !server->error().empty()) return false;
      if (client->established() && server->established() && to_server.empty() &&
          to_client.empty()) {
        return true;
      }
    }
    return false;
  }
};

class TlsSessionTest : public ::testing::Test {
 protected:
  TlsSessionTest() {
    leaf_ = pki_.Leaf("server", "DNS:localhost,IP:127.0.0.1,URI:spiffe://test/server");
  }
  std::shared_ptr<const TlsServerContext> Server(TlsServerOptions options = {}) {
    if (options.certificate.cert_file.empty()) {
      options.certificate = {leaf_.cert_file, leaf_.key_file, "tls"};
    }
    auto ctx = TlsServerContext::Create(options);
    EXPECT_TRUE(ctx.ok()) << ctx.status();
    return ctx.ok() ? *ctx : nullptr;
  }
  std::shared_ptr<const TlsClientContext> Client(TlsClientOptions options = {}) {
    if (options.ca_file.empty()) options.ca_file = pki_.ca_file();
    auto ctx = TlsClientContext::Create(options);
    EXPECT_TRUE(ctx.ok()) << ctx.status();
    return ctx.ok() ? *ctx : nullptr;
  }

  TestPki pki_;
  PemPair leaf_;
};

TEST_F(TlsSessionTest, HandshakeThenDataBothWays) {
  Pair pair(Client(), "localhost", Server());
  ASSERT_TRUE(pair.Handshake()) << pair.client->error() << " / " << pair.server->error();
  EXPECT_STREQ(pair.client->version(), "TLSv1.3");
  ASSERT_TRUE(pair.client->Write("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(Pair::Deliver(*pair.server, &pair.to_server), "GET / HTTP/1.1\r\n\r\n");
  std::string big(100000, 'x');
  ASSERT_TRUE(pair.server->Write(big));
  EXPECT_EQ(Pair::Deliver(*pair.client, &pair.to_client), big);
  EXPECT_FALSE(pair.server->has_buffered());
  EXPECT_EQ(pair.server->server_name(), "localhost");
  EXPECT_FALSE(pair.server->has_peer_cert());
}

TEST_F(TlsSessionTest, CiphertextArrivingByteByByteIsKept) {
  Pair pair(Client(), "localhost", Server());
  ASSERT_TRUE(pair.Handshake());
  ASSERT_TRUE(pair.client->Write("hello"));
  std::string wire = std::move(pair.to_server);
  std::string got;
  for (char c : wire) {
    pair.server->SetInput(std::string_view(&c, 1));
    char buf[64];
    size_t n = 0;
    while (pair.server->Read(buf, sizeof(buf), &n) == Result::kOk) got.append(buf, n);
    pair.server->KeepInput();
  }
  EXPECT_EQ(got, "hello");
}

TEST_F(TlsSessionTest, WrongHostNameFailsVerification) {
  Pair pair(Client(), "other.example", Server());
  EXPECT_FALSE(pair.Handshake());
  EXPECT_TRUE(pair.client->verify_failed());
  EXPECT_NE(pair.client->error().find("certificate verify failed"), std::string::npos)
      << pair.client->error();
}

TEST_F(TlsSessionTest, IpAddressIsVerifiedAgainstIpSans) {
  Pair good(Client(), "127.0.0.1", Server());
  EXPECT_TRUE(good.Handshake()) << good.client->error();
  Pair bad(Client(), "127.0.0.2", Server());
  EXPECT_FALSE(bad.Handshake());
  EXPECT_TRUE(bad.client->verify_failed());
}

TEST_F(TlsSessionTest, UnknownCaFailsUnlessVerifyIsOff) {
  TestPki other;
  std::string other_ca = other.ca_file();
  Pair bad(Client({.ca_file = other_ca}), "localhost", Server());
  EXPECT_FALSE(bad.Handshake());
  EXPECT_TRUE(bad.client->verify_failed());
  Pair off(Client({.ca_file = other_ca, .verify = false}), "localhost", Server());
  EXPECT_TRUE(off.Handshake()) << off.client->error();
}

TEST_F(TlsSessionTest, TicketResumesOnAnotherContextOfTheSameService) {
  auto client = Client();
  Pair first(client, "localhost", Server());
  ASSERT_TRUE(first.Handshake());
  // TLS 1.3 tickets arrive after the handshake: let the client read them.
  ASSERT_TRUE(first.server->Write("x"));
  Pair::Deliver(*first.client, &first.to_client);
  SSL_SESSION* session = first.client->TakeSession();
  ASSERT_NE(session, nullptr);
  // Another shard's copy of the same config (a new context, same settings).
  Pair second(client, "localhost", Server(), session);
  ASSERT_TRUE(second.Handshake());
  EXPECT_TRUE(second.server->resumed());
  EXPECT_TRUE(second.client->resumed());
  // A service with other settings does not resume it.
  TlsServerOptions other;
  other.field = "other";
  Pair third(client, "localhost", Server(other), session);
  ASSERT_TRUE(third.Handshake());
  EXPECT_FALSE(third.server->resumed());
  SSL_SESSION_free(session);
}

TEST_F(TlsSessionTest, Tls12TicketResumes) {
  TlsServerOptions options;
  options.min_version = TLS1_2_VERSION;
  auto server = Server(options);
  auto client = Client();
  SSL_CTX_set_max_proto_version(client->ctx(), TLS1_2_VERSION);
  Pair first(client, "localhost", server);
  ASSERT_TRUE(first.Handshake());
  EXPECT_STREQ(first.client->version(), "TLSv1.2");
  SSL_SESSION* session = first.client->TakeSession();
  Pair second(client, "localhost", server, session);
  ASSERT_TRUE(second.Handshake());
  EXPECT_TRUE(second.server->resumed());
  SSL_SESSION_free(session);
}

TEST_F(TlsSessionTest, MinimumVersionRefusesOlderClients) {
  TlsServerOptions options;
  options.min_version = TLS1_3_VERSION;
  auto client = Client();
  SSL_CTX_set_max_proto_version(client->ctx(), TLS1_2_VERSION);
  Pair pair(client, "localhost", Server(options));
  EXPECT_FALSE(pair.Handshake());
}

TEST_F(TlsSessionTest, PlainHttpIsRecognised) {
  auto server = TlsSession::ForServer(Server());
  std::string out;
  server->set_output(&out);
  server->SetInput("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(server->Handshake(), Result::kFailed);
  EXPECT_TRUE(server->plain_http());
}

TEST_F(TlsSessionTest, SniChoosesTheCertificate) {
  PemPair other = pki_.Leaf("other", "DNS:*.other.test");
  TlsServerOptions options;
  options.named.push_back(
      {{other.cert_file, other.key_file, "tls.certificates[0]"}, {"*.other.test"}});
  auto server = Server(options);
  Pair named(Client(), "a.other.test", server);
  ASSERT_TRUE(named.Handshake()) << named.client->error();
  Pair fallback(Client(), "localhost", server);
  ASSERT_TRUE(fallback.Handshake()) << fallback.client->error();
  // The default certificate does not cover the other name.
  Pair wrong(Client(), "a.b.other.test", server);
  EXPECT_FALSE(wrong.Handshake());
}

TEST_F(TlsSessionTest, ClientCertificateRequiredAndReported) {
  PemPair client_cert = pki_.Leaf("client", "URI:spiffe://test/client");
  TlsServerOptions options;
  options.client_ca_file = pki_.ca_file();
  options.require_client_cert = true;
  auto server = Server(options);
  Pair without(Client(), "localhost", server);
  EXPECT_FALSE(without.Handshake());
  Pair with(Client({.cert_file = client_cert.cert_file, .key_file = client_cert.key_file}),
            "localhost", server);
  ASSERT_TRUE(with.Handshake()) << with.client->error() << with.server->error();
  // TLS 1.3 checks the client's certificate after the client's handshake ends.
  ASSERT_TRUE(with.client->Write("x"));
  Pair::Deliver(*with.server, &with.to_server);
  EXPECT_TRUE(with.server->has_peer_cert());
  EXPECT_EQ(with.server->PeerSubject(), "CN=client");
  EXPECT_EQ(with.server->PeerUriSans(), "spiffe://test/client");
}

TEST(TlsContextTest, FilesAreCheckedAndNamed) {
  TestPki pki;
  PemPair a = pki.Leaf("a", "DNS:a");
  PemPair b = pki.Leaf("b", "DNS:b");
  TlsServerOptions options;
  options.certificate = {a.cert_file, b.key_file, "tls"};
  auto mismatched = TlsServerContext::Create(options);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.status().message().find("field 'tls.key_file'"), std::string::npos)
      << mismatched.status();
  EXPECT_NE(mismatched.status().message().find("does not match"), std::string::npos)
      << mismatched.status();
  options.certificate = {pki.dir() + "/missing.pem", a.key_file, "tls"};
  auto missing = TlsServerContext::Create(options);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("field 'tls.cert_file'"), std::string::npos);
  EXPECT_NE(missing.status().message().find("No such file"), std::string::npos);
  options.certificate = {pki.Write("junk.pem", "not pem"), a.key_file, "tls"};
  auto junk = TlsServerContext::Create(options);
  ASSERT_FALSE(junk.ok());
  EXPECT_NE(junk.status().message().find("field 'tls.cert_file'"), std::string::npos);
  options.certificate = {a.cert_file, a.key_file, "tls"};
  options.ciphers = "NOT-A-CIPHER";
  auto ciphers = TlsServerContext::Create(options);
  ASSERT_FALSE(ciphers.ok());
  EXPECT_NE(ciphers.status().message().find("field 'tls.ciphers'"), std::string::npos);
  options.ciphers.clear();
  options.require_client_cert = true;
  EXPECT_FALSE(TlsServerContext::Create(options).ok());
}

TEST(TlsContextTest, ServerNamePatterns) {
  EXPECT_TRUE(ServerNameMatches("a.example", "a.example"));
  EXPECT_FALSE(ServerNameMatches("a.example", "b.example"));
  EXPECT_TRUE(ServerNameMatches("*.example", "a.example"));
  EXPECT_FALSE(ServerNameMatches("*.example", "example"));
  EXPECT_FALSE(ServerNameMatches("*.example", ".example"));
  EXPECT_FALSE(ServerNameMatches("*.example", "a.b.example"));
}

}  // namespace tls_session_test
}  // namespace icaht::net
