#pragma once
// The record's TLS fields.
//
// `tls`: the service port terminates TLS (null or absent: plain HTTP).
//   {"cert_file": "/etc/icaht/orders.pem",   PEM chain, leaf first
//    "key_file": "/etc/icaht/orders.key",    PEM key of that leaf (both, or neither: this
//                                            host's identity, --tls-cert and --tls-key)
//    "certificates": [{"server_names": ["api.example", "*.example"],
//                      "cert_file": ..., "key_file": ...}],   more pairs chosen by SNI
//    "min_version": "1.2" | "1.3",           default "1.2"
//    "ciphers": "ECDHE-...:...",             TLS 1.2 list (OpenSSL syntax); default: safe AEADs
//    "ciphersuites": "TLS_AES_128_GCM_SHA256:...",   TLS 1.3; default: OpenSSL's
//    "session_tickets": true,                resumption by tickets (keys rotated hourly)
//    "client_ca_file": "/etc/icaht/ca.pem",  ask for client certificates issued by this CA
//    "require_client_cert": false,           refuse handshakes without one (without
//                                            client_ca_file: checked against --tls-ca)
//    "allow_peers": ["spiffe://fleet/host/a", "spiffe://fleet/svc/*"],
//                                            only these identities (a URI SAN, exact or a
//                                            prefix ending in "*"); implies
//                                            require_client_cert
//    "peer_header": "X-Client-Cert"}         send the peer's identity upstream in this
//                                            header (always removed from client requests)
//
// `upstreams[i].tls`: the proxy speaks TLS to that instance.
//   {"ca_file": "/etc/icaht/ca.pem",         trust anchors (default: the system's)
//    "server_name": "orders.internal",       SNI and the name verified (default: the host)
//    "verify": true,                         check the chain and the name (default true)
//    "cert_file": ..., "key_file": ...,      a client certificate (mTLS), both or neither
//    "fleet": false}                         another sidecar: ca_file defaults to --tls-ca,
//                                            the certificate to this host's --tls-cert
//
// Files are read (and refused, naming the field) when the record is applied,
// not here: parsing stays free of I/O.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/boxed.h"
#include "registry/json_reader.h"
#include "registry/json_writer.h"

namespace icaht::registry {

struct TlsCertSpec {
  std::string cert_file;
  std::string key_file;
  std::vector<std::string> server_names;  // certificates[] only

  friend bool operator==(const TlsCertSpec&, const TlsCertSpec&) = default;
};

struct TlsSpec {
  TlsCertSpec certificate;
  std::vector<TlsCertSpec> certificates;
  std::string min_version = "1.2";
  std::string ciphers;
  std::string ciphersuites;
  bool session_tickets = true;
  std::string client_ca_file;
  bool require_client_cert = false;
  std::vector<std::string> allow_peers;
  std::string peer_header;  // lower case; "" = none

  friend bool operator==(const TlsSpec&, const TlsSpec&) = default;
};

struct UpstreamTlsSpec {
  std::string ca_file;
  std::string server_name;
  bool verify = true;
  std::string cert_file;
  std::string key_file;
  // Another sidecar of the fleet: verified with --tls-ca and shown this
  // host's --tls-cert (unless ca_file / cert_file say otherwise).
  bool fleet = false;

  friend bool operator==(const UpstreamTlsSpec&, const UpstreamTlsSpec&) = default;
};

inline constexpr size_t kMaxTlsCertificates = 32;
inline constexpr size_t kMaxAllowedPeers = 256;

absl::Status ParseTls(json::Value& value, const std::string& path, core::Boxed<TlsSpec>& out);
void WriteTls(JsonWriter& writer, const core::Boxed<TlsSpec>& tls);
absl::Status ParseUpstreamTls(json::Value& value, const std::string& path,
                              core::Boxed<UpstreamTlsSpec>& out);
void WriteUpstreamTls(JsonWriter& writer, const UpstreamTlsSpec& tls);

}  // namespace icaht::registry
