#pragma once
// The services other hosts publish in etcd (issue 14: the egress calls a
// service by name on any host), as read back from the etcd v3 JSON gateway.
// Pure: bytes of gateway answers in, a table out (the watcher that fetches
// them runs on the control thread: admin/etcd_watcher.h).
//
// Each sidecar writes, under its lease (etcd_layout.h):
//   icaht/services/<name>/<host_id> =
//     {"host_id":N,"url":"http(s)://HOST:PORT","record":{...service record...}}
//
// The table is built from a /v3/kv/range answer of the prefix (Reset) and kept
// current with the messages of a /v3/watch stream on it (Apply). Keys of this
// host's own id are tracked but not served (local services are served
// locally). A value that does not describe an instance (not JSON, a bad URL,
// an id or name that disagrees with its key, ...) is skipped and counted; it
// also removes whatever instance its key described before.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace icaht::discovery {

// Where the fleet's service records live (and the end of that range).
inline constexpr std::string_view kServicesPrefix = "icaht/services/";

struct RemoteInstance {
  uint32_t host_id = 0;
  std::string scheme;  // "http" or "https"
  std::string host;    // as in the URL; an IPv6 literal without its brackets
  uint16_t port = 0;
  // The whole published record as raw JSON text: the egress reads its
  // policy (egress, retries, timeouts, balancing) from it. Kept unparsed here
  // so that a record of a newer sidecar with fields this one does not know
  // still names a reachable instance.
  std::string record;
  std::string version;  // the record's "version" ("" when absent)

  friend bool operator==(const RemoteInstance&, const RemoteInstance&) = default;
};

// What one watch-stream message said besides its events.
struct WatchMessage {
  bool created = false;          // the watch is established
  bool canceled = false;         // the watch ended (compaction, an error): list again
  int64_t compact_revision = 0;  // with canceled: the start revision was compacted
  std::string cancel_reason;     // etcd's words, or the gateway's error message
  size_t events = 0;             // how many events the message carried
  bool changed = false;          // whether the table changed
};

class RemoteServices {
 public:
  using Instances = std::vector<RemoteInstance>;  // sorted by host_id

  // Instances of host `own_host_id` are never in the table.
  explicit RemoteServices(uint32_t own_host_id) : own_host_id_(own_host_id) {}

  // Replaces the whole table with a /v3/kv/range answer over kServicesPrefix
  // ({"header":{"revision":"N"},"kvs":[{"key":b64,"value":b64,
  // "mod_revision":"M"},...]}). An answer that is not one (not JSON, keys not
  // base64, no revision, "more":true) fails InvalidArgument/DataLoss and
  // leaves the table as it was; garbage values only skip their key. True
  // when the services changed (SameServices before and after differ).
  absl::StatusOr<bool> Reset(std::string_view range_body);

  // Applies one message of a /v3/watch stream (one JSON object, the
  // gateway's "{"result":{...}}" or "{"error":{...}}"): its events in order,
  // all or none (a malformed message fails and changes nothing). An event's
  // type may be absent: that is a PUT (the default of the enum).
  absl::StatusOr<WatchMessage> Apply(std::string_view message);

  // Instances of service `name` on other hosts, or nullptr when none.
  const Instances* Find(std::string_view name) const;
  const absl::flat_hash_map<std::string, Instances>& services() const { return services_; }
  // The revision the table is current to: the range's, then the latest event's.
  int64_t revision() const { return revision_; }
  // Keys under the prefix as last seen (this host's and skipped ones too).
  size_t key_count() const { return keys_.size(); }
  // Of them, those skipped because their value is garbage.
  size_t invalid_keys() const { return invalid_keys_; }
  // Garbage values met since construction (a counter: Reset keeps it).
  uint64_t invalid_seen() const { return invalid_seen_; }
  uint32_t own_host_id() const { return own_host_id_; }

  // Same instances (revisions and counters aside).
  bool SameServices(const RemoteServices& other) const { return services_ == other.services_; }

 private:
  struct KeyState {
    std::string name;
    uint32_t host_id = 0;
    bool in_table = false;  // an instance of another host, valid
    bool invalid = false;
  };
  struct Event {
    bool put = true;
    std::string key;
    std::string value;
    int64_t mod_revision = 0;
  };

  // Applies a put or delete of `key`; true if the table changed.
  bool ApplyEvent(const Event& event);
  // Removes and returns host `host_id`'s instance of `name`.
  std::optional<RemoteInstance> TakeInstance(const std::string& name, uint32_t host_id);

  uint32_t own_host_id_;
  int64_t revision_ = 0;
  absl::flat_hash_map<std::string, KeyState> keys_;
  absl::flat_hash_map<std::string, Instances> services_;
  size_t invalid_keys_ = 0;
  uint64_t invalid_seen_ = 0;
};

// The watcher's requests: POST /v3/kv/range of every key (with values) and
// of their count only; POST /v3/watch from `start_revision` on.
std::string ServicesRangeBody();
std::string ServicesCountBody();
std::string ServicesWatchBody(int64_t start_revision);
// A count answer: its revision and count.
struct RangeCount {
  int64_t revision = 0;
  int64_t count = 0;
};
absl::StatusOr<RangeCount> ParseRangeCount(std::string_view body);

// Parses one key's value into an instance of service `name` on host
// `host_id` (as the key names them). Exposed for tests.
absl::StatusOr<RemoteInstance> ParseRemoteInstance(std::string_view value, std::string_view name,
                                                   uint32_t host_id);

}  // namespace icaht::discovery
