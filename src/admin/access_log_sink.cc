// The access log's file on the control thread's side: opened at start (a
// path that cannot be opened stops start-up, naming the flag), handed to
// every shard as a descriptor of its own, and reopened on SIGUSR1 (after
// logrotate moved the file away: the new file is created and the shards
// switch to it once their write in flight is done).

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "admin/control.h"
#include "core/log.h"

namespace icaht::admin {

absl::Status Control::OpenAccessLog() {
  switch (config_.access_log) {
    case config::AccessLogMode::kOff:
      access_log_fd_.Reset();
      return absl::OkStatus();
    case config::AccessLogMode::kStdout:
      access_log_fd_ = net::Fd(fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3));
      break;
    case config::AccessLogMode::kFile:
      access_log_fd_ = net::Fd(
          open(config_.access_log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
      break;
  }
  if (!access_log_fd_.valid()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--access-log ",
        config_.access_log == config::AccessLogMode::kStdout ? "stdout" : config_.access_log_path,
        ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

void Control::SendAccessLog() {
  if (!access_log_fd_.valid()) return;
  int master = access_log_fd_.get();
  Broadcast(
      [master](proxy::Shard* shard, proxy::ShardCommand::Done d) {
        return new proxy::SetAccessLogCommand(shard, fcntl(master, F_DUPFD_CLOEXEC, 3),
                                              std::move(d));
      },
      [](absl::Status) {});
}

void Control::ReopenAccessLog() {
  if (config_.access_log != config::AccessLogMode::kFile) {
    ICAHT_LOG_LIMITED(kWarn, "SIGUSR1: no access log file to reopen; ignored");
    return;
  }
  net::Fd previous = std::move(access_log_fd_);
  if (absl::Status opened = OpenAccessLog(); !opened.ok()) {
    ICAHT_LOG(kError, "SIGUSR1: cannot reopen the access log, keeping the old file: ",
              std::string(opened.message()));
    access_log_fd_ = std::move(previous);
    return;
  }
  ICAHT_LOG(kInfo, "SIGUSR1: access log reopened: ", config_.access_log_path);
  SendAccessLog();
}

}  // namespace icaht::admin
