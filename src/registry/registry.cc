#include "registry/registry.h"

#include <cassert>

#include "absl/algorithm/container.h"
#include "absl/strings/str_format.h"
#include "core/status_macros.h"

namespace icaht::registry {

absl::Status Registry::CheckNotInFlight(std::string_view name) const {
  if (in_flight_.contains(name)) {
    return absl::AbortedError(
        absl::StrFormat("service '%s' has a change in progress; retry when it is done", name));
  }
  return absl::OkStatus();
}

absl::Status Registry::CheckAdd(const ServiceRecord& record) const {
  if (records_.contains(record.name)) {
    return absl::AlreadyExistsError(
        absl::StrFormat("service '%s' is already registered", record.name));
  }
  if (in_flight_.contains(record.name)) {
    return absl::AlreadyExistsError(
        absl::StrFormat("service '%s' is already being registered", record.name));
  }
  if (record.port != 0) {
    if (std::optional<std::string> holder = ports_.Holder(record.port)) {
      return absl::AlreadyExistsError(
          absl::StrFormat("port %d is already used by service '%s'", record.port, *holder));
    }
    if (std::optional<std::string> sender = SenderTo(record.port, record.name)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "field 'port': service '%s' sends its requests to port %d on this daemon: they would "
          "loop back into the proxy; choose another port or omit it",
          *sender, record.port));
    }
  }
  return absl::OkStatus();
}

namespace {

// Calls fn(address, field, text) for every address `record` sends requests to.
template <typename Fn>
absl::Status ForEachDestination(const ServiceRecord& record, Fn fn) {
  for (size_t i = 0; i < record.upstreams.size(); ++i) {
    ICAHT_RETURN_IF_ERROR(fn(record.upstreams[i].resolved, absl::StrFormat("upstreams[%d]", i),
                             record.upstreams[i].address));
  }
  // A forward-auth service on a service port: its checks are requests that
  // need checks themselves.
  if (const filters::ForwardAuthSpec& forward = record.auth.forward; forward.enabled) {
    ICAHT_RETURN_IF_ERROR(fn(forward.resolved, "auth.forward.address", forward.address));
  }
  // A mirror on a service port: every copy would be mirrored again.
  if (record.mirror) {
    ICAHT_RETURN_IF_ERROR(fn(record.mirror->resolved, "mirror.upstream", record.mirror->upstream));
  }
  return absl::OkStatus();
}

}  // namespace

std::vector<uint16_t> Registry::SendsTo(const ServiceRecord& record) const {
  std::vector<uint16_t> ports;
  ForEachDestination(record, [&](const net::Address& to, const std::string&, const std::string&) {
    if (to.ReachesListenerOn(bind_)) ports.push_back(to.port());
    return absl::OkStatus();
  }).IgnoreError();
  return ports;
}

void Registry::AddSends(const std::vector<uint16_t>& ports, const std::string& name) {
  for (uint16_t port : ports) senders_.emplace(port, name);
}

void Registry::RemoveSends(const std::vector<uint16_t>& ports, const std::string& name) {
  for (uint16_t port : ports) {
    if (auto it = senders_.find({port, name}); it != senders_.end()) senders_.erase(it);
  }
}

std::optional<std::string> Registry::SenderTo(uint16_t port, std::string_view name) const {
  for (auto it = senders_.lower_bound({port, std::string()});
       it != senders_.end() && it->first == port; ++it) {
    if (it->second != name) return it->second;
  }
  return std::nullopt;
}

absl::StatusOr<uint16_t> Registry::ReservePort(const ServiceRecord& record, uint16_t after,
                                               bool restoring) {
  if (restoring) {
    ICAHT_RETURN_IF_ERROR(CheckNotInFlight(record.name));
    if (records_.contains(record.name)) {
      return absl::AlreadyExistsError(
          absl::StrFormat("service '%s' is already registered", record.name));
    }
  } else {
    ICAHT_RETURN_IF_ERROR(CheckAdd(record));
  }
  std::vector<uint16_t> sends = SendsTo(record);
  ICAHT_ASSIGN_OR_RETURN(uint16_t port,
                         ports_.Allocate(record.port, record.name, after, /*probe_host=*/!restoring,
                                         [&](uint16_t candidate) {
                                           return absl::c_linear_search(sends, candidate) ||
                                                  SenderTo(candidate, /*name=*/"").has_value();
                                         }));
  AddSends(sends, record.name);
  in_flight_.emplace(record.name, PendingChange{Change::kAdd, port, std::move(sends)});
  return port;
}

absl::Status Registry::CheckReplace(std::string_view name, const ServiceRecord& record) const {
  auto it = records_.find(name);
  if (it == records_.end()) {
    return absl::NotFoundError(absl::StrFormat("service '%s' is not registered", name));
  }
  if (record.name != name) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "field 'name': '%s' does not match the service '%s' named in the path", record.name, name));
  }
  if (record.port != 0 && record.port != it->second.port) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "field 'port': service '%s' keeps its port %d on replace; omit the port or send %d", name,
        it->second.port, it->second.port));
  }
  return CheckNotInFlight(name);
}

absl::Status Registry::BeginReplace(std::string_view name, const ServiceRecord& record) {
  ICAHT_RETURN_IF_ERROR(CheckReplace(name, record));
  std::vector<uint16_t> sends = SendsTo(record);
  AddSends(sends, record.name);
  in_flight_.emplace(std::string(name), PendingChange{Change::kReplace, 0, std::move(sends)});
  return absl::OkStatus();
}

absl::Status Registry::BeginRemove(std::string_view name) {
  if (!records_.contains(name)) {
    return absl::NotFoundError(absl::StrFormat("service '%s' is not registered", name));
  }
  ICAHT_RETURN_IF_ERROR(CheckNotInFlight(name));
  in_flight_.emplace(std::string(name), PendingChange{Change::kRemove});
  return absl::OkStatus();
}

void Registry::Commit(ServiceRecord record) {
  const std::string name_key = record.name;
  auto flight = in_flight_.find(record.name);
  auto existing = records_.find(record.name);
  if (existing != records_.end()) {
    // Replace: the port never changes while a service is registered.
    assert(flight == in_flight_.end() || flight->second.change == Change::kReplace);
    record.port = existing->second.port;
    RemoveSends(SendsTo(existing->second), existing->first);
    existing->second = std::move(record);
  } else {
    assert(flight != in_flight_.end() && flight->second.change == Change::kAdd &&
           "Registry::Commit of a new service without ReservePort");
    assert(record.port == 0 || record.port == flight->second.reserved_port);
    record.port = flight->second.reserved_port;
    std::string name = record.name;
    records_.emplace(std::move(name), std::move(record));
  }
  // The committed record's destinations replace those counted in flight.
  const ServiceRecord& committed = records_.find(name_key)->second;
  if (flight != in_flight_.end()) {
    RemoveSends(flight->second.sends, committed.name);
    in_flight_.erase(flight);
  }
  AddSends(SendsTo(committed), committed.name);
}

std::optional<ServiceRecord> Registry::Remove(std::string_view name) {
  std::optional<ServiceRecord> removed;
  if (auto it = records_.find(name); it != records_.end()) {
    removed = std::move(it->second);
    records_.erase(it);
    ports_.Release(removed->port);
    RemoveSends(SendsTo(*removed), removed->name);
  }
  // A pending register of the same name cannot coexist with a committed
  // record, so this releases at most one port.
  Abort(name);
  return removed;
}

void Registry::Abort(std::string_view name) {
  auto flight = in_flight_.find(name);
  if (flight == in_flight_.end()) return;
  if (flight->second.change == Change::kAdd) ports_.Release(flight->second.reserved_port);
  RemoveSends(flight->second.sends, std::string(name));
  in_flight_.erase(flight);
}

const ServiceRecord* Registry::Find(std::string_view name) const {
  auto it = records_.find(name);
  return it == records_.end() ? nullptr : &it->second;
}

std::vector<const ServiceRecord*> Registry::List() const {
  std::vector<const ServiceRecord*> list;
  list.reserve(records_.size());
  for (const auto& [name, record] : records_) list.push_back(&record);
  return list;
}

absl::Status Registry::CheckNoSelfLoop(const ServiceRecord& record) const {
  return ForEachDestination(
      record,
      [&](const net::Address& to, const std::string& field,
          const std::string& text) -> absl::Status {
        if (!to.ReachesListenerOn(bind_)) return absl::OkStatus();
        std::optional<std::string> holder = ports_.Holder(to.port());
        if (!holder && to.port() != record.port) return absl::OkStatus();
        std::string whose = holder.value_or(record.name) == record.name
                                ? std::string("this service's own port")
                                : absl::StrFormat("the port of service '%s'", *holder);
        return absl::InvalidArgumentError(absl::StrFormat(
            "field '%s': %s is %s on this daemon: every request would loop back into the proxy",
            field, text, whose));
      });
}

}  // namespace icaht::registry
