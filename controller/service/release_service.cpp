// The release ledger (SPEC §8): every deploy stage that starts records a
// release R-<n> — environment, run, commit, strategy, the release it
// replaces (the environment's current one), the GMUD that allowed it — and
// its steps see RELEASE_ID, PREVIOUS_RELEASE and DEPLOY_ENV. The release
// ends with its stage. The environment's current release is its newest
// succeeded one. Recording happens at the stage's last gate ("release"), so
// the id exists before the job is handed out, and a restart finds it again.
#include "service/release_service.hpp"
#include "gantry/common/log.hpp"
#include "gantry/pipelines/stage_lookup.hpp"
#include "service/api_json.hpp"
#include "service/approvals_json.hpp"
#include "service/releases_json.hpp"

namespace gantry::controller {

Result<ReleaseRecord> ReleaseService::find(const std::string& text) {
  int64_t id = 0;
  if (!parse_release_id(text, id)) return make_error(Errc::NotFound, "no release '" + text + "'");
  auto r = store_.gates().release(id);
  if (!r) return r.error();
  if (!*r) return make_error(Errc::NotFound, "no release '" + text + "'");
  return std::move(**r);
}

Status ReleaseService::begin(const GateRequest& g) {
  const RunState* state = engine_.scheduler().run(g.run_id);
  if (!state) return ok();
  const RunRecord& run = state->run;
  std::optional<ReleaseRecord> r = store_.gates().release_of(run.id, g.stage_id);
  if (!r) {
    ReleaseRecord rec;
    rec.environment = g.environment;
    rec.run_id = run.id;
    rec.stage_id = g.stage_id;
    rec.repo = run.repo_name.empty() ? run.repo_url : run.repo_name;
    rec.commit = run.commit;
    rec.strategy = g.strategy.empty() ? "direct" : g.strategy;
    if (auto current = store_.gates().current_release(g.environment)) rec.previous = current->id;
    for (const ApprovalRecord& a : store_.gates().approvals_of_run(run.id)) {
      if (a.kind == GateKind::Gmud && a.stage_id == g.stage_id &&
          a.status == ApprovalStatus::Approved)
        rec.gmud = a.id;
    }
    rec.created_at = engine_.now();
    // No deploy goes out unrecorded: on a store failure the gate stays
    // shut and the caller asks again later.
    if (Result<int64_t> id = store_.gates().create_release(rec); !id) return id.error();
    emit(rec);
    log::info("releases", "release.started",
              {{"release", release_name(rec.id)}, {"environment", rec.environment}});
    (void)audit_.record("controller", "release.start", release_name(rec.id),
                        {{"environment", rec.environment},
                         {"run", std::to_string(run.id)},
                         {"commit", rec.commit},
                         {"previous", rec.previous ? release_name(rec.previous) : ""},
                         {"gmud", rec.gmud ? "GMUD-" + std::to_string(rec.gmud) : ""}});
    r = rec;
  }
  std::map<std::string, std::string> values = {
      {"RELEASE_ID", release_name(r->id)},
      {"PREVIOUS_RELEASE", r->previous ? release_name(r->previous) : ""}};
  engine_.scheduler().open_gate(run.id, g.stage_id, GateKind::Release, values, engine_.now());
  return ok();
}

void ReleaseService::stage_ended(const RunState& run, int record) {
  const StageRecord& rec = run.stages[static_cast<size_t>(record)];
  std::optional<ReleaseRecord> r = store_.gates().release_of(run.run.id, rec.stage_id);
  if (!r || r->status != ReleaseStatus::InProgress) return;
  // A deploy in phases knows how its release ended (a canary that rolled
  // itself back failed its stage, and is rolled_back).
  const std::optional<ReleaseStatus>& outcome = rec.rollout.outcome;
  if (outcome && *outcome != ReleaseStatus::InProgress) {
    r->status = *outcome;
  } else {
    r->status = is_success(rec.status) ? ReleaseStatus::Succeeded : ReleaseStatus::Failed;
  }
  r->reason = r->status == ReleaseStatus::Succeeded ? "" : rec.reason;
  r->finished_at = rec.finished_at;
  if (Status s = store_.gates().update_release(*r); !s) {
    log::error("releases", "release.update_failed",
               {{"release", release_name(r->id)}, {"error", s.error().message}});
  }
  emit(*r);
  log::info("releases", "release.ended",
            {{"release", release_name(r->id)}, {"status", std::string(to_string(r->status))}});
  if (r->status == ReleaseStatus::RolledBack)
    (void)audit_.record("controller", "release.rolled_back", release_name(r->id),
                        {{"run", std::to_string(r->run_id)}, {"reason", r->reason}});
}

std::string ReleaseService::progress(const ReleaseRecord& r) const {
  if (r.status != ReleaseStatus::InProgress) return "";
  const RunState* run = engine_.scheduler().run(r.run_id);
  if (!run) return "";
  for (const StageRecord& s : run->stages) {
    if (s.stage_id == r.stage_id)
      return std::string(to_string(s.status)) + (s.reason.empty() ? "" : ": " + s.reason);
  }
  return "";
}

std::variant<ReleaseService::Action, net::Response> ReleaseService::checked_action(
    const std::string& text, const net::Request& req, const Principal& who, Permission permission,
    const std::string& action, const std::string& phrase) {
  std::optional<ReleaseRecord> r;
  if (auto found = find(text); !found) {
    if (found.error().code != Errc::NotFound) return error_response(found.error());
  } else {
    r = std::move(*found);
  }
  // A release of a repository `who` may not read is not there for them.
  if (r && !principal_allows_on(who, Permission::Read, r->repo)) r.reset();
  const std::string name = r ? release_name(r->id) : text;
  if (r ? !principal_allows_on(who, permission, r->repo)
        : !principal_allows_somewhere(who, permission)) {
    std::string why =
        who.name + " may not " + phrase + " releases (their role lacks '" + action + "')";
    audit_.refused(who, name, why, {{"action", action}});
    return error(403, "forbidden", why);
  }
  if (!r) return error(404, "not_found", "no release '" + text + "'");
  std::string comment, why;
  std::map<std::string, std::string> values;
  if (!parse_decision(req.body, comment, values, why) || !values.empty())
    return error(400, "bad_request", why.empty() ? "a " + action + " takes only a comment" : why);
  return Action{*r, name, comment};
}

net::Response ReleaseService::steer(const std::string& text, const net::Request& req,
                                    const Principal& who, bool promote) {
  const char* verb = promote ? "promote" : "abort";
  auto checked =
      checked_action(text, req, who, promote ? Permission::Promote : Permission::Abort, verb, verb);
  if (auto* refused = std::get_if<net::Response>(&checked)) return *refused;
  auto& [release, name, comment] = std::get<Action>(checked);
  ReleaseRecord* r = &release;
  if (r->status != ReleaseStatus::InProgress) {
    std::string hint = !promote && r->status == ReleaseStatus::Succeeded
                           ? " (use gantry rollback " + name + ")"
                           : std::string();
    return error(409, "conflict",
                 "release " + name + " is not in progress (it is " +
                     std::string(to_string(r->status)) + ")" + hint);
  }
  std::string reason = std::string(promote ? "promoted" : "aborted") + " by " + who.name +
                       (comment.empty() ? "" : ": " + comment);
  std::string refused =
      promote ? engine_.scheduler().promote(r->run_id, r->stage_id, engine_.now())
              : engine_.scheduler().abort_deploy(r->run_id, r->stage_id, reason, engine_.now());
  if (!refused.empty())
    return error(
        409, "conflict",
        "release " + name + " cannot be " + (promote ? "promoted" : "aborted") + ": " + refused);
  (void)audit_.record(
      who.name, promote ? "release.promote" : "release.abort", name,
      {{"run", std::to_string(r->run_id)}, {"environment", r->environment}, {"comment", comment}});
  if (Status s = engine_.flush(); !s) return error_response(s.error());
  auto c = store_.gates().current_release(r->environment);
  net::Response resp;
  resp.body = release_json(*r, c && c->id == r->id, progress(*r));
  return resp;
}

net::Response ReleaseService::list(const net::Request& req, const Principal& who) {
  auto env = req.query.find("env");
  std::string environment = env == req.query.end() ? "" : env->second;
  const RepoFilter readable = repos_allowing(who, Permission::Read);
  std::vector<ReleaseRecord> list =
      store_.gates().list_releases(500, environment, readable.all ? nullptr : &readable.names);
  std::map<std::string, int64_t> current;
  std::map<int64_t, std::string> progresses;
  for (const ReleaseRecord& r : list) {
    if (r.status == ReleaseStatus::InProgress) progresses[r.id] = progress(r);
    if (!current.count(r.environment)) {
      auto c = store_.gates().current_release(r.environment);
      current[r.environment] = c ? c->id : 0;
    }
  }
  net::Response resp;
  resp.body = releases_json(list, current, progresses);
  return resp;
}

net::Response ReleaseService::show(const std::string& text, const Principal& who) {
  std::optional<ReleaseRecord> r;
  if (auto found = find(text); !found) {
    if (found.error().code != Errc::NotFound) return error_response(found.error());
  } else {
    r = std::move(*found);
  }
  if (!r || !principal_allows_on(who, Permission::Read, r->repo))
    return error(404, "not_found", "no release '" + text + "'");
  auto c = store_.gates().current_release(r->environment);
  net::Response resp;
  resp.body = release_json(*r, c && c->id == r->id, progress(*r));
  return resp;
}

net::Response ReleaseService::rollback(const std::string& text, const net::Request& req,
                                       const Principal& who) {
  auto checked = checked_action(text, req, who, Permission::Rollback, "rollback", "roll back");
  if (auto* refused = std::get_if<net::Response>(&checked)) return *refused;
  auto& [release, name, comment] = std::get<Action>(checked);
  ReleaseRecord* r = &release;
  if (r->status == ReleaseStatus::RolledBack)
    return error(409, "conflict", "release " + name + " is already rolled back");
  if (r->status == ReleaseStatus::InProgress)
    return error(409, "conflict",
                 "release " + name + " is still in progress (use gantry abort " + name + ")");
  std::optional<ReleaseRecord> current = store_.gates().current_release(r->environment);
  if (!current || current->id != r->id)
    return error(409, "conflict",
                 "release " + name + " is not the current release of " + r->environment + " (" +
                     (current ? release_name(current->id) + " is" : std::string("it has none")) +
                     ")");
  // A rollback under way: the one the release names, or one whose link to
  // the release a crash cut (the run is stored, and may have started,
  // before the release is updated below).
  int64_t active = 0;
  if (r->rollback_run != 0) {
    auto read = store_.runs().run(r->rollback_run);
    if (!read) return error_response(read.error());
    const std::optional<RunRecord>& running = *read;
    if (running && !is_finished(running->status)) active = r->rollback_run;
  }
  for (const RunRecord& u : store_.runs().unfinished_runs()) {
    if (active == 0 && u.rollback_of == r->id) active = u.id;
  }
  if (active != 0)
    return error(
        409, "conflict",
        "release " + name + " is being rolled back already (run " + std::to_string(active) + ")");
  auto read_original = store_.runs().run(r->run_id);
  if (!read_original) return error_response(read_original.error());
  const std::optional<RunRecord>& original = *read_original;
  if (!original) return error(409, "conflict", "the run of release " + name + " is gone");
  // A rollback with nothing to run would still make the previous release
  // current in the ledger while production kept this one: refuse it.
  pipelines::LoadResult loaded = load_run_pipeline(*original);
  const pipelines::Stage* stage =
      loaded.pipeline ? pipelines::find_stage(*loaded.pipeline, r->stage_id).stage : nullptr;
  if (!stage || !stage->deploy || stage->deploy->rollback.empty())
    return error(409, "conflict",
                 "release " + name + "'s stage '" + r->stage_id +
                     "' has no rollback steps: a rollback would run nothing; deploy the previous "
                     "release again instead");
  RunRecord rb;
  rb.job_name = original->job_name;
  rb.repo_url = original->repo_url;
  rb.repo_name = original->repo_name;
  rb.ref = original->ref;
  rb.commit = r->commit;
  rb.author = original->author;
  rb.author_email = original->author_email;
  rb.pipeline_path = original->pipeline_path;
  rb.pipeline_source = original->pipeline_source;
  rb.pipeline_format = original->pipeline_format;
  rb.params = original->params;
  rb.params["RELEASE_ID"] = name;
  rb.params["PREVIOUS_RELEASE"] = r->previous ? release_name(r->previous) : "";
  rb.trigger = "rollback of " + name;
  rb.created_by = who.name;
  rb.rollback_of = r->id;
  rb.rollback_stage = r->stage_id;
  if (Status s = engine_.start_run(rb); !s) return error_response(s.error());
  r->rollback_run = rb.id;
  r->rolled_back_by = who.name;
  // The run names its release (rollback_of): should this fail, the run's
  // end adopts the release (run_ended).
  (void)store_.gates().update_release(*r);
  emit(*r);
  (void)audit_.record(
      who.name, "release.rollback", name,
      {{"run", std::to_string(rb.id)}, {"environment", r->environment}, {"comment", comment}});
  net::Response resp;
  resp.status = 202;
  resp.body = rollback_started_json(*r, rb.id);
  return resp;
}

void ReleaseService::run_ended(const RunRecord& run) {
  auto read = store_.gates().release(run.rollback_of);
  if (!read) {
    log::error("releases", "release.read_failed",
               {{"run", std::to_string(run.id)}, {"error", read.error().message}});
    return;
  }
  std::optional<ReleaseRecord> r = *read;
  if (!r || r->status == ReleaseStatus::RolledBack) return;
  if (r->rollback_run != run.id) {
    if (r->rollback_run != 0) return;  // another rollback run holds the release
    // The controller died between storing this run and naming it on the
    // release: the run says whose rollback it is.
    r->rollback_run = run.id;
    if (r->rolled_back_by.empty()) r->rolled_back_by = run.created_by;
  }
  const std::string name = release_name(r->id);
  if (is_success(run.status)) {
    r->status = ReleaseStatus::RolledBack;
    r->reason = "rolled back by " + r->rolled_back_by + " (run " + std::to_string(run.id) + ")";
    (void)store_.gates().update_release(*r);
    emit(*r);
    (void)audit_.record("controller", "release.rolled_back", name,
                        {{"run", std::to_string(run.id)}});
  } else {
    r->rollback_run = 0;  // it may be tried again
    (void)store_.gates().update_release(*r);
    emit(*r);
    (void)audit_.record(
        "controller", "release.rollback_failed", name,
        {{"run", std::to_string(run.id)}, {"status", std::string(to_string(run.status))}});
  }
  log::info("releases", "release.rollback_ended",
            {{"release", name},
             {"run", std::to_string(run.id)},
             {"status", std::string(to_string(run.status))}});
}

}  // namespace gantry::controller
