#include "net/tls_tx.h"

#include <linux/tls.h>

#include <cstring>

namespace icaht::net {

namespace {

const EVP_CIPHER* FetchOnce(const char* name) {
  // Fetched once per process: an implicit fetch per key would take the
  // provider store's lock on every connection.
  return EVP_CIPHER_fetch(nullptr, name, nullptr);
}

const EVP_CIPHER* Aes128Gcm() {
  static const EVP_CIPHER* cipher = FetchOnce("AES-128-GCM");
  return cipher;
}
const EVP_CIPHER* Aes256Gcm() {
  static const EVP_CIPHER* cipher = FetchOnce("AES-256-GCM");
  return cipher;
}
const EVP_CIPHER* ChaCha20Poly1305() {
  static const EVP_CIPHER* cipher = FetchOnce("ChaCha20-Poly1305");
  return cipher;
}

void PutBigEndian64(uint64_t v, unsigned char* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<unsigned char>(v);
    v >>= 8;
  }
}

uint64_t GetBigEndian64(const unsigned char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}

}  // namespace

std::unique_ptr<TlsTx> TlsTx::Create(const void* crypto_info) {
  const auto* info = static_cast<const tls_crypto_info*>(crypto_info);
  if (info == nullptr || (info->version != TLS_1_2_VERSION && info->version != TLS_1_3_VERSION)) {
    return nullptr;
  }
  std::unique_ptr<TlsTx> tx(new TlsTx());
  tx->tls13_ = info->version == TLS_1_3_VERSION;
  const unsigned char* key = nullptr;
  const unsigned char* rec_seq = nullptr;
  // The two AES-GCM layouts differ only in the key's length.
  auto gcm = [&](const auto* c, const EVP_CIPHER* cipher) {
    tx->cipher_ = cipher;
    tx->key_len_ = sizeof(c->key);
    tx->explicit_nonce_ = !tx->tls13_;
    std::memcpy(tx->iv_, c->salt, 4);
    std::memcpy(tx->iv_ + 4, c->iv, 8);
    key = c->key;
    rec_seq = c->rec_seq;
  };
  switch (info->cipher_type) {
    case TLS_CIPHER_AES_GCM_128:
      gcm(static_cast<const tls12_crypto_info_aes_gcm_128*>(crypto_info), Aes128Gcm());
      break;
    case TLS_CIPHER_AES_GCM_256:
      gcm(static_cast<const tls12_crypto_info_aes_gcm_256*>(crypto_info), Aes256Gcm());
      break;
    case TLS_CIPHER_CHACHA20_POLY1305: {
      const auto* c = static_cast<const tls12_crypto_info_chacha20_poly1305*>(crypto_info);
      tx->cipher_ = ChaCha20Poly1305();
      tx->key_len_ = sizeof(c->key);
      std::memcpy(tx->iv_, c->iv, 12);
      key = c->key;
      rec_seq = c->rec_seq;
      break;
    }
    default:
      return nullptr;
  }
  tx->seq_ = GetBigEndian64(rec_seq);
  tx->ctx_ = EVP_CIPHER_CTX_new();
  if (tx->cipher_ == nullptr || tx->ctx_ == nullptr || !tx->SetKey(key)) return nullptr;
  return tx;
}

TlsTx::~TlsTx() { EVP_CIPHER_CTX_free(ctx_); }

bool TlsTx::SetKey(const unsigned char* key) {
  return EVP_EncryptInit_ex(ctx_, cipher_, nullptr, key, nullptr) == 1;
}

bool TlsTx::HoldsKeyUpdate(const unsigned char* in, size_t n) {
  // Handshake messages: type (1), length (3), body.
  size_t at = 0;
  while (at + 4 <= n) {
    if (in[at] == 24) return true;  // key_update
    at += 4 + ((size_t{in[at + 1]} << 16) | (size_t{in[at + 2]} << 8) | in[at + 3]);
  }
  return false;
}

size_t TlsTx::Seal(const unsigned char* in, size_t n, unsigned char* out) {
  const unsigned char type = type_;
  type_ = kApplicationData;
  if (n > kMaxPlaintext) return 0;
  unsigned char seq[8];
  PutBigEndian64(seq_, seq);
  unsigned char nonce[12];
  std::memcpy(nonce, iv_, sizeof(nonce));
  if (!explicit_nonce_) {
    for (int i = 0; i < 8; ++i) nonce[4 + i] ^= seq[i];
  }
  const size_t inner = n + (tls13_ ? 1 : 0);  // TLS 1.3 seals the type after the data
  const size_t body = (explicit_nonce_ ? 8 : 0) + inner + 16;
  out[0] = tls13_ ? kApplicationData : type;
  out[1] = 3;
  out[2] = 3;
  out[3] = static_cast<unsigned char>(body >> 8);
  out[4] = static_cast<unsigned char>(body);
  // TLS 1.3 authenticates the record header; TLS 1.2 the sequence, type,
  // version and plaintext length.
  unsigned char aad12[13];
  const unsigned char* aad = out;
  int aad_len = 5;
  if (!tls13_) {
    std::memcpy(aad12, seq, 8);
    aad12[8] = type;
    aad12[9] = 3;
    aad12[10] = 3;
    aad12[11] = static_cast<unsigned char>(n >> 8);
    aad12[12] = static_cast<unsigned char>(n);
    aad = aad12;
    aad_len = sizeof(aad12);
  }
  unsigned char* p = out + 5;
  if (explicit_nonce_) {
    std::memcpy(p, iv_ + 4, 8);
    p += 8;
  }
  int len = 0;
  if (EVP_EncryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce) != 1 ||
      EVP_EncryptUpdate(ctx_, nullptr, &len, aad, aad_len) != 1 ||
      EVP_EncryptUpdate(ctx_, p, &len, in, static_cast<int>(n)) != 1 ||
      static_cast<size_t>(len) != n) {
    return 0;
  }
  if (tls13_ && (EVP_EncryptUpdate(ctx_, p + n, &len, &type, 1) != 1 || len != 1)) return 0;
  if (EVP_EncryptFinal_ex(ctx_, p + inner, &len) != 1 || len != 0 ||
      EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_AEAD_GET_TAG, 16, p + inner) != 1) {
    return 0;
  }
  ++seq_;
  if (explicit_nonce_) {
    for (int i = 11; i >= 4 && ++iv_[i] == 0; --i) {
    }
  }
  // A KeyUpdate goes under the old key; everything after it under the next,
  // which only OpenSSL has.
  if (tls13_ && type == 22 && HoldsKeyUpdate(in, n)) retired_ = true;
  return 5 + body;
}

}  // namespace icaht::net
