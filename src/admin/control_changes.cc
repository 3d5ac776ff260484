// The control thread's change queue (registry changes one at a time, in
// arrival order), its broadcasts to the shards, and the retried binds of
// restored services (control.h).

#include "admin/control.h"
#include "core/log.h"

namespace icaht::admin {

void Control::Enqueue(std::function<void(std::function<void()> done)> change) {
  changes_.push_back(std::move(change));
  if (!change_running_) RunNextChange();
}

void Control::RunNextChange() {
  if (changes_.empty()) {
    change_running_ = false;
    return;
  }
  change_running_ = true;
  auto change = std::move(changes_.front());
  changes_.pop_front();
  change([this] { RunNextChange(); });
}

void Control::Broadcast(const CommandFactory& make, std::function<void(absl::Status)> done) {
  struct State {
    size_t remaining;
    absl::Status first_error;
    std::function<void(absl::Status)> done;
  };
  auto state = std::make_shared<State>(State{shards_.size(), absl::OkStatus(), std::move(done)});
  for (auto& shard : shards_) {
    proxy::ShardCommand* command = make(shard.get(), [state](const absl::Status& status) {
      if (!status.ok() && state->first_error.ok()) state->first_error = status;
      if (--state->remaining == 0) state->done(state->first_error);
    });
    command->Post(*ring_, shard->ring_fd());
  }
}

void Control::ArmBindRetry() {
  if (!unbound_.empty() && !stopping_ && !bind_retry_timer_.armed()) {
    ring_->timers().Arm(&bind_retry_timer_, core::NowNs() + kBindRetryMs * 1'000'000);
  }
}

void Control::RetryBinds() {
  for (const std::string& name : std::vector<std::string>(unbound_.begin(), unbound_.end())) {
    // Queued like any change, so it never overlaps one of the same service.
    Enqueue([this, name](std::function<void()> done) {
      const registry::ServiceRecord* record = registry_.Find(name);
      if (stopping_ || record == nullptr || !unbound_.contains(name)) return done();
      auto shared = std::make_shared<const registry::ServiceRecord>(*record);
      OpenOnShards(shared, [this, shared, done](absl::Status status) {
        if (status.ok()) {
          unbound_.erase(shared->name);
          ICAHT_LOG(kInfo, "service '", shared->name, "': port ", shared->port, " bound: serving");
        }
        done();
      });
    });
  }
  Enqueue([this](std::function<void()> done) {
    ArmBindRetry();
    done();
  });
}

}  // namespace icaht::admin
