// The control thread's Traefik outputs: GET /traefik on the ops listener,
// the --traefik-file it rewrites after registry changes (coalesced, so a
// burst of registrations costs one write), and etcd (EtcdPublisher).

#include "absl/strings/match.h"
#include "admin/control.h"
#include "core/file_util.h"
#include "core/log.h"

namespace icaht::admin {
namespace {

constexpr int64_t kTraefikDelayNs = 50'000'000;

}  // namespace

std::string Control::AdvertiseHost() const {
  std::string host = config_.advertise_address;
  if (host.empty()) {
    // The bind address; a wildcard one names no host: loopback (Traefik on
    // this host), and --advertise-address for any other set-up.
    host = config_.bind_address.HostString();
    if (host == "0.0.0.0") host = "127.0.0.1";
    if (host == "::") host = "::1";
  }
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  return host;
}

std::string Control::TraefikConfig(discovery::TraefikFormat format) const {
  discovery::TraefikOptions options;
  options.advertise_host = AdvertiseHost();
  return discovery::TraefikDynamicConfig(registry_.List(), options, format);
}

void Control::TraefikChanged(const std::string& name) {
  if (etcd_ != nullptr) etcd_->Changed(name);
  if (config_.traefik_file.empty() || starting_ || traefik_timer_.armed()) return;
  ring_->timers().Arm(&traefik_timer_, core::NowNs() + kTraefikDelayNs);
}

void Control::WriteTraefikFile() {
  if (config_.traefik_file.empty()) return;
  ring_->timers().Cancel(&traefik_timer_);
  absl::Status written = core::WriteFileAtomically(
      config_.traefik_file, TraefikConfig(discovery::TraefikFormat::kYaml), 0644);
  if (!written.ok()) {
    ICAHT_LOG_LIMITED(kError, "--traefik-file: ", written.message());
  }
}

}  // namespace icaht::admin
