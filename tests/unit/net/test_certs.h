#pragma once
// Certificates made in memory for the TLS unit tests (ECDSA P-256), written to
// PEM files in a temporary directory: a CA, and leaves it signs.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace icaht::net::testing {

inline EVP_PKEY* NewKey() { return EVP_EC_gen("P-256"); }

inline void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `key` named `cn`, signed by (issuer, issuer_key), or self-signed.
inline X509* NewCert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key,
                     const std::string& san, bool ca, long not_after_s = 86400) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), not_after_s);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer != nullptr ? issuer : cert;
  AddExtension(cert, signer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (!san.empty()) AddExtension(cert, signer, NID_subject_alt_name, san);
  X509_sign(cert, issuer_key != nullptr ? issuer_key : key, EVP_sha256());
  return cert;
}

struct PemPair {
  std::string cert_file;
  std::string key_file;
};

class TestPki {
 public:
  TestPki() {
    char dir[] = "/tmp/icaht-tls-test-XXXXXX";
    dir_ = mkdtemp(dir);
    ca_key_ = NewKey();
    ca_ = NewCert(ca_key_, "test CA", nullptr, nullptr, "", true);
    ca_file_ = dir_ + "/ca.pem";
    WriteCert(ca_file_, ca_);
  }
  ~TestPki() {
    X509_free(ca_);
    EVP_PKEY_free(ca_key_);
    std::string cmd = "rm -rf '" + dir_ + "'";
    (void)std::system(cmd.c_str());
  }
  const std::string& ca_file() const { return ca_file_; }
  const std::string& dir() const { return dir_; }

  // A leaf signed by the CA, with `san` ("DNS:localhost,URI:spiffe://x").
  PemPair Leaf(const std::string& name, const std::string& san, long not_after_s = 86400) {
    EVP_PKEY* key = NewKey();
    X509* cert = NewCert(key, name, ca_, ca_key_, san, false, not_after_s);
    PemPair pair{dir_ + "/" + name + ".pem", dir_ + "/" + name + ".key"};
    WriteCert(pair.cert_file, cert);
    FILE* f = std::fopen(pair.key_file.c_str(), "w");
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    X509_free(cert);
    EVP_PKEY_free(key);
    return pair;
  }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    FILE* f = std::fopen(path.c_str(), "w");
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
    return path;
  }

 private:
  static void WriteCert(const std::string& path, X509* cert) {
    FILE* f = std::fopen(path.c_str(), "w");
    PEM_write_X509(f, cert);
    std::fclose(f);
  }

  std::string dir_;
  EVP_PKEY* ca_key_;
  X509* ca_;
  std::string ca_file_;
};

}  // namespace icaht::net::testing
