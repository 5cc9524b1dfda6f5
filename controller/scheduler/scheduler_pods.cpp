// Pods in a cluster (docs/containers.md, "The cluster path"): with `kubernetes:` configured,
// each queued job of a kubernetes agent asks for a pod of its own. The service creates it in
// the cluster; the gantry-agent inside connects under the pod's name and takes that job only.
// When the job leaves the board (it ended, was retried or cancelled) the pod is deleted.
#include <cinttypes>
#include <cstdio>
#include <string>

#include "gantry/common/log.hpp"
#include "gantry/pipelines/groovy_eval.hpp"
#include "gantry/pipelines/run_parameters.hpp"
#include "scheduler/job_spec.hpp"
#include "scheduler/scheduler.hpp"

namespace gantry::controller {

namespace {

// A field of the stage's kubernetes agent: as written, or its expression's value
// (`yaml libraryResource('pod.yaml')`, `yaml """..."""` with `${...}`).
bool agent_field(const RunState& run, int node, const pipelines::Agent& agent,
                 const std::string& name, const SchedulerOptions& options, std::string& out,
                 std::string& error) {
  auto it = agent.fields.find(name);
  if (it == agent.fields.end()) return true;
  auto expr = agent.field_exprs.find(name);
  if (expr == agent.field_exprs.end() || !expr->second) {
    out = it->second;
    return true;
  }
  pipelines::EvalResult r = evaluate_at_stage(run, node, options, *expr->second);
  if (auto* e = std::get_if<pipelines::EvalError>(&r)) {
    error = "kubernetes agent '" + name + "' (" + std::to_string(e->pos.line) + ":" +
            std::to_string(e->pos.col) + "): " + e->message;
    return false;
  }
  out = std::get<pipelines::Value>(r).to_string();
  return true;
}

}  // namespace

std::string Scheduler::pod_for(RunState& run, const Job& job, std::string& reason,
                               std::string& error) {
  if (options_.max_pods <= 0) return "";
  const pipelines::Agent* agent = run.label_agent(job.node);
  if (!agent || agent->kind != pipelines::AgentKind::Kubernetes) return "";
  // Lowercase letters, digits and '-': a DNS label, as pod names are.
  std::string name = "gantry-" + std::to_string(run.run.id) + "-" + std::to_string(job.node) + "-" +
                     std::to_string(job.attempt);
  if (auto it = pods_.find(name); it != pods_.end()) {
    reason = "waiting for pod " + name +
             (it->second.status.empty() ? " to start in the cluster" : ": " + it->second.status);
    return name;
  }
  if (static_cast<int64_t>(pods_.size()) >= options_.max_pods) {
    reason = "waiting for a pod: all " + std::to_string(options_.max_pods) +
             " allowed at once (kubernetes.max_pods) are in use";
    return name;
  }
  PodRequest request;
  request.pod = name;
  request.job_id = job.job_id;
  request.run_id = run.run.id;
  request.stage_id = run.record_of(job.node).stage_id;
  if (!agent_field(run, job.node, *agent, "yaml", options_, request.yaml, error) ||
      !agent_field(run, job.node, *agent, "defaultContainer", options_, request.default_container,
                   error))
    return name;
  if (request.yaml.empty()) {
    error = agent->fields.count("yamlFile")
                ? "kubernetes agent: yamlFile is read on an agent; with a cluster the controller "
                  "needs the pod spec itself: give it as yaml (readTrusted or libraryResource)"
                : "kubernetes agent: no pod spec (give it as yaml)";
    return name;
  }
  pods_[name] = PodEntry{job.job_id, job.attempt, ""};
  log::info("scheduler", "pod.requested",
            {{"pod", name}, {"run", std::to_string(run.run.id)}, {"stage", request.stage_id}});
  pod_requests_.push_back(std::move(request));
  reason = "waiting for pod " + name + " to start in the cluster";
  return name;
}

Scheduler::PodChanges Scheduler::take_pod_changes() {
  PodChanges changes;
  changes.create = std::move(pod_requests_);
  pod_requests_.clear();
  for (auto it = pods_.begin(); it != pods_.end();) {
    const Job* job = board_.job(it->second.job_id);
    if (job && job->attempt == it->second.attempt) {
      ++it;
      continue;
    }
    // Asked for and gone in one pass: never created, nothing to delete.
    bool created = true;
    for (auto c = changes.create.begin(); c != changes.create.end(); ++c) {
      if (c->pod == it->first) {
        changes.create.erase(c);
        created = false;
        break;
      }
    }
    if (created) changes.remove.push_back(it->first);
    it = pods_.erase(it);
  }
  return changes;
}

void Scheduler::pod_failed(const std::string& pod, const std::string& reason, int64_t now) {
  auto it = pods_.find(pod);
  if (it == pods_.end()) return;
  const Job* job = board_.job(it->second.job_id);
  if (!job || job->attempt != it->second.attempt) return;
  // Queued, or handed to the pod's agent already (it connects while a sibling container's
  // image cannot be pulled): the job fails either way, and its pod is deleted with it.
  end_attempt(it->second.job_id, pipelines::Result::Failure, "pod " + pod + ": " + reason, false,
              now);
  dispatch(now);
}

void Scheduler::pod_progress(const std::string& pod, const std::string& status) {
  auto it = pods_.find(pod);
  if (it == pods_.end() || it->second.status == status) return;
  it->second.status = status;
  const Job* job = board_.job(it->second.job_id);
  if (!job || !job->queued()) return;
  RunState* run = stored_run(job->run_id);
  if (!run) return;
  StageRecord& rec = run->record_of(job->node);
  rec.reason = "waiting for pod " + pod + ": " + status;
  run->dirty_stages.insert(run->nodes[static_cast<size_t>(job->node)].record);
  dirty_.insert(run->run.id);
}

bool Scheduler::adopt_pod(const std::string& pod) {
  if (pods_.count(pod)) return true;
  int64_t run_id = 0;
  int node = -1, attempt = 0;
  char tail = 0;
  if (std::sscanf(pod.c_str(), "gantry-%" SCNd64 "-%d-%d%c", &run_id, &node, &attempt, &tail) != 3)
    return false;
  RunState* run = stored_run(run_id);
  if (!run || node < 0 || static_cast<size_t>(node) >= run->nodes.size() ||
      run->nodes[static_cast<size_t>(node)].record < 0)
    return false;
  const Job* job = board_.job(run->record_of(node).job_id);
  if (!job || job->attempt != attempt) return false;
  pods_[pod] = PodEntry{job->job_id, attempt, ""};
  return true;
}

}  // namespace gantry::controller
