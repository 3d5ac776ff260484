// The control thread's change queue (registry changes one at a time, in
// arrival order) and its broadcasts to the shards (control.h).

#include "admin/control.h"

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

}  // namespace icaht::admin
