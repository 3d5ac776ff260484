#pragma once
// The transmit half of kernel TLS, done in user space: OpenSSL 3 hands a
// kTLS-capable BIO the write keys once the handshake has derived them and
// from then on writes plaintext records straight from the caller's buffer,
// telling the BIO the record type of any record that is not application
// data. The kernels here have no kTLS, so our ring BIO plays the kernel: it
// accepts the keys (see TlsSession's BIO) and seals each record with this
// class, straight from the plaintext into the send buffer. That saves
// OpenSSL's copy of every plaintext byte into its record buffer, and lets
// several records go out with one send.
//
// The records are the kernel's (net/tls/tls_sw.c): for TLS 1.3 the nonce is
// the IV XORed with the sequence number and the content type is sealed
// after the data; for TLS 1.2 AES-GCM the nonce is the 4-byte salt and an
// 8-byte explicit part (sent before the ciphertext, counted up per record);
// ChaCha20-Poly1305 XORs its 12-byte IV with the sequence in both versions.
// AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305 are sealed here; for any
// other cipher Create returns null and OpenSSL keeps encrypting itself.
//
// A TLS 1.3 KeyUpdate that OpenSSL sends (its own, or the answer to the
// peer's request) is seen as a handshake record holding a key_update
// message. OpenSSL 3.0 does not hand the BIO the next key, but derives it
// for its own cipher context, so after sealing that record (under the old
// key) TlsTx retires: the session stops claiming kTLS and OpenSSL seals that
// connection's later records itself. (Learning the traffic secret instead
// would take OpenSSL's key-log callback, which formats five secrets in hex
// with a sprintf per byte on every handshake: ~25 µs each.)

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace icaht::net {

class TlsTx {
 public:
  // `crypto_info`: the `struct tls_crypto_info` (linux/tls.h) OpenSSL passes
  // with BIO_CTRL_SET_KTLS. Null when its version or cipher is not ours.
  static std::unique_ptr<TlsTx> Create(const void* crypto_info);
  ~TlsTx();
  TlsTx(const TlsTx&) = delete;
  TlsTx& operator=(const TlsTx&) = delete;

  // The largest plaintext of one record, and the most a record adds to it
  // (header, explicit nonce, content type, tag).
  static constexpr size_t kMaxPlaintext = 16 * 1024;
  static constexpr size_t kMaxOverhead = 5 + 8 + 1 + 16;
  static constexpr uint8_t kApplicationData = 23;  // the record type

  // The record type of the next Seal only (OpenSSL's "control message");
  // every other record is application data.
  void set_next_type(uint8_t type) { type_ = type; }
  // The last record sealed was a KeyUpdate: later records are OpenSSL's.
  bool retired() const { return retired_; }

  // Seals `n` (<= kMaxPlaintext) bytes into one record at `out`, which has
  // room for n + kMaxOverhead. Returns the record's size, 0 on failure.
  size_t Seal(const unsigned char* in, size_t n, unsigned char* out);

 private:
  TlsTx() = default;
  bool SetKey(const unsigned char* key);
  static bool HoldsKeyUpdate(const unsigned char* in, size_t n);

  EVP_CIPHER_CTX* ctx_ = nullptr;
  const EVP_CIPHER* cipher_ = nullptr;
  size_t key_len_ = 0;
  bool tls13_ = false;
  bool explicit_nonce_ = false;  // TLS 1.2 AES-GCM
  uint8_t type_ = kApplicationData;
  unsigned char iv_[12] = {};  // salt + IV (GCM) or the IV (ChaCha20)
  uint64_t seq_ = 0;
  bool retired_ = false;
};

}  // namespace icaht::net
