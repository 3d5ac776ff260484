#pragma once
// Work deferred until the completion (or timer) being dispatched has returned:
// the data path's one lifetime idiom (Envoy's DeferredDeletable). An object
// that ends inside one of its own callbacks hands itself to DeferDelete()
// instead of deleting itself, so no caller up the stack has to know "this call
// may free me" and no call has to be a tail call. Post() runs a task at the
// same point, for work that must not happen re-entrantly (e.g. a connection
// starting its next exchange while the previous one is still on the stack).
//
// Thread-local: objects are deleted and tasks run on the thread that queued
// them. Ring::RunOnce and TimerQueue::FireExpired call RunDeferred() after
// every completion and every timer; a thread without a ring calls it itself.

#include <functional>

namespace icaht::core {

namespace internal {
// Set while a task or a deletion is queued: RunDeferred's check is one load
// of a trivially constructed thread_local, inlined after every completion.
inline thread_local bool t_deferred_queued = false;
void RunQueued();
}  // namespace internal

class DeferredDeletable {
 public:
  virtual ~DeferredDeletable() = default;
};

// Deletes `object` after the current dispatch returns. Idempotent per object
// is NOT guaranteed: hand each object over once.
void DeferDelete(DeferredDeletable* object);

// A task run once after the current dispatch returns (reusable: it may be
// posted again after it ran). Owners must outlive the run or Cancel() it.
class DeferredTask {
 public:
  explicit DeferredTask(std::function<void()> fn) : fn_(std::move(fn)) {}
  ~DeferredTask() { Cancel(); }
  DeferredTask(const DeferredTask&) = delete;
  DeferredTask& operator=(const DeferredTask&) = delete;

  // Queues the task unless it is queued already.
  void Post();
  void Cancel();
  bool posted() const { return posted_; }

 private:
  friend void internal::RunQueued();
  std::function<void()> fn_;
  bool posted_ = false;
};

// Runs posted tasks (including ones they post) and then deletes deferred
// objects. Inline and one load when nothing is queued.
inline void RunDeferred() {
  if (internal::t_deferred_queued) internal::RunQueued();
}

// Objects waiting for deletion on this thread (tests).
size_t DeferredCount();

}  // namespace icaht::core
