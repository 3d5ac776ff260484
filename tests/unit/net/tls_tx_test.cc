// TlsTx: records sealed by us once OpenSSL hands over the write keys, opened
// by a plain OpenSSL peer (memory BIOs), for every suite we seal, across
// KeyUpdates both ways, and sent straight to a socket that fills up.
#include "net/tls_tx.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <set>
#include <string>

#include "net/tls_context.h"
#include "net/tls_session.h"
#include "test_certs.h"

namespace icaht::net {
namespace tls_tx_test {

using Result = TlsSession::Result;

std::string Pattern(size_t n, unsigned seed) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>((i * 131 + seed * 7 + i / 977) & 0xff);
  return out;
}

// The explicit nonces of the TLS 1.2 AES-GCM records in `wire` (the first 8
// bytes of each record's body) go into `seen`; false if one was there.
bool AllNoncesNew(const std::string& wire, std::set<std::string>* seen) {
  size_t at = 0;
  bool fresh = true;
  while (at + 5 + 8 <= wire.size()) {
    const size_t body = (size_t{static_cast<unsigned char>(wire[at + 3])} << 8) |
                        static_cast<unsigned char>(wire[at + 4]);
    fresh = seen->insert(wire.substr(at + 5, 8)).second && fresh;
    at += 5 + body;
  }
  return fresh && at == wire.size();
}

// A plain OpenSSL endpoint: what it is sent goes into `in`, what it writes
// comes out of `out`.
struct RawPeer {
  SSL* ssl;
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  explicit RawPeer(SSL_CTX* ctx, bool server) : ssl(SSL_new(ctx)) {
    SSL_set_bio(ssl, in, out);
    if (server) {
      SSL_set_accept_state(ssl);
    } else {
      SSL_set_connect_state(ssl);
    }
  }
  ~RawPeer() { SSL_free(ssl); }
  void Give(const std::string& bytes) {
    if (!bytes.empty()) BIO_write(in, bytes.data(), static_cast<int>(bytes.size()));
  }
  std::string Take() {
    std::string bytes;
    char buf[65536];
    int n;
    while ((n = BIO_read(out, buf, sizeof(buf))) > 0) bytes.append(buf, static_cast<size_t>(n));
    return bytes;
  }
  // Reads all the plaintext there is; *closed on close_notify.
  std::string Read(bool* closed = nullptr) {
    std::string plain;
    char buf[65536];
    for (;;) {
      int n = SSL_read(ssl, buf, sizeof(buf));
      if (n > 0) {
        plain.append(buf, static_cast<size_t>(n));
        continue;
      }
      int error = SSL_get_error(ssl, n);
      if (closed != nullptr) *closed = error == SSL_ERROR_ZERO_RETURN;
      EXPECT_TRUE(error == SSL_ERROR_WANT_READ || error == SSL_ERROR_ZERO_RETURN)
          << "SSL_read error " << error << ": " << TakeTlsError("?");
      ERR_clear_error();
      return plain;
    }
  }
  void Write(const std::string& plain) {
    ASSERT_EQ(SSL_write(ssl, plain.data(), static_cast<int>(plain.size())),
              static_cast<int>(plain.size()));
  }
};

// Our session against a raw peer.
struct Link {
  std::unique_ptr<TlsSession> ours;
  RawPeer peer;
  std::string wire;  // what ours wrote, not yet given to the peer

  Link(std::unique_ptr<TlsSession> session, SSL_CTX* peer_ctx, bool peer_is_server)
      : ours(std::move(session)), peer(peer_ctx, peer_is_server) {
    ours->set_output(&wire);
  }
  // Gives ours what the peer wrote; returns the plaintext ours read.
  std::string ToOurs() {
    std::string bytes = peer.Take();
    ours->SetInput(bytes);
    std::string plain;
    if (!ours->established() && ours->Handshake() != Result::kOk) {
      ours->KeepInput();
      return plain;
    }
    char buf[65536];
    size_t n = 0;
    while (ours->Read(buf, sizeof(buf), &n) == Result::kOk) plain.append(buf, n);
    ours->KeepInput();
    return plain;
  }
  std::string ToPeer(bool* closed = nullptr) {
    peer.Give(wire);
    wire.clear();
    return peer.Read(closed);
  }
  bool Handshake() {
    for (int round = 0; round < 10; ++round) {
      if (!ours->established()) ours->Handshake();
      SSL_do_handshake(peer.ssl);
      ERR_clear_error();
      peer.Give(wire);
      wire.clear();
      SSL_do_handshake(peer.ssl);
      ERR_clear_error();
      ToOurs();
      if (ours->established() && SSL_is_init_finished(peer.ssl) && wire.empty()) return true;
    }
    return false;
  }
};

// `rounds` times: the peer updates its key and asks us to update ours;
// OpenSSL sends our KeyUpdate ahead of the next data, we seal it under the
// old key, and OpenSSL seals what follows under the next (else the peer
// fails to open it).
void KeyUpdateRounds(Link& link, unsigned rounds, size_t size) {
  for (unsigned round = 1; round <= rounds; ++round) {
    ASSERT_EQ(SSL_key_update(link.peer.ssl, SSL_KEY_UPDATE_REQUESTED), 1);
    link.peer.Write("ping");
    EXPECT_EQ(link.ToOurs(), "ping");
    // A body freed after each write: OpenSSL, sealing again, must not write
    // into memory it last saw as our plaintext (ASan would say so).
    auto body = std::make_unique<std::string>(Pattern(size, round));
    const std::string copy = *body;
    ASSERT_TRUE(link.ours->Write(*body));
    EXPECT_EQ(*body, copy);
    body.reset();
    EXPECT_EQ(link.ToPeer(), copy) << "round " << round;
    EXPECT_FALSE(link.ours->sealing());
  }
}

class TlsTxTest : public ::testing::Test {
 protected:
  TlsTxTest() { leaf_ = pki_.Leaf("server", "DNS:localhost"); }
  ~TlsTxTest() override {
    SSL_CTX_free(raw_client_);
    SSL_CTX_free(raw_server_);
  }

  std::shared_ptr<const TlsServerContext> Server(const std::string& ciphersuites = "",
                                                 const std::string& ciphers = "") {
    TlsServerOptions options;
    options.certificate = {leaf_.cert_file, leaf_.key_file, "tls"};
    options.ciphersuites = ciphersuites;
    options.ciphers = ciphers;
    auto ctx = TlsServerContext::Create(options);
    EXPECT_TRUE(ctx.ok()) << ctx.status();
    return *ctx;
  }
  // A plain OpenSSL client offering only `suite` (a TLS 1.3 suite, or a
  // TLS 1.2 cipher with max_version 1.2).
  SSL_CTX* RawClient(const std::string& suite, int max_version) {
    raw_client_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_max_proto_version(raw_client_, max_version);
    if (max_version == TLS1_3_VERSION) {
      EXPECT_EQ(SSL_CTX_set_ciphersuites(raw_client_, suite.c_str()), 1);
    } else {
      EXPECT_EQ(SSL_CTX_set_cipher_list(raw_client_, suite.c_str()), 1);
    }
    return raw_client_;
  }
  SSL_CTX* RawServer() {
    raw_server_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate_file(raw_server_, leaf_.cert_file.c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(raw_server_, leaf_.key_file.c_str(), SSL_FILETYPE_PEM);
    return raw_server_;
  }

  testing::TestPki pki_;
  testing::PemPair leaf_;
  SSL_CTX* raw_client_ = nullptr;
  SSL_CTX* raw_server_ = nullptr;
};

struct Suite {
  const char* name;  // as OpenSSL names it
  int max_version;
};

class TlsTxSuiteTest : public TlsTxTest, public ::testing::WithParamInterface<Suite> {};

TEST_P(TlsTxSuiteTest, RecordsWeSealOpenInOpenSsl) {
  const Suite suite = GetParam();
  const bool tls13 = suite.max_version == TLS1_3_VERSION;
  Link link(TlsSession::ForServer(Server(tls13 ? suite.name : "", tls13 ? "" : suite.name)),
            RawClient(suite.name, suite.max_version), /*peer_is_server=*/false);
  ASSERT_TRUE(link.Handshake()) << link.ours->error();
  EXPECT_STREQ(SSL_CIPHER_get_name(SSL_get_current_cipher(link.peer.ssl)), suite.name);
  EXPECT_TRUE(link.ours->sealing());
  // Sizes around a record's plaintext (16 KiB), and several records at once.
  const bool explicit_nonces = !tls13 && std::string(suite.name).find("GCM") != std::string::npos;
  std::set<std::string> nonces;
  unsigned seed = 0;
  for (size_t size :
       {size_t{1}, size_t{16383}, size_t{16384}, size_t{16385}, size_t{100000}, size_t{1} << 20}) {
    std::string body = Pattern(size, ++seed);
    ASSERT_TRUE(link.ours->Write(body));
    // A GCM nonce used twice under one key gives the key away.
    if (explicit_nonces) EXPECT_TRUE(AllNoncesNew(link.wire, &nonces)) << size;
    ASSERT_EQ(link.ToPeer(), body) << size;
  }
  // The other way is OpenSSL's own, and still works.
  link.peer.Write("request");
  EXPECT_EQ(link.ToOurs(), "request");
  // close_notify is sealed by us too.
  link.ours->Shutdown();
  bool closed = false;
  EXPECT_EQ(link.ToPeer(&closed), "");
  EXPECT_TRUE(closed);
}

INSTANTIATE_TEST_SUITE_P(Suites, TlsTxSuiteTest,
                         ::testing::Values(Suite{"TLS_AES_128_GCM_SHA256", TLS1_3_VERSION},
                                           Suite{"TLS_AES_256_GCM_SHA384", TLS1_3_VERSION},
                                           Suite{"TLS_CHACHA20_POLY1305_SHA256", TLS1_3_VERSION},
                                           Suite{"ECDHE-ECDSA-AES128-GCM-SHA256", TLS1_2_VERSION},
                                           Suite{"ECDHE-ECDSA-AES256-GCM-SHA384", TLS1_2_VERSION},
                                           Suite{"ECDHE-ECDSA-CHACHA20-POLY1305", TLS1_2_VERSION}),
                         [](const ::testing::TestParamInfo<Suite>& info) {
                           std::string name = info.param.name;
                           for (char& c : name) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST_F(TlsTxTest, ASuiteWeDoNotSealStaysOpenSsls) {
  // AES-CCM: OpenSSL either keeps the keys or is told no; both work.
  Link link(TlsSession::ForServer(Server("TLS_AES_128_CCM_SHA256")),
            RawClient("TLS_AES_128_CCM_SHA256", TLS1_3_VERSION), false);
  ASSERT_TRUE(link.Handshake()) << link.ours->error();
  EXPECT_FALSE(link.ours->sealing());
  std::string body = Pattern(70000, 3);
  ASSERT_TRUE(link.ours->Write(body));
  EXPECT_EQ(link.ToPeer(), body);
}

TEST_F(TlsTxTest, KeyUpdatesTheClientAsksForRekeyOurSide) {
  Link link(TlsSession::ForServer(Server()), RawClient("TLS_AES_256_GCM_SHA384", TLS1_3_VERSION),
            false);
  ASSERT_TRUE(link.Handshake());
  ASSERT_TRUE(link.ours->sealing());
  KeyUpdateRounds(link, 3, 40000);
}

TEST_F(TlsTxTest, KeyUpdatesTheServerAsksForRekeyOurClient) {
  TlsClientOptions options;
  options.ca_file = pki_.ca_file();
  auto client_ctx = TlsClientContext::Create(options);
  ASSERT_TRUE(client_ctx.ok()) << client_ctx.status();
  Link link(TlsSession::ForClient(*client_ctx, "localhost", nullptr), RawServer(), true);
  ASSERT_TRUE(link.Handshake()) << link.ours->error();
  ASSERT_TRUE(link.ours->sealing());
  KeyUpdateRounds(link, 2, 20000);
}

TEST_F(TlsTxTest, DirectSendsKeepOrderWhenTheSocketFills) {
  Link link(TlsSession::ForServer(Server()), RawClient("TLS_AES_128_GCM_SHA256", TLS1_3_VERSION),
            false);
  ASSERT_TRUE(link.Handshake());
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  int small = 8192;
  setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  // Sealed records go straight to the socket until it is full; the rest is
  // queued behind them (the wire is the socket's bytes, then the queue).
  std::string body = Pattern(300000, 9);
  link.ours->set_direct_fd(fds[0]);
  ASSERT_TRUE(link.ours->Write(body));
  const size_t direct = link.ours->direct_bytes();
  link.ours->set_direct_fd(-1);
  EXPECT_GT(direct, 0u);
  EXPECT_FALSE(link.wire.empty());
  std::string from_socket;
  char buf[65536];
  while (from_socket.size() < direct) {
    ssize_t n = read(fds[1], buf, sizeof(buf));
    ASSERT_GT(n, 0);
    from_socket.append(buf, static_cast<size_t>(n));
  }
  EXPECT_EQ(from_socket.size(), direct);
  link.wire.insert(0, from_socket);
  EXPECT_EQ(link.ToPeer(), body);
  close(fds[0]);
  close(fds[1]);
}

}  // namespace tls_tx_test
}  // namespace icaht::net
