#include "registry/record_tls.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "core/status_macros.h"
#include "registry/record_fields.h"

namespace icaht::registry {
namespace {

using json::FieldError;
using json::JoinPath;
using json::Value;

// A server name for SNI: an exact DNS name or "*." and one.
absl::Status ReadServerName(Value& value, const std::string& path, std::string& out) {
  ICAHT_RETURN_IF_ERROR(ReadText(value, path, out));
  out = absl::AsciiStrToLower(out);
  std::string_view name = out;
  if (name.starts_with("*.")) name.remove_prefix(2);
  bool ok = !name.empty() && name.size() <= 253 && name.front() != '.' && name.back() != '.';
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.');
  }
  if (!ok) return FieldError(path, "must be a DNS name, or \"*.\" and one");
  return absl::OkStatus();
}

absl::Status ReadPeer(Value& value, const std::string& path, std::string& out) {
  ICAHT_RETURN_IF_ERROR(ReadText(value, path, out));
  size_t star = out.find('*');
  if (out.find(' ') != std::string::npos || out.find(',') != std::string::npos ||
      (star != std::string::npos && star + 1 != out.size())) {
    return FieldError(path, "must be a URI (no spaces or commas), with at most a final '*'");
  }
  return absl::OkStatus();
}

absl::Status ParseCertificate(Value& value, const std::string& path, TlsCertSpec& out) {
  ICAHT_RETURN_IF_ERROR(
      json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
        std::string p = JoinPath(path, key);
        if (key == "cert_file") return ReadText(field, p, out.cert_file);
        if (key == "key_file") return ReadText(field, p, out.key_file);
        if (key == "server_names") return ReadList(field, p, out.server_names, ReadServerName);
        return json::UnknownFieldError(p);
      }));
  if (out.cert_file.empty()) return FieldError(JoinPath(path, "cert_file"), "required");
  if (out.key_file.empty()) return FieldError(JoinPath(path, "key_file"), "required");
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseTls(Value& value, const std::string& path, core::Boxed<TlsSpec>& out) {
  out.reset();
  ICAHT_ASSIGN_OR_RETURN(bool is_null, json::ConsumeNull(value));
  if (is_null) return absl::OkStatus();
  TlsSpec spec;
  ICAHT_RETURN_IF_ERROR(
      json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
        std::string p = JoinPath(path, key);
        if (key == "cert_file") return ReadText(field, p, spec.certificate.cert_file);
        if (key == "key_file") return ReadText(field, p, spec.certificate.key_file);
        if (key == "certificates") {
          return json::ForEachElement(field, p, [&](size_t i, Value& element) -> absl::Status {
            if (i >= kMaxTlsCertificates) {
              return FieldError(
                  p, absl::StrFormat("must have at most %d entries", kMaxTlsCertificates));
            }
            std::string ep = json::IndexPath(p, i);
            TlsCertSpec cert;
            ICAHT_RETURN_IF_ERROR(ParseCertificate(element, ep, cert));
            if (cert.server_names.empty()) {
              return FieldError(JoinPath(ep, "server_names"), "required (at least one)");
            }
            spec.certificates.push_back(std::move(cert));
            return absl::OkStatus();
          });
        }
        if (key == "min_version") {
          ICAHT_RETURN_IF_ERROR(ReadText(field, p, spec.min_version));
          if (spec.min_version != "1.2" && spec.min_version != "1.3") {
            return FieldError(p, "must be \"1.2\" or \"1.3\"");
          }
          return absl::OkStatus();
        }
        if (key == "ciphers") return ReadText(field, p, spec.ciphers);
        if (key == "ciphersuites") return ReadText(field, p, spec.ciphersuites);
        if (key == "session_tickets") {
          ICAHT_ASSIGN_OR_RETURN(spec.session_tickets, json::ReadBool(field, p));
          return absl::OkStatus();
        }
        if (key == "client_ca_file") return ReadText(field, p, spec.client_ca_file, true);
        if (key == "require_client_cert") {
          ICAHT_ASSIGN_OR_RETURN(spec.require_client_cert, json::ReadBool(field, p));
          return absl::OkStatus();
        }
        if (key == "allow_peers") {
          return ReadList(field, p, spec.allow_peers, ReadPeer, kMaxAllowedPeers);
        }
        if (key == "peer_header") {
          ICAHT_ASSIGN_OR_RETURN(bool none, json::ConsumeNull(field));
          if (none) return absl::OkStatus();
          ICAHT_RETURN_IF_ERROR(ReadHeaderName(field, p, spec.peer_header));
          spec.peer_header = absl::AsciiStrToLower(spec.peer_header);
          return absl::OkStatus();
        }
        return json::UnknownFieldError(p);
      }));
  // Neither: the host's identity (--tls-cert, --tls-key), checked when applied.
  if (spec.certificate.cert_file.empty() != spec.certificate.key_file.empty()) {
    return FieldError(JoinPath(path, spec.certificate.cert_file.empty() ? "cert_file" : "key_file"),
                      "required with the other (or neither: this host's --tls-cert identity)");
  }
  // Without client_ca_file, client certificates are checked against --tls-ca.
  // Listing who may call means nobody else may.
  if (!spec.allow_peers.empty()) spec.require_client_cert = true;
  out = std::move(spec);
  return absl::OkStatus();
}

void WriteTls(JsonWriter& w, const core::Boxed<TlsSpec>& tls) {
  if (!tls) {
    w.Null();
    return;
  }
  auto strings = [&w](const std::vector<std::string>& list) {
    w.StartArray();
    for (const std::string& s : list) w.String(s);
    w.EndArray();
  };
  w.StartObject();
  w.Key("cert_file").String(tls->certificate.cert_file);
  w.Key("key_file").String(tls->certificate.key_file);
  w.Key("certificates").StartArray();
  for (const TlsCertSpec& cert : tls->certificates) {
    w.StartObject();
    w.Key("server_names");
    strings(cert.server_names);
    w.Key("cert_file").String(cert.cert_file);
    w.Key("key_file").String(cert.key_file);
    w.EndObject();
  }
  w.EndArray();
  w.Key("min_version").String(tls->min_version);
  w.Key("ciphers").String(tls->ciphers);
  w.Key("ciphersuites").String(tls->ciphersuites);
  w.Key("session_tickets").Bool(tls->session_tickets);
  w.Key("client_ca_file").String(tls->client_ca_file);
  w.Key("require_client_cert").Bool(tls->require_client_cert);
  w.Key("allow_peers");
  strings(tls->allow_peers);
  w.Key("peer_header");
  if (tls->peer_header.empty()) {
    w.Null();
  } else {
    w.String(tls->peer_header);
  }
  w.EndObject();
}

absl::Status ParseUpstreamTls(Value& value, const std::string& path,
                              core::Boxed<UpstreamTlsSpec>& out) {
  out.reset();
  ICAHT_ASSIGN_OR_RETURN(bool is_null, json::ConsumeNull(value));
  if (is_null) return absl::OkStatus();
  UpstreamTlsSpec spec;
  ICAHT_RETURN_IF_ERROR(
      json::ForEachField(value, path, [&](std::string_view key, Value& field) -> absl::Status {
        std::string p = JoinPath(path, key);
        if (key == "ca_file") return ReadText(field, p, spec.ca_file, true);
        if (key == "server_name") return ReadText(field, p, spec.server_name, true);
        if (key == "cert_file") return ReadText(field, p, spec.cert_file, true);
        if (key == "key_file") return ReadText(field, p, spec.key_file, true);
        if (key == "verify") {
          ICAHT_ASSIGN_OR_RETURN(spec.verify, json::ReadBool(field, p));
          return absl::OkStatus();
        }
        if (key == "fleet") {
          ICAHT_ASSIGN_OR_RETURN(spec.fleet, json::ReadBool(field, p));
          return absl::OkStatus();
        }
        return json::UnknownFieldError(p);
      }));
  if (spec.cert_file.empty() != spec.key_file.empty()) {
    return FieldError(JoinPath(path, spec.cert_file.empty() ? "cert_file" : "key_file"),
                      "required with the other (a client certificate needs both)");
  }
  out = std::move(spec);
  return absl::OkStatus();
}

void WriteUpstreamTls(JsonWriter& w, const UpstreamTlsSpec& tls) {
  w.StartObject();
  w.Key("ca_file").String(tls.ca_file);
  w.Key("server_name").String(tls.server_name);
  w.Key("verify").Bool(tls.verify);
  w.Key("cert_file").String(tls.cert_file);
  w.Key("key_file").String(tls.key_file);
  w.Key("fleet").Bool(tls.fleet);
  w.EndObject();
}

}  // namespace icaht::registry
