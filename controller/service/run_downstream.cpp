// The `build` step's side of the controller (docs/pipeline-language.md, "build"): a job asks,
// over its job-scoped route POST /api/v1/agent/jobs/JOB/build, for a run of another configured
// job, then how that run is going, or for it to be cancelled. The downstream run names the run
// and stage that started it (runs.upstream_run, upstream_stage), so each run links to the other.
//
// Bodies: {"op": "start", "key": K, "job": NAME, "parameters": {..}} -> {"run", "job", "number"};
// {"op": "status", "run": ID} -> {"run", "job", "number", "status", "result", "url"};
// {"op": "cancel", "run": ID}. A job may ask about and cancel only the runs its own run started.
//
// Job names are Jenkins' item names as Gantry has them: a configured repository ("app", built at
// its default branch) or a repository's branch job ("app/main", "app/feature%2Fx"); a name
// without a leading '/' is looked up next to the asking job first ('develop' from "app/main" is
// "app/develop"), and "../x" climbs out of its folder, as Jenkins resolves relative names.
#include <algorithm>
#include <set>

#include "gantry/common/log.hpp"
#include "gantry/net/url.hpp"
#include "gantry/pipelines/run_parameters.hpp"
#include "service/api_json.hpp"
#include "service/git_workers.hpp"
#include "service/repo_watcher.hpp"
#include "service/run_service.hpp"
#include "store/store.hpp"

namespace gantry::controller {

using nlohmann::json;

namespace {

constexpr int kMaxChain = 10;           // upstream links above a run that may start another
constexpr size_t kMaxDownstream = 100;  // runs one run may start
constexpr size_t kMaxKeys = 10000;      // remembered start keys, all runs together
constexpr size_t kMaxJobName = 1000;

// "a/b/../c" -> "a/c"; false when ".." climbs above the top.
bool normalize(const std::string& path, std::string& out) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    if (part == "..") {
      if (parts.empty()) return false;
      parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = end + 1;
  }
  out.clear();
  for (const std::string& p : parts) out += (out.empty() ? "" : "/") + p;
  return !out.empty();
}

json answer(const RunRecord& r, const std::string& public_url) {
  json j = {{"run", r.id},
            {"job", r.job_name},
            {"number", r.number},
            {"status", to_string(r.status)},
            {"result", result_name_for_status(r.status)}};
  if (!public_url.empty()) j["url"] = public_url + "/#/runs/" + std::to_string(r.id);
  if (!r.reason.empty()) j["reason"] = r.reason;
  return j;
}

net::Response ok_json(const json& j) {
  net::Response r;
  r.body = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

}  // namespace

namespace {

// How many runs started `run`, one after the other (bounded: kMaxChain + 1 reads at most).
int chain_depth(Store& store, const RunRecord& run) {
  int depth = 0;
  for (int64_t up = run.upstream_run; up != 0 && depth <= kMaxChain; ++depth) {
    auto stored = store.runs().run(up);
    if (!stored || !*stored) break;
    up = (*stored)->upstream_run;
  }
  return depth;
}

}  // namespace

void RunService::upstream_finished(const RunRecord& finished) {
  if (!watcher_ || finished.rollback_of != 0 || finished.repo_name.empty()) return;
  // A ring of upstream triggers (a starts b starts a) stops after kMaxChain runs.
  if (finished.upstream_run != 0 && chain_depth(store_, finished) >= kMaxChain) {
    log::warn("controller", "upstream.chain_too_long",
              {{"run", std::to_string(finished.id)}, {"job", finished.job_name}});
    return;
  }
  watcher_->upstream_finished(finished.job_name, result_name_for_status(finished.status),
                              finished.id);
}

bool RunService::resolve_job(const std::string& name, const RunRecord& from, DownstreamJob& out,
                             std::string& why) const {
  if (!watcher_) {
    why = "this controller reads no repositories";
    return false;
  }
  std::vector<std::string> candidates;
  std::string n;
  if (name.starts_with("/")) {
    if (normalize(name, n)) candidates.push_back(n);
  } else {
    std::string folder = from.job_name.substr(0, from.job_name.rfind('/'));
    if (from.job_name.find('/') == std::string::npos) folder.clear();
    if (!folder.empty() && normalize(folder + "/" + name, n)) candidates.push_back(n);
    if (normalize(name, n) &&
        std::find(candidates.begin(), candidates.end(), n) == candidates.end())
      candidates.push_back(n);
  }
  for (const std::string& c : candidates) {
    if (const RepositoryConfig* r = watcher_->find(c)) {
      out.repo = r;
      out.ref = watcher_->full_ref(r->name, "");
      return true;
    }
    // "repo/branch": every split, the longest repository name first (names may hold '/').
    for (size_t slash = c.rfind('/'); slash != std::string::npos && slash > 0;
         slash = c.rfind('/', slash - 1)) {
      const RepositoryConfig* r = watcher_->find(c.substr(0, slash));
      if (!r) continue;
      std::string branch = net::url_decode(c.substr(slash + 1), false);
      if (!watcher_->unknown_ref(r->name, branch).empty()) continue;
      out.repo = r;
      out.ref = watcher_->full_ref(r->name, branch);
      return true;
    }
  }
  why = "no job '" + name + "': a job is a configured repository ('app', its default branch) or " +
        "one of its branches ('app/main')" + known_repos();
  return false;
}

net::Response RunService::build_step(const Job& job, const RunRecord& upstream,
                                     const std::string& body) {
  json q = json::parse(body, nullptr, false);
  if (!q.is_object() || !q.contains("op") || !q["op"].is_string())
    return error(400, "bad_request", "a build request is a JSON object with an 'op'");
  const std::string op = q["op"].get<std::string>();
  if (op == "status" || op == "cancel") {
    if (!q.contains("run") || !q["run"].is_number_integer())
      return error(400, "bad_request", "'run' must be a run id");
    const int64_t id = q["run"].get<int64_t>();
    RunRecord r;
    if (const RunState* live = engine_.scheduler().run(id)) {
      r = live->run;
    } else {
      auto stored = store_.runs().run(id);
      if (!stored) return error_response(stored.error());
      if (!*stored) return error(404, "not_found", "no run " + std::to_string(id));
      r = **stored;
    }
    // Only what this run started: a job cannot watch or stop other runs through this route.
    if (r.upstream_run != upstream.id)
      return error(
          403, "forbidden",
          "run " + std::to_string(id) + " was not started by run " + std::to_string(upstream.id));
    if (op == "cancel" && !is_finished(r.status)) {
      (void)engine_.scheduler().cancel_run(id,
                                           "aborted with its upstream run " + upstream.job_name +
                                               " #" + std::to_string(upstream.number),
                                           engine_.now());
      (void)engine_.flush();
    }
    return ok_json(answer(r, config_.public_url));
  }
  if (op != "start") return error(400, "bad_request", "unknown op '" + op + "'");
  const std::string key = q.value("key", "");
  const std::string name =
      q.contains("job") && q["job"].is_string() ? q["job"].get<std::string>() : std::string();
  if (name.empty() || name.size() > kMaxJobName)
    return error(400, "bad_request", "'job' must name a job (at most 1000 bytes)");
  std::map<std::string, std::string> params;
  if (q.contains("parameters")) {
    if (!q["parameters"].is_object())
      return error(400, "bad_request", "'parameters' must be an object");
    for (const auto& [k, v] : q["parameters"].items()) {
      if (v.is_string()) {
        params[k] = v.get<std::string>();
      } else if (v.is_boolean()) {
        params[k] = v.get<bool>() ? "true" : "false";
      } else if (v.is_number()) {
        params[k] = v.dump();
      } else {
        return error(400, "bad_request", "parameter '" + k + "' must be a string or a boolean");
      }
    }
  }
  // Asked again after an answer was lost: the run it already started.
  const std::string stage = engine_.scheduler().run(job.run_id)
                                ? engine_.scheduler().run(job.run_id)->record_of(job.node).stage_id
                                : std::string();
  auto known = started_by_key_.find({upstream.id, key});
  if (!key.empty() && known != started_by_key_.end()) {
    if (auto stored = store_.runs().run(known->second); stored && *stored)
      return ok_json(answer(**stored, config_.public_url));
  }
  auto refuse = [&](const std::string& why) {
    return error(409, "refused", "build " + name + ": " + why);
  };
  if (upstream.from_fork()) return refuse("a change request from a fork starts no other job");
  // A job building itself, or a ring of jobs, stops here.
  const int depth = chain_depth(store_, upstream);
  if (depth >= kMaxChain)
    return refuse("run " + std::to_string(upstream.id) + " is " + std::to_string(depth) +
                  " build steps down a chain (at most " + std::to_string(kMaxChain) +
                  "): is a job building itself?");
  if (store_.runs().downstream_of(upstream.id, kMaxDownstream).size() >= kMaxDownstream)
    return refuse("a run starts at most " + std::to_string(kMaxDownstream) + " others");
  if (std::string why = oversize("", params); !why.empty()) return error(422, "too_large", why);
  for (const auto& [k, v] : params) {
    if (std::string why = pipelines::reserved_parameter(k); !why.empty())
      return error(400, "bad_parameter", why);
  }
  DownstreamJob target;
  std::string why;
  if (!resolve_job(name, upstream, target, why)) return error(404, "not_found", why);
  RunRecord run;
  run.repo_url = target.repo->url;
  run.repo_name = target.repo->name;
  run.ref = target.ref.empty() ? "HEAD" : target.ref;
  run.job_name = RepoWatcher::job_name(target.repo->name, run.ref);
  run.trigger = "upstream";
  run.created_by = upstream.created_by.empty() ? "upstream" : upstream.created_by;
  run.params = std::move(params);
  run.upstream_run = upstream.id;
  run.upstream_stage = stage;
  run.status = RunStatus::Queued;
  run.created_at = engine_.now();
  if (Result<int64_t> id = store_.runs().create_run(run); !id) return error_response(id.error());
  ResolveRequest rr;
  rr.url = run.repo_url;
  rr.ref = run.ref;
  rr.base_commit = base_commit(run.job_name);
  if (target.repo->pipeline != "Jenkinsfile") rr.file = target.repo->pipeline;
  if (!git_->resolve(rr, [this, run](const ResolvedPipeline& r) mutable { launch(run, r); })) {
    (void)engine_.fail_run(run, "the controller is busy reading other pipelines; try again");
    return error(503, "busy", "too many pipelines are being read; try again");
  }
  if (!key.empty()) {
    if (started_by_key_.size() >= kMaxKeys) started_by_key_.clear();
    started_by_key_[{upstream.id, key}] = run.id;
  }
  log::info("controller", "run.downstream",
            {{"run", std::to_string(run.id)},
             {"job", run.job_name},
             {"upstream", std::to_string(upstream.id)},
             {"stage", stage}});
  return ok_json(answer(run, config_.public_url));
}

}  // namespace gantry::controller
