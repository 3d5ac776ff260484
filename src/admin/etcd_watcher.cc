#include "admin/etcd_watcher.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "admin/etcd_backoff.h"
#include "core/log.h"
#include "discovery/etcd_layout.h"

namespace icaht::admin {
namespace {

constexpr int64_t kNsPerMs = 1'000'000;
// A watch that lived this long was a success: the next failure backs off
// from the start again (one that dies at once keeps backing off).
constexpr int64_t kStableNs = 2 * kNsPerS;
constexpr uint32_t kCallTimeoutMs = 5000;  // a list or a count; a watch's head
constexpr int64_t kWatchdogNs = 10 * kNsPerS;
constexpr size_t kMaxListBytes = 64 * 1024 * 1024;
constexpr size_t kMaxMessageBytes = 64 * 1024 * 1024;
constexpr size_t kMaxErrorBytes = 512;
constexpr std::string_view kRange = "/v3/kv/range";

}  // namespace

absl::StatusOr<std::unique_ptr<EtcdWatcher>> EtcdWatcher::Create(
    core::Ring& ring, core::BufRing& bufs, const std::vector<std::string>& endpoints,
    uint32_t own_host_id, OnChange on_change) {
  absl::StatusOr<std::vector<net::HttpUrl>> urls = discovery::ParseEtcdEndpoints(endpoints);
  if (!urls.ok()) return urls.status();
  return std::unique_ptr<EtcdWatcher>(
      new EtcdWatcher(ring, bufs, *std::move(urls), own_host_id, std::move(on_change)));
}

EtcdWatcher::EtcdWatcher(core::Ring& ring, core::BufRing& bufs, std::vector<net::HttpUrl> endpoints,
                         uint32_t own_host_id, OnChange on_change)
    : ring_(ring),
      bufs_(bufs),
      endpoints_(std::move(endpoints)),
      on_change_(std::move(on_change)),
      random_(core::FastRandom::FromEntropy()),
      table_(own_host_id),
      retry_timer_([this] { List(); }),
      watchdog_([this] { OnWatchdog(); }),
      watchdog_ns_(kWatchdogNs) {}

EtcdWatcher::~EtcdWatcher() { CancelCalls(); }

void EtcdWatcher::Start() {
  if (started_ || stopped_) return;
  started_ = true;
  List();
}

void EtcdWatcher::Stop() {
  stopped_ = true;
  up_ = false;
  CancelCalls();
  ring_.timers().Cancel(&retry_timer_);
  ring_.timers().Cancel(&watchdog_);
}

void EtcdWatcher::CancelCalls() {
  for (proxy::HttpClientCall** slot : {&list_call_, &watch_call_, &probe_call_}) {
    if (*slot != nullptr) {
      (*slot)->Cancel();
      *slot = nullptr;
    }
  }
}

void EtcdWatcher::Post(proxy::HttpClientCall** slot, std::string_view path, std::string body,
                       Done done, proxy::ClientCallSpec spec) {
  const net::HttpUrl& url = endpoints_[endpoint_];
  spec.address = url.address;
  spec.method = http::Method::kPost;
  spec.request = proxy::BuildClientRequest(
      "POST", path, url.host,
      absl::StrCat("Content-Type: application/json\r\nContent-Length: ", body.size(),
                   "\r\nUser-Agent: icaht-sidecar/etcd\r\n"));
  spec.request += body;
  spec.timeout_ms = kCallTimeoutMs;
  spec.max_body_bytes = kMaxListBytes;
  *slot = proxy::HttpClientCall::Start(
      ring_, bufs_, std::move(spec),
      [slot, done = std::move(done)](absl::StatusOr<http::ClientResponse> response) {
        *slot = nullptr;
        done(std::move(response));
      });
}

void EtcdWatcher::List() {
  if (stopped_) return;
  Post(&list_call_, kRange, discovery::ServicesRangeBody(),
       [this](absl::StatusOr<http::ClientResponse> response) {
         if (!response.ok()) return Fail(absl::StrCat("list: ", response.status().message()));
         if (response->status != 200) {
           return Fail(absl::StrCat("list answered ", response->status, ": ",
                                    response->body.substr(0, kMaxErrorBytes)));
         }
         absl::StatusOr<bool> changed = table_.Reset(response->body);
         if (!changed.ok()) return Fail(absl::StrCat("list: ", changed.status().message()));
         ++relists_;
         const bool report = *changed || !listed_;
         listed_ = true;
         if (report) Report();
         Watch();
       });
}

void EtcdWatcher::Watch() {
  if (stopped_) return;
  line_.clear();
  error_body_.clear();
  proxy::ClientCallSpec spec;
  spec.on_body = [this](const http::ClientResponse& head, std::string_view data) {
    OnWatchData(head, data);
  };
  Post(
      &watch_call_, "/v3/watch", discovery::ServicesWatchBody(table_.revision() + 1),
      [this](absl::StatusOr<http::ClientResponse> response) {
        if (!response.ok()) return Fail(absl::StrCat("watch: ", response.status().message()));
        if (response->status != 200) {
          return Fail(absl::StrCat("watch answered ", response->status, ": ", error_body_));
        }
        Fail("the watch stream ended");
      },
      std::move(spec));
  last_data_ns_ = core::NowNs();
  ring_.timers().Arm(&watchdog_, last_data_ns_ + watchdog_ns_);
}

void EtcdWatcher::OnWatchData(const http::ClientResponse& head, std::string_view data) {
  if (head.status != 200) {  // an error answer: kept for the log line
    error_body_.append(
        data.substr(0, kMaxErrorBytes - std::min(kMaxErrorBytes, error_body_.size())));
    return;
  }
  last_data_ns_ = core::NowNs();
  ++watch_pieces_;
  line_.append(data);
  // grpc-gateway: one JSON object per message, each followed by "\n"; a
  // message may arrive in several pieces, several in one.
  bool changed = false;
  bool watching = true;
  size_t start = 0;
  for (size_t end; watching && (end = line_.find('\n', start)) != std::string::npos;
       start = end + 1) {
    std::string_view message(line_.data() + start, end - start);
    if (!message.empty() && message.back() == '\r') message.remove_suffix(1);
    if (!message.empty()) watching = OnWatchMessage(message, &changed);
  }
  if (watching) {
    line_.erase(0, start);
    if (line_.size() > kMaxMessageBytes) {
      Fail("a watch message over 64 MiB");
    } else {
      ring_.timers().Arm(&watchdog_, last_data_ns_ + watchdog_ns_);
    }
  }
  // Events applied before a failure are news all the same.
  if (changed) Report();
}

bool EtcdWatcher::OnWatchMessage(std::string_view line, bool* changed) {
  absl::StatusOr<discovery::WatchMessage> message = table_.Apply(line);
  if (!message.ok()) {
    Fail(absl::StrCat("malformed watch message: ", message.status().message()));
    return false;
  }
  if (message->canceled) {
    Fail(absl::StrCat("watch canceled: ", message->cancel_reason.empty()
                                              ? std::string("no reason given")
                                              : message->cancel_reason));
    return false;
  }
  if (message->created) {
    if (failures_ > 0) {
      ICAHT_LOG(kInfo, "etcd ", endpoints_[endpoint_].host, ": watching services again after ",
                failures_, failures_ == 1 ? " failure" : " failures", " (revision ",
                table_.revision(), ", ", table_.services().size(), " remote services)");
    }
    up_ = true;
    up_since_ns_ = core::NowNs();
  }
  events_ += message->events;
  *changed = *changed || message->changed;
  return true;
}

void EtcdWatcher::OnWatchdog() {
  if (stopped_ || watch_call_ == nullptr || probe_call_ != nullptr) return;
  const int64_t quiet_until = last_data_ns_ + watchdog_ns_;
  if (core::NowNs() < quiet_until) {
    ring_.timers().Arm(&watchdog_, quiet_until);
    return;
  }
  Probe();
}

void EtcdWatcher::Probe() {
  const uint64_t pieces = watch_pieces_;
  Post(&probe_call_, kRange, discovery::ServicesCountBody(),
       [this, pieces](absl::StatusOr<http::ClientResponse> response) {
         if (!response.ok()) {
           return Fail(absl::StrCat("watchdog count: ", response.status().message()));
         }
         if (response->status != 200) {
           return Fail(absl::StrCat("watchdog count answered ", response->status, ": ",
                                    response->body.substr(0, kMaxErrorBytes)));
         }
         absl::StatusOr<discovery::RangeCount> count = discovery::ParseRangeCount(response->body);
         if (!count.ok()) return Fail(absl::StrCat("watchdog count: ", count.status().message()));
         if (count->revision < table_.revision()) {
           return Fail(absl::StrCat("etcd's revision went back from ", table_.revision(), " to ",
                                    count->revision, " (restored or replaced?)"));
         }
         const size_t held = table_.key_count();
         if (static_cast<size_t>(count->count) != held && watch_pieces_ == pieces) {
           return Fail(absl::StrCat("the watch is stale: etcd holds ", count->count,
                                    " service keys, the watch delivered ", held));
         }
         ++probes_;
         ring_.timers().Arm(&watchdog_, core::NowNs() + watchdog_ns_);
       });
}

void EtcdWatcher::Fail(const std::string& what) {
  if (stopped_) return;
  ++errors_;
  up_ = false;
  CancelCalls();
  ring_.timers().Cancel(&watchdog_);
  const int64_t now = core::NowNs();
  if (up_since_ns_ != 0 && now - up_since_ns_ >= kStableNs) failures_ = 0;
  up_since_ns_ = 0;
  if (failures_ == 0 || now - failure_logged_ns_ >= 60 * kNsPerS) {
    ICAHT_LOG(kWarn, "etcd ", endpoints_[endpoint_].host, ": ", what,
              failures_ == 0 ? "" : absl::StrCat(" (", failures_ + 1, " failures in a row)"),
              "; listing again, the last table (", table_.services().size(),
              " remote services, revision ", table_.revision(), ") is served meanwhile");
    failure_logged_ns_ = now;
  }
  ++failures_;
  endpoint_ = (endpoint_ + 1) % endpoints_.size();
  int64_t delay = 0;
  // Each endpoint once at once; then back off before the next round.
  const int n = static_cast<int>(endpoints_.size());
  if (failures_ % n == 0) {
    const int rounds = failures_ / n;
    delay = std::min(kEtcdFirstBackoffNs << std::min(rounds - 1, 5), kEtcdMaxBackoffNs);
    delay = static_cast<int64_t>(static_cast<double>(delay) * (0.8 + 0.4 * random_.NextDouble()));
    delay = std::min(delay, kEtcdMaxBackoffNs);
  }
  ring_.timers().Arm(&retry_timer_, now + delay);
}

void EtcdWatcher::Report() {
  if (!stopped_ && on_change_) on_change_(table_);
}

}  // namespace icaht::admin
