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
// The same with the text made piece by piece, so a large file (the snapshot
// of 10,000 services) is never held whole: `next` returns the next piece (a
// view, e.g. into the buffer it is lent, emptied before each call), or an
// empty view once there is no more.
absl::Status WriteFileAtomically(const std::string& path, unsigned mode,
                                 const std::function<std::string_view(std::string&)>& next);

// Makes a rename or a new file in `dir` durable (fsync of the directory).
void SyncDirectory(const std::string& dir);

}  // namespace icaht::core
