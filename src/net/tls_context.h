#pragma once
// TLS contexts (OpenSSL 3), built off the data path (control thread) from PEM
// files and then shared, immutable, by every shard: SSL_new on a shared
// SSL_CTX is thread-safe, and a server context keeps no session cache (a
// resumed session comes back as a ticket, whose keys every shard derives the
// same way: see TicketKeys), so handshakes on different shards never take a
// shared lock.
//
// Defaults (Mozilla's "intermediate" profile): TLS 1.2 and 1.3, ECDHE with
// AEAD ciphers for 1.2, OpenSSL's 1.3 suites, no renegotiation, no
// compression, ALPN "http/1.1".

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"

namespace icaht::net {

// A certificate chain and its key. `field` names the pair in error messages
// ("tls" or "tls.certificates[1]").
struct TlsCertFiles {
  std::string cert_file;  // PEM: the leaf first, then intermediates
  std::string key_file;   // PEM
  std::string field;
};

struct TlsServerOptions {
  TlsCertFiles certificate;  // the default pair
  // More pairs, chosen by the client's SNI: names are exact ("a.example") or
  // one-label wildcards ("*.example"), compared without case; the first
  // match wins, no match gets the default pair.
  struct Named {
    TlsCertFiles files;
    std::vector<std::string> server_names;
  };
  std::vector<Named> named;
  int min_version = TLS1_2_VERSION;  // TLS1_2_VERSION or TLS1_3_VERSION
  std::string ciphers;               // TLS 1.2 list (OpenSSL syntax); empty: the default
  std::string ciphersuites;          // TLS 1.3 suites; empty: OpenSSL's
  std::string client_ca_file;        // empty: client certificates are not asked for
  bool require_client_cert = false;  // with client_ca_file: no certificate, no handshake
  bool session_tickets = true;
  std::string field = "tls";  // the options' place in the record, for errors
  // Names whose sessions these are (the service): a session resumes only on
  // a context with the same name and settings.
  std::string session_context;
};

// The TLS 1.2 cipher list used when none is configured.
extern const char kDefaultTls12Ciphers[];

class TlsServerContext {
 public:
  // Loads and checks every file: InvalidArgument naming the field and the
  // file when one is missing, unreadable, not PEM, or when a key does not
  // match its certificate.
  static absl::StatusOr<std::shared_ptr<const TlsServerContext>> Create(
      const TlsServerOptions& options);
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  // The context new connections start with (SNI may switch them to another).
  SSL_CTX* ctx() const { return contexts_.front().ctx; }
  bool asks_client_cert() const { return asks_client_cert_; }

 private:
  struct Context {
    SSL_CTX* ctx = nullptr;
    std::vector<std::string> server_names;  // lower case
  };
  TlsServerContext() = default;
  static int OnServerName(SSL* ssl, int* alert, void* arg);

  std::vector<Context> contexts_;  // [0] the default
  bool asks_client_cert_ = false;
};

struct TlsClientOptions {
  std::string ca_file;  // empty: the system's trust store
  bool verify = true;
  std::string cert_file;  // a client certificate (mTLS), with key_file
  std::string key_file;
  std::string field = "tls";
  // The CA file's own field name when it is not `field`.ca_file.
  std::string ca_field;
};

class TlsClientContext {
 public:
  static absl::StatusOr<std::shared_ptr<const TlsClientContext>> Create(
      const TlsClientOptions& options);
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  SSL_CTX* ctx() const { return ctx_; }
  bool verify() const { return verify_; }

 private:
  TlsClientContext() = default;
  SSL_CTX* ctx_ = nullptr;
  bool verify_ = true;
};

// Session ticket keys: derived from a random per-process secret and the
// current period (kTicketPeriodS), so every shard encrypts with the same key
// without sharing state. Tickets of the current and the previous period are
// accepted (the previous ones are renewed); older ones get a full handshake,
// and so do tickets from another process (a restart rotates every key).
inline constexpr int64_t kTicketPeriodS = 3600;

// Whether `name` (lower case) matches `pattern` ("a.example" or "*.example").
bool ServerNameMatches(std::string_view pattern, std::string_view name);

// Calls `fn` on each URI of a ", "-joined list (TlsSession::PeerUriSans)
// until it returns true; whether one did.
bool AnyUri(std::string_view uris, absl::FunctionRef<bool(std::string_view)> fn);

// Whether a peer with URI SANs `uris` (", " joined) may call: one of them
// equals an entry of `allowed`, or starts with an entry's text before its
// final '*'.
bool PeerAllowed(const std::vector<std::string>& allowed, std::string_view uris);

// The reason for the last OpenSSL failure on this thread's error queue, or
// `fallback` (and clears the queue).
std::string TakeTlsError(std::string_view fallback);

}  // namespace icaht::net
