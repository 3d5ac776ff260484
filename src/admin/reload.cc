// Reload (SIGHUP, POST /v1/reload): the command line is read again, with the
// --config file it names. Static services are diffed against the ones running
// and applied through the admin API's own paths (added, updated in place with
// their ports kept, removed); the log level changes at once; any other setting
// that differs needs a restart and is reported, not half-applied. A file that
// does not load is refused with its reason, and nothing changes.

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "admin/control.h"
#include "core/log.h"
#include "registry/json_writer.h"

namespace icaht::admin {
namespace {

// Settings a running daemon does not take over: their names when they differ.
std::vector<std::string> NeedRestart(const config::DaemonConfig& a, const config::DaemonConfig& b) {
  std::vector<std::string> out;
  auto check = [&out](bool same, const char* name) {
    if (!same) out.push_back(name);
  };
  check(a.admin_socket == b.admin_socket, "admin_socket");
  check(a.admin_group == b.admin_group, "admin_group");
  check(a.admin_allow_uids == b.admin_allow_uids, "admin_allow_uid");
  check(a.admin_allow_gids == b.admin_allow_gids, "admin_allow_gid");
  check(a.ops_listen == b.ops_listen, "ops_listen");
  check(a.shards == b.shards, "shards");
  check(a.port_range == b.port_range, "port_range");
  check(a.state_dir == b.state_dir, "state_dir");
  check(a.bind_address == b.bind_address, "bind_address");
  check(a.advertise_address == b.advertise_address, "advertise_address");
  check(a.egress_listen == b.egress_listen, "egress_listen");
  check(a.egress_allow == b.egress_allow, "egress_allow");
  check(a.egress_suffix == b.egress_suffix, "egress_suffix");
  check(a.egress_dns == b.egress_dns, "egress_dns");
  check(a.egress_ca == b.egress_ca, "egress_ca");
  check(a.traefik_file == b.traefik_file, "traefik_file");
  check(a.etcd_endpoints == b.etcd_endpoints, "etcd_endpoints");
  check(a.host_id == b.host_id, "host_id");
  check(a.etcd_lease_ttl_s == b.etcd_lease_ttl_s, "etcd_lease_ttl_s");
  check(a.access_log == b.access_log && a.access_log_path == b.access_log_path, "access_log");
  check(a.trace_endpoint == b.trace_endpoint, "trace_endpoint");
  check(a.log_json == b.log_json, "log_format");
  check(a.drain_timeout_ms == b.drain_timeout_ms, "drain_timeout_ms");
  check(a.control_max_connections == b.control_max_connections, "control_max_connections");
  check(a.control_header_timeout_ms == b.control_header_timeout_ms, "control_header_timeout_ms");
  check(a.control_idle_timeout_ms == b.control_idle_timeout_ms, "control_idle_timeout_ms");
  return out;
}

// Takes the answer of an admin API path run on the reload's behalf.
class CaptureResponder final : public Responder {
 public:
  explicit CaptureResponder(std::function<void(const ControlResponse&)> on_answer)
      : on_answer_(std::move(on_answer)) {}
  void Send(ControlResponse response) override {
    auto on_answer = std::move(on_answer_);
    delete this;
    on_answer(response);
  }

 private:
  std::function<void(const ControlResponse&)> on_answer_;
};

}  // namespace

std::string Control::ReloadResult::ToJson() const {
  registry::JsonWriter w;
  w.StartObject();
  auto list = [&w](const char* key, const std::vector<std::string>& names) {
    w.Key(key).StartArray();
    for (const std::string& name : names) w.String(name);
    w.EndArray();
  };
  list("added", added);
  list("updated", updated);
  list("removed", removed);
  w.Key("unchanged").Uint(unchanged);
  list("failed", failed);
  list("restart_needed", restart_needed);
  w.EndObject();
  return std::move(w).Take();
}

void Control::Reload(std::function<void(absl::StatusOr<ReloadResult>)> done) {
  if (stopping_ || starting_) {
    return done(absl::UnavailableError(stopping_ ? "shutting down" : "starting"));
  }
  if (reloading_) return done(absl::AbortedError("a reload is already running"));
  absl::StatusOr<config::DaemonConfig> next = config::LoadDaemonConfig(config_.args);
  if (!next.ok()) {
    ICAHT_LOG(kError, "reload refused, the running configuration stays: ", next.status().message());
    return done(next.status());
  }
  reloading_ = true;
  NotifySystemd(absl::StrCat("RELOADING=1\nMONOTONIC_USEC=", core::NowNs() / 1000));
  auto result = std::make_shared<ReloadResult>();
  result->restart_needed = NeedRestart(config_, *next);
  config_.log_level = next->log_level;
  core::SetLogLevel(static_cast<core::LogLevel>(static_cast<int>(next->log_level)));

  // Each change goes through the admin API's path (queued like any change);
  // the last answer finishes the reload.
  auto pending = std::make_shared<size_t>(1);
  auto finish = [this, result, pending, done] {
    if (--*pending > 0) return;
    reloading_ = false;
    NotifySystemd("READY=1\nSTATUS=serving");
    std::string summary = absl::StrCat(
        "reloaded: ", result->added.size(), " added, ", result->updated.size(), " updated, ",
        result->removed.size(), " removed, ", result->unchanged, " unchanged",
        result->failed.empty() ? ""
                               : absl::StrCat(", failed: ", absl::StrJoin(result->failed, ", ")),
        result->restart_needed.empty() ? ""
                                       : absl::StrCat("; needs a restart to change: ",
                                                      absl::StrJoin(result->restart_needed, ", ")));
    // A reload that changed something is always logged; a flood of empty
    // ones (SIGHUP in a loop) is not.
    if (result->added.size() + result->updated.size() + result->removed.size() +
            result->failed.size() + result->restart_needed.size() >
        0) {
      ICAHT_LOG(kInfo, summary);
    } else {
      ICAHT_LOG_LIMITED(kInfo, summary);
    }
    done(*result);
  };
  // `make_static`: once the change succeeded, the service belongs to the file
  // (not saved on its own any more). Marked only then, so that a change that
  // fails, or an admin registration of the name queued before it, keeps its
  // journal entry.
  auto track = [this, result, pending, finish](std::string name, std::vector<std::string>* into,
                                               int ok_status, bool make_static) {
    ++*pending;
    return new CaptureResponder(
        [this, result, finish, name, into, ok_status, make_static](const ControlResponse& answer) {
          if (answer.status == ok_status) {
            into->push_back(name);
            if (make_static && static_names_.insert(name).second && persist_) {
              store_->Delete(name);
            }
          } else {
            result->failed.push_back(absl::StrCat(name, ": ", answer.body));
          }
          finish();
        });
  };

  absl::flat_hash_set<std::string> wanted;
  for (registry::ServiceRecord& record : next->services) {
    wanted.insert(record.name);
    const registry::ServiceRecord* running = registry_.Find(record.name);
    if (running == nullptr) {
      Register(registry::ToJson(record), track(record.name, &result->added, 201, true));
      continue;
    }
    if (record.port == 0) record.port = running->port;  // an automatic port is kept
    const bool is_static = static_names_.contains(record.name);
    if (record == *running && is_static) {
      ++result->unchanged;
      continue;
    }
    // A service registered through the admin API until now is taken over by
    // the file (as at start).
    Replace(record.name, registry::ToJson(record),
            track(record.name, &result->updated, 200, !is_static));
  }
  std::vector<std::string> gone;
  for (const std::string& name : static_names_) {
    if (!wanted.contains(name)) gone.push_back(name);
  }
  std::sort(gone.begin(), gone.end());
  for (const std::string& name : gone) {
    Deregister(name, track(name, &result->removed, 204, false));
  }
  finish();
}

}  // namespace icaht::admin
