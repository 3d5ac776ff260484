#pragma once
// The authoritative registry of services (DESIGN.md "Control plane").

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "registry/port_allocator.h"
#include "registry/service_record.h"

namespace icaht::registry {

// Name -> ServiceRecord plus the port allocator. Synchronous and owned by the
// control thread; not thread-safe. Shards never see this object: they get
// copies of records by message.
//
// A change is two-phase because the control thread must hear every shard's
// ack before a change is visible to admin clients:
//
//   register:   CheckAdd (optional) -> ReservePort  -> [shards ack] -> Commit | Abort
//   replace:    CheckReplace (opt.) -> BeginReplace -> [shards ack] -> Commit | Abort
//   deregister:                        BeginRemove  -> [shards ack] -> Remove | Abort
//
// Between the first and the last step the name is "in flight": every other
// change of the same name is refused (AlreadyExists for a second register,
// Aborted "change in progress" otherwise), so two admin calls cannot
// interleave on one service. Find/List show only committed records.
//
// Every refused call (a non-OK status) leaves the registry exactly as it was.
// Pointers returned by Find/List stay valid until that record is replaced or
// removed.
class Registry {
 public:
  // `bind`: the address the service listeners bind (the daemon's
  // --bind-address), for the loop checks (CheckNoSelfLoop, and the ports
  // ReservePort keeps from services' upstreams).
  Registry(PortAllocator ports, net::Address bind) : ports_(std::move(ports)), bind_(bind) {}

  // Whether `record` could be registered now: AlreadyExists("service 'x' is
  // already registered") if the name is taken or being registered, and
  // AlreadyExists("port N is already used by service 'y'") for an explicit
  // port another service holds, and InvalidArgument("field 'port': ...") for
  // an explicit port another service sends requests to (an upstream, a
  // forward-auth or a mirror address that reaches this daemon's listeners):
  // that service's requests would loop back into the proxy. Does not probe
  // the host.
  absl::Status CheckAdd(const ServiceRecord& record) const;
  // CheckAdd, then reserves record.port (0 = allocate from the range, above
  // `after` if not 0; see PortAllocator::Allocate for the errors) for
  // record.name and marks the name in flight. Returns the port; the caller
  // stores it in the record it sends to the shards and then passes to Commit.
  // An automatically chosen port is never one that this record or a
  // registered (or in-flight) service sends requests to: a service whose
  // upstream is down is not handed to a proxy.
  // `restoring` (a saved record coming back at start-up): the saved port is
  // kept without probing the host and without the check against other
  // services' addresses, so that what was acknowledged comes back whatever
  // the order of the restore.
  absl::StatusOr<uint16_t> ReservePort(const ServiceRecord& record, uint16_t after = 0,
                                       bool restoring = false);

  // Whether `name` could be replaced by `record` now: NotFound if `name` is not
  // registered; InvalidArgument("field 'name': ...") if record.name differs
  // from `name`; InvalidArgument("field 'port': ...") unless record.port is 0
  // or the current port (the port is kept on replace); Aborted if a change of
  // `name` is in flight.
  absl::Status CheckReplace(std::string_view name, const ServiceRecord& record) const;
  // CheckReplace, then marks `name` in flight.
  absl::Status BeginReplace(std::string_view name, const ServiceRecord& record);

  // NotFound if `name` is not registered, Aborted if a change of it is in
  // flight; else marks it in flight.
  absl::Status BeginRemove(std::string_view name);

  // Completes a register or a replace: stores `record` under record.name.
  // For a new name, record.port must be the port ReservePort returned (0 is
  // taken to mean that port). For an existing name the current port is kept.
  // Calling Commit without a reservation for a new name is a programming
  // error (assert).
  void Commit(ServiceRecord record);

  // Removes `name` (committed or not), frees its port and clears any
  // in-flight mark. Returns the removed record, or nullopt if there was none.
  // Usable without BeginRemove (e.g. TTL expiry decided on the control
  // thread, after the shards have dropped the service).
  std::optional<ServiceRecord> Remove(std::string_view name);

  // Undoes the first step of a change that will not be committed (a shard
  // refused, a timeout): frees a port reserved by ReservePort and clears the
  // in-flight mark. The committed record, if any, is untouched. No-op if
  // nothing is in flight for `name`.
  void Abort(std::string_view name);

  // Refuses a record with an upstream (or a forward-auth or mirror address)
  // that is one of this daemon's own service ports (its own port included)
  // on an address that reaches the listeners bound to `bind` (see
  // net::Address::ReachesListenerOn): every request would loop back into the
  // proxy. InvalidArgument("field 'upstreams[1]': ...", "field
  // 'auth.forward.address': ..." or "field 'mirror.upstream': ...") naming
  // the service that holds the port. Call it once record.port is reserved
  // (after ReservePort / BeginReplace). Loops through other hosts or other
  // addresses of this host are the data path's to catch (Via).
  absl::Status CheckNoSelfLoop(const ServiceRecord& record) const;

  bool InFlight(std::string_view name) const { return in_flight_.contains(name); }

  // The committed record, or nullptr.
  const ServiceRecord* Find(std::string_view name) const;
  // All committed records, sorted by name.
  std::vector<const ServiceRecord*> List() const;
  size_t size() const { return records_.size(); }

  const PortAllocator& ports() const { return ports_; }

 private:
  enum class Change { kAdd, kReplace, kRemove };
  struct PendingChange {
    Change change;
    uint16_t reserved_port = 0;   // kAdd only
    std::vector<uint16_t> sends;  // kAdd and kReplace: the new record's SendsTo
  };

  // Aborted("service 'x' has a change in progress") if `name` is in flight.
  absl::Status CheckNotInFlight(std::string_view name) const;
  // The ports of this daemon's listeners that `record` sends requests to.
  std::vector<uint16_t> SendsTo(const ServiceRecord& record) const;
  void AddSends(const std::vector<uint16_t>& ports, const std::string& name);
  void RemoveSends(const std::vector<uint16_t>& ports, const std::string& name);
  // A service (other than `name`) that sends requests to `port`, if any.
  std::optional<std::string> SenderTo(uint16_t port, std::string_view name) const;

  PortAllocator ports_;
  net::Address bind_;
  // (port, service) for every SendsTo port of a committed or in-flight record
  // (a multiset: a replace in flight counts the old and the new record).
  std::multiset<std::pair<uint16_t, std::string>> senders_;
  // std::map: sorted for List, and stable addresses for Find's pointers.
  std::map<std::string, ServiceRecord, std::less<>> records_;
  std::map<std::string, PendingChange, std::less<>> in_flight_;
};

}  // namespace icaht::registry
