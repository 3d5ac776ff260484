#pragma once
// Durable admin registrations (control thread): a snapshot (services.json,
// replaced atomically) plus a journal of the changes since
// (registry/journal.h). A change is appended to the journal when it is
// committed and its answer waits until the journal is synced: write-ahead
// with group commit. One fdatasync is in flight at a time, on the control
// ring; the changes appended while it runs share the next one, so a burst of
// registrations costs a sync per round, not per change, and the control
// thread never blocks on the disk for it.
//
//   store.Put(record);                       // after the registry commit
//   store.WhenDurable([=] { responder->Send(answer); });
//
// The journal is folded into a new snapshot (and emptied) when it passes
// kCompactEntries entries, at start after a restore, and at shutdown.

#include <sys/types.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/ring.h"
#include "net/socket.h"
#include "registry/service_record.h"
#include "registry/state_file.h"

namespace icaht::admin {

class StateStore final : private core::Completion {
 public:
  static constexpr size_t kCompactEntries = 2000;

  // `dir`/services.json and `dir`/services.journal.
  StateStore(core::Ring& ring, const std::string& dir);
  ~StateStore();

  struct Loaded {
    registry::SavedServices saved;      // the snapshot with the journal replayed over it
    std::vector<std::string> problems;  // for the log: what was set aside, and why
  };
  // Reads the snapshot and replays the journal. A snapshot that cannot be read
  // is moved aside (its records are lost, the journal's kept); a journal with
  // a torn or corrupt tail keeps its intact prefix and is copied aside. Then
  // opens the journal for appending.
  absl::StatusOr<Loaded> Load();

  // Appends a change (no-op until Load). Errors are logged and make the next
  // WhenDurable callbacks report failure.
  void Put(const registry::ServiceRecord& record);
  void Delete(const std::string& name);
  // Runs `done(ok)` once every change appended so far is on disk (at once if
  // nothing is pending). ok is false when the append or the sync failed: the
  // change is in force but may not survive a restart.
  void WhenDurable(std::function<void(bool ok)> done);

  // Writes `records` as the snapshot and empties the journal (synchronously;
  // at start, at shutdown and when wants_compaction, when no sync is in
  // flight).
  void Compact(const std::vector<const registry::ServiceRecord*>& records);
  // True when the journal has grown past kCompactEntries or past `records`
  // entries (the snapshot's size: writing it costs in proportion, so each
  // change pays a constant share), or a failed write or sync may have left it
  // short of what was acknowledged before.
  bool wants_compaction(size_t records) const {
    return (entries_ >= std::max(kCompactEntries, records) || broken_) && !syncing_;
  }
  // A copy of the journal as it is now, next to it ("services.journal.bad-<UTC
  // time>"), for records a restore refused: the compaction that follows
  // empties the journal.
  absl::StatusOr<std::string> KeepJournalCopy();

  const std::string& snapshot_path() const { return snapshot_; }
  const std::string& journal_path() const { return journal_; }

 private:
  void Append(const std::string& line);
  std::string ReadJournalText() const;
  // A torn or corrupt tail: the journal keeps its intact prefix, the whole
  // file is kept aside; what was done goes to `problems`.
  absl::Status KeepIntactPrefix(uint64_t intact_bytes, std::vector<std::string>& problems,
                                const std::string& problem);
  void StartSync();
  void Complete(int res, uint32_t flags) override;

  core::Ring& ring_;
  std::string dir_;
  std::string snapshot_;
  std::string journal_;
  net::Fd fd_;             // the journal, O_APPEND
  uint64_t appended_ = 0;  // changes appended
  uint64_t synced_ = 0;    // changes known durable
  uint64_t sync_target_ = 0;
  bool syncing_ = false;
  bool failed_ = false;        // an append failed since the last sync started
  bool round_failed_ = false;  // ... before the sync in flight started
  size_t entries_ = 0;         // in the journal now
  uint64_t good_size_ = 0;     // the journal's length after its last whole entry
  bool broken_ = false;        // a write or sync failed, or there is no journal
  struct Waiter {
    uint64_t upto;
    std::function<void(bool)> done;
  };
  std::deque<Waiter> waiters_;
};

}  // namespace icaht::admin
