#include "admin/state_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/log.h"
#include "core/status_macros.h"
#include "registry/journal.h"

namespace icaht::admin {
StateStore::StateStore(core::Ring& ring, const std::string& dir)
    : ring_(ring),
      dir_(dir),
      snapshot_((std::filesystem::path(dir) / "services.json").string()),
      journal_((std::filesystem::path(dir) / "services.journal").string()) {}

StateStore::~StateStore() {
  // A sync still in flight completes into a ring that is going away with us
  // (the control thread ends): wait for it, bounded, so its completion never
  // reaches a freed object.
  for (int i = 0; i < 100 && syncing_; ++i) ring_.RunOnce(10'000'000);
}

absl::StatusOr<StateStore::Loaded> StateStore::Load() {
  Loaded loaded;
  absl::StatusOr<registry::SavedServices> saved = registry::LoadServices(snapshot_);
  if (!saved.ok()) {
    // A snapshot that cannot be read at all must not keep the host's proxies
    // down: go on without it, loudly, and keep it for inspection.
    absl::StatusOr<std::string> aside = registry::SetAside(snapshot_, /*move=*/true);
    loaded.problems.push_back(absl::StrCat(
        "ignoring saved registrations: ", saved.status().message(), "; the file is kept as ",
        aside.ok() ? *aside : std::string(aside.status().message())));
    saved = registry::SavedServices{};
  }
  loaded.saved = *std::move(saved);

  absl::StatusOr<registry::JournalContents> journal = registry::ReadJournal(journal_);
  if (!journal.ok()) {
    // The snapshot's records are still restored; changes are answered as
    // not durable while there is no journal.
    broken_ = true;
    loaded.problems.push_back(
        absl::StrCat("registrations will not be saved: ", journal.status().message()));
    return loaded;
  }
  if (!journal->problem.empty()) {
    absl::Status kept = KeepIntactPrefix(journal->intact_bytes, loaded.problems, journal->problem);
    if (!kept.ok()) {
      broken_ = true;
      loaded.problems.push_back(absl::StrCat("registrations will not be saved: ", kept.message()));
      return loaded;
    }
  }
  // Replay: the snapshot's records by name, then each change in order.
  std::vector<registry::ServiceRecord>& records = loaded.saved.records;
  absl::flat_hash_map<std::string, size_t> index;
  for (size_t i = 0; i < records.size(); ++i) index[records[i].name] = i;
  for (registry::JournalEntry& entry : journal->entries) {
    auto it = index.find(entry.name);
    if (entry.op == registry::JournalEntry::Op::kPut) {
      if (it != index.end()) {
        records[it->second] = std::move(entry.record);
      } else {
        index[entry.name] = records.size();
        records.push_back(std::move(entry.record));
      }
    } else if (it != index.end()) {
      size_t at = it->second;
      index.erase(it);
      if (at != records.size() - 1) {
        records[at] = std::move(records.back());
        index[records[at].name] = at;
      }
      records.pop_back();
    }
  }
  entries_ = journal->entries.size();

  int fd = open(journal_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    broken_ = true;
    loaded.problems.push_back(
        absl::StrCat("registrations will not be saved: ", journal_, ": ", strerror(errno)));
    return loaded;
  }
  fd_ = net::Fd(fd);
  struct stat st {};
  good_size_ = fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  core::SyncDirectory(dir_);
  return loaded;
}

absl::Status StateStore::KeepIntactPrefix(uint64_t intact_bytes, std::vector<std::string>& problems,
                                          const std::string& problem) {
  // The journal as it was is linked aside first, then replaced whole by its
  // intact prefix (written and synced before the rename): at every instant
  // one of the two names holds every intact entry.
  std::string text = ReadJournalText();
  text.resize(std::min<uint64_t>(text.size(), intact_bytes));
  absl::StatusOr<std::string> aside = registry::SetAside(journal_, /*move=*/false);
  if (!aside.ok()) return aside.status();
  ICAHT_RETURN_IF_ERROR(core::WriteFileAtomically(journal_, text, 0640));
  core::SyncDirectory(dir_);
  problems.push_back(absl::StrCat(problem, "; the journal as it was is kept as ", *aside));
  return absl::OkStatus();
}

absl::StatusOr<std::string> StateStore::KeepJournalCopy() {
  // A copy of its own: the link SetAside makes would be emptied with the
  // journal, so a file of its own replaces it.
  const std::string text = ReadJournalText();
  absl::StatusOr<std::string> aside = registry::SetAside(journal_, /*move=*/false);
  if (!aside.ok()) return aside;
  ICAHT_RETURN_IF_ERROR(core::WriteFileAtomically(*aside, text, 0640));
  return aside;
}

std::string StateStore::ReadJournalText() const {
  std::ifstream in(journal_, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void StateStore::Append(const std::string& line) {
  if (!fd_.valid()) {
    failed_ = true;
    return;
  }
  ++appended_;
  ++entries_;
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = write(fd_.get(), line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      failed_ = true;
      ICAHT_LOG_LIMITED(kError, "cannot append to ", journal_, ": ",
                        n < 0 ? strerror(errno) : "short write",
                        "; registrations may not survive a restart");
      // A partial line would make the next entries unreadable: cut it off.
      // Should that fail too, the next compaction rewrites everything.
      if (ftruncate(fd_.get(), static_cast<off_t>(good_size_)) != 0) broken_ = true;
      return;
    }
    done += static_cast<size_t>(n);
  }
  good_size_ += line.size();
}

void StateStore::Put(const registry::ServiceRecord& record) {
  Append(registry::JournalPutLine(record));
}

void StateStore::Delete(const std::string& name) { Append(registry::JournalDeleteLine(name)); }

void StateStore::WhenDurable(std::function<void(bool)> done) {
  if (!fd_.valid()) return done(false);
  if (synced_ >= appended_) return done(true);
  waiters_.push_back({appended_, std::move(done)});
  if (!syncing_) StartSync();
}

void StateStore::StartSync() {
  syncing_ = true;
  sync_target_ = appended_;
  // An append that failed before this round belongs to it; one that fails
  // while it runs, to the next.
  round_failed_ = failed_;
  failed_ = false;
  io_uring_sqe* sqe = ring_.GetSqe();
  io_uring_prep_fsync(sqe, fd_.get(), IORING_FSYNC_DATASYNC);
  io_uring_sqe_set_data(sqe, static_cast<core::Completion*>(this));
}

void StateStore::Complete(int res, uint32_t) {
  syncing_ = false;
  if (res < 0) {
    ICAHT_LOG_LIMITED(kError, "cannot sync ", journal_, ": ", strerror(-res),
                      "; registrations may not survive a restart");
    broken_ = true;  // pages may be lost: the next compaction rewrites everything
  }
  const bool ok = res >= 0 && !round_failed_;
  synced_ = sync_target_;
  while (!waiters_.empty() && waiters_.front().upto <= synced_) {
    std::function<void(bool)> done = std::move(waiters_.front().done);
    waiters_.pop_front();
    done(ok);
  }
  // What was appended while this sync ran: the next round.
  if (!waiters_.empty()) StartSync();
}

void StateStore::Compact(const std::vector<const registry::ServiceRecord*>& records) {
  if (syncing_) return;  // the next one (compaction is only an optimisation)
  absl::Status saved = registry::SaveServices(snapshot_, records);
  if (!saved.ok()) {
    ICAHT_LOG_LIMITED(kError, "cannot write the snapshot: ", saved.message(),
                      "; the journal keeps every change");
    return;
  }
  core::SyncDirectory(dir_);  // the new snapshot's name is durable before the journal goes
  if (fd_.valid()) {
    if (ftruncate(fd_.get(), 0) != 0 || fdatasync(fd_.get()) != 0) {
      // Harmless: replaying entries the snapshot holds changes nothing.
      ICAHT_LOG_LIMITED(kWarn, "cannot empty ", journal_, ": ", strerror(errno));
      return;
    }
  }
  entries_ = 0;
  good_size_ = 0;
  broken_ = false;
}

}  // namespace icaht::admin
