#pragma once
// The registration journal: every acknowledged change to the admin-registered
// services, appended before its answer is sent (the caller syncs; see
// admin/state_store.h), replayed over the last snapshot (services.json) at
// start. One entry per line, inspectable with a text editor:
//
//   <crc32c of the JSON, 8 lowercase hex> <JSON>\n
//   {"op":"put","record":{...the service record...}}
//   {"op":"delete","name":"orders"}
//
// Entries are idempotent (a put carries the whole record), so replaying
// entries a snapshot already holds changes nothing: a crash between writing a
// snapshot and emptying the journal is harmless.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "registry/service_record.h"

namespace icaht::registry {

struct JournalEntry {
  enum class Op : uint8_t { kPut, kDelete };
  Op op = Op::kPut;
  ServiceRecord record;  // kPut
  std::string name;      // both: the service
};

// The line for one entry (with its '\n').
std::string JournalPutLine(const ServiceRecord& record);
std::string JournalDeleteLine(std::string_view name);

struct JournalContents {
  std::vector<JournalEntry> entries;  // the intact prefix, in order
  uint64_t intact_bytes = 0;          // its length in the file
  // Why reading stopped before the end of the file ("" when it did not): a
  // torn last line (no newline: a crash during the append), a checksum that
  // does not match, or an entry that does not parse. Nothing after it is used.
  std::string problem;
};

// Reads `path` (a missing file is an empty journal). Errors only when the file
// cannot be read at all.
absl::StatusOr<JournalContents> ReadJournal(const std::string& path);

}  // namespace icaht::registry
