#pragma once
// One connection's TLS state: an OpenSSL SSL object whose I/O is a BIO of
// ours, so the ring keeps doing the socket I/O (no blocking SSL_read on a
// shard). Ciphertext received is handed in with SetInput (read in place, the
// unread rest kept by KeepInput); every ciphertext byte OpenSSL produces is
// appended to the output string the owner chose (the socket's send queue).
//
// Owned by a net::Stream, on its shard's thread. OpenSSL's error queue is
// per thread: every call here clears it first and leaves it empty.

#include <openssl/ssl.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "net/tls_context.h"
#include "net/tls_tx.h"

namespace icaht::net {

// Lets OpenSSL hand the write keys of `ctx`'s connections to their
// TlsSession (OpenSSL's kTLS hook: see net/tls_tx.h), which then seals
// outgoing records itself. Called on every context a TlsSession uses.
void EnableTlsTx(SSL_CTX* ctx);

class TlsSession {
 public:
  static std::unique_ptr<TlsSession> ForServer(std::shared_ptr<const TlsServerContext> context);
  // `server_name`: sent as SNI unless it is an IP literal, and verified
  // against the peer's certificate (DNS or IP SAN) when the context verifies;
  // `resume` (may be null): a session of an earlier connection to offer.
  static std::unique_ptr<TlsSession> ForClient(std::shared_ptr<const TlsClientContext> context,
                                               const std::string& server_name, SSL_SESSION* resume);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  void set_output(std::string* out) { out_ = out; }
  // While set (>= 0) and the output is empty, records go straight to this
  // socket with a non-blocking send instead of being copied to the output;
  // what the socket does not take is appended, and from then on every record
  // is (the order must hold). For large writes on an idle socket: the
  // ciphertext is not copied again (nginx writes OpenSSL's records to the
  // socket the same way). Returns the bytes sent directly since set.
  void set_direct_fd(int fd) {
    direct_fd_ = fd;
    direct_bytes_ = 0;
  }
  size_t direct_bytes() const { return direct_bytes_; }

  // Ciphertext just received, read in place by the next calls; KeepInput()
  // copies what they left unread before `data` goes away.
  void SetInput(std::string_view data) {
    view_ = data;
    if (!established_ && first_bytes_.size() < kFirstBytes) {
      first_bytes_.append(data.substr(0, kFirstBytes - first_bytes_.size()));
    }
  }
  void KeepInput();
  // Ciphertext or decrypted bytes are waiting to be read.
  bool has_buffered() const;

  enum class Result : uint8_t {
    kOk,      // done (Handshake), or bytes read (Read)
    kWant,    // needs more ciphertext
    kClosed,  // the peer sent close_notify
    kFailed,  // fatal: error() says why
  };
  Result Handshake();
  bool established() const { return established_; }
  // Decrypts up to `capacity` bytes into `buffer`; *n is set on kOk.
  Result Read(char* buffer, size_t capacity, size_t* n);
  // Encrypts all of `data` into the output. False on a fatal error.
  bool Write(std::string_view data);
  // OpenSSL's default max_send_fragment: the plaintext of a whole record.
  static constexpr size_t kMaxRecordPlaintext = 16 * 1024;
  // Records are sealed by TlsTx (OpenSSL handed over the write keys).
  bool sealing() const { return tx_ != nullptr; }
  // Queues close_notify (once; only after the handshake).
  void Shutdown();

  // Why the session failed (OpenSSL's reason, or the certificate check's).
  const std::string& error() const { return error_; }
  // The handshake failed because the peer spoke plain HTTP to a TLS port.
  bool plain_http() const { return plain_http_; }
  // The failure was the peer's certificate (verification) rather than the protocol.
  bool verify_failed() const { return verify_failed_; }

  // After the handshake.
  bool resumed() const;
  const char* version() const;  // "TLSv1.3"
  std::string_view server_name() const;
  // The peer's certificate: subject (RFC 2253 string) and URI SANs (", "
  // joined); empty without one.
  std::string PeerSubject() const;
  std::string PeerUriSans() const;
  bool has_peer_cert() const;
  // A new reference to the session (for resumption), or null when it cannot
  // be resumed.
  SSL_SESSION* TakeSession() const;
  // A client's: its context and the name it verifies (what a pooled
  // connection is kept under).
  const void* context_id() const { return context_.get(); }
  std::weak_ptr<const void> context_ref() const { return context_; }
  const std::string& peer_name() const { return peer_name_; }

 private:
  friend struct TlsBio;
  friend void EnableTlsTx(SSL_CTX* ctx);
  TlsSession(SSL* ssl, bool server);
  Result Fail(int ret);
  bool WriteRecords(std::string_view data);
  int ReadCiphertext(char* out, int len);
  // OpenSSL's kTLS control calls, for TlsBio.
  long TxControl(int cmd, long larg, void* parg);
  // One record of plaintext from OpenSSL, sealed by tx_.
  bool SealRecord(const char* data, size_t len);
  // Sends (direct) or queues what SealRecord has gathered; `more`: more
  // records follow at once.
  void FlushSealed(bool more);
  // Ciphertext out: straight to direct_fd_ while it is set and nothing is
  // queued, the rest (and everything after it) appended to the output.
  void Output(const char* data, size_t len, bool more);

  SSL* ssl_;
  std::shared_ptr<const void> context_;  // keeps the SSL_CTX's owner alive
  std::string* out_ = nullptr;
  int direct_fd_ = -1;
  size_t direct_bytes_ = 0;
  bool more_ = false;      // direct sends go with MSG_MORE (more records follow at once)
  std::string_view view_;  // the current input, read in place
  std::string kept_;       // input left unread by an earlier call
  size_t kept_offset_ = 0;
  std::string error_;
  std::string peer_name_;
  // The peer's first bytes (plain HTTP is recognised by its method).
  static constexpr size_t kFirstBytes = 8;
  std::string first_bytes_;
  bool server_;
  bool established_ = false;
  bool plain_http_ = false;
  bool verify_failed_ = false;
  bool shutdown_sent_ = false;
  std::unique_ptr<TlsTx> tx_;
  bool gather_ = false;  // in Write: SealRecord gathers records for one send
};

}  // namespace icaht::net
