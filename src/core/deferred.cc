#include "core/deferred.h"

#include <algorithm>
#include <vector>

namespace icaht::core {
namespace {
thread_local std::vector<DeferredDeletable*> t_deletes;
thread_local std::vector<DeferredTask*> t_tasks;
thread_local std::vector<DeferredDeletable*> t_deleting;  // kept to keep its capacity
}  // namespace

void DeferDelete(DeferredDeletable* object) {
  t_deletes.push_back(object);
  internal::t_deferred_queued = true;
}

void DeferredTask::Post() {
  if (posted_) return;
  posted_ = true;
  t_tasks.push_back(this);
  internal::t_deferred_queued = true;
}

void DeferredTask::Cancel() {
  if (!posted_) return;
  posted_ = false;
  auto it = std::find(t_tasks.begin(), t_tasks.end(), this);
  if (it != t_tasks.end()) *it = nullptr;
}

void internal::RunQueued() {
  // Tasks may post tasks and defer deletions; deletions may cancel tasks
  // (destructors) but never post new ones that must run before them.
  while (!t_tasks.empty() || !t_deletes.empty()) {
    for (size_t i = 0; i < t_tasks.size(); ++i) {
      DeferredTask* task = t_tasks[i];
      if (task == nullptr) continue;
      t_tasks[i] = nullptr;
      task->posted_ = false;
      task->fn_();
    }
    t_tasks.clear();
    // Swapped with a spare that keeps its capacity: no allocation per round.
    t_deleting.swap(t_deletes);
    for (DeferredDeletable* object : t_deleting) delete object;
    t_deleting.clear();
  }
  t_deferred_queued = false;
}

size_t DeferredCount() { return t_deletes.size(); }

}  // namespace icaht::core
