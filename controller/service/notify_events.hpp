#pragma once
// NotifyingEvents: the event sink the services write to, wrapped so that the changes people
// must hear of without polling (SPEC §7) also reach the notifier: a GMUD that opens, is
// approved, rejected or expires; an input that waits for someone; a canary that pauses for `gantry
// promote` (or for a human after an inconclusive analysis); a release rolled back; a run that
// failed. Every event still goes to the wrapped sink unchanged, first.
//
// The messages are made here from the records (gmud_event() and the others are pure, for
// tests), on the loop thread; the notifier sends them on its own. Each change is told once per
// controller process (a bounded memory of what was told); a restart may tell a pending pause
// again, never a GMUD's opening (that is told only when the request is created).
//
// Threading: the controller's loop thread, like every EventSink.

#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "service/event_sink.hpp"
#include "service/notifier.hpp"

namespace gantry::controller {

class Store;

// The messages, from the records they are about. `run` may be null (not known).
NotifyEvent gmud_event(const ApprovalRecord& a);
// An input (the stage directive or the step) waiting for someone: INPUT-n opened.
NotifyEvent input_event(const ApprovalRecord& a, const RunRecord* run);
NotifyEvent pause_event(const StageRecord& s, const ReleaseRecord* release, const RunRecord* run);
NotifyEvent rollback_event(const ReleaseRecord& r, const RunRecord* run);
NotifyEvent run_failed_event(const RunRecord& run);

class NotifyingEvents final : public EventSink {
 public:
  NotifyingEvents(std::unique_ptr<EventSink> inner, Notifier& notifier, Store& store)
      : inner_(std::move(inner)), notifier_(notifier), store_(store) {}

  void run(const RunRecord& run) override;
  void stage(const StageRecord& stage) override;
  void approval(const ApprovalRecord& a) override;
  void release(const ReleaseRecord& r, const std::string& progress) override;
  void agent(const std::string& name, const std::string& status) override {
    inner_->agent(name, status);
  }
  void log_committed(int64_t run_id, const std::string& stage_id, int attempt,
                     const std::string& path, uint64_t committed, bool final) override {
    inner_->log_committed(run_id, stage_id, attempt, path, committed, final);
  }
  void forget_run(int64_t run_id) override { inner_->forget_run(run_id); }
  void pump() override { inner_->pump(); }

 private:
  static constexpr size_t kMaxTold = 10000;
  // True the first time `what` is told (and remembers it).
  bool first_time(const std::string& what);
  std::optional<RunRecord> stored_run(int64_t id);

  std::unique_ptr<EventSink> inner_;
  Notifier& notifier_;
  Store& store_;
  std::set<std::string> told_;
  std::deque<std::string> told_order_;
};

}  // namespace gantry::controller
