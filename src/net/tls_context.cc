#include "net/tls_context.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/check.h"
#include "net/tls_session.h"

namespace icaht::net {

const char kDefaultTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

namespace {

constexpr unsigned char kAlpnHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

std::string FieldError(const std::string& field, const std::string& member,
                       const std::string& problem) {
  return absl::StrCat("field '", field, ".", member, "': ", problem);
}

// Whether `path` can be opened for reading; the reason when not.
std::string Unreadable(const std::string& path) {
  if (path.empty()) return "required";
  FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) return absl::StrCat(path, ": ", std::strerror(errno));
  std::fclose(file);
  return "";
}

absl::Status LoadPair(SSL_CTX* ctx, const TlsCertFiles& files) {
  if (std::string bad = Unreadable(files.cert_file); !bad.empty()) {
    return absl::InvalidArgumentError(FieldError(files.field, "cert_file", bad));
  }
  if (std::string bad = Unreadable(files.key_file); !bad.empty()) {
    return absl::InvalidArgumentError(FieldError(files.field, "key_file", bad));
  }
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, files.cert_file.c_str()) != 1) {
    return absl::InvalidArgumentError(FieldError(
        files.field, "cert_file",
        absl::StrCat(files.cert_file, ": ", TakeTlsError("not a PEM certificate chain"))));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, files.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    std::string why = TakeTlsError("not a PEM private key");
    if (why.find("values mismatch") != std::string::npos ||
        why.find("mismatch") != std::string::npos) {
      why = absl::StrCat("does not match the certificate in ", files.cert_file);
    }
    return absl::InvalidArgumentError(
        FieldError(files.field, "key_file", absl::StrCat(files.key_file, ": ", why)));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(FieldError(
        files.field, "key_file",
        absl::StrCat(files.key_file, ": does not match the certificate in ", files.cert_file)));
  }
  return absl::OkStatus();
}

// ---- Session ticket keys ------------------------------------------------------

struct TicketSecret {
  unsigned char master[32];
  unsigned char process[8];  // the first half of every key name
  TicketSecret() {
    // Zero keys would make tickets forgeable: no randomness, no start.
    ICAHT_CHECK(RAND_bytes(master, sizeof(master)) == 1);
    ICAHT_CHECK(RAND_bytes(process, sizeof(process)) == 1);
  }
};

const TicketSecret& Secret() {
  static const TicketSecret secret;
  return secret;
}

struct TicketKey {
  int64_t period = -1;
  unsigned char aes[32];
  unsigned char mac[32];
};

void Derive(int64_t period, TicketKey* key) {
  const TicketSecret& secret = Secret();
  for (auto [label, out] : {std::pair{'a', key->aes}, std::pair{'m', key->mac}}) {
    unsigned char input[32 + 8 + 1];
    std::memcpy(input, secret.master, 32);
    for (int i = 0; i < 8; ++i) input[32 + i] = static_cast<unsigned char>(period >> (56 - 8 * i));
    input[40] = static_cast<unsigned char>(label);
    unsigned int n = 0;
    EVP_Digest(input, sizeof(input), out, &n, EVP_sha256(), nullptr);
  }
  key->period = period;
}

// The key of `period`, derived once per thread and period.
const TicketKey& KeyFor(int64_t period) {
  thread_local TicketKey keys[2];
  TicketKey& slot = keys[period & 1];
  if (slot.period != period) Derive(period, &slot);
  return slot;
}

int OnTicketKey(SSL*, unsigned char key_name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher,
                EVP_MAC_CTX* mac, int encrypt) {
  const TicketSecret& secret = Secret();
  int64_t now = static_cast<int64_t>(std::time(nullptr)) / kTicketPeriodS;
  int64_t period = now;
  if (encrypt) {
    std::memcpy(key_name, secret.process, 8);
    for (int i = 0; i < 8; ++i) key_name[8 + i] = static_cast<unsigned char>(now >> (56 - 8 * i));
    if (RAND_bytes(iv, 16) != 1) return -1;
  } else {
    if (std::memcmp(key_name, secret.process, 8) != 0) return 0;  // another process's
    period = 0;
    for (int i = 0; i < 8; ++i) period = (period << 8) | key_name[8 + i];
    if (period != now && period != now - 1) return 0;  // expired: a full handshake
  }
  const TicketKey& key = KeyFor(period);
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(key.mac),
                                        sizeof(key.mac)),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_CTX_set_params(mac, params) != 1) return -1;
  int ok = encrypt ? EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes, iv)
                   : EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes, iv);
  if (ok != 1) return -1;
  // A good ticket is always replaced by a fresh one (2): under TLS 1.3,
  // OpenSSL sends no ticket after a resumption otherwise, so a client that
  // resumes every time (wrk, browsers) could only do so every other time.
  return encrypt ? 1 : 2;
}

int OnAlpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
           unsigned int in_len, void*) {
  for (unsigned int i = 0; i < in_len;) {
    unsigned int len = in[i];
    if (i + 1 + len > in_len) break;
    if (len == 8 && std::memcmp(in + i + 1, kAlpnHttp11 + 1, 8) == 0) {
      *out = in + i + 1;
      *out_len = 8;
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  // Nothing we speak (e.g. only h2): go on without ALPN, as nginx does.
  return SSL_TLSEXT_ERR_NOACK;
}

absl::StatusOr<SSL_CTX*> NewServerCtx(const TlsServerOptions& options, const TlsCertFiles& files,
                                      const unsigned char* session_context) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return absl::InternalError(TakeTlsError("SSL_CTX_new failed"));
  auto fail = [ctx](absl::Status status) {
    SSL_CTX_free(ctx);
    return status;
  };
  SSL_CTX_set_min_proto_version(ctx, options.min_version);
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  EnableTlsTx(ctx);
  const char* ciphers = options.ciphers.empty() ? kDefaultTls12Ciphers : options.ciphers.c_str();
  if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1) {
    return fail(absl::InvalidArgumentError(FieldError(
        options.field, "ciphers", TakeTlsError("names no cipher this OpenSSL supports"))));
  }
  if (!options.ciphersuites.empty() &&
      SSL_CTX_set_ciphersuites(ctx, options.ciphersuites.c_str()) != 1) {
    return fail(absl::InvalidArgumentError(FieldError(
        options.field, "ciphersuites", TakeTlsError("names no TLS 1.3 suite this OpenSSL has"))));
  }
  if (absl::Status pair = LoadPair(ctx, files); !pair.ok()) return fail(pair);
  SSL_CTX_set_alpn_select_cb(ctx, &OnAlpn, nullptr);
  // Resumption by tickets only: no server-side cache to share between shards.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_session_id_context(ctx, session_context, SSL_MAX_SID_CTX_LENGTH);
  if (options.session_tickets) {
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &OnTicketKey);
    SSL_CTX_set_timeout(ctx, 2 * kTicketPeriodS);
    SSL_CTX_set_num_tickets(ctx, 1);
  } else {
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
  }
  if (!options.client_ca_file.empty()) {
    if (std::string bad = Unreadable(options.client_ca_file); !bad.empty()) {
      return fail(absl::InvalidArgumentError(FieldError(options.field, "client_ca_file", bad)));
    }
    ERR_clear_error();
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.client_ca_file.c_str());
    if (names == nullptr ||
        SSL_CTX_load_verify_locations(ctx, options.client_ca_file.c_str(), nullptr) != 1) {
      if (names != nullptr) sk_X509_NAME_pop_free(names, X509_NAME_free);
      return fail(absl::InvalidArgumentError(FieldError(
          options.field, "client_ca_file",
          absl::StrCat(options.client_ca_file, ": ", TakeTlsError("no PEM certificate in it")))));
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(
        ctx, SSL_VERIFY_PEER | (options.require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
        nullptr);
  }
  return ctx;
}

}  // namespace

std::string TakeTlsError(std::string_view fallback) {
  unsigned long code = ERR_peek_last_error();
  std::string out;
  if (code != 0) {
    const char* reason = ERR_reason_error_string(code);
    out = reason != nullptr ? reason : absl::StrCat("OpenSSL error ", code);
  } else {
    out = std::string(fallback);
  }
  ERR_clear_error();
  return out;
}

bool ServerNameMatches(std::string_view pattern, std::string_view name) {
  if (pattern.starts_with("*.")) {
    size_t dot = name.find('.');
    // One label only, and never the bare suffix.
    return dot != std::string_view::npos && dot > 0 && name.substr(dot) == pattern.substr(1);
  }
  return pattern == name;
}

bool AnyUri(std::string_view uris, absl::FunctionRef<bool(std::string_view)> fn) {
  while (!uris.empty()) {
    size_t end = uris.find(", ");
    if (fn(uris.substr(0, end))) return true;
    if (end == std::string_view::npos) break;
    uris.remove_prefix(end + 2);
  }
  return false;
}

bool PeerAllowed(const std::vector<std::string>& allowed, std::string_view uris) {
  return AnyUri(uris, [&allowed](std::string_view uri) {
    for (const std::string& entry : allowed) {
      if (entry.ends_with('*')
              ? uri.starts_with(std::string_view(entry).substr(0, entry.size() - 1))
              : uri == entry) {
        return true;
      }
    }
    return false;
  });
}

// ---- Server -------------------------------------------------------------------

absl::StatusOr<std::shared_ptr<const TlsServerContext>> TlsServerContext::Create(
    const TlsServerOptions& options) {
  if (options.require_client_cert && options.client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        FieldError(options.field, "require_client_cert", "needs client_ca_file"));
  }
  // Sessions resume only on a context with the same settings (OpenSSL
  // compares this id): a ticket from a service without client certificates
  // must not resume on one that requires them.
  // The CA's content too: after the client CA changes, tickets issued
  // under the old one no longer resume (resumption skips the certificate
  // check).
  std::string ca_content;
  if (!options.client_ca_file.empty()) {
    if (FILE* f = std::fopen(options.client_ca_file.c_str(), "r")) {
      char buffer[4096];
      size_t n = 0;
      while ((n = std::fread(buffer, 1, sizeof(buffer), f)) > 0) ca_content.append(buffer, n);
      std::fclose(f);
    }
  }
  std::string identity =
      absl::StrCat(options.session_context, "|", options.field, "|", options.certificate.cert_file,
                   "|", options.client_ca_file, "|", ca_content, "|", options.require_client_cert);
  unsigned char session_context[SSL_MAX_SID_CTX_LENGTH] = {};
  unsigned int n = 0;
  EVP_Digest(identity.data(), identity.size(), session_context, &n, EVP_sha256(), nullptr);

  std::shared_ptr<TlsServerContext> out(new TlsServerContext());
  auto first = NewServerCtx(options, options.certificate, session_context);
  if (!first.ok()) return first.status();
  out->contexts_.push_back({*first, {}});
  for (const TlsServerOptions::Named& named : options.named) {
    auto ctx = NewServerCtx(options, named.files, session_context);
    if (!ctx.ok()) return ctx.status();
    Context context{*ctx, {}};
    for (const std::string& name : named.server_names) {
      context.server_names.push_back(absl::AsciiStrToLower(name));
    }
    out->contexts_.push_back(std::move(context));
  }
  if (out->contexts_.size() > 1) {
    SSL_CTX_set_tlsext_servername_callback(out->ctx(), &TlsServerContext::OnServerName);
    SSL_CTX_set_tlsext_servername_arg(out->ctx(), out.get());
  }
  out->asks_client_cert_ = !options.client_ca_file.empty();
  return std::shared_ptr<const TlsServerContext>(std::move(out));
}

TlsServerContext::~TlsServerContext() {
  for (Context& context : contexts_) SSL_CTX_free(context.ctx);
}

int TlsServerContext::OnServerName(SSL* ssl, int*, void* arg) {
  const auto* self = static_cast<const TlsServerContext*>(arg);
  const char* sent = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (sent == nullptr) return SSL_TLSEXT_ERR_OK;
  std::string name = absl::AsciiStrToLower(sent);
  for (size_t i = 1; i < self->contexts_.size(); ++i) {
    for (const std::string& pattern : self->contexts_[i].server_names) {
      if (ServerNameMatches(pattern, name)) {
        SSL_set_SSL_CTX(ssl, self->contexts_[i].ctx);
        return SSL_TLSEXT_ERR_OK;
      }
    }
  }
  return SSL_TLSEXT_ERR_OK;
}

// ---- Client -------------------------------------------------------------------

absl::StatusOr<std::shared_ptr<const TlsClientContext>> TlsClientContext::Create(
    const TlsClientOptions& options) {
  std::shared_ptr<TlsClientContext> out(new TlsClientContext());
  out->ctx_ = SSL_CTX_new(TLS_client_method());
  if (out->ctx_ == nullptr) return absl::InternalError(TakeTlsError("SSL_CTX_new failed"));
  SSL_CTX* ctx = out->ctx_;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  EnableTlsTx(ctx);
  SSL_CTX_set_cipher_list(ctx, kDefaultTls12Ciphers);
  SSL_CTX_set_alpn_protos(ctx, kAlpnHttp11, sizeof(kAlpnHttp11));
  out->verify_ = options.verify;
  if (!options.ca_file.empty()) {
    auto ca_error = [&options](const std::string& problem) {
      return absl::InvalidArgumentError(
          options.ca_field.empty() ? FieldError(options.field, "ca_file", problem)
          : options.ca_field.starts_with("--")
              ? absl::StrCat(options.ca_field, ": ", problem)
              : absl::StrCat("field '", options.ca_field, "': ", problem));
    };
    if (std::string bad = Unreadable(options.ca_file); !bad.empty()) return ca_error(bad);
    ERR_clear_error();
    if (SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
      return ca_error(
          absl::StrCat(options.ca_file, ": ", TakeTlsError("no PEM certificate in it")));
    }
  } else {
    SSL_CTX_set_default_verify_paths(ctx);
  }
  SSL_CTX_set_verify(ctx, options.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  if (!options.cert_file.empty() || !options.key_file.empty()) {
    TlsCertFiles files{options.cert_file, options.key_file, options.field};
    if (absl::Status pair = LoadPair(ctx, files); !pair.ok()) return pair;
  }
  return std::shared_ptr<const TlsClientContext>(std::move(out));
}

TlsClientContext::~TlsClientContext() { SSL_CTX_free(ctx_); }

}  // namespace icaht::net
