// Runs (run_service.hpp): /api/v1/runs, the repositories' status and
// webhooks, and launch(), the one path of every git-started run.
#include <algorithm>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <tuple>

#include "forge_changes.hpp"
#include "gantry/common/log.hpp"
#include "gantry/pipelines/groovy_parser.hpp"
#include "gantry/pipelines/libraries.hpp"
#include "gantry/pipelines/loader.hpp"
#include "gantry/pipelines/run_parameters.hpp"
#include "gantry/pipelines/yaml_frontend.hpp"
#include "service/api_json.hpp"
#include "service/change_poller.hpp"
#include "service/commit_status.hpp"
#include "service/git_workers.hpp"
#include "service/log_files.hpp"
#include "service/repo_watcher.hpp"
#include "service/run_service.hpp"

#include "service/commit_status.hpp"
#include "webhook.hpp"

namespace gantry::controller {

namespace fs = std::filesystem;

namespace {

net::Response json_ok(std::string body, int status = 200) {
  net::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::string job_name_for(const std::string& repo) {
  std::string name = repo;
  while (!name.empty() && (name.back() == '/')) name.pop_back();
  auto slash = name.find_last_of("/:");
  if (slash != std::string::npos) name = name.substr(slash + 1);
  if (name.size() > 4 && name.compare(name.size() - 4, 4, ".git") == 0)
    name.resize(name.size() - 4);
  return name.empty() ? "pipeline" : name;
}

// A stored run: NotFound when there is none, Unavailable when the store failed.
Result<RunRecord> stored_run(Store& store, int64_t id) {
  auto run = store.runs().run(id);
  if (!run) return run.error();
  if (!*run) return make_error(Errc::NotFound, "no run " + std::to_string(id));
  return std::move(**run);
}

// Bytes `text` takes as a JSON string (escapes counted; non-ASCII bytes at
// their worst, U+FFFD for an invalid sequence).
size_t json_size(std::string_view text) {
  size_t n = 2;
  for (unsigned char c : text) n += c < 0x20 ? 6 : (c == '"' || c == '\\') ? 2 : c >= 0x80 ? 3 : 1;
  return n;
}

// A running run whose stages all wait for a gate (a GMUD, an input) and none runs is shown as
// `waiting`, so lists say which runs need someone; the stored status stays `running`.
RunRecord as_shown(const RunState& live) {
  RunRecord r = live.run;
  if (r.status != RunStatus::Running) return r;
  bool gate = false;
  for (const StageRecord& s : live.stages) {
    if (s.status == RunStatus::Running || s.status == RunStatus::Queued) return r;
    gate = gate || s.status == RunStatus::Waiting;
  }
  if (gate) r.status = RunStatus::Waiting;
  return r;
}

}  // namespace

net::Response error_response(const Error& e) {
  switch (e.code) {
    case Errc::NotFound:
      return error(404, "not_found", e.message);
    case Errc::Invalid:
      return error(400, "bad_request", e.message);
    case Errc::Conflict:
      return error(409, "conflict", e.message);
    case Errc::TooLarge:
      return error(413, "too_large", e.message);
    case Errc::Forbidden:
      return error(403, "forbidden", e.message);
    case Errc::Unavailable: {
      net::Response r = error(503, "unavailable", e.message);
      r.headers.push_back({"Retry-After", "1"});
      return r;
    }
    case Errc::Busy: {
      net::Response r = error(503, "busy", e.message);
      r.headers.push_back({"Retry-After", "1"});
      return r;
    }
    case Errc::Internal:
      break;
  }
  return error(500, "internal", e.message);
}

RunService::RunService(Engine& engine, Store& store, AuditLog& audit, const Config& config,
                       RunLimits limits)
    : engine_(engine), store_(store), audit_(audit), config_(config), limits_(limits) {}

std::string RunService::oversize(const std::string& source,
                                 const std::map<std::string, std::string>& params) const {
  auto kib = [](size_t n) { return std::to_string(n >> 10) + " KiB"; };
  if (params.size() > limits_.max_params)
    return "too many parameters: " + std::to_string(params.size()) + " (at most " +
           std::to_string(limits_.max_params) + ")";
  size_t total = 0, payload = json_size(source);
  for (const auto& [name, value] : params) {
    if (value.size() > limits_.max_param_value)
      return "parameter " + name.substr(0, 64) + " is " + std::to_string(value.size()) +
             " bytes (at most " + kib(limits_.max_param_value) + " each)";
    total += name.size() + value.size();
    payload += json_size(name) + json_size(value);
  }
  if (total > limits_.max_params_total)
    return "the parameters are " + std::to_string(total) + " bytes in all (at most " +
           kib(limits_.max_params_total) + ")";
  if (payload > limits_.max_assignment_payload)
    return "the pipeline and its parameters take " + std::to_string(payload) +
           " bytes as sent to an agent (at most " + kib(limits_.max_assignment_payload) +
           "); keep large data in the repository or in artifacts";
  return {};
}

net::Response RunService::create(const net::Request& req, const Principal& who) {
  CreateRunRequest c;
  std::string err;
  if (!parse_create_run(req.body, c, err)) return error(400, "bad_request", err);
  if (std::string why = oversize(c.source, c.params); !why.empty())
    return error(422, "too_large", why);
  for (const auto& [name, value] : c.params) {
    if (std::string why = pipelines::reserved_parameter(name); !why.empty())
      return error(400, "bad_parameter", why);
  }
  const RepositoryConfig* configured =
      c.source.empty() && watcher_ ? watcher_->find(c.repo) : nullptr;
  // A role granted on a repository starts runs of that repository only; anything else needs the
  // global role.
  if (!principal_allows_on(who, Permission::Trigger, configured ? configured->name : "")) {
    std::string why = who.name + " may not trigger runs of " +
                      (configured         ? "repository '" + configured->name + "'"
                       : c.source.empty() ? "'" + c.repo + "'"
                                          : std::string("an inline pipeline"));
    audit_.refused(who, "/api/v1/runs", why, {{"method", "POST"}});
    return error(403, "forbidden", why);
  }
  // Neither a configured name nor something git could fetch (a URL, a path): a typo.
  if (c.source.empty() && watcher_ && !configured && c.repo.find(':') == std::string::npos &&
      c.repo.find('@') == std::string::npos && (c.repo.empty() || c.repo.front() != '/'))
    return error(404, "not_found", "no repository '" + c.repo + "'" + known_repos(&who));
  if (std::string why = unconfigured_refusal(c);
      !why.empty() && !principal_allows(who, Permission::Admin)) {
    audit_.refused(who, "/api/v1/runs", why, {{"method", "POST"}});
    return error(403, "forbidden", why);
  }
  RunRecord run;
  run.created_by = who.name;
  run.trigger = "api";
  run.params = c.params;
  run.ref = c.ref;
  if (!c.source.empty()) {
    run.job_name = c.job.empty() ? "pipeline" : c.job;
    run.pipeline_source = c.source;
    run.pipeline_format = c.format.empty() ? "jenkinsfile" : c.format;
    run.pipeline_path = c.file.empty() ? "(inline)" : c.file;
    if (git_ && needs_libraries(run)) {
      // Its shared libraries are read from git first, on a worker; the run starts after.
      run.status = RunStatus::Queued;
      run.created_at = engine_.now();
      if (Result<int64_t> id = store_.runs().create_run(run); !id)
        return error_response(id.error());
      ResolveRequest rr;
      rr.inline_source = run.pipeline_source;
      rr.inline_format = run.pipeline_format;
      if (!git_->resolve(rr, [this, run](const ResolvedPipeline& r) mutable { launch(run, r); })) {
        (void)engine_.fail_run(run, "the controller is busy reading other pipelines; try again");
        return error(503, "busy", "too many pipelines are being read; try again");
      }
      return json_ok(run_json(shown(run, nullptr), nullptr), 201);
    }
    auto loaded = load_run_pipeline(run);
    if (!loaded.pipeline) {
      std::string text =
          pipelines::render_all(loaded.diagnostics, run.pipeline_path, run.pipeline_source);
      return error(422, "invalid_pipeline", text);
    }
    if (std::string why = pipelines::check_run_parameters(*loaded.pipeline, run.params);
        !why.empty())
      return error(400, "bad_parameter", why);
    const std::map<std::string, std::string> shown =
        pipelines::shown_parameters(*loaded.pipeline, run.params);
    if (Status s = engine_.start_run(run, std::move(loaded.pipeline)); !s)
      return error_response(s.error());
    RunRecord response = run;
    response.params = shown;
    return json_ok(run_json(response, nullptr), 201);
  }
  if (!git_ || !watcher_) return error(503, "unavailable", "this controller reads no repositories");
  // From a repository: read the pipeline at the ref's commit on a worker.
  // `repo` is a configured repository's name (SPEC §10, NAME_OR_URL) or a URL.
  ResolveRequest rr;
  rr.file = c.file;
  run.repo_url = c.repo;
  run.job_name = c.job.empty() ? job_name_for(c.repo) : c.job;
  if (const RepositoryConfig* r = watcher_->find(c.repo)) {
    // A typo is an error, not a failed run; a branch pushed since the last fetch is fetched now,
    // so the same trigger works a moment later.
    if (std::string why = watcher_->unknown_ref(r->name, c.ref); !why.empty()) {
      watcher_->fetch_now(r->name);
      return error(404, "unknown_ref",
                   why + "; fetching it again now: if the branch is new, try again in a moment");
    }
    // The branch's own job, as a push would start it: same numbering, same
    // change range, same disableConcurrentBuilds queue.
    run.repo_url = r->url;
    run.repo_name = r->name;
    run.ref = watcher_->full_ref(r->name, c.ref);
    if (c.job.empty()) run.job_name = RepoWatcher::job_name(r->name, run.ref);
    // The default name keeps its .gantry.yml fallback.
    if (c.file.empty() && r->pipeline != "Jenkinsfile") rr.file = r->pipeline;
  }
  if (run.ref.empty()) run.ref = "HEAD";
  run.status = RunStatus::Queued;
  run.created_at = engine_.now();
  if (Result<int64_t> id = store_.runs().create_run(run); !id) return error_response(id.error());
  rr.url = run.repo_url;
  rr.ref = run.ref;
  rr.base_commit = base_commit(run.job_name);
  bool queued =
      git_->resolve(rr, [this, run](const ResolvedPipeline& r) mutable { launch(run, r); });
  if (!queued) {
    (void)engine_.fail_run(run, "the controller is busy reading other pipelines; try again");
    return error(503, "busy", "too many pipelines are being read; try again");
  }
  return json_ok(run_json(shown(run, nullptr), nullptr), 201);
}

bool RunService::needs_libraries(const RunRecord& run) const {
  if (config_.skip_unknown_libraries && config_.libraries.empty()) return false;
  for (const LibraryConfig& lib : config_.libraries) {
    if (lib.implicit) return true;
  }
  if (run.pipeline_source.find("@Library") != std::string::npos) return true;
  if (run.pipeline_source.find("library") == std::string::npos) return false;
  auto asked = pipelines::find_library_requests(
      run.pipeline_source, run.pipeline_format == "yaml" ? pipelines::SourceFormat::Yaml
                                                         : pipelines::SourceFormat::Jenkinsfile);
  return asked && !asked->wanted.empty();
}

RunRecord RunService::shown(RunRecord run, const pipelines::Pipeline* pipeline) {
  if (run.params.empty()) return run;
  if (pipeline) {
    run.params = pipelines::shown_parameters(*pipeline, std::move(run.params));
    return run;
  }
  pipelines::LoadResult loaded = load_run_pipeline(run);
  if (loaded.pipeline) {
    run.params = pipelines::shown_parameters(*loaded.pipeline, std::move(run.params));
  } else {
    // Which ones are passwords is not known (not read yet, or unreadable): none is shown.
    for (auto& [name, value] : run.params) value = "****";
  }
  return run;
}

std::string RunService::unconfigured_refusal(const CreateRunRequest& c) const {
  if (!c.source.empty()) {
    return "an inline pipeline may be run by admins only: commit it to a configured repository "
           "(or `gantry run` it locally)";
  }
  if (watcher_ && watcher_->find(c.repo)) return {};
  // A path segment ".." could climb out of an allowed prefix.
  const bool climbs = c.repo.find("/..") != std::string::npos ||
                      c.repo.find("%2e") != std::string::npos ||
                      c.repo.find("%2E") != std::string::npos;
  for (const std::string& prefix : config_.allowed_run_urls) {
    if (!climbs && c.repo.rfind(prefix, 0) == 0) return {};
  }
  std::string why = "'" + c.repo + "' is not a configured repository";
  if (config_.allowed_run_urls.empty()) return why + "; only admins may run other URLs";
  why += ", and not under the URLs developers may run (";
  for (size_t i = 0; i < config_.allowed_run_urls.size(); ++i)
    why += (i ? ", " : "") + config_.allowed_run_urls[i];
  return why + ")";
}

net::Response RunService::list(const net::Request& req, const Principal& who) {
  // A page of summaries: never the pipeline sources or parameters in bulk.
  size_t limit = static_cast<size_t>(std::min<uint64_t>(query_u64(req, "limit", 50), 500));
  int64_t before = static_cast<int64_t>(query_u64(req, "before", 0));
  RunFilter filter;
  filter.status = query(req, "status");
  if (!filter.status.empty() && !parse_run_status(filter.status))
    return error(400, "bad_request",
                 "unknown status '" + filter.status +
                     "' (use queued, waiting, running, succeeded, failed, unstable, aborted or "
                     "skipped)");
  filter.job = query(req, "job");
  filter.number = static_cast<int64_t>(query_u64(req, "number", 0));
  filter.repo = query(req, "repo");
  filter.ref = query(req, "branch");
  filter.created_by = query(req, "user");
  if (!filter.repo.empty() && watcher_ && !watcher_->find(filter.repo))
    return error(404, "not_found", "no repository '" + filter.repo + "'" + known_repos(&who));
  const RepoFilter readable = repos_allowing(who, Permission::Read);
  filter.repos = readable.all ? nullptr : &readable.names;
  // `waiting` as shown: runs queued behind another (stored so) and running ones whose stages all
  // wait on a gate (stored as running).
  const bool waiting = filter.status == "waiting";
  std::vector<RunRecord> runs = store_.runs().list_runs(limit, before, filter);
  if (waiting) {
    filter.status = "running";
    for (RunRecord& r : store_.runs().list_runs(limit, before, filter))
      runs.push_back(std::move(r));
    std::sort(runs.begin(), runs.end(),
              [](const RunRecord& a, const RunRecord& b) { return a.id > b.id; });
  }
  if (runs.empty() && !store_.healthy()) return error_response(store_.last_failure());
  for (RunRecord& r : runs) {
    if (const RunState* live = engine_.scheduler().run(r.id)) r = as_shown(*live);
    r.pipeline_source.clear();
    r.params.clear();
  }
  if (waiting) {
    std::erase_if(runs, [](const RunRecord& r) { return r.status != RunStatus::Waiting; });
    if (runs.size() > limit) runs.resize(limit);
  }
  return json_ok(runs_json(runs));
}

std::string RunService::known_repos(const Principal* who) const {
  if (!watcher_) return {};
  std::string names;
  for (const RepoStatus& r : watcher_->status()) {
    if (!who || principal_allows_on(*who, Permission::Read, r.name))
      names += (names.empty() ? "" : ", ") + r.name;
  }
  return names.empty() ? " (no repository is configured)" : " (configured: " + names + ")";
}

net::Response RunService::show(int64_t id) {
  auto links_of = [&](const RunRecord& r) {
    RunLinks links;
    if (r.upstream_run != 0) {
      if (const RunState* up = engine_.scheduler().run(r.upstream_run)) {
        links.upstream = up->run;
      } else if (auto stored = store_.runs().run(r.upstream_run); stored && *stored) {
        links.upstream = std::move(**stored);
      }
    }
    links.downstream = store_.runs().downstream_of(id, 100);
    for (RunRecord& d : links.downstream) {
      if (const RunState* live = engine_.scheduler().run(d.id)) d.status = as_shown(*live).status;
    }
    return links;
  };
  if (const RunState* live = engine_.scheduler().run(id)) {
    RunLinks links = links_of(live->run);
    return json_ok(
        with_reports(run_json(shown(as_shown(*live), &live->pipeline), &live->stages, &links), id));
  }
  Result<RunRecord> run = stored_run(store_, id);
  if (!run) return error_response(run.error());
  std::vector<StageRecord> stages = store_.runs().stages(id);
  RunLinks links = links_of(*run);
  return json_ok(with_reports(run_json(shown(*run, nullptr), &stages, &links), id));
}

// A developer's own run (SPEC §9, cancel own runs; issue 18): one they started, or one their
// push started, known by the pusher a webhook named or by the e-mail of the commit's author.
bool owns_run(const Principal& who, const RunRecord& run) {
  if (run.created_by == who.name) return true;
  auto mine = [&](const std::string& email) {
    return !email.empty() &&
           std::find(who.emails.begin(), who.emails.end(), email) != who.emails.end();
  };
  for (const InstigatorRecord& p : run.pushers) {
    if (p.name == who.name || mine(p.email)) return true;
  }
  return run.created_by == "git" && mine(run.author_email);
}

net::Response RunService::cancel(int64_t id, const Principal& who) {
  Result<RunRecord> run = stored_run(store_, id);
  if (!run) return error_response(run.error());
  bool own = owns_run(who, *run) && principal_allows_on(who, Permission::CancelOwn, run->repo_name);
  if (!own && !principal_allows_on(who, Permission::Cancel, run->repo_name)) {
    audit_.refused(who, "/api/v1/runs/" + std::to_string(id) + "/cancel",
                   "may not cancel run " + std::to_string(id), {{"method", "POST"}});
    return error(403, "forbidden",
                 who.name + " may not cancel run " + std::to_string(id) +
                     " (someone else's run: cancelling it needs the operator role)");
  }
  if (!engine_.scheduler().cancel_run(id, "cancelled by " + who.name, engine_.now()))
    return error(409, "conflict",
                 "run " + std::to_string(id) + " is not running (" +
                     std::string(to_string(run->status)) + ")");
  (void)audit_.record(who.name, "run.cancel", "run " + std::to_string(id),
                      {{"status", std::string(to_string(run->status))}});
  // The cancel is in the scheduler; it reaches the agent once stored.
  if (Status s = engine_.flush(); !s) return error_response(s.error());
  return show(id);
}

net::Response RunService::retry(int64_t id, const net::Request& req, const Principal& who) {
  Result<RunRecord> old = stored_run(store_, id);
  if (!old) return error_response(old.error());
  const bool own =
      owns_run(who, *old) && principal_allows_on(who, Permission::RetryOwn, old->repo_name);
  if (!own && !principal_allows_on(who, Permission::Retry, old->repo_name)) {
    audit_.refused(who, "/api/v1/runs/" + std::to_string(id) + "/retry",
                   "may not retry run " + std::to_string(id), {{"method", "POST"}});
    return error(403, "forbidden",
                 who.name + " may not retry run " + std::to_string(id) +
                     " (someone else's run: retrying it needs the operator role)");
  }
  if (!is_finished(old->status))
    return error(409, "conflict",
                 "run " + std::to_string(id) + " is still " + std::string(to_string(old->status)));
  if (old->pipeline_source.empty())
    return error(409, "conflict",
                 "run " + std::to_string(id) + " never read its pipeline: " + old->reason);
  // A restart from a top-level stage (Jenkins' "Restart from Stage"), or from the first one
  // that did not succeed (--failed): the stages before it are skipped, their stashes kept.
  std::string restart;
  if (!req.body.empty()) {
    nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
    if (!body.is_object()) return error(400, "bad_request", "the body must be a JSON object");
    for (const auto& [key, value] : body.items()) {
      if (key != "from_stage" && key != "failed")
        return error(400, "bad_request", "unknown field '" + key + "' (from_stage, failed)");
    }
    std::vector<std::string> tops;
    std::string first_bad;
    for (const StageRecord& st : store_.runs().stages(id)) {
      if (st.stage_id.find(" / ") != std::string::npos ||
          st.stage_id == "Declarative: Post Actions")
        continue;
      tops.push_back(st.stage_id);
      const bool bad = st.status == RunStatus::Failed || st.status == RunStatus::Aborted ||
                       st.status == RunStatus::Unstable;
      if (bad && first_bad.empty()) first_bad = st.stage_id;
    }
    if (body.contains("from_stage")) {
      if (!body["from_stage"].is_string())
        return error(400, "bad_request", "from_stage is a stage name");
      restart = body["from_stage"].get<std::string>();
      if (std::find(tops.begin(), tops.end(), restart) == tops.end()) {
        std::string names;
        for (const std::string& t : tops) names += (names.empty() ? "" : ", ") + t;
        return error(400, "bad_request",
                     "run " + std::to_string(id) + " has no top-level stage '" + restart +
                         "' to restart from (its stages: " + names + ")");
      }
    } else if (body.value("failed", false)) {
      if (first_bad.empty())
        return error(409, "conflict", "run " + std::to_string(id) + " has no failed stage");
      restart = first_bad;
    }
  }
  RunRecord run;
  run.restart_stage = restart;
  run.job_name = old->job_name;
  run.repo_url = old->repo_url;
  run.ref = old->ref;
  run.commit = old->commit;
  run.author = old->author;
  run.pipeline_path = old->pipeline_path;
  run.pipeline_source = old->pipeline_source;
  run.pipeline_format = old->pipeline_format;
  run.repo_name = old->repo_name;
  run.author_email = old->author_email;
  run.changes = old->changes;
  run.previous_commit = old->previous_commit;
  run.params = old->params;
  run.trigger = restart.empty()
                    ? "retry of " + std::to_string(old->id)
                    : "restart of " + std::to_string(old->id) + " from '" + restart + "'";
  run.created_by = who.name;
  // Whoever set the retried run going still may not approve what it ships
  // (its trigger is found through retry_of; its pushers travel along).
  run.retry_of = old->id;
  run.pushers = old->pushers;
  if (Status s = engine_.start_run(run); !s) return error_response(s.error());
  Result<RunRecord> stored = stored_run(store_, run.id);
  return json_ok(run_json(shown(stored ? *stored : run, nullptr), nullptr), 201);
}

Result<StageRecord> RunService::stage_of(int64_t id, const std::string& stage) {
  std::vector<StageRecord> stages;
  if (const RunState* live = engine_.scheduler().run(id)) {
    stages = live->stages;
  } else {
    if (Result<RunRecord> run = stored_run(store_, id); !run) return run.error();
    stages = store_.runs().stages(id);
  }
  for (StageRecord& s : stages) {
    if (s.stage_id == stage) return std::move(s);
  }
  return Error{Errc::NotFound, "run " + std::to_string(id) + " has no stage '" + stage + "'"};
}

net::Response RunService::stage_log(int64_t id, const net::Request& req) {
  Result<StageRecord> found = stage_of(id, query(req, "stage"));
  if (!found) return error_response(found.error());
  const StageRecord* rec = &*found;
  int attempt = static_cast<int>(
      query_u64(req, "attempt", static_cast<uint64_t>(std::max(1, rec->attempts))));
  uint64_t offset = query_u64(req, "offset", 0);
  std::string path = store_.log_path(id, rec->stage_id, attempt);
  uint64_t size = LogFiles::file_size(path);
  net::Response r;
  r.content_type = "text/plain; charset=utf-8";
  r.headers.push_back({"X-Gantry-Log-Size", std::to_string(size)});
  r.headers.push_back({"X-Gantry-Stage-Status", std::string(to_string(rec->status))});
  // The line `offset` starts (counted from 0), for the page's line numbers: read only while
  // that is cheap (the first kMaxLineCountBytes of a log).
  if (offset == 0) {
    r.headers.push_back({"X-Gantry-Log-Line", "0"});
  } else if (offset <= size && offset <= kMaxLineCountBytes) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> buf(1 << 16);
    uint64_t left = offset, lines = 0;
    while (in && left > 0) {
      in.read(buf.data(), static_cast<std::streamsize>(std::min<uint64_t>(left, buf.size())));
      const auto got = static_cast<size_t>(in.gcount());
      if (got == 0) break;
      lines += static_cast<uint64_t>(std::count(buf.data(), buf.data() + got, '\n'));
      left -= got;
    }
    if (left == 0) r.headers.push_back({"X-Gantry-Log-Line", std::to_string(lines)});
  }
  if (offset < size) {
    r.file_path = path;
    r.file_offset = offset;
  }
  return r;
}

net::Response RunService::list_artifacts(int64_t id) {
  if (Result<RunRecord> run = stored_run(store_, id); !run) return error_response(run.error());
  return json_ok(artifacts_json(store_.runs().artifacts(id)));
}

net::Response RunService::log_times(int64_t id, const net::Request& req) {
  Result<StageRecord> rec = stage_of(id, query(req, "stage"));
  if (!rec) return error_response(rec.error());
  const int attempt = static_cast<int>(
      query_u64(req, "attempt", static_cast<uint64_t>(std::max(1, rec->attempts))));
  std::ifstream in(store_.log_path(id, rec->stage_id, attempt) + ".times");
  nlohmann::json marks = nlohmann::json::array();
  unsigned long long offset = 0;
  long long at = 0;
  constexpr size_t kMaxMarks = 100000;  // a day of output at one mark a second
  while (marks.size() < kMaxMarks && in >> offset >> at) marks.push_back({offset, at});
  return json_ok(nlohmann::json{{"marks", std::move(marks)}}.dump());
}

net::Response RunService::list_tests(int64_t id, const net::Request& req) {
  Result<RunRecord> run = stored_run(store_, id);
  if (!run) return error_response(run.error());
  const std::string status = query(req, "status");
  if (!status.empty() && status != "failed" && status != "skipped" && status != "passed")
    return error(400, "bad_request",
                 "unknown test status '" + status + "' (failed, skipped or passed)");
  const size_t limit =
      static_cast<size_t>(std::clamp<uint64_t>(query_u64(req, "limit", 1000), 1, 5000));
  // Records are named "STAGE#ATTEMPT#N": only a stage's last attempt with reports counts.
  std::vector<std::pair<int, ArtifactRecord>> records;  // by attempt
  std::map<std::string, int> last_attempt;
  for (ArtifactRecord& a : store_.runs().artifacts(id)) {
    const size_t n = a.kind == "tests" ? a.name.rfind('#') : std::string::npos;
    const size_t at = n == std::string::npos || n == 0 ? n : a.name.rfind('#', n - 1);
    if (at == std::string::npos) continue;
    const int attempt = std::atoi(a.name.c_str() + at + 1);
    int& last = last_attempt[a.stage_id];
    last = std::max(last, attempt);
    records.emplace_back(attempt, std::move(a));
  }
  std::map<std::string, int> order;
  for (const StageRecord& s : store_.runs().stages(id)) order[s.stage_id] = s.order;
  std::stable_sort(records.begin(), records.end(), [&](const auto& a, const auto& b) {
    return std::tuple(order[a.second.stage_id], a.second.created_at) <
           std::tuple(order[b.second.stage_id], b.second.created_at);
  });
  std::vector<std::pair<std::string, std::string>> reports;
  for (const auto& [attempt, a] : records) {
    if (attempt != last_attempt[a.stage_id]) continue;
    std::ifstream in(a.file, std::ios::binary);
    std::string text;
    if (in && a.size <= (uint64_t{32} << 20)) text.assign(std::istreambuf_iterator<char>(in), {});
    reports.emplace_back(a.stage_id, std::move(text));  // gone (pruned): counted unreadable
  }
  return json_ok(tests_json(*run, reports, status, limit));
}

net::Response RunService::get_artifact(int64_t id, const net::Request& req) {
  std::string path = query(req, "path");
  auto a = store_.runs().artifact(id, "artifact", path);
  if (!a)
    return error(404, "not_found", "run " + std::to_string(id) + " has no artifact '" + path + "'");
  net::Response r;
  r.content_type = "application/octet-stream";
  r.file_path = a->file;
  return r;
}

std::string RunService::base_commit(const std::string& job_name) {
  // A run still waiting for its turn is replaced by a newer commit, so the
  // range of the newer one starts where the waiting one's did.
  if (const RunState* w = engine_.scheduler().waiting_run(job_name)) return w->run.previous_commit;
  auto last = store_.runs().last_run_with_commit(job_name, INT64_MAX, false);
  return last ? last->commit : std::string();
}

void RunService::audit_webhook_refusal(const std::string& repo, const std::string& remote,
                                       const std::string& why) {
  // The hook route takes no token, so anyone who reaches it could grow the
  // audit table: at most kAuditedRefusals entries a minute, then log lines,
  // and one entry with the count when the next minute's first one comes.
  constexpr int kAuditedRefusals = 30;
  const int64_t t = engine_.now();
  if (t - refusal_window_start_ >= 60000) {
    if (refusals_suppressed_ > 0)
      (void)audit_.record("webhook", "webhook.refused_suppressed", "",
                          {{"count", std::to_string(refusals_suppressed_)}});
    refusal_window_start_ = t;
    refusals_in_window_ = 0;
    refusals_suppressed_ = 0;
  }
  if (++refusals_in_window_ <= kAuditedRefusals) {
    (void)audit_.record("webhook", "webhook.refused", repo, {{"remote", remote}, {"reason", why}});
    return;
  }
  ++refusals_suppressed_;
  log::warn("repos", "webhook.refused",
            {{"repo", repo}, {"remote", remote}, {"reason", why}, {"audited", "no (rate)"}});
}

void RunService::remember_pusher(const std::string& repo, const PushEvent& event) {
  constexpr size_t kMaxRefs = 1024, kMaxPushers = 16;
  if (event.deleted || event.ref.empty()) return;
  if (event.pusher_name.empty() && event.pusher_login.empty() && event.pusher_email.empty()) return;
  const std::string what = "pushed " + event.after.substr(0, 7) + " to " + event.ref;
  std::vector<InstigatorRecord> named;
  // GitHub's pusher.name is the login; sender.login names the same person.
  named.push_back({event.pusher_login.empty() ? event.pusher_name : event.pusher_login,
                   event.pusher_email, what});
  if (!event.pusher_login.empty() && !event.pusher_name.empty() &&
      event.pusher_name != event.pusher_login)
    named.push_back({event.pusher_name, "", what});
  const std::string key = repo + " " + event.ref;
  if (!pushers_.count(key) && pushers_.size() >= kMaxRefs) pushers_.erase(pushers_.begin());
  std::vector<InstigatorRecord>& list = pushers_[key];
  for (InstigatorRecord& i : named) {
    if (list.size() < kMaxPushers) list.push_back(std::move(i));
  }
  log::info("repos", "webhook.pusher",
            {{"repo", repo},
             {"ref", event.ref},
             {"pusher", named.front().name},
             {"email", named.front().email}});
}

std::vector<InstigatorRecord> RunService::take_pushers(const std::string& repo,
                                                       const std::string& ref) {
  auto it = pushers_.find(repo + " " + ref);
  if (it == pushers_.end()) return {};
  std::vector<InstigatorRecord> out = std::move(it->second);
  pushers_.erase(it);
  return out;
}

void RunService::start_triggered(const RepoTrigger& t) {
  RunRecord run;
  run.job_name = t.job_name;
  run.repo_name = t.repo;
  run.repo_url = t.url;
  run.ref = t.ref;
  run.trigger = t.trigger;
  run.created_by = t.trigger == "cron" || t.trigger == "upstream" ? t.trigger : "git";
  if (t.trigger == "push") run.pushers = take_pushers(t.repo, t.ref);
  run.upstream_run = t.upstream_run;
  launch(std::move(run), t.pipeline);
}

void RunService::launch(RunRecord run, const ResolvedPipeline& p) {
  if (!p.ok) {
    run.commit = p.commit;
    run.author = p.author;
    run.author_email = p.author_email;
    (void)engine_.fail_run(run, p.error);
    return;
  }
  run.commit = p.commit;
  run.pipeline_source = p.source;
  if (!p.path.empty()) run.pipeline_path = p.path;
  run.pipeline_format = p.format;
  run.libraries = p.libraries;
  run.author = p.author;
  run.author_email = p.author_email;
  run.changes = p.changes;
  run.previous_commit = p.base_commit;
  auto ok_before =
      store_.runs().last_run_with_commit(run.job_name, run.id ? run.id : INT64_MAX, true);
  run.previous_successful_commit = ok_before ? ok_before->commit : "";
  // Parsed once: the scheduler takes this pipeline, or the run fails with
  // every lint error, as `gantry lint` prints them.
  pipelines::LoadResult loaded = load_run_pipeline(run);

  // Coalesce: a push while the branch's previous push still waits its turn
  // gives that run the newer commit instead of queueing another.
  const RunState* waiting = run.id == 0 && run.trigger == "push"
                                ? engine_.scheduler().waiting_run(run.job_name)
                                : nullptr;
  if (waiting && waiting->run.trigger == "push" && loaded.pipeline) {
    const RunRecord& w = waiting->run;
    log::info("controller", "run.coalesced",
              {{"run", std::to_string(w.id)}, {"from", w.commit}, {"to", run.commit}});
    run.id = w.id;
    run.number = w.number;
    run.created_at = w.created_at;
    run.created_by = w.created_by;
    // The waiting run's pushers pushed commits the newer head ships too.
    run.pushers.insert(run.pushers.begin(), w.pushers.begin(), w.pushers.end());
    if (auto e = engine_.scheduler().replace_waiting(run, std::move(loaded.pipeline))) {
      // The waiting run keeps its commit and the newer one starts on its
      // own (it took the pipeline: read it again, on this rare path).
      loaded = load_run_pipeline(run);
      run.id = 0;
      run.number = 0;
    } else {
      // On a store failure the scheduler's copy is stored by the next flush.
      (void)store_.transaction(
          [&] { return store_.runs().update_run(run) && store_.runs().delete_stages(run.id); });
      (void)engine_.flush();
      return;
    }
  }
  if (run.id == 0) run.created_at = engine_.now();
  if (run.id == 0) {
    if (Result<int64_t> id = store_.runs().create_run(run); !id) {
      // Nothing was stored: the next push or poll starts it again.
      log::error("controller", "run.store_failed",
                 {{"job", run.job_name}, {"error", id.error().message}});
      return;
    }
  } else if (Status s = store_.runs().update_run(run); !s) {
    log::error("controller", "run.store_failed",
               {{"run", std::to_string(run.id)}, {"error", s.error().message}});
  }
  auto prev = store_.runs().previous_run(run.job_name, run.id);
  std::optional<std::string> e;
  // Checked once the pipeline is read: a run from a repository answered 201
  // before its pipeline was known, so it fails here, saying why.
  if (loaded.pipeline) {
    if (run.trigger == "upstream") {
      // As Jenkins does for a build step: parameters the job does not declare are dropped.
      for (auto it = run.params.begin(); it != run.params.end();) {
        const auto& declared = loaded.pipeline->parameters;
        bool known =
            std::any_of(declared.begin(), declared.end(),
                        [&](const pipelines::Parameter& p) { return p.name == it->first; });
        if (!known)
          log::info("controller", "run.parameter_dropped",
                    {{"job", run.job_name}, {"parameter", it->first}});
        it = known ? std::next(it) : run.params.erase(it);
      }
    }
    if (std::string why = pipelines::check_run_parameters(*loaded.pipeline, run.params);
        !why.empty()) {
      (void)engine_.fail_run(run, why);
      return;
    }
    e = engine_.scheduler().submit(run, {}, engine_.now(),
                                   prev ? result_name_for_status(prev->status) : "",
                                   std::move(loaded.pipeline));
  } else {
    e = first_load_error(loaded);
  }
  if (e) {
    (void)engine_.fail_run(
        run, run.pipeline_path + ":" + *e,
        pipelines::render_all(loaded.diagnostics, run.pipeline_path, run.pipeline_source));
    return;
  }
  log::info("controller", "run.created",
            {{"run", std::to_string(run.id)},
             {"job", run.job_name},
             {"commit", run.commit},
             {"trigger", run.trigger}});
  (void)engine_.flush();
}

net::Response RunService::git_hook(const net::Request& req) {
  PushEvent event;
  if (auto e = parse_push(req.headers, req.body, event)) return error(400, "bad_request", *e);
  // Which repository: ?repo=NAME, else the one whose URL the payload names.
  const RepositoryConfig* repo = nullptr;
  auto named = req.query.find("repo");
  if (named != req.query.end()) {
    repo = watcher_ ? watcher_->find(named->second) : nullptr;
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
  if (event.event == "change_request") return change_request(*repo, event);
  remember_pusher(repo->name, event);
  watcher_->fetch_now(repo->name);
  r.status = 202;
  r.body = R"({"ok":true,"fetching":true})";
  return r;
}

net::Response RunService::change_request(const RepositoryConfig& repo, const PushEvent& event,
                                         const char* via) {
  const ChangeRequestEvent& c = event.change;
  // Jenkins' multibranch names: PR-12 on GitHub, MR-12 on GitLab.
  const std::string label = change_label(event.provider, c.id);
  const std::string job = repo.name + "/" + label;
  auto answer = [](int status, const nlohmann::json& body) {
    return json_ok(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), status);
  };
  log::info("repos", std::string(via) + ".change_request",
            {{"repo", repo.name}, {"job", job}, {"action", c.action}, {"head", c.head_sha}});
  if (repo.change_requests == "off")
    return answer(200, {{"ok", true},
                        {"ignored", "change requests are off for repository '" + repo.name +
                                        "' (change_requests: off)"}});
  if (c.action == "ignored")
    return answer(200, {{"ok", true},
                        {"ignored",
                         "nothing to build: the change's commits are "
                         "the same"}});
  if (c.action == "closed") {
    // Its queued runs and those waiting at a gate will never be wanted; a running one ends.
    nlohmann::json cancelled = nlohmann::json::array();
    for (int64_t id : engine_.scheduler().waiting_runs_of(job)) {
      if (engine_.scheduler().cancel_run(id, "change request " + c.id + " was closed",
                                         engine_.now()))
        cancelled.push_back(id);
    }
    record_change_head(repo.name, label, "");
    if (!cancelled.empty()) {
      (void)audit_.record(via, "run.cancel", job,
                          {{"reason", "change request closed"}, {"runs", cancelled.dump()}});
      (void)engine_.flush();
    }
    return answer(200, {{"ok", true}, {"closed", job}, {"cancelled", cancelled}});
  }
  // A head already built (a webhook and a poll both saw it, or a delivery sent again).
  const std::map<std::string, std::string> built =
      store_.runs().repo_heads(change_heads_key(repo.name));
  if (auto seen = built.find(label); seen != built.end() && seen->second == c.head_sha)
    return answer(200, {{"ok", true},
                        {"ignored", "head " + c.head_sha.substr(0, 12) + " of " + label +
                                        " is already built"}});
  RunRecord run;
  run.created_by = "git";
  run.trigger = "change_request";
  run.repo_url = repo.url;
  run.repo_name = repo.name;
  run.job_name = job;
  run.ref = repo.change_requests == "merge" ? c.merge_ref : c.head_ref;
  run.change_request = {{"CHANGE_ID", c.id},
                        {"CHANGE_URL", c.url},
                        {"CHANGE_TITLE", c.title},
                        {"CHANGE_AUTHOR", c.author},
                        {"CHANGE_AUTHOR_DISPLAY_NAME", c.author_display_name},
                        {"CHANGE_AUTHOR_EMAIL", c.author_email},
                        {"CHANGE_TARGET", c.target},
                        {"CHANGE_BRANCH", c.branch},
                        {"CHANGE_FORK", c.fork}};
  // Who opened it and who sent the commits set it going: neither approves its GMUD.
  const std::string what = "opened change request " + c.id;
  if (!c.author.empty() || !c.author_email.empty())
    run.pushers.push_back({c.author, c.author_email, what});
  if (!event.pusher_login.empty() && event.pusher_login != c.author)
    run.pushers.push_back({event.pusher_login, event.pusher_email, "sent " + c.head_sha});
  run.status = RunStatus::Queued;
  run.created_at = engine_.now();
  if (Result<int64_t> id = store_.runs().create_run(run); !id) return error_response(id.error());
  ResolveRequest rr;
  rr.url = repo.url;
  // The head: the very commit the delivery names (fetched with the forge's refs/pull/N/head,
  // which keeps a fork's commits in the target repository). The merge: the forge's merge ref.
  rr.ref = repo.change_requests == "merge" ? c.merge_ref : c.head_sha;
  if (repo.pipeline != "Jenkinsfile") rr.file = repo.pipeline;
  rr.base_commit = base_commit(job);
  if (!git_ || !git_->resolve(rr, [this, run](const ResolvedPipeline& p) mutable {
        // GitHub gives no e-mail for the author of a change: the head commit's author's.
        if (run.change_request["CHANGE_AUTHOR_EMAIL"].empty())
          run.change_request["CHANGE_AUTHOR_EMAIL"] = p.author_email;
        launch(run, p);
      })) {
    (void)engine_.fail_run(run, "the controller is busy reading other pipelines; try again");
    return error(503, "busy", "too many pipelines are being read; try again");
  }
  record_change_head(repo.name, label, c.head_sha);
  return answer(202, {{"ok", true}, {"run", run.id}, {"job", job}});
}

void RunService::record_change_head(const std::string& repo, const std::string& label,
                                    const std::string& sha) {
  const std::string key = change_heads_key(repo);
  std::map<std::string, std::string> heads = store_.runs().repo_heads(key);
  if (sha.empty() ? heads.erase(label) == 0 : heads[label] == sha) return;
  if (!sha.empty()) heads[label] = sha;
  // Bounded: changes whose close was never heard of go, the oldest (lowest number) first.
  auto number = [](const std::string& l) {
    return l.find('-') == std::string::npos ? -1 : std::atoll(l.c_str() + l.find('-') + 1);
  };
  while (heads.size() > kMaxChangeHeads) {
    auto oldest = heads.end();
    for (auto it = heads.begin(); it != heads.end(); ++it) {
      if (it->first != kPolledMark && it->first != label &&
          (oldest == heads.end() || number(it->first) < number(oldest->first)))
        oldest = it;
    }
    if (oldest == heads.end()) break;
    heads.erase(oldest);
  }
  if (Status s = store_.runs().set_repo_heads(key, heads); !s)
    log::error("repos", "change_heads.store_failed",
               {{"repo", repo}, {"error", s.error().message}});
}

net::Response RunService::list_repos(const Principal& who) {
  std::vector<RepoStatus> repos = watcher_ ? watcher_->status() : std::vector<RepoStatus>{};
  const RepoFilter readable = repos_allowing(who, Permission::Read);
  std::erase_if(repos, [&](const RepoStatus& r) { return !readable.admits(r.name); });
  net::Response r;
  r.body = repos_json(repos);
  if (statuses_) {
    // Each repository with a forge: what its commit statuses did.
    const std::map<std::string, StatusStats> stats = statuses_->stats();
    nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
    for (auto& repo : body["repos"]) {
      auto it = stats.find(repo.value("name", ""));
      if (it == stats.end()) continue;
      const StatusStats& s = it->second;
      repo["statuses"] = {
          {"sent", s.sent},       {"failed", s.failed},         {"retried", s.retried},
          {"dropped", s.dropped}, {"last_error", s.last_error}, {"last_error_at", s.last_error_at}};
    }
    r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  if (changes_) {
    // Each repository whose change requests are polled: how the last poll went.
    const std::map<std::string, ChangePollStatus> polls = changes_->status();
    nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
    for (auto& repo : body["repos"]) {
      auto it = polls.find(repo.value("name", ""));
      if (it == polls.end()) continue;
      const ChangePollStatus& p = it->second;
      repo["change_requests"] = {{"last_poll_at", p.last_poll_at},
                                 {"last_error", p.last_error},
                                 {"open", p.open < 0 ? nlohmann::json() : nlohmann::json(p.open)}};
    }
    r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return r;
}

namespace {

// A pipeline's parameters as the start form shows them: name, type, default (a password's
// never), description, choices.
nlohmann::json parameters_json(const pipelines::Pipeline& pipeline) {
  nlohmann::json list = nlohmann::json::array();
  const std::map<std::string, pipelines::Value> defaults =
      pipelines::typed_parameters(pipeline, {});
  for (const pipelines::Parameter& p : pipeline.parameters) {
    auto d = defaults.find(p.name);
    std::string value = d == defaults.end() || p.type == "password" ? "" : d->second.to_string();
    if (p.type == "choice" && value.empty() && !p.choices.empty()) value = p.choices.front();
    list.push_back({{"name", p.name},
                    {"type", p.type},
                    {"default", value},
                    {"description", p.description},
                    {"choices", p.choices}});
  }
  return list;
}

}  // namespace

net::Response RunService::repo_parameters(const std::string& name, const net::Request& req,
                                          const Principal& who) {
  const RepositoryConfig* repo = watcher_ ? watcher_->find(name) : nullptr;
  if (!repo || !principal_allows_on(who, Permission::Read, name))
    return error(404, "not_found", "no repository '" + name + "'" + known_repos(&who));
  std::string branch = query(req, "branch");
  if (branch.empty())
    branch = repo->branches.empty() || repo->branches.front().find('*') != std::string::npos
                 ? "main"
                 : repo->branches.front();
  const std::string ref = watcher_->full_ref(name, branch);
  std::string commit;
  for (const RepoStatus& st : watcher_->status()) {
    if (st.name != name) continue;
    if (auto it = st.heads.find(ref); it != st.heads.end()) commit = it->second;
  }
  nlohmann::json out = {{"repo", name}, {"branch", branch}, {"commit", commit}};
  if (commit.empty()) {
    // Not a watched branch, or not fetched yet: nothing to read.
    out["parameters"] = nlohmann::json::array();
    out["error"] = "no fetched head for branch '" + branch + "'";
    return json_ok(out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  const std::string file = repo->pipeline == "Jenkinsfile" ? std::string() : repo->pipeline;
  const std::string key = repo->url + " " + commit + " " + file;
  if (auto it = declared_params_.find(key); it != declared_params_.end() && !it->second.is_null()) {
    for (const auto& [k, v] : it->second.items()) out[k] = v;
    return json_ok(out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  out["parameters"] = nlohmann::json::array();
  out["pending"] = true;
  if (declared_params_.count(key) || !git_) return json_ok(out.dump());
  if (declared_params_.size() >= kMaxDeclaredParams) declared_params_.clear();
  declared_params_[key] = nullptr;
  ResolveRequest rr;
  rr.url = repo->url;
  rr.ref = commit;
  rr.file = file;
  rr.fetch = false;  // the mirror has the commit: the watcher saw it there
  const bool queued = git_->resolve(rr, [this, key](const ResolvedPipeline& r) {
    nlohmann::json found = nlohmann::json::object();
    if (!r.ok) {
      found["parameters"] = nlohmann::json::array();
      found["error"] = r.error;
    } else {
      RunRecord probe;
      probe.pipeline_source = r.source;
      probe.pipeline_format = r.format;
      probe.pipeline_path = r.path;
      pipelines::LoadResult loaded = load_run_pipeline(probe);
      found["parameters"] =
          loaded.pipeline ? parameters_json(*loaded.pipeline) : nlohmann::json::array();
      if (!loaded.pipeline) found["error"] = "the pipeline at this commit does not load";
    }
    declared_params_[key] = std::move(found);
  });
  if (!queued) declared_params_.erase(key);  // busy: the next ask tries again
  return json_ok(out.dump());
}

Result<std::string> RunService::repo_of(int64_t id) {
  if (const RunState* live = engine_.scheduler().run(id)) return live->run.repo_name;
  Result<RunRecord> run = stored_run(store_, id);
  if (!run) return run.error();
  return std::move(run->repo_name);
}

}  // namespace gantry::controller
