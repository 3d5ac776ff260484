#include "net/tls_session.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <climits>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/check.h"

namespace icaht::net {

namespace {
// OpenSSL's internal BIO controls for kernel TLS (openssl/bio.h lists them
// in a comment): the keys, and the record type of the next write.
constexpr int kCtrlSetKtls = 72;
constexpr int kCtrlSetKtlsCtrlMsg = 74;
constexpr int kCtrlClearKtlsCtrlMsg = 75;

// Sealed records gathered for one send: four whole records, reused by every
// session on the thread (each Write flushes it before returning).
constexpr size_t kSealedCapacity = 4 * (TlsTx::kMaxPlaintext + TlsTx::kMaxOverhead);
struct Sealed {
  std::unique_ptr<unsigned char[]> data{new unsigned char[kSealedCapacity]};
  size_t used = 0;
};
Sealed& ThreadSealed() {
  thread_local Sealed sealed;
  return sealed;
}
}  // namespace

void EnableTlsTx(SSL_CTX* ctx) {
  SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
  // Record buffers released after each write: when a TlsTx retires (a
  // KeyUpdate), OpenSSL's next record goes into a buffer of its own, not one
  // it last pointed at the caller's plaintext with.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

// The BIO between OpenSSL and the ring: reads the session's input in place,
// appends writes to its output. Never blocks; "no input yet" is a retry.
struct TlsBio {
  static int Write(BIO* bio, const char* data, int len) {
    BIO_clear_retry_flags(bio);
    auto* session = static_cast<TlsSession*>(BIO_get_data(bio));
    ICAHT_CHECK(session->out_ != nullptr);
    if (session->tx_ != nullptr) {
      return session->SealRecord(data, static_cast<size_t>(len)) ? len : -1;
    }
    session->Output(data, static_cast<size_t>(len), session->more_);
    return len;
  }
  static int Read(BIO* bio, char* out, int len) {
    BIO_clear_retry_flags(bio);
    auto* session = static_cast<TlsSession*>(BIO_get_data(bio));
    int n = session->ReadCiphertext(out, len);
    if (n == 0) {
      BIO_set_retry_read(bio);
      return -1;
    }
    return n;
  }
  static long Ctrl(BIO* bio, int cmd, long larg, void* parg) {
    auto* session = static_cast<TlsSession*>(BIO_get_data(bio));
    switch (cmd) {
      case BIO_CTRL_FLUSH:
        return 1;
      case BIO_CTRL_PENDING:
        return static_cast<long>(session->kept_.size() - session->kept_offset_ +
                                 session->view_.size());
      default:
        return session->TxControl(cmd, larg, parg);
    }
  }
  static int Create(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
  }
  static BIO_METHOD* Method() {
    static BIO_METHOD* method = [] {
      BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "icaht-ring");
      BIO_meth_set_write(m, &TlsBio::Write);
      BIO_meth_set_read(m, &TlsBio::Read);
      BIO_meth_set_ctrl(m, &TlsBio::Ctrl);
      BIO_meth_set_create(m, &TlsBio::Create);
      return m;
    }();
    return method;
  }
};

namespace {
// "GET ", "DELETE ", "OPTIONS ": a method token of capitals and a space
// (OpenSSL itself only tells GET, POST, HEAD and PUT apart).
bool LooksLikeHttp(std::string_view first) {
  size_t n = 0;
  while (n < first.size() && first[n] >= 'A' && first[n] <= 'Z') ++n;
  return n >= 3 && n < first.size() && first[n] == ' ';
}

bool IsIpLiteral(const std::string& name) {
  unsigned char buf[16];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}
}  // namespace

TlsSession::TlsSession(SSL* ssl, bool server) : ssl_(ssl), server_(server) {
  BIO* bio = BIO_new(TlsBio::Method());
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);  // one BIO both ways; the SSL owns it
  SSL_set_read_ahead(ssl_, 1);
}

TlsSession::~TlsSession() {
  // An SSL freed without a shutdown makes OpenSSL drop its session from the
  // context's cache, under the context's lock (shared by every shard) and
  // marking it unresumable: say it was shut down (sessions are kept apart).
  SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(ssl_);
}

long TlsSession::TxControl(int cmd, long larg, void* parg) {
  switch (cmd) {
    case kCtrlSetKtls:
      // Only the transmit keys (larg != 0): received records stay
      // OpenSSL's to open. A cipher TlsTx does not seal stays OpenSSL's too.
      if (larg == 0) return 0;
      tx_ = TlsTx::Create(parg);
      return tx_ != nullptr ? 1 : 0;
    case BIO_CTRL_GET_KTLS_SEND:
      return tx_ != nullptr ? 1 : 0;
    case kCtrlSetKtlsCtrlMsg:
      if (tx_ != nullptr) tx_->set_next_type(static_cast<uint8_t>(larg));
      return 1;
    case kCtrlClearKtlsCtrlMsg:
      if (tx_ != nullptr) tx_->set_next_type(TlsTx::kApplicationData);
      return 1;
    default:
      return 0;
  }
}

bool TlsSession::SealRecord(const char* data, size_t len) {
  Sealed& sealed = ThreadSealed();
  if (sealed.used + len + TlsTx::kMaxOverhead > kSealedCapacity) FlushSealed(true);
  size_t n =
      tx_->Seal(reinterpret_cast<const unsigned char*>(data), len, sealed.data.get() + sealed.used);
  sealed.used += n;
  if (n == 0 || !gather_ || tx_->retired()) FlushSealed(false);
  // After a KeyUpdate OpenSSL seals (and says so by no longer seeing kTLS).
  if (n != 0 && tx_->retired()) tx_.reset();
  return n != 0;
}

void TlsSession::FlushSealed(bool more) {
  Sealed& sealed = ThreadSealed();
  if (sealed.used == 0) return;
  Output(reinterpret_cast<const char*>(sealed.data.get()), sealed.used, more);
  sealed.used = 0;
}

void TlsSession::Output(const char* data, size_t len, bool more) {
  size_t sent = 0;
  if (direct_fd_ >= 0 && out_->empty()) {
    const int flags = MSG_DONTWAIT | MSG_NOSIGNAL | (more ? MSG_MORE : 0);
    ssize_t n = ::send(direct_fd_, data, len, flags);
    sent = n > 0 ? static_cast<size_t>(n) : 0;
    direct_bytes_ += sent;
    // A full socket or an error: the rest is queued (the ring's send then
    // reports an error), and so is every later record (the order must hold).
    if (sent < len) direct_fd_ = -1;
  }
  out_->append(data + sent, len - sent);
}

std::unique_ptr<TlsSession> TlsSession::ForServer(std::shared_ptr<const TlsServerContext> context) {
  SSL* ssl = SSL_new(context->ctx());
  ICAHT_CHECK(ssl != nullptr);
  std::unique_ptr<TlsSession> session(new TlsSession(ssl, true));
  session->context_ = std::move(context);
  SSL_set_accept_state(ssl);
  return session;
}

std::unique_ptr<TlsSession> TlsSession::ForClient(std::shared_ptr<const TlsClientContext> context,
                                                  const std::string& server_name,
                                                  SSL_SESSION* resume) {
  SSL* ssl = SSL_new(context->ctx());
  ICAHT_CHECK(ssl != nullptr);
  std::unique_ptr<TlsSession> session(new TlsSession(ssl, false));
  SSL_set_connect_state(ssl);
  if (!server_name.empty()) {
    bool ip = IsIpLiteral(server_name);
    if (!ip) SSL_set_tlsext_host_name(ssl, server_name.c_str());
    if (context->verify()) {
      if (ip) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name.c_str());
      } else {
        SSL_set1_host(ssl, server_name.c_str());
      }
    }
  }
  if (resume != nullptr) SSL_set_session(ssl, resume);
  session->context_ = std::move(context);
  session->peer_name_ = server_name;
  return session;
}

int TlsSession::ReadCiphertext(char* out, int len) {
  size_t want = static_cast<size_t>(len);
  size_t n = 0;
  if (kept_offset_ < kept_.size()) {
    n = std::min(want, kept_.size() - kept_offset_);
    std::memcpy(out, kept_.data() + kept_offset_, n);
    kept_offset_ += n;
    if (kept_offset_ == kept_.size()) {
      kept_.clear();
      kept_offset_ = 0;
    }
  }
  if (n < want && !view_.empty()) {
    size_t more = std::min(want - n, view_.size());
    std::memcpy(out + n, view_.data(), more);
    view_.remove_prefix(more);
    n += more;
  }
  return static_cast<int>(n);
}

void TlsSession::KeepInput() {
  if (view_.empty()) return;
  if (kept_offset_ > 0) {
    kept_.erase(0, kept_offset_);
    kept_offset_ = 0;
  }
  kept_.append(view_);
  view_ = {};
}

bool TlsSession::has_buffered() const {
  return kept_offset_ < kept_.size() || !view_.empty() || SSL_has_pending(ssl_) == 1;
}

TlsSession::Result TlsSession::Fail(int ret) {
  int error = SSL_get_error(ssl_, ret);
  switch (error) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      ERR_clear_error();
      return Result::kWant;
    case SSL_ERROR_ZERO_RETURN:
      ERR_clear_error();
      return Result::kClosed;
    default:
      break;
  }
  long verify = SSL_get_verify_result(ssl_);
  if (error == SSL_ERROR_SSL && server_ && !established_ && LooksLikeHttp(first_bytes_)) {
    plain_http_ = true;
    error_ = "plain HTTP sent to a TLS port";
  } else if (verify != X509_V_OK) {
    verify_failed_ = true;
    error_ = absl::StrCat("certificate verify failed: ", X509_verify_cert_error_string(verify));
  } else if (error == SSL_ERROR_SSL) {
    error_ = TakeTlsError("TLS protocol error");
  } else {
    error_ = "TLS connection failed";
  }
  ERR_clear_error();
  return Result::kFailed;
}

TlsSession::Result TlsSession::Handshake() {
  if (established_) return Result::kOk;
  ERR_clear_error();
  int ret = SSL_do_handshake(ssl_);
  if (ret == 1) {
    established_ = true;
    return Result::kOk;
  }
  return Fail(ret);
}

TlsSession::Result TlsSession::Read(char* buffer, size_t capacity, size_t* n) {
  ERR_clear_error();
  int ret = SSL_read(ssl_, buffer, static_cast<int>(std::min<size_t>(capacity, INT_MAX)));
  if (ret > 0) {
    *n = static_cast<size_t>(ret);
    return Result::kOk;
  }
  return Fail(ret);
}

bool TlsSession::Write(std::string_view data) {
  if (tx_ != nullptr) {
    // Sealed records are gathered and sent (or queued) four at a time, all
    // but the last send of a write with MSG_MORE.
    gather_ = true;
    const bool ok = WriteRecords(data);
    gather_ = false;
    FlushSealed(false);
    return ok;
  }
  if (direct_fd_ >= 0 && data.size() > kMaxRecordPlaintext) {
    // Straight to the socket: every whole record but the last goes with
    // MSG_MORE, so the kernel sends them as one segment with the last (one
    // transmit and one wake-up of the peer instead of one per record). The
    // split is on record boundaries, so the records are the same.
    const size_t head = (data.size() - 1) / kMaxRecordPlaintext * kMaxRecordPlaintext;
    more_ = true;
    const bool ok = WriteRecords(data.substr(0, head));
    more_ = false;
    if (!ok) return false;
    data.remove_prefix(head);
  }
  return WriteRecords(data);
}

bool TlsSession::WriteRecords(std::string_view data) {
  while (!data.empty()) {
    int len = static_cast<int>(std::min<size_t>(data.size(), 1 << 30));
    ERR_clear_error();
    int ret = SSL_write(ssl_, data.data(), len);
    if (ret <= 0) {
      Fail(ret);
      return false;
    }
    data.remove_prefix(static_cast<size_t>(ret));
  }
  return true;
}

void TlsSession::Shutdown() {
  if (!established_ || shutdown_sent_) return;
  shutdown_sent_ = true;
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

bool TlsSession::resumed() const { return SSL_session_reused(ssl_) == 1; }

const char* TlsSession::version() const { return SSL_get_version(ssl_); }

std::string_view TlsSession::server_name() const {
  const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  return name == nullptr ? std::string_view() : std::string_view(name);
}

bool TlsSession::has_peer_cert() const { return SSL_get0_peer_certificate(ssl_) != nullptr; }

std::string TlsSession::PeerSubject() const {
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (cert == nullptr) return "";
  BIO* mem = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(mem, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long len = BIO_get_mem_data(mem, &data);
  std::string out(data, static_cast<size_t>(len > 0 ? len : 0));
  BIO_free(mem);
  return out;
}

std::string TlsSession::PeerUriSans() const {
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (cert == nullptr) return "";
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return "";
  std::string out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    std::string_view text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                          static_cast<size_t>(ASN1_STRING_length(uri)));
    // A URI never holds these; one that does could forge a list entry or a
    // header: it names nobody.
    bool clean = !text.empty();
    for (char c : text) {
      clean = clean && c > 0x20 && c < 0x7f && c != ',' && c != ';' && c != '"' && c != '\\';
    }
    if (!clean) continue;
    if (!out.empty()) out.append(", ");
    out.append(text);
  }
  GENERAL_NAMES_free(names);
  return out;
}

SSL_SESSION* TlsSession::TakeSession() const {
  SSL_SESSION* session = SSL_get0_session(ssl_);
  if (session == nullptr || SSL_SESSION_is_resumable(session) != 1) return nullptr;
  // A copy: the connection's own may still be marked unresumable later.
  return SSL_SESSION_dup(session);
}

}  // namespace icaht::net
