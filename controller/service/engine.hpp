#pragma once
// The engine: the scheduler (pure) and the write-ahead rule around it.
// Every change the scheduler makes (an agent message, an API call, a tick)
// is stored by flush() in one transaction before any message it caused
// leaves for an agent, and before the run's events go out. When the store
// fails (busy, disk full, I/O error), nothing is sent and nothing is
// forgotten: the runs stay dirty, their messages stay queued in the
// scheduler, and the next flush (every tick) tries again, so the work goes
// on by itself when the storage comes back (SPEC §11). healthy() says
// whether everything the scheduler knows is stored.
//
// Not responsible for: sessions (agent_gateway), gates and releases (they
// hook in through EngineHooks, which keeps the dependency one way), HTTP.
// Constructed from plain interfaces (store, clock, event sink, outbox), so
// it is tested without a loop, sockets or real time.
//
// Threading: the controller's loop thread only.

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gantry/common/result.hpp"
#include "scheduler/scheduler.hpp"
#include "service/clock.hpp"
#include "service/event_sink.hpp"
#include "store/store.hpp"

namespace gantry::controller {

// Where the engine's messages to agents go (the agent gateway).
class AgentOutbox {
 public:
  virtual ~AgentOutbox() = default;
  virtual void send(const std::string& agent_id, const protocol::ControllerMessage& m) = 0;
};

struct EngineHooks {
  // Stages that wait at a gate (or stopped waiting): open their requests.
  std::function<void(const std::vector<GateRequest>&)> gates;
  // After a stage's end was stored (releases end with their stage).
  std::function<void(const RunState&, int record)> stage_ended;
  // After a run's end was stored (rollback runs end their release).
  std::function<void(const RunRecord&)> run_ended;
  // Pods to create and delete in the cluster (kubernetes:), after what asked for them was stored.
  std::function<void(const Scheduler::PodChanges&)> pods;
  // After any change of a run was stored (`stages`: its stage records that changed).
  std::function<void(const RunState&, const std::vector<int>& stages)> run_stored;
  // After a finished run left memory (its log progress can go too).
  std::function<void(int64_t run_id)> run_forgotten;
};

class Engine {
 public:
  Engine(Store& store, const Clock& clock, EventSink& events, SchedulerOptions options);

  void set_outbox(AgentOutbox* outbox) { outbox_ = outbox; }
  void set_hooks(EngineHooks hooks) { hooks_ = std::move(hooks); }
  Scheduler& scheduler() { return scheduler_; }
  const Scheduler& scheduler() const { return scheduler_; }
  Store& store() { return store_; }
  int64_t now() const { return clock_.now_ms(); }

  // Stores what changed, then sends what it caused. On a store failure
  // returns it, keeps everything for the next call and sends nothing.
  Status flush();
  // Stores a new run (filling id and number) and hands it to the scheduler;
  // a pipeline that does not load fails the run. An error: nothing stored.
  // `parsed`: the pipeline the caller loaded already (parsed once per run).
  [[nodiscard]] Status start_run(RunRecord& run, std::optional<pipelines::Pipeline> parsed = {});
  // Stores the run as failed, with `log_text` (or the reason) as the log of
  // a "(pipeline)" stage, so the team reads why where it reads any log.
  [[nodiscard]] Status fail_run(RunRecord run, const std::string& reason,
                                const std::string& log_text = {});
  // At startup: the runs that were going when the controller stopped.
  [[nodiscard]] Status recover();
  void tick();  // leases, deadlines, then flush

  // Everything the scheduler knows is stored (and the store answers).
  bool healthy() const { return unsaved_.empty() && store_.healthy(); }
  bool durable(int64_t run_id) const { return !unsaved_.count(run_id); }
  const Error& failure() const { return store_.last_failure(); }
  // Stage durations by result (Prometheus text, for /metrics).
  std::string metrics_text() const;

 private:
  Status persist();

  Store& store_;
  const Clock& clock_;
  EventSink& events_;
  Scheduler scheduler_;
  AgentOutbox* outbox_ = nullptr;
  EngineHooks hooks_;
  // Dirty runs not stored yet, by id (a waiting run given a newer commit
  // is a new RunState under the same id: never hold its pointer).
  std::set<int64_t> unsaved_;
  std::map<std::string, double> stage_seconds_sum_;
  std::map<std::string, int64_t> stage_count_;
  int64_t last_failure_log_ = 0;
};

}  // namespace gantry::controller
