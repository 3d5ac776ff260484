// The egress listener's set-up on the control thread (admin/control.h): one
// listening socket, bound here without SO_REUSEPORT (so that a second daemon
// on the same address fails to start instead of sharing it), whose
// descriptor every shard accepts on.

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "admin/control.h"
#include "proxy/egress_config.h"
#include "proxy/shard.h"

namespace icaht::admin {

absl::Status Control::StartEgress() {
  if (!config_.egress_listen) return absl::OkStatus();
  absl::StatusOr<net::Fd> fd = ListenRetrying(*config_.egress_listen);
  if (!fd.ok()) {
    return absl::Status(fd.status().code(),
                        absl::StrCat("--egress-listen: ", fd.status().message()));
  }
  net::Address address = *config_.egress_listen;
  if (absl::StatusOr<uint16_t> port = net::LocalPort(fd->get()); port.ok()) {
    address.set_port(*port);
  }
  proxy::EgressSettings settings{.suffix = config_.egress_suffix,
                                 .allow = {},
                                 .dns_servers = config_.egress_dns,
                                 .external_tls = nullptr,
                                 .series = nullptr,
                                 .drain_timeout_ms = config_.drain_timeout_ms};
  for (const std::string& text : config_.egress_allow) {
    settings.allow.push_back(*net::HostPattern::Parse(text));  // validated with the flags
  }
  // Remote and external destinations write their request counts here (the
  // egress series is what is exported for them).
  remote_series_ = std::make_shared<metrics::ServiceSeries>("egress", shards_.size());
  settings.series = remote_series_;
  if (!settings.allow.empty()) {
    // https to allowed hosts: verified against --egress-ca, else the system's
    // trust store.
    auto tls = net::TlsClientContext::Create(
        {.ca_file = config_.egress_ca, .field = "--egress-allow", .ca_field = "--egress-ca"});
    if (!tls.ok()) return tls.status();
    settings.external_tls = *std::move(tls);
  }
  absl::Status status;
  size_t pending = shards_.size();
  for (auto& shard : shards_) {
    int copy = dup(fd->get());
    if (copy < 0) return absl::InternalError("--egress-listen: dup failed");
    auto* command =
        new proxy::StartEgressCommand(shard.get(), copy, proxy::EgressListenerConfig(address),
                                      settings, [&status, &pending](const absl::Status& s) {
                                        if (!s.ok() && status.ok()) status = s;
                                        --pending;
                                      });
    command->Post(*ring_, shard->ring_fd());
  }
  while (pending > 0) ring_->RunOnce(100'000'000);
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat("--egress-listen: ", status.message()));
  }
  egress_address_ = address.ToString();  // in the "serving" line
  return CreateRemoteWatch();
}

}  // namespace icaht::admin
