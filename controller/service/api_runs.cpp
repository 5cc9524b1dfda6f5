// /api/v1/runs: create, list, show, cancel, retry, logs, artifacts; and the
// agents' file uploads (artifacts, stashes) under /api/v1/agent/jobs/.
#include <charconv>
#include <filesystem>

#include "gantry/common/log.hpp"
#include "gantry/pipelines/loader.hpp"
#include "service/api_json.hpp"
#include "service/controller.hpp"
#include "service/git_workers.hpp"
#include "service/repo_watcher.hpp"

namespace gantry::controller {

namespace fs = std::filesystem;

namespace {

net::Response json_ok(std::string body, int status = 200) {
  net::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::string query(const net::Request& req, const std::string& key) {
  auto it = req.query.find(key);
  return it == req.query.end() ? std::string() : it->second;
}

uint64_t query_u64(const net::Request& req, const std::string& key, uint64_t fallback) {
  std::string v = query(req, key);
  uint64_t out = fallback;
  if (!v.empty()) std::from_chars(v.data(), v.data() + v.size(), out);
  return out;
}

// A relative path inside a directory: no absolute paths, no "..".
bool safe_relative(const std::string& p) {
  if (p.empty() || p.size() > 4096 || p[0] == '/') return false;
  for (const auto& part : fs::path(p)) {
    if (part == "..") return false;
  }
  return true;
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

}  // namespace

net::Response Controller::create_run(const net::Request& req, const Principal& who) {
  CreateRunRequest c;
  std::string err;
  if (!parse_create_run(req.body, c, err)) return error(400, "bad_request", err);
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
    auto loaded = pipelines::load_pipeline(
        run.pipeline_source, run.pipeline_format == "yaml" ? pipelines::SourceFormat::Yaml
                                                           : pipelines::SourceFormat::Jenkinsfile);
    if (!loaded.pipeline) {
      std::string text =
          pipelines::render_all(loaded.diagnostics, run.pipeline_path, run.pipeline_source);
      return error(422, "invalid_pipeline", text);
    }
    start_run(run);
    return json_ok(run_json(run, nullptr), 201);
  }
  // From a repository: read the pipeline at the ref's commit on a worker.
  // `repo` is a configured repository's name (SPEC §10, NAME_OR_URL) or a URL.
  ResolveRequest rr;
  rr.file = c.file;
  run.repo_url = c.repo;
  run.job_name = c.job.empty() ? job_name_for(c.repo) : c.job;
  if (const RepositoryConfig* r = watcher_->find(c.repo)) {
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
  run.status = "queued";
  run.created_at = now();
  if (store_->create_run(run) == 0) return error(500, "store", "could not store the run");
  rr.url = run.repo_url;
  rr.ref = run.ref;
  rr.base_commit = base_commit(run.job_name);
  bool queued =
      git_->resolve(rr, [this, run](const ResolvedPipeline& r) mutable { launch(run, r); });
  if (!queued) {
    fail_run(run, "the controller is busy reading other pipelines; try again");
    return error(503, "busy", "too many pipelines are being read; try again");
  }
  return json_ok(run_json(run, nullptr), 201);
}

net::Response Controller::list_runs(const net::Request& req) {
  size_t limit = static_cast<size_t>(std::min<uint64_t>(query_u64(req, "limit", 50), 1000));
  int64_t before = static_cast<int64_t>(query_u64(req, "before", 0));
  std::vector<RunRecord> runs = store_->list_runs(limit, before, query(req, "status"));
  for (RunRecord& r : runs) {
    if (const RunState* live = scheduler_->run(r.id)) r = live->run;
  }
  return json_ok(runs_json(runs));
}

net::Response Controller::show_run(int64_t id) {
  if (const RunState* live = scheduler_->run(id))
    return json_ok(run_json(live->run, &live->stages));
  auto run = store_->run(id);
  if (!run) return error(404, "not_found", "no run " + std::to_string(id));
  std::vector<StageRecord> stages = store_->stages(id);
  return json_ok(run_json(*run, &stages));
}

net::Response Controller::cancel_run(int64_t id, const Principal& who) {
  auto run = store_->run(id);
  if (!run) return error(404, "not_found", "no run " + std::to_string(id));
  bool own = run->created_by == who.name && principal_allows(who, Permission::CancelOwn);
  if (!own && !principal_allows(who, Permission::Cancel)) {
    audit(who.name, "permission.denied", "/api/v1/runs/" + std::to_string(id) + "/cancel",
          {{"method", "POST"},
           {"role", role_name(who.role)},
           {"reason", "may not cancel run " + std::to_string(id)}});
    return error(403, "forbidden", who.name + " may not cancel run " + std::to_string(id));
  }
  if (!scheduler_->cancel_run(id, "cancelled by " + who.name, now()))
    return error(409, "conflict",
                 "run " + std::to_string(id) + " is not running (" + run->status + ")");
  audit(who.name, "run.cancel", "run " + std::to_string(id), {{"status", run->status}});
  flush();
  return show_run(id);
}

net::Response Controller::retry_run(int64_t id, const Principal& who) {
  auto old = store_->run(id);
  if (!old) return error(404, "not_found", "no run " + std::to_string(id));
  if (old->status == "queued" || old->status == "running" || old->status == "waiting")
    return error(409, "conflict", "run " + std::to_string(id) + " is still " + old->status);
  if (old->pipeline_source.empty())
    return error(409, "conflict",
                 "run " + std::to_string(id) + " never read its pipeline: " + old->reason);
  RunRecord run;
  run.job_name = old->job_name;
  run.repo_url = old->repo_url;
  run.ref = old->ref;
  run.commit = old->commit;
  run.author = old->author;
  run.pipeline_path = old->pipeline_path;
  run.pipeline_source = old->pipeline_source;
  run.pipeline_format = old->pipeline_format;
  run.params = old->params;
  run.trigger = "retry of " + std::to_string(old->id);
  run.created_by = who.name;
  start_run(run);
  RunRecord stored = store_->run(run.id).value_or(run);
  return json_ok(run_json(stored, nullptr), 201);
}

net::Response Controller::stage_log(int64_t id, const net::Request& req) {
  std::string stage = query(req, "stage");
  std::vector<StageRecord> stages;
  if (const RunState* live = scheduler_->run(id)) {
    stages = live->stages;
  } else {
    if (!store_->run(id)) return error(404, "not_found", "no run " + std::to_string(id));
    stages = store_->stages(id);
  }
  const StageRecord* rec = nullptr;
  for (const auto& s : stages) {
    if (s.stage_id == stage) rec = &s;
  }
  if (!rec)
    return error(404, "not_found", "run " + std::to_string(id) + " has no stage '" + stage + "'");
  int attempt = static_cast<int>(
      query_u64(req, "attempt", static_cast<uint64_t>(std::max(1, rec->attempts))));
  uint64_t offset = query_u64(req, "offset", 0);
  std::string path = store_->log_path(id, rec->stage_id, attempt);
  uint64_t size = LogFiles::file_size(path);
  net::Response r;
  r.content_type = "text/plain; charset=utf-8";
  r.headers.push_back({"X-Gantry-Log-Size", std::to_string(size)});
  r.headers.push_back({"X-Gantry-Stage-Status", rec->status});
  if (offset < size) {
    r.file_path = path;
    r.file_offset = offset;
  }
  return r;
}

net::Response Controller::list_artifacts(int64_t id) {
  if (!store_->run(id)) return error(404, "not_found", "no run " + std::to_string(id));
  return json_ok(artifacts_json(store_->artifacts(id)));
}

net::Response Controller::get_artifact(int64_t id, const net::Request& req) {
  std::string path = query(req, "path");
  auto a = store_->artifact(id, "artifact", path);
  if (!a)
    return error(404, "not_found", "run " + std::to_string(id) + " has no artifact '" + path + "'");
  net::Response r;
  r.content_type = "application/octet-stream";
  r.file_path = a->file;
  return r;
}

net::Response Controller::agent_files(const net::Request& req, const Principal& who) {
  // /api/v1/agent/jobs/{job}/{artifacts|stash}?epoch=E&path=P|name=N
  constexpr std::string_view kPrefix = "/api/v1/agent/jobs/";
  if (req.path.rfind(kPrefix, 0) != 0)
    return error(404, "not_found", "no route for " + req.method + " " + req.path);
  std::string rest = req.path.substr(kPrefix.size());
  auto slash = rest.find('/');
  if (slash == std::string::npos)
    return error(404, "not_found", "no route for " + req.method + " " + req.path);
  std::string job_id = rest.substr(0, slash), kind = rest.substr(slash + 1);
  const Job* job = scheduler_->job(job_id);
  uint64_t epoch = query_u64(req, "epoch", 0);
  // The job must be held at this epoch by the agent that asks (its id is
  // known only to it and the controller): another agent's token cannot
  // write into someone else's job.
  if (!job || job->epoch != epoch || job->agent_id != query(req, "agent"))
    return error(409, "stale_epoch",
                 "job " + job_id + " is not held by this agent at epoch " + std::to_string(epoch));
  const RunState* run = scheduler_->run(job->run_id);
  const StageRecord& rec = run->record_of(job->node);
  if (kind == "input") {
    if (req.method != "POST") return error(405, "method_not_allowed", "use POST for an input");
    return input_step(*job, req);
  }
  bool stash = kind == "stash";
  if (!stash && kind != "artifacts") return error(404, "not_found", "no route for " + req.path);
  std::string name = query(req, stash ? "name" : "path");
  if (!safe_relative(name))
    return error(400, "bad_request",
                 "bad " + std::string(stash ? "stash name" : "artifact path") + " '" + name + "'");
  if (req.method == "GET" && stash) {
    auto a = store_->artifact(job->run_id, "stash", name);
    if (!a)
      return error(404, "not_found",
                   "no stash '" + name + "' in run " + std::to_string(job->run_id));
    net::Response r;
    r.content_type = "application/x-tar";
    r.file_path = a->file;
    return r;
  }
  if (req.method != "PUT")
    return error(405, "method_not_allowed", req.method + " not allowed here");
  fs::path dest = fs::path(store_->artifact_dir(job->run_id)) / (stash ? "stash" : "files") /
                  (stash ? name + ".tar" : name);
  std::error_code ec;
  fs::create_directories(dest.parent_path(), ec);
  if (!req.body_file.empty()) {
    fs::rename(req.body_file, dest, ec);
    if (ec) {
      fs::copy_file(req.body_file, dest, fs::copy_options::overwrite_existing, ec);
    }
  } else {
    FILE* f = std::fopen(dest.c_str(), "wb");
    if (f) {
      std::fwrite(req.body.data(), 1, req.body.size(), f);
      std::fclose(f);
    } else {
      ec = std::make_error_code(std::errc::io_error);
    }
  }
  if (ec) return error(500, "io_error", "could not store " + name + ": " + ec.message());
  ArtifactRecord a;
  a.run_id = job->run_id;
  a.kind = stash ? "stash" : "artifact";
  a.name = name;
  a.stage_id = rec.stage_id;
  a.size = fs::file_size(dest, ec);
  a.file = dest.string();
  a.created_at = now();
  store_->add_artifact(a);
  log::info("controller", stash ? "stash.stored" : "artifact.stored",
            {{"run", std::to_string(job->run_id)}, {"name", name}, {"agent_token", who.name}});
  return json_ok(R"({"stored":true})", 201);
}

}  // namespace gantry::controller
