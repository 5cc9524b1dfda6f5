// Gates (gate_service.hpp): change requests for stages that wait at a gate
// (SPEC §7), and the approvals API. The scheduler
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
#include "gantry/pipelines/run_parameters.hpp"
#include "service/api_json.hpp"
#include "service/approvals_json.hpp"
#include "service/gate_service.hpp"
#include "service/git_workers.hpp"
#include "service/run_service.hpp"

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

constexpr size_t kMaxListed = 500;

std::string join_reasons(const std::vector<std::string>& reasons) {
  std::string out;
  for (const std::string& r : reasons) out += (out.empty() ? "" : "; ") + r;
  return out;
}

}  // namespace

GmudRange judge_range(GmudRange range, const git::UnshippedRange& r, const RangeContext& c) {
  const std::string& env = c.environment;
  const std::string release = "R-" + std::to_string(range.release);
  if (!r.ok) {
    range.unknown = "the commits that ship could not be read from the mirror (" + r.error +
                    "); cancel the run and start it again once the mirror is readable";
  } else if (range.release &&
             std::find(r.missing.begin(), r.missing.end(), range.commit) != r.missing.end()) {
    range.unknown = "commit " + range.commit.substr(0, 12) + " of " + release + ", " + env +
                    "'s current release, is not in the mirror of " + c.repo +
                    " (history rewritten?): push a branch or tag that contains it, then start "
                    "the run again";
  } else if (r.too_long) {
    range.unknown =
        "more than " + std::to_string(c.max_range) + " commits ship " +
        (range.release ? "since " + release + ", " + env + "'s current release of " + c.repo
                       : "(" + env + " has no release of " + c.repo + " yet)") +
        ", and their authors cannot all be checked: an admin may raise environments." + env +
        ".gmud.max_range, or deploy a commit with a shorter range first";
  } else if (r.behind) {
    range.refuse = "commit " + c.commit.substr(0, 12) + " is older than " + env +
                   "'s current release " + release + " (" + range.commit.substr(0, 12) +
                   "): deploying it would take " + env + " back; use gantry rollback";
  }
  if (r.ok && !r.too_long) {
    for (const git::ChangeCommit& commit : r.commits)
      range.changes.push_back(change_record(commit));
  }
  return range;
}

gmud::Request gate_request_of(const ApprovalRecord& a) {
  gmud::Request r;
  r.triggered_by = a.triggered_by;
  r.requested_at = seconds_of(a.requested_at);
  r.range_unknown = a.range_unknown;
  for (const InstigatorRecord& i : a.instigators)
    r.instigators.push_back({i.name, i.email, i.what});
  for (const ChangeRecord& c : a.changes)
    r.range.push_back({c.sha, c.author_email, c.committer_email});
  for (const DecisionRecord& d : a.decisions)
    r.decisions.push_back({d.user, d.approve, d.comment, seconds_of(d.at)});
  return r;
}

std::optional<gmud::Policy> GateService::policy_of(const ApprovalRecord& a) const {
  if (a.kind == GateKind::Input) {
    // Jenkins' submitter: users or groups, any one of them; none: anyone
    // who may start runs. No quorum beyond one, no window, no expiry.
    gmud::Policy p;
    p.approvers = split_submitters(a.submitter);
    // `gantry run`: the one at the terminal answers, whoever the submitter names.
    if (p.approvers.empty() || config_.local_inputs) p.approvers = {"*"};
    p.min_approvals = 1;
    return p;
  }
  auto env = config_.environments.find(a.environment);
  if (env == config_.environments.end() || !env->second.gated) return std::nullopt;
  return env->second.policy;
}

std::vector<gmud::Person> GateService::people_of(const ApprovalRecord& a) const {
  const bool input = a.kind == GateKind::Input;
  std::vector<gmud::Person> people =
      gate_people(config_, input ? Permission::Trigger : Permission::Approve, input, a.repo);
  // The generated admin of a controller without users: in no approver group.
  if (config_.users.empty()) {
    people.push_back({"admin",
                      input ? std::vector<std::string>{"admin", "*"} : std::vector<std::string>{},
                      {},
                      true});
  }
  return people;
}

gmud::Evaluation GateService::evaluate(const ApprovalRecord& a) const {
  std::optional<gmud::Policy> policy = policy_of(a);
  if (!policy) {
    gmud::Evaluation ev;
    ev.blocked_by.push_back("environment '" + a.environment + "' has no GMUD policy any more");
    return ev;
  }
  return gmud::evaluate(*policy, gate_request_of(a), people_of(a), seconds_of(engine_.now()));
}

void GateService::handle(const std::vector<GateRequest>& gates) {
  for (const GateRequest& g : gates) {
    if (g.cancel) {
      cancel_requests(g.run_id, g.stage_id, g.reason);
    } else {
      open_request(g);
    }
  }
}

void GateService::open_request(const GateRequest& g) {
  const RunState* state = engine_.scheduler().run(g.run_id);
  if (!state) return;
  const RunRecord& run = state->run;
  if (g.kind == GateKind::Release && !config_.open_gates) {
    if (Status s = releases_.begin(g); !s) retry_later(g, s.error());
    return;
  }
  // `gantry run` opens deploy gates at once; an input waits for the user at the terminal when
  // it asks (local_inputs), else it takes its defaults.
  if (config_.open_gates && !(g.kind == GateKind::Input && config_.local_inputs)) {
    std::map<std::string, std::string> defaults;
    for (const GateRequest::Parameter& p : g.parameters) defaults[p.name] = p.default_value;
    log::info("gmud", "gate.opened_locally",
              {{"stage", g.stage_id}, {"kind", std::string(to_string(g.kind))}});
    engine_.scheduler().open_gate(run.id, g.stage_id, g.kind, defaults, engine_.now());
    return;
  }
  // The request this stage had before a restart, for the same commit.
  std::vector<ApprovalRecord> earlier = store_.gates().approvals_of_run(run.id);
  for (auto it = earlier.rbegin(); it != earlier.rend(); ++it) {
    if (it->stage_id != g.stage_id || it->kind != g.kind || it->commit != run.commit) continue;
    if (it->status == ApprovalStatus::Pending || it->status == ApprovalStatus::Approved) {
      settle(*it);
    } else {
      std::string why = it->reason.empty()
                            ? approval_name(*it) + " is " + std::string(to_string(it->status))
                            : it->reason;
      engine_.scheduler().fail_gate(run.id, g.stage_id, g.kind, why, engine_.now());
    }
    return;
  }
  if (g.kind != GateKind::Gmud) {
    if (auto id = create_request(g, {}); !id) retry_later(g, id.error());
    return;
  }
  open_gmud(g, run);
}

void GateService::open_gmud(const GateRequest& g, const RunRecord& run) {
  // SPEC §7: every commit that ships and is not yet in a succeeded release
  // of that environment (of this repository); with none, all the history.
  const std::string repo = run.repo_name.empty() ? run.repo_url : run.repo_name;
  std::vector<ReleaseRecord> shipped =
      store_.gates().succeeded_releases(g.environment, repo, kMaxShippedBases);
  GmudRange base;
  if (!shipped.empty()) base = {shipped.front().id, shipped.front().commit, {}, "", ""};
  // An inline pipeline ships no repository's commits: its range is empty
  // and only its trigger is ineligible (inline runs' gated deploys are
  // issue 17's item 8).
  if (run.repo_url.empty() || run.commit.empty()) {
    if (auto id = create_request(g, base); !id) retry_later(g, id.error());
    return;
  }
  std::vector<std::string> commits;
  commits.reserve(shipped.size());
  for (const ReleaseRecord& r : shipped) commits.push_back(r.commit);
  std::optional<gmud::Policy> policy;
  if (auto env = config_.environments.find(g.environment); env != config_.environments.end())
    policy = env->second.policy;
  const int64_t max = policy ? policy->max_range : gmud::Policy{}.max_range;
  RangeContext context{g.environment, repo, run.commit, max};
  auto ready = [this, g, base, context](const git::UnshippedRange& r) {
    if (!stage_waiting(g.run_id, g.stage_id)) return;  // cancelled meanwhile
    if (auto id = create_request(g, judge_range(base, r, context)); !id) retry_later(g, id.error());
    (void)engine_.flush();
  };
  if (!git_) {
    GmudRange unknown = base;
    unknown.unknown = "the controller has no git reader to list the commits that ship";
    if (auto id = create_request(g, std::move(unknown)); !id) retry_later(g, id.error());
    return;
  }
  if (!git_->unshipped(run.repo_url, run.commit, commits, static_cast<size_t>(max), ready))
    retry_later(g, make_error(Errc::Busy, "the git workers are busy"));
}

void GateService::retry_later(const GateRequest& g, const Error& why) {
  log::warn("gmud", "request.retry",
            {{"run", std::to_string(g.run_id)}, {"stage", g.stage_id}, {"error", why.message}});
  engine_.scheduler().annotate_gate(
      g.run_id, g.stage_id,
      "waiting: the change request could not be stored (" + why.message + "); trying again");
  retry_.push_back(g);
}

Result<int64_t> GateService::create_request(const GateRequest& g, GmudRange range) {
  const RunState* state = engine_.scheduler().run(g.run_id);
  if (!state) return int64_t{0};
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
  a.requested_at = engine_.now();
  if (g.kind == GateKind::Gmud) {
    std::optional<gmud::Policy> policy = policy_of(a);
    a.required = policy ? std::max(policy->min_approvals, 1) : 1;
    if (policy && policy->expires_after_s > 0)
      a.expires_at = a.requested_at + policy->expires_after_s * 1000;
    // Who made the change may not approve it: the run's trigger, whoever
    // triggered a run it retries or pushed what it ships, and every author
    // and committer of the commits it ships.
    a.triggered_by = run.created_by == "git" || run.created_by == "cron" ? "" : run.created_by;
    a.instigators = instigators_of(run);
    a.range_base = range.commit;
    a.base_release = range.release;
    a.range_unknown = range.unknown;
    a.changes = std::move(range.changes);
    for (ChangeRecord& c : a.changes) c.paths.clear();
    a.run_parameters = shown_parameters(*state);
    if (!range.refuse.empty()) {
      a.status = ApprovalStatus::Cancelled;  // its reason, with its name, once stored
      a.decided_at = a.requested_at;
    }
  }
  if (Result<int64_t> id = store_.gates().create_approval(a); !id) return id.error();
  const std::string name = approval_name(a);
  if (a.status == ApprovalStatus::Cancelled) a.reason = name + " refused: " + range.refuse;
  events_.approval(a);
  log::info("gmud", "approval.requested",
            {{"approval", name},
             {"run", std::to_string(run.id)},
             {"stage", g.stage_id},
             {"commits", std::to_string(a.changes.size())},
             {"range_unknown", a.range_unknown}});
  (void)audit_.record("controller", "approval.request", name,
                      {{"run", std::to_string(run.id)},
                       {"stage", g.stage_id},
                       {"environment", a.environment},
                       {"commit", a.commit},
                       {"range_unknown", a.range_unknown},
                       {"required", std::to_string(a.required)}});
  if (a.status == ApprovalStatus::Cancelled) {
    (void)store_.gates().update_approval(a);  // the reason, now with its name
    (void)audit_.record("controller", "approval.cancel", name, {{"reason", a.reason}});
    engine_.scheduler().fail_gate(run.id, g.stage_id, g.kind, a.reason, engine_.now());
    return a.id;
  }
  if (g.kind == GateKind::Gmud) supersede_older(a);
  (void)settle(a);
  return a.id;
}

std::vector<InstigatorRecord> GateService::instigators_of(const RunRecord& run) {
  std::vector<InstigatorRecord> out = run.pushers;
  // The chain of runs this one retries, each trigger and pusher of it.
  int64_t id = run.retry_of;
  for (int depth = 0; id != 0 && depth < kMaxRetryChain; ++depth) {
    Result<std::optional<RunRecord>> earlier = store_.runs().run(id);
    if (!earlier || !*earlier) break;
    const RunRecord& r = **earlier;
    const std::string what = "triggered run " + std::to_string(r.id) + ", which run " +
                             std::to_string(run.id) + " retries";
    if (r.created_by != "git" && r.created_by != "cron" && !r.created_by.empty())
      out.push_back({r.created_by, "", what});
    for (const InstigatorRecord& p : r.pushers) out.push_back(p);
    id = r.retry_of;
  }
  return out;
}

std::map<std::string, std::string> GateService::shown_parameters(const RunState& state) {
  return pipelines::shown_parameters(state.pipeline, state.run.params);
}

void GateService::supersede_older(const ApprovalRecord& newer) {
  std::vector<ApprovalRecord> older;
  for (const char* status : {"pending", "approved"}) {
    for (ApprovalRecord& a : store_.gates().list_approvals(kMaxListed, status)) {
      if (a.kind == GateKind::Gmud && a.environment == newer.environment && a.repo == newer.repo &&
          a.run_id < newer.run_id && a.id != newer.id && stage_waiting(a.run_id, a.stage_id))
        older.push_back(std::move(a));
    }
  }
  const std::string name = approval_name(newer);
  for (ApprovalRecord& a : older) {
    a.status = ApprovalStatus::Cancelled;
    a.decided_at = engine_.now();
    a.reason = approval_name(a) + " was superseded by run " + std::to_string(newer.run_id) + " (" +
               name + "), a newer deploy of " + newer.repo + " to " + newer.environment;
    if (Status st = store_.gates().update_approval(a); !st) {
      log::error("gmud", "approval.supersede_failed",
                 {{"approval", approval_name(a)}, {"error", st.error().message}});
      continue;  // still pending in the store: outdated() cancels it once it may open
    }
    open_.erase(a.id);
    events_.approval(a);
    log::info("gmud", "approval.superseded", {{"approval", approval_name(a)}, {"by", name}});
    (void)audit_.record("controller", "approval.supersede", approval_name(a),
                        {{"reason", a.reason}, {"by", name}});
    engine_.scheduler().fail_gate(a.run_id, a.stage_id, a.kind, a.reason, engine_.now());
  }
}

std::string GateService::outdated(const ApprovalRecord& a) const {
  if (a.kind != GateKind::Gmud) return "";
  const std::string name = approval_name(a);
  // An approval never ships what is older than the environment's current
  // release: the range it approved counted from a release that is no
  // longer the newest of this repository there.
  std::vector<ReleaseRecord> now = store_.gates().succeeded_releases(a.environment, a.repo, 1);
  const int64_t current = now.empty() ? 0 : now.front().id;
  if (current != a.base_release) {
    return name + " is out of date: it was opened against " +
           (a.base_release ? "R-" + std::to_string(a.base_release) : std::string("no release")) +
           " and " + a.environment + " is now at " +
           (current
                ? "R-" + std::to_string(current) + " (run " + std::to_string(now.front().run_id) +
                      ", commit " + now.front().commit.substr(0, 12) + ")"
                : std::string("no release")) +
           "; start a new run to deploy";
  }
  // Bound to the commit and the parameters it showed.
  if (const RunState* state = engine_.scheduler().run(a.run_id)) {
    if (state->run.commit != a.commit)
      return name + " approved commit " + a.commit.substr(0, 12) + ", and the run now has " +
             state->run.commit.substr(0, 12) + ": a new commit needs a new request";
    if (shown_parameters(*state) != a.run_parameters)
      return name + " approved other parameters than the run's: they need a new request";
  }
  return "";
}

void GateService::cancel_requests(int64_t run_id, const std::string& stage_id,
                                  const std::string& reason) {
  for (auto it = open_.begin(); it != open_.end();) {
    ApprovalRecord& a = it->second;
    if (a.run_id != run_id || a.stage_id != stage_id) {
      ++it;
      continue;
    }
    a.status = ApprovalStatus::Cancelled;
    a.decided_at = engine_.now();
    a.reason = "cancelled: " + (reason.empty() ? std::string("the stage stopped waiting") : reason);
    if (Status st = store_.gates().update_approval(a); !st) {
      // Still open in the store: the next check() cancels it (its stage no
      // longer waits, so it cannot open).
      log::error("gmud", "approval.cancel_failed",
                 {{"approval", approval_name(a)}, {"error", st.error().message}});
    }
    events_.approval(a);
    (void)audit_.record("controller", "approval.cancel", approval_name(a), {{"reason", a.reason}});
    it = open_.erase(it);
  }
}

void GateService::check() {
  std::vector<GateRequest> again;
  again.swap(retry_);
  for (const GateRequest& g : again) {
    if (stage_waiting(g.run_id, g.stage_id)) open_request(g);  // not if cancelled meanwhile
  }
  std::vector<ApprovalRecord> open;
  for (const auto& [id, a] : open_) open.push_back(a);
  for (ApprovalRecord& a : open) {
    auto fresh = store_.gates().approval(a.id);
    if (fresh && *fresh) (void)settle(**fresh);
  }
}

gmud::Evaluation GateService::settle(ApprovalRecord& a) {
  const std::string name = approval_name(a);
  // An `input` step's request: its job polls for the answer; no gate to move.
  const bool step = !input_step_key(a).empty();
  auto close = [&](ApprovalStatus status, const std::string& reason) {
    a.status = status;
    a.reason = reason;
    a.decided_at = engine_.now();
    // Not recorded, not acted on: it stays open and is settled again.
    if (Status st = store_.gates().update_approval(a); !st) {
      open_[a.id] = a;
      return false;
    }
    events_.approval(a);
    open_.erase(a.id);
    if (!step) engine_.scheduler().fail_gate(a.run_id, a.stage_id, a.kind, reason, engine_.now());
    return true;
  };
  gmud::Evaluation ev = evaluate(a);
  if (step && a.status == ApprovalStatus::Pending && !stage_running(a)) {
    if (close(ApprovalStatus::Cancelled, name + " was cancelled: its stage is no longer running"))
      (void)audit_.record("controller", "approval.cancel", name, {{"reason", a.reason}});
    return ev;
  }
  if (!policy_of(a)) {
    if (close(ApprovalStatus::Cancelled,
              "environment '" + a.environment + "' has no GMUD policy any more"))
      (void)audit_.record("controller", "approval.cancel", name, {{"reason", a.reason}});
    return ev;
  }
  if (a.status == ApprovalStatus::Pending || a.status == ApprovalStatus::Approved) {
    if (std::string why = outdated(a); !why.empty()) {
      if (close(ApprovalStatus::Cancelled, why))
        (void)audit_.record("controller", "approval.cancel", name, {{"reason", a.reason}});
      return ev;
    }
  }
  switch (ev.state) {
    case gmud::State::Rejected:
      close(ApprovalStatus::Rejected, name + " " + ev.blocked_by.front());
      return ev;
    case gmud::State::Expired:
      if (close(ApprovalStatus::Expired, name + " " + ev.blocked_by.front()))
        (void)audit_.record("controller", "approval.expire", name, {{"reason", a.reason}});
      return ev;
    case gmud::State::Cancelled:
      close(ApprovalStatus::Cancelled, name + " was cancelled");
      return ev;
    case gmud::State::Pending:
      open_[a.id] = a;
      if (!step)
        engine_.scheduler().annotate_gate(
            a.run_id, a.stage_id, "waiting for " + name + ": " + join_reasons(ev.blocked_by));
      return ev;
    case gmud::State::Approved:
      break;
  }
  if (a.status == ApprovalStatus::Pending) {
    a.status = ApprovalStatus::Approved;
    a.decided_at = engine_.now();
    a.values = decided_values(a);
    if (Status st = store_.gates().update_approval(a); !st) {
      open_[a.id] = a;  // approved, not yet recorded: settled again on the tick
      return ev;
    }
    events_.approval(a);
    log::info("gmud", "approval.approved", {{"approval", name}});
  }
  if (!ev.open) {
    open_[a.id] = a;  // a window or a freeze holds it; checked on the tick
    if (!step)
      engine_.scheduler().annotate_gate(a.run_id, a.stage_id,
                                        name + " approved; held: " + join_reasons(ev.blocked_by));
    return ev;
  }
  open_.erase(a.id);
  if (step) return ev;
  std::map<std::string, std::string> values = a.values;
  if (a.kind == GateKind::Gmud) values["GMUD_ID"] = name;
  engine_.scheduler().open_gate(a.run_id, a.stage_id, a.kind, values, engine_.now());
  return ev;
}

bool GateService::stage_waiting(int64_t run_id, const std::string& stage_id) const {
  const RunState* run = engine_.scheduler().run(run_id);
  if (!run) return false;
  for (const StageRecord& rec : run->stages) {
    if (rec.stage_id == stage_id) return rec.status == RunStatus::Waiting;
  }
  return false;
}

bool GateService::stage_running(const ApprovalRecord& a) const {
  const RunState* run = engine_.scheduler().run(a.run_id);
  if (!run) return false;
  for (const StageRecord& rec : run->stages) {
    if (rec.stage_id == a.stage_id) return rec.status == RunStatus::Running;
  }
  return false;
}

net::Response GateService::input_step(const Job& job, const std::string& body) {
  constexpr size_t kMaxQuestion = size_t{64} * 1024;
  if (body.size() > kMaxQuestion)
    return error(413, "too_large", "an input question is at most 64 KiB");
  GateRequest g;
  std::string why;
  if (!parse_input_question(body, g, why)) return error(400, "bad_request", why);
  const RunState* run = engine_.scheduler().run(job.run_id);
  if (!run) return error(409, "stale_epoch", "the job's run is over");
  g.run_id = job.run_id;
  g.stage_id = run->record_of(job.node).stage_id;
  g.step += "#" + std::to_string(job.attempt);  // a retried stage asks again
  int64_t id = 0;
  for (const ApprovalRecord& a : store_.gates().approvals_of_run(job.run_id)) {
    if (a.stage_id == g.stage_id && input_step_key(a) == g.step) id = a.id;
  }
  if (id == 0) {
    // The step asks again after a 503: nothing was stored.
    Result<int64_t> created = create_request(g);
    if (!created) return error_response(created.error());
    id = *created;
  }
  auto a = store_.gates().approval(id);
  if (!a) return error_response(a.error());
  if (!*a) return error(409, "stale_epoch", "the job's run is over");
  net::Response r;
  r.body = input_reply_json(**a);
  return r;
}

void GateService::show_current_quorum(ApprovalRecord& a) const {
  // A pending request is decided under today's policy (a reload may have
  // changed it); a closed one keeps the quorum it was decided with.
  if (a.kind != GateKind::Gmud || a.status != ApprovalStatus::Pending) return;
  if (std::optional<gmud::Policy> p = policy_of(a)) a.required = std::max(p->min_approvals, 1);
}

net::Response GateService::list(const net::Request& req, const Principal& who) {
  std::string status = query(req, "status");
  if (!status.empty() && !parse_approval_status(status))
    return error(
        400, "bad_request",
        "unknown status '" + status + "' (use pending, approved, rejected, expired or cancelled)");
  const RepoFilter readable = repos_allowing(who, Permission::Read);
  std::vector<ApprovalRecord> list =
      store_.gates().list_approvals(kMaxListed, status, readable.all ? nullptr : &readable.names);
  std::vector<gmud::Evaluation> evs;
  std::vector<Standing> standings;
  evs.reserve(list.size());
  for (ApprovalRecord& a : list) {
    evs.push_back(evaluate(a));
    standings.push_back(standing(a, who));
    show_current_quorum(a);
  }
  net::Response r;
  r.body = approvals_json(list, evs, &standings);
  return r;
}

Result<ApprovalRecord> GateService::find(const std::string& text) {
  int64_t id = 0;
  if (!parse_approval_id(text, id))
    return make_error(Errc::NotFound, "no change request '" + text + "'");
  auto a = store_.gates().approval(id);
  if (!a) return a.error();
  if (!*a) return make_error(Errc::NotFound, "no change request '" + text + "'");
  return std::move(**a);
}

net::Response GateService::show(const std::string& text, const Principal& who) {
  auto found = find(text);
  if (!found) return error_response(found.error());
  if (!principal_allows_on(who, Permission::Read, found->repo))
    return error(404, "not_found", "no change request '" + text + "'");
  ApprovalRecord* a = &*found;
  gmud::Evaluation ev = evaluate(*a);
  const Standing st = standing(*a, who);
  show_current_quorum(*a);
  net::Response r;
  r.body = approval_json(*a, ev, &st);
  return r;
}

Standing GateService::standing(const ApprovalRecord& a, const Principal& who) const {
  Standing s;
  if (a.status != ApprovalStatus::Pending) {
    s.why_not = approval_name(a) + " is " + std::string(to_string(a.status));
    return s;
  }
  std::optional<gmud::Policy> policy = policy_of(a);
  if (!policy) {
    s.why_not = "its environment has no GMUD policy any more";
    return s;
  }
  const gmud::Request request = gate_request_of(a);
  auto decided = [&](const std::string& name) {
    return std::any_of(a.decisions.begin(), a.decisions.end(),
                       [&](const DecisionRecord& d) { return d.user == name; });
  };
  bool found = false;
  for (const gmud::Person& p : people_of(a)) {
    std::optional<std::string> no = gmud::ineligible(*policy, request, p);
    if (!no && decided(p.name)) no = p.name + " has already decided";
    if (!no && s.deciders.size() < 50) s.deciders.push_back(p.name);
    if (p.name != who.name) continue;
    found = true;
    s.may_decide = !no;
    if (no) s.why_not = *no;
  }
  if (!found) s.why_not = who.name + " is not a configured user";
  return s;
}

net::Response GateService::decide(const std::string& text, const net::Request& req,
                                  const Principal& who, bool approve) {
  auto found = find(text);
  if (!found) return error_response(found.error());
  ApprovalRecord* a = &*found;
  const std::string name = approval_name(*a);
  const char* verb = approve ? "approve" : "reject";
  auto refuse = [&](const std::string& why) {
    audit_.refused(who, name, why, {{"action", verb}});
    return error(403, "forbidden", why);
  };
  if (!principal_allows_on(who, Permission::Read, a->repo)) {
    audit_.refused(who, name, "may not read repository '" + a->repo + "'", {{"action", verb}});
    return error(404, "not_found", "no change request '" + text + "'");
  }
  const Permission needed = a->kind == GateKind::Gmud ? Permission::Approve : Permission::Trigger;
  if (!principal_allows_on(who, needed, a->repo))
    return refuse(who.name + " may not " + verb + " " + name + " (their role lacks '" +
                  (a->kind == GateKind::Gmud ? "approve" : "trigger") + "')");
  std::string comment, why;
  std::map<std::string, std::string> values;
  if (!parse_decision(req.body, comment, values, why)) return error(400, "bad_request", why);
  if (!approve && comment.empty())
    return error(400, "bad_request", "a rejection needs a comment saying why (--comment)");
  if (!approve && !values.empty())
    return error(400, "bad_request", "parameters go with an approval, not a rejection");
  if (a->kind != GateKind::Input && !values.empty())
    return error(400, "bad_request", "parameters go with an input's approval, not a GMUD's");
  if (a->status != ApprovalStatus::Pending)
    return error(
        409, "conflict",
        name + " is " + std::string(to_string(a->status)) + "; it takes no more decisions");
  std::optional<gmud::Policy> policy = policy_of(*a);
  if (!policy)
    return error(409, "conflict", name + ": its environment has no GMUD policy any more");
  std::vector<gmud::Person> people = people_of(*a);
  auto person = std::find_if(people.begin(), people.end(),
                             [&](const gmud::Person& p) { return p.name == who.name; });
  if (person == people.end()) return refuse(who.name + " is not a configured user");
  if (auto ineligible = gmud::ineligible(*policy, gate_request_of(*a), *person))
    return refuse(*ineligible);
  if (approve && a->kind == GateKind::Input && !check_input_values(*a, values, why))
    return error(400, "bad_request", why);
  DecisionRecord d{who.name, approve, comment, engine_.now(), values};
  if (Status added = store_.gates().add_decision(a->id, d); !added) {
    if (added.error().code == Errc::Conflict)
      return error(409, "conflict", who.name + " has already decided on " + name);
    return error_response(added.error());
  }
  (void)audit_.record(
      who.name, approve ? "approval.approve" : "approval.reject", name,
      {{"run", std::to_string(a->run_id)}, {"stage", a->stage_id}, {"comment", comment}});
  log::info("gmud", approve ? "approval.approve" : "approval.reject",
            {{"approval", name}, {"user", who.name}});
  // One read and one evaluation: the decision joins the record we hold.
  a->decisions.push_back(std::move(d));
  gmud::Evaluation ev = settle(*a);
  (void)engine_.flush();  // the decision is stored; a gate it opened goes out when stored
  show_current_quorum(*a);
  net::Response r;
  r.body = approval_json(*a, ev);
  return r;
}

net::Response GateService::environments() {
  std::vector<EnvironmentView> views;
  ApprovalRecord probe;
  probe.kind = GateKind::Gmud;
  const std::vector<gmud::Person> people = people_of(probe);
  for (const auto& [name, env] : config_.environments) {
    EnvironmentView v{name, env.gated, {}};
    if (env.gated)
      v.explain = gmud::explain_policy(env.policy, people,
                                       gmud::Clock(std::chrono::seconds(engine_.now() / 1000)));
    views.push_back(std::move(v));
  }
  net::Response r;
  r.body = environments_json(views);
  return r;
}

}  // namespace gantry::controller
