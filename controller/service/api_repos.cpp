// Runs from git: the watched repositories' status, push webhooks, and the
// one path every git-started run takes (launch), whether a push, a cron
// trigger or `gantry trigger --repo` asked for it.
#include <climits>

#include "gantry/common/log.hpp"
#include "gantry/pipelines/loader.hpp"
#include "service/api_json.hpp"
#include "service/controller.hpp"
#include "service/git_workers.hpp"
#include "service/repo_watcher.hpp"
#include "webhook.hpp"

namespace gantry::controller {

std::string Controller::base_commit(const std::string& job_name) {
  // A run still waiting for its turn is replaced by a newer commit, so the
  // range of the newer one starts where the waiting one's did.
  if (const RunState* w = scheduler_->waiting_run(job_name)) return w->run.previous_commit;
  auto last = store_->last_run_with_commit(job_name, INT64_MAX, false);
  return last ? last->commit : std::string();
}

void Controller::audit_webhook_refusal(const std::string& repo, const std::string& remote,
                                       const std::string& why) {
  // The hook route takes no token, so anyone who reaches it could grow the
  // audit table: at most kAuditedRefusals entries a minute, then log lines,
  // and one entry with the count when the next minute's first one comes.
  constexpr int kAuditedRefusals = 30;
  const int64_t t = now();
  if (t - refusal_window_start_ >= 60000) {
    if (refusals_suppressed_ > 0)
      audit("webhook", "webhook.refused_suppressed", "",
            {{"count", std::to_string(refusals_suppressed_)}});
    refusal_window_start_ = t;
    refusals_in_window_ = 0;
    refusals_suppressed_ = 0;
  }
  if (++refusals_in_window_ <= kAuditedRefusals) {
    audit("webhook", "webhook.refused", repo, {{"remote", remote}, {"reason", why}});
    return;
  }
  ++refusals_suppressed_;
  log::warn("repos", "webhook.refused",
            {{"repo", repo}, {"remote", remote}, {"reason", why}, {"audited", "no (rate)"}});
}

void Controller::start_triggered(const RepoTrigger& t) {
  RunRecord run;
  run.job_name = t.job_name;
  run.repo_name = t.repo;
  run.repo_url = t.url;
  run.ref = t.ref;
  run.trigger = t.trigger;
  run.created_by = t.trigger == "cron" ? "cron" : "git";
  launch(std::move(run), t.pipeline);
}

void Controller::launch(RunRecord run, const ResolvedPipeline& p) {
  if (!p.ok) {
    run.commit = p.commit;
    run.author = p.author;
    run.author_email = p.author_email;
    fail_run(run, p.error);
    return;
  }
  run.commit = p.commit;
  run.pipeline_source = p.source;
  run.pipeline_path = p.path;
  run.pipeline_format = p.format;
  run.author = p.author;
  run.author_email = p.author_email;
  run.changes = p.changes;
  run.previous_commit = p.base_commit;
  auto ok_before = store_->last_run_with_commit(run.job_name, run.id ? run.id : INT64_MAX, true);
  run.previous_successful_commit = ok_before ? ok_before->commit : "";

  // Coalesce: a push while the branch's previous push still waits its turn
  // gives that run the newer commit instead of queueing another.
  const RunState* waiting =
      run.id == 0 && run.trigger == "push" ? scheduler_->waiting_run(run.job_name) : nullptr;
  if (waiting && waiting->run.trigger == "push") {
    const RunRecord& w = waiting->run;
    log::info("controller", "run.coalesced",
              {{"run", std::to_string(w.id)}, {"from", w.commit}, {"to", run.commit}});
    run.id = w.id;
    run.number = w.number;
    run.created_at = w.created_at;
    run.created_by = w.created_by;
    if (auto e = scheduler_->replace_waiting(run)) {
      // The newer commit's pipeline does not load: the waiting run keeps its
      // commit and the newer one is recorded as failed on its own.
      run.id = 0;
      run.number = 0;
    } else {
      store_->transaction([&] { return store_->update_run(run) && store_->delete_stages(run.id); });
      flush();
      return;
    }
  }
  if (run.id == 0) run.created_at = now();
  if (run.id == 0 && store_->create_run(run) == 0) {
    log::error("controller", "run.store_failed", {{"job", run.job_name}});
    return;
  }
  store_->update_run(run);
  auto prev = store_->previous_run(run.job_name, run.id);
  if (auto e =
          scheduler_->submit(run, {}, now(), prev ? result_name_for_status(prev->status) : "")) {
    // The lint errors, every one, as `gantry lint` prints them.
    auto loaded = pipelines::load_pipeline(run.pipeline_source,
                                           pipelines::format_for_path(run.pipeline_path));
    fail_run(run, run.pipeline_path + ":" + *e,
             pipelines::render_all(loaded.diagnostics, run.pipeline_path, run.pipeline_source));
    return;
  }
  log::info("controller", "run.created",
            {{"run", std::to_string(run.id)},
             {"job", run.job_name},
             {"commit", run.commit},
             {"trigger", run.trigger}});
  flush();
}

net::Response Controller::git_hook(const net::Request& req) {
  PushEvent event;
  if (auto e = parse_push(req.headers, req.body, event)) return error(400, "bad_request", *e);
  // Which repository: ?repo=NAME, else the one whose URL the payload names.
  const RepositoryConfig* repo = nullptr;
  auto named = req.query.find("repo");
  if (named != req.query.end()) {
    repo = watcher_->find(named->second);
  } else {
    for (const RepositoryConfig& r : config_.repositories) {
      if (names_repository(event, r.url)) repo = &r;
    }
  }
  if (!repo) {
    std::string which = named != req.query.end()   ? named->second
                        : event.repo_names.empty() ? std::string("(unnamed)")
                                                   : event.repo_names.front();
    return error(404, "not_found",
                 "no watched repository matches " + which +
                     " (configure it under repositories:, or add ?repo=NAME to the hook URL)");
  }
  std::string why;
  if (!verify_signature(req.headers, req.body, repo->webhook_secret, why)) {
    audit_webhook_refusal(repo->name, req.remote, why);
    return error(401, "bad_signature", why);
  }
  log::info("repos", "webhook",
            {{"repo", repo->name},
             {"provider", event.provider},
             {"event", event.event},
             {"ref", event.ref}});
  net::Response r;
  if (event.event == "ping") {
    r.body = R"({"ok":true,"event":"ping"})";
    return r;
  }
  watcher_->fetch_now(repo->name);
  r.status = 202;
  r.body = R"({"ok":true,"fetching":true})";
  return r;
}

net::Response Controller::list_repos() {
  net::Response r;
  r.body = repos_json(watcher_->status());
  return r;
}

}  // namespace gantry::controller
