#pragma once
// Files the daemon replaces whole (the registration snapshot, Traefik's
// dynamic configuration): written so that a reader, or a crash, sees the old
// file or the new one, never a mix.

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace icaht::core {

// Writes `text` to `path`.tmp with `mode`, fsyncs and closes it (both
// checked: only a file known to be on disk replaces the old one), then
// renames it over `path`. The directory entry itself is not synced (see
// SyncDirectory). Control thread: it blocks on the disk.
absl::Status WriteFileAtomically(const std::string& path, std::string_view text, unsigned mode);
// The same with the text made piece by piece: `fill` appends the next piece
// to its (emptied) argument and returns false once there is no more, so a
// large file (the snapshot of 10,000 services) is never held whole.
absl::Status WriteFileAtomically(const std::string& path, unsigned mode,
                                 const std::function<bool(std::string&)>& fill);

// Makes a rename or a new file in `dir` durable (fsync of the directory).
void SyncDirectory(const std::string& dir);

}  // namespace icaht::core
