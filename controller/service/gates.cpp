// Change requests for stages that wait at a gate (SPEC §7). The scheduler
// says a stage waits (GateRequest); this opens its request — or finds the
// one it had before a restart — and decides with the pure evaluator
// (gmud/gate.hpp) whether the gate opens, stays shut for now (quorum not
// met; approved but outside a window or inside a freeze), or fails the stage
// (rejected, expired, cancelled, its environment gone). Policy comes from
// the controller config only; the pipeline adds only texts.
#include <algorithm>
#include <cstdio>
#include <fstream>

#include "gantry/common/log.hpp"
#include "service/api_json.hpp"
#include "service/approvals_json.hpp"
#include "service/controller.hpp"
#include "service/git_workers.hpp"

namespace gantry::controller {

namespace {

gmud::Clock seconds_of(int64_t ms) {
  return gmud::Clock(std::chrono::seconds(ms / 1000));
}

std::vector<std::string> split_submitters(const std::string& text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= text.size()) {
    size_t j = text.find(',', i);
    if (j == std::string::npos) j = text.size();
    std::string item = text.substr(i, j - i);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
    i = j + 1;
  }
  return out;
}

std::string join_reasons(const std::vector<std::string>& reasons) {
  std::string out;
  for (const std::string& r : reasons) out += (out.empty() ? "" : "; ") + r;
  return out;
}

}  // namespace

gmud::Request gate_request_of(const ApprovalRecord& a) {
  gmud::Request r;
  r.triggered_by = a.triggered_by;
  r.requested_at = seconds_of(a.requested_at);
  for (const ChangeRecord& c : a.changes)
    r.range.push_back({c.sha, c.author_email, c.committer_email});
  for (const DecisionRecord& d : a.decisions)
    r.decisions.push_back({d.user, d.approve, d.comment, seconds_of(d.at)});
  return r;
}

std::optional<gmud::Policy> Controller::policy_of(const ApprovalRecord& a) const {
  if (a.kind == "input") {
    // Jenkins' submitter: users or groups, any one of them; none: anyone
    // who may start runs. No quorum beyond one, no window, no expiry.
    gmud::Policy p;
    p.approvers = split_submitters(a.submitter);
    if (p.approvers.empty()) p.approvers = {"*"};
    p.min_approvals = 1;
    return p;
  }
  auto env = config_.environments.find(a.environment);
  if (env == config_.environments.end() || !env->second.gated) return std::nullopt;
  return env->second.policy;
}

std::vector<gmud::Person> Controller::people_of(const ApprovalRecord& a) const {
  const bool input = a.kind == "input";
  std::vector<gmud::Person> people =
      gate_people(config_, input ? Permission::Trigger : Permission::Approve, input);
  // The generated admin of a controller without users: in no approver group.
  if (config_.users.empty()) {
    people.push_back({"admin",
                      input ? std::vector<std::string>{"admin", "*"} : std::vector<std::string>{},
                      {},
                      true});
  }
  return people;
}

gmud::Evaluation Controller::evaluate_approval(const ApprovalRecord& a) const {
  std::optional<gmud::Policy> policy = policy_of(a);
  if (!policy) {
    gmud::Evaluation ev;
    ev.blocked_by.push_back("environment '" + a.environment + "' has no GMUD policy any more");
    return ev;
  }
  return gmud::evaluate(*policy, gate_request_of(a), people_of(a), seconds_of(now()));
}

void Controller::handle_gates(const std::vector<GateRequest>& gates) {
  for (const GateRequest& g : gates) {
    if (g.cancel) {
      cancel_requests(g.run_id, g.stage_id, g.reason);
    } else {
      open_request(g);
    }
  }
}

void Controller::open_request(const GateRequest& g) {
  const RunState* state = scheduler_->run(g.run_id);
  if (!state) return;
  const RunRecord& run = state->run;
  if (g.kind == "release" && !config_.open_gates) {
    begin_release(g);
    return;
  }
  if (config_.open_gates) {
    std::map<std::string, std::string> defaults;
    for (const GateRequest::Parameter& p : g.parameters) defaults[p.name] = p.default_value;
    log::warn("gmud", "gate.opened_locally", {{"stage", g.stage_id}, {"kind", g.kind}});
    scheduler_->open_gate(run.id, g.stage_id, g.kind, defaults, now());
    return;
  }
  // The request this stage had before a restart, for the same commit.
  std::vector<ApprovalRecord> earlier = store_->approvals_of_run(run.id);
  for (auto it = earlier.rbegin(); it != earlier.rend(); ++it) {
    if (it->stage_id != g.stage_id || it->kind != g.kind || it->commit != run.commit) continue;
    if (it->status == "pending" || it->status == "approved") {
      settle(*it);
    } else {
      std::string why = it->reason.empty() ? approval_name(*it) + " is " + it->status : it->reason;
      scheduler_->fail_gate(run.id, g.stage_id, g.kind, why, now());
    }
    return;
  }
  if (g.kind != "gmud") {
    create_request(g, {}, "");
    return;
  }
  // The range since the environment's current release, when there is one
  // of this repository (from the git mirror, off the loop); else the run's
  // own change range.
  const std::string repo = run.repo_name.empty() ? run.repo_url : run.repo_name;
  std::optional<ReleaseRecord> current = store_->current_release(g.environment);
  const std::string base = current && current->repo == repo ? current->commit : "";
  std::vector<ChangeRecord> branch_range = run.changes;
  if (branch_range.empty() && !run.commit.empty())
    branch_range.push_back(
        {run.commit, run.author, run.author_email, run.author, run.author_email, "", 0, {}});
  if (base.empty() || base == run.commit || run.repo_url.empty()) {
    create_request(g, branch_range, base.empty() ? run.previous_commit : base);
    return;
  }
  auto ready = [this, g, base, branch_range](git::ChangeSet cs) {
    const RunState* st = scheduler_->run(g.run_id);
    bool waiting = false;
    for (const StageRecord& rec : st ? st->stages : std::vector<StageRecord>{})
      waiting = waiting || (rec.stage_id == g.stage_id && rec.status == "waiting");
    if (!waiting) return;  // cancelled meanwhile
    std::vector<ChangeRecord> range;
    if (!cs.ok) {
      log::warn("gmud", "range.unreadable", {{"from", base}, {"error", cs.error}});
      range = branch_range;
    } else {
      for (const git::ChangeCommit& c : cs.commits) range.push_back(change_record(c));
    }
    // A base the mirror no longer has (history rewritten): add the branch's
    // range too, so no author of what ships is missed.
    if (!cs.ok || !cs.from_known) {
      for (const ChangeRecord& c : branch_range) {
        bool seen = std::any_of(range.begin(), range.end(),
                                [&](const ChangeRecord& r) { return r.sha == c.sha; });
        if (!seen) range.push_back(c);
      }
    }
    create_request(g, std::move(range), cs.ok && cs.from_known ? base : "");
    flush();
  };
  if (!git_->change_range(run.repo_url, base, run.commit, ready))
    create_request(g, branch_range, run.previous_commit);
}

int64_t Controller::create_request(const GateRequest& g, std::vector<ChangeRecord> range,
                                   const std::string& range_base) {
  const RunState* state = scheduler_->run(g.run_id);
  if (!state) return 0;
  const RunRecord& run = state->run;
  ApprovalRecord a;
  a.kind = g.kind;
  a.run_id = run.id;
  a.stage_id = g.stage_id;
  a.environment = g.environment;
  a.repo = run.repo_name.empty() ? run.repo_url : run.repo_name;
  a.commit = run.commit;
  a.title = g.title;
  a.impact = g.impact;
  a.rollback_plan = g.rollback_plan;
  a.message = g.message;
  a.submitter = g.submitter;
  a.parameters = input_parameters_json(g);
  a.requested_at = now();
  if (g.kind == "gmud") {
    std::optional<gmud::Policy> policy = policy_of(a);
    a.required = policy ? std::max(policy->min_approvals, 1) : 1;
    if (policy && policy->expires_after_s > 0)
      a.expires_at = a.requested_at + policy->expires_after_s * 1000;
    // Who made the change may not approve it: the run's trigger, and every
    // author and committer of the commits it ships.
    a.triggered_by = run.created_by == "git" || run.created_by == "cron" ? "" : run.created_by;
    a.range_base = range_base;
    a.changes = std::move(range);
    for (ChangeRecord& c : a.changes) c.paths.clear();
  }
  if (store_->create_approval(a) == 0) {
    scheduler_->fail_gate(run.id, g.stage_id, g.kind, "could not store the change request", now());
    return 0;
  }
  const std::string name = approval_name(a);
  emit_approval(a);
  log::info("gmud", "approval.requested",
            {{"approval", name}, {"run", std::to_string(run.id)}, {"stage", g.stage_id}});
  audit("controller", "approval.request", name,
        {{"run", std::to_string(run.id)},
         {"stage", g.stage_id},
         {"environment", a.environment},
         {"commit", a.commit},
         {"required", std::to_string(a.required)}});
  settle(a);
  return a.id;
}

void Controller::cancel_requests(int64_t run_id, const std::string& stage_id,
                                 const std::string& reason) {
  for (auto it = open_approvals_.begin(); it != open_approvals_.end();) {
    ApprovalRecord& a = it->second;
    if (a.run_id != run_id || a.stage_id != stage_id) {
      ++it;
      continue;
    }
    a.status = "cancelled";
    a.decided_at = now();
    a.reason = "cancelled: " + (reason.empty() ? std::string("the stage stopped waiting") : reason);
    store_->update_approval(a);
    emit_approval(a);
    audit("controller", "approval.cancel", approval_name(a), {{"reason", a.reason}});
    it = open_approvals_.erase(it);
  }
}

void Controller::check_gates() {
  std::vector<ApprovalRecord> open;
  for (const auto& [id, a] : open_approvals_) open.push_back(a);
  for (ApprovalRecord& a : open) {
    if (auto fresh = store_->approval(a.id)) settle(std::move(*fresh));
  }
}

void Controller::settle(ApprovalRecord a) {
  const std::string name = approval_name(a);
  // An `input` step's request: its job polls for the answer; no gate to move.
  const bool step = !input_step_key(a).empty();
  auto close = [&](const std::string& status, const std::string& reason) {
    a.status = status;
    a.reason = reason;
    a.decided_at = now();
    store_->update_approval(a);
    emit_approval(a);
    open_approvals_.erase(a.id);
    if (!step) scheduler_->fail_gate(a.run_id, a.stage_id, a.kind, reason, now());
  };
  if (step && a.status == "pending" && !stage_running(a)) {
    close("cancelled", name + " was cancelled: its stage is no longer running");
    audit("controller", "approval.cancel", name, {{"reason", a.reason}});
    return;
  }
  if (!policy_of(a)) {
    close("cancelled", "environment '" + a.environment + "' has no GMUD policy any more");
    audit("controller", "approval.cancel", name, {{"reason", a.reason}});
    return;
  }
  gmud::Evaluation ev = evaluate_approval(a);
  switch (ev.state) {
    case gmud::State::Rejected:
      close("rejected", name + " " + ev.blocked_by.front());
      return;
    case gmud::State::Expired:
      close("expired", name + " " + ev.blocked_by.front());
      audit("controller", "approval.expire", name, {{"reason", a.reason}});
      return;
    case gmud::State::Cancelled:
      close("cancelled", name + " was cancelled");
      return;
    case gmud::State::Pending:
      open_approvals_[a.id] = a;
      if (!step)
        scheduler_->annotate_gate(a.run_id, a.stage_id,
                                  "waiting for " + name + ": " + join_reasons(ev.blocked_by));
      return;
    case gmud::State::Approved:
      break;
  }
  if (a.status == "pending") {
    a.status = "approved";
    a.decided_at = now();
    a.values = decided_values(a);
    store_->update_approval(a);
    emit_approval(a);
    log::info("gmud", "approval.approved", {{"approval", name}});
  }
  if (!ev.open) {
    open_approvals_[a.id] = a;  // a window or a freeze holds it; checked on the tick
    if (!step)
      scheduler_->annotate_gate(a.run_id, a.stage_id,
                                name + " approved; held: " + join_reasons(ev.blocked_by));
    return;
  }
  open_approvals_.erase(a.id);
  if (step) return;
  std::map<std::string, std::string> values = a.values;
  if (a.kind == "gmud") values["GMUD_ID"] = name;
  scheduler_->open_gate(a.run_id, a.stage_id, a.kind, values, now());
}

bool Controller::stage_running(const ApprovalRecord& a) const {
  const RunState* run = scheduler_->run(a.run_id);
  if (!run) return false;
  for (const StageRecord& rec : run->stages) {
    if (rec.stage_id == a.stage_id) return rec.status == "running";
  }
  return false;
}

net::Response Controller::input_step(const Job& job, const net::Request& req) {
  constexpr size_t kMaxQuestion = size_t{64} * 1024;
  std::string body = req.body;
  if (!req.body_file.empty()) {
    std::ifstream in(req.body_file, std::ios::binary);
    body.assign(std::istreambuf_iterator<char>(in), {});
    std::remove(req.body_file.c_str());
  }
  if (body.size() > kMaxQuestion)
    return error(413, "too_large", "an input question is at most 64 KiB");
  GateRequest g;
  std::string why;
  if (!parse_input_question(body, g, why)) return error(400, "bad_request", why);
  const RunState* run = scheduler_->run(job.run_id);
  if (!run) return error(409, "stale_epoch", "the job's run is over");
  g.run_id = job.run_id;
  g.stage_id = run->record_of(job.node).stage_id;
  g.step += "#" + std::to_string(job.attempt);  // a retried stage asks again
  int64_t id = 0;
  for (const ApprovalRecord& a : store_->approvals_of_run(job.run_id)) {
    if (a.stage_id == g.stage_id && input_step_key(a) == g.step) id = a.id;
  }
  if (id == 0) id = create_request(g, {}, "");
  std::optional<ApprovalRecord> a = id ? store_->approval(id) : std::nullopt;
  if (!a) return error(500, "internal", "could not store the input's change request");
  net::Response r;
  r.body = input_reply_json(*a);
  return r;
}

}  // namespace gantry::controller
