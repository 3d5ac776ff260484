// Fuzzes the server side of a TLS session (net/tls_session.cc over the BIO of ours) with
// arbitrary ClientHello bytes, delivered in pieces of fuzzer-chosen sizes as the ring would hand
// them over. Invariants: no crash or sanitizer report whatever the bytes; a failed session stays
// failed (every later call fails or wants more, never succeeds); bytes left unread are kept, and
// nothing is decrypted before a handshake completed.

#include <cstddef>
#include <cstdint>
#include <string>

#include "../unit/net/test_certs.h"
#include "fuzz_util.h"
#include "net/tls_context.h"
#include "net/tls_session.h"

namespace icaht::net::fuzz {
namespace {

const std::shared_ptr<const TlsServerContext>& Context() {
  static testing::TestPki* pki = new testing::TestPki();
  static std::shared_ptr<const TlsServerContext> context = [] {
    testing::PemPair pair = pki->Leaf("server", "DNS:localhost");
    TlsServerOptions options;
    options.certificate = {pair.cert_file, pair.key_file, "tls"};
    options.client_ca_file = pki->ca_file();
    auto created = TlsServerContext::Create(options);
    FUZZ_CHECK(created.ok());
    return *created;
  }();
  return context;
}

}  // namespace
}  // namespace icaht::net::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using icaht::net::TlsSession;
  if (size == 0) return 0;
  // The first byte chooses the piece size (1..256 bytes), the rest is the peer's bytes.
  size_t piece = static_cast<size_t>(data[0]) + 1;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  auto session = TlsSession::ForServer(icaht::net::fuzz::Context());
  std::string out;
  session->set_output(&out);
  bool failed = false;
  while (!input.empty()) {
    std::string chunk(input.substr(0, piece));  // the recv buffer: gone after the call
    input.remove_prefix(std::min(piece, input.size()));
    session->SetInput(chunk);
    TlsSession::Result result = session->Handshake();
    if (failed) FUZZ_CHECK(result != TlsSession::Result::kOk);
    if (result == TlsSession::Result::kFailed) {
      failed = true;
      FUZZ_CHECK(!session->error().empty());
    }
    if (session->established()) {
      char buffer[4096];
      size_t n = 0;
      while (session->Read(buffer, sizeof(buffer), &n) == TlsSession::Result::kOk) {
        FUZZ_CHECK(n > 0 && n <= sizeof(buffer));
      }
    }
    session->KeepInput();
  }
  return 0;
}
