#include "service/engine.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "gantry/common/log.hpp"

namespace gantry::controller {

Engine::Engine(Store& store, const Clock& clock, EventSink& events, SchedulerOptions options)
    : store_(store), clock_(clock), events_(events), scheduler_(std::move(options)) {}

namespace {

// The order a flush's stage changes are told in, as they happened: endings first (a stage ends
// before the next one starts), the deepest first (a parallel branch fails before the group it
// fails), then the rest in plan order (a group starts before its first stage).
void order_stage_events(const RunState& run, std::vector<int>& records) {
  std::vector<int> depth(run.stages.size(), 0);
  for (const ExecNode& n : run.nodes) {
    if (n.record < 0 || static_cast<size_t>(n.record) >= depth.size()) continue;
    int d = 0;
    for (int p = n.parent; p > 0 && d < 64; p = run.nodes[static_cast<size_t>(p)].parent) ++d;
    depth[static_cast<size_t>(n.record)] = d;
  }
  auto ended = [&](int i) { return is_finished(run.stages[static_cast<size_t>(i)].status); };
  std::stable_sort(records.begin(), records.end(), [&](int a, int b) {
    const bool ea = ended(a), eb = ended(b);
    if (ea != eb) return ea;
    if (!ea) return a < b;
    const auto& ra = run.stages[static_cast<size_t>(a)];
    const auto& rb = run.stages[static_cast<size_t>(b)];
    if (ra.finished_at != rb.finished_at) return ra.finished_at < rb.finished_at;
    if (depth[static_cast<size_t>(a)] != depth[static_cast<size_t>(b)])
      return depth[static_cast<size_t>(a)] > depth[static_cast<size_t>(b)];
    return a < b;
  });
}

}  // namespace

Status Engine::persist() {
  if (unsaved_.empty()) return ok();
  std::vector<RunState*> runs;
  for (int64_t id : unsaved_) {
    if (RunState* run = scheduler_.stored_run(id)) runs.push_back(run);
  }
  Status stored = store_.transaction([&] {
    for (RunState* run : runs) {
      // Stage changes also move the run's times and counts: store both.
      if (!store_.runs().update_run(run->run)) return false;
      for (int i : run->dirty_stages) {
        if (!store_.runs().put_stage(run->stages[static_cast<size_t>(i)])) return false;
      }
    }
    return true;
  });
  if (!stored) {
    // One line a second at most while the store is down.
    if (now() - last_failure_log_ >= 1000) {
      last_failure_log_ = now();
      log::error("engine", "persist.failed",
                 {{"runs", std::to_string(unsaved_.size())}, {"error", stored.error().message}});
    }
    return stored;
  }
  // Stored: now the world may hear of it, in order (a run ends after its stages).
  unsaved_.clear();
  for (RunState* run : runs) {
    run->dirty_run = false;
    std::vector<int> stages(run->dirty_stages.begin(), run->dirty_stages.end());
    run->dirty_stages.clear();
    order_stage_events(*run, stages);
    for (int i : stages) {
      const StageRecord& rec = run->stages[static_cast<size_t>(i)];
      events_.stage(rec);
      if (rec.finished_at && rec.started_at && rec.status != RunStatus::Skipped) {
        const std::string status(to_string(rec.status));
        stage_seconds_sum_[status] +=
            static_cast<double>(rec.finished_at - rec.started_at) / 1000.0;
        stage_count_[status] += 1;
      }
      if (rec.finished_at && hooks_.stage_ended) hooks_.stage_ended(*run, i);
    }
    events_.run(run->run);
    if (hooks_.run_stored) hooks_.run_stored(*run, stages);
    if (run->finished() && hooks_.run_ended) hooks_.run_ended(run->run);
  }
  return ok();
}

Status Engine::flush() {
  // A gate's answer can change the scheduler again (the next gate, a failed
  // stage); each round stores before it acts. Bounded: a stage has two gates.
  for (int round = 0; round < 8; ++round) {
    scheduler_.dispatch(now());
    for (RunState* run : scheduler_.take_dirty_runs()) unsaved_.insert(run->run.id);
    if (Status s = persist(); !s) return s;  // messages and gate requests wait in the scheduler
    std::vector<GateRequest> gates = scheduler_.gates().take_requests();
    if (gates.empty()) break;
    if (hooks_.gates) hooks_.gates(gates);
  }
  for (Outgoing& o : scheduler_.board().take_outgoing()) {
    if (outbox_) outbox_->send(o.agent_id, o.message);
  }
  if (hooks_.pods) {
    Scheduler::PodChanges pods = scheduler_.take_pod_changes();
    if (!pods.create.empty() || !pods.remove.empty()) hooks_.pods(pods);
  }
  for (int64_t id : scheduler_.take_finished_runs()) {
    scheduler_.forget_run(id);
    events_.forget_run(id);
    if (hooks_.run_forgotten) hooks_.run_forgotten(id);
  }
  events_.pump();
  return ok();
}

void Engine::tick() {
  scheduler_.tick(now());
  (void)flush();
}

Status Engine::start_run(RunRecord& run, std::optional<pipelines::Pipeline> parsed) {
  run.created_at = now();
  Result<int64_t> id = store_.runs().create_run(run);
  if (!id) {
    log::error("engine", "run.store_failed",
               {{"job", run.job_name}, {"error", id.error().message}});
    return id.error();
  }
  std::string prev_result;
  if (auto prev = store_.runs().previous_run(run.job_name, run.id))
    prev_result = result_name_for_status(prev->status);
  if (auto err = scheduler_.submit(run, {}, now(), prev_result, std::move(parsed))) {
    return fail_run(run, "pipeline: " + *err);
  }
  log::info("engine", "run.created",
            {{"run", std::to_string(run.id)}, {"job", run.job_name}, {"commit", run.commit}});
  (void)flush();  // stored already: a failure here is retried on the tick
  return ok();
}

Status Engine::fail_run(RunRecord run, const std::string& reason, const std::string& log_text) {
  run.status = RunStatus::Failed;
  run.reason = reason;
  if (run.created_at == 0) run.created_at = now();
  run.finished_at = now();
  Status stored = ok();
  if (run.id == 0) {
    if (Result<int64_t> id = store_.runs().create_run(run); !id) stored = id.error();
  } else {
    stored = store_.runs().update_run(run);
  }
  log::warn("engine", "run.failed_to_start", {{"run", std::to_string(run.id)}, {"reason", reason}});
  if (!stored) return stored;
  // The team reads why in the run's log, like any stage's.
  StageRecord stage;
  stage.run_id = run.id;
  stage.stage_id = "(pipeline)";
  stage.name = "Pipeline";
  stage.status = RunStatus::Failed;
  stage.attempts = 1;
  stage.reason = reason;
  stage.started_at = stage.finished_at = run.finished_at;
  std::string text = log_text.empty() ? reason : log_text;
  if (!text.empty() && text.back() != '\n') text += '\n';
  stage.log_bytes = text.size();
  std::string path = store_.log_path(run.id, stage.stage_id, 1);
  if (FILE* f = std::fopen(path.c_str(), "w")) {
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  if (Status s = store_.runs().put_stage(stage); !s) return s;
  events_.stage(stage);
  events_.log_committed(run.id, stage.stage_id, 1, path, text.size(), true);
  events_.run(run);
  events_.forget_run(run.id);  // it never reaches the scheduler
  events_.pump();
  return ok();
}

Status Engine::recover() {
  // Running jobs wait for their agents (leases extended by a grace).
  int64_t t = now();
  std::vector<RunRecord> runs = store_.runs().unfinished_runs();
  if (runs.empty() && !store_.healthy()) return store_.last_failure();
  for (RunRecord& run : runs) {
    std::vector<StageRecord> stages = store_.runs().stages(run.id);
    auto prev = store_.runs().previous_run(run.job_name, run.id);
    std::string prev_result;
    if (prev) prev_result = result_name_for_status(prev->status);
    int64_t id = run.id;
    if (auto err = scheduler_.submit(run, stages, t, prev_result)) {
      (void)fail_run(run, "pipeline: " + *err);
      continue;
    }
    log::info("engine", "run.recovered", {{"run", std::to_string(id)}});
  }
  return flush();
}

std::string Engine::metrics_text() const {
  std::string out;
  out += "# HELP gantry_stage_duration_seconds Stage durations since start, by result.\n";
  out += "# TYPE gantry_stage_duration_seconds summary\n";
  for (const auto& [status, sum] : stage_seconds_sum_) {
    out += "gantry_stage_duration_seconds_sum{status=\"" + status + "\"} " + std::to_string(sum) +
           "\n";
    out += "gantry_stage_duration_seconds_count{status=\"" + status + "\"} " +
           std::to_string(stage_count_.at(status)) + "\n";
  }
  out += "# HELP gantry_storage_healthy Whether every state change is stored.\n";
  out += "# TYPE gantry_storage_healthy gauge\n";
  out += std::string("gantry_storage_healthy ") + (healthy() ? "1" : "0") + "\n";
  return out;
}

}  // namespace gantry::controller
