#include "service/api_json.hpp"

#include <cctype>
#include <charconv>

#include <nlohmann/json.hpp>

namespace gantry::controller {

using nlohmann::json;

namespace {

// Text from outside (git authors, paths, messages that quote a request) may
// not be UTF-8; dump() would throw on it. Replace bad bytes with U+FFFD.
std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json time_json(int64_t ms) {
  return ms ? json(ms) : json(nullptr);
}

json stage_json(const StageRecord& s) {
  return {{"id", s.stage_id},
          {"name", s.name},
          {"status", to_string(s.status)},
          {"agent", s.agent},
          {"attempts", s.attempts},
          {"attempt_names", s.attempt_names},
          {"started_at", time_json(s.started_at)},
          {"finished_at", time_json(s.finished_at)},
          {"reason", s.reason},
          {"log_bytes", s.log_bytes}};
}

// The first line of the run's own commit's message, when its change range has it.
std::string commit_title(const RunRecord& r) {
  for (const ChangeRecord& c : r.changes) {
    if (c.sha == r.commit) return c.message.substr(0, c.message.find('\n'));
  }
  return {};
}

// The run's shared libraries as pinned: [{name, version, commit}], without their files.
json library_pins(const RunRecord& r) {
  if (r.libraries.empty()) return json::array();
  json all = json::parse(r.libraries, nullptr, false);
  json out = json::array();
  if (!all.is_array()) return out;
  for (const auto& l : all) {
    if (!l.is_object()) continue;
    out.push_back({{"name", l.value("name", "")},
                   {"version", l.value("version", "")},
                   {"commit", l.value("commit", "")}});
  }
  return out;
}

json run_object(const RunRecord& r) {
  json pushers = json::array();
  for (const InstigatorRecord& p : r.pushers)
    pushers.push_back({{"name", p.name}, {"email", p.email}, {"what", p.what}});
  json change = nullptr;
  if (!r.change_request.empty()) {
    // CHANGE_ID -> "id", CHANGE_AUTHOR_EMAIL -> "author_email".
    change = json::object();
    for (const auto& [k, v] : r.change_request) {
      std::string key = k.starts_with("CHANGE_") ? k.substr(7) : k;
      for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      change[key] = v;
    }
  }
  return {{"id", r.id},
          {"number", r.number},
          {"job", r.job_name},
          {"change_request", change},
          {"status", to_string(r.status)},
          {"reason", r.reason},
          {"repo", r.repo_url},
          {"ref", r.ref},
          {"commit", r.commit},
          {"title", commit_title(r)},
          {"repo_name", r.repo_name},
          {"author", r.author},
          {"author_email", r.author_email},
          {"previous_commit", r.previous_commit},
          {"previous_successful_commit", r.previous_successful_commit},
          {"trigger", r.trigger},
          {"retry_of", r.retry_of},
          {"upstream",
           r.upstream_run ? json{{"run", r.upstream_run}, {"stage", r.upstream_stage}} : json()},
          {"restart_stage", r.restart_stage},
          {"description", r.description},
          {"display_name", r.display_name},
          {"libraries", library_pins(r)},
          {"pushers", pushers},
          {"pipeline", r.pipeline_path},
          {"params", r.params},
          {"created_by", r.created_by},
          {"created_at", time_json(r.created_at)},
          {"started_at", time_json(r.started_at)},
          {"finished_at", time_json(r.finished_at)},
          {"tests",
           {{"total", r.tests_total}, {"failed", r.tests_failed}, {"skipped", r.tests_skipped}}}};
}

}  // namespace

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

std::string error_json(const std::string& code, const std::string& message) {
  return dump(json{{"error", {{"code", code}, {"message", message}}}});
}

std::string health_json(bool ok, const std::string& reason, int64_t term) {
  json j{{"status", ok ? "ok" : "unhealthy"}, {"role", "leader"}};
  if (!ok) j["reason"] = reason;
  if (term > 0) j["term"] = term;
  return dump(j);
}

std::string run_json(const RunRecord& run, const std::vector<StageRecord>* stages,
                     const RunLinks* links) {
  json j = run_object(run);
  if (links) {
    if (links->upstream)
      j["upstream"] = {{"run", links->upstream->id},
                       {"job", links->upstream->job_name},
                       {"number", links->upstream->number},
                       {"stage", run.upstream_stage}};
    json down = json::array();
    for (const RunRecord& d : links->downstream)
      down.push_back({{"run", d.id},
                      {"job", d.job_name},
                      {"number", d.number},
                      {"status", to_string(d.status)},
                      {"stage", d.upstream_stage}});
    j["downstream"] = std::move(down);
  }
  if (stages) {
    // The change range, with every commit's people: only on a single run.
    json changes = json::array();
    for (const ChangeRecord& c : run.changes) {
      changes.push_back({{"sha", c.sha},
                         {"author", c.author},
                         {"author_email", c.author_email},
                         {"committer", c.committer},
                         {"committer_email", c.committer_email},
                         {"message", c.message},
                         {"time", c.time},
                         {"paths", c.paths}});
    }
    j["changes"] = std::move(changes);
    json list = json::array();
    for (const auto& s : *stages) list.push_back(stage_json(s));
    j["stages"] = std::move(list);
  }
  return dump(j);
}

net::Response error(int status, const std::string& code, const std::string& message) {
  net::Response r;
  r.status = status;
  r.body = error_json(code, message);
  return r;
}

std::string repos_json(const std::vector<RepoStatus>& repos) {
  json list = json::array();
  for (const RepoStatus& r : repos) {
    list.push_back({{"name", r.name},
                    {"url", r.url},
                    {"last_fetch_at", time_json(r.last_fetch_at)},
                    {"last_success_at", time_json(r.last_success_at)},
                    {"next_fetch_at", time_json(r.next_fetch_at)},
                    {"last_error", r.last_error},
                    {"failures", r.failures},
                    {"default_branch", r.default_branch},
                    {"heads", r.heads}});
  }
  return dump(json{{"repos", list}});
}

std::string runs_json(const std::vector<RunRecord>& runs) {
  json list = json::array();
  for (const auto& r : runs) list.push_back(run_object(r));
  return dump(json{{"runs", list}});
}

std::string agents_json(const std::vector<AgentRecord>& stored,
                        const std::map<std::string, AgentState>& live) {
  json list = json::array();
  for (const auto& a : stored) {
    auto it = live.find(a.agent_id);
    bool connected = it != live.end() && it->second.connected;
    json jobs = json::array();
    if (it != live.end()) {
      for (const auto& j : it->second.jobs) jobs.push_back(j);
    }
    list.push_back(
        {{"id", a.agent_id},
         {"name", a.name},
         {"labels", a.labels},
         {"executors", a.executors},
         {"connected", connected},
         {"jobs", jobs},
         {"last_seen", time_json(it != live.end() ? it->second.last_seen : a.last_seen)}});
  }
  return dump(json{{"agents", list}});
}

std::string artifacts_json(const std::vector<ArtifactRecord>& artifacts) {
  json list = json::array();
  for (const auto& a : artifacts) {
    if (a.kind != "artifact") continue;
    list.push_back({{"path", a.name}, {"stage", a.stage_id}, {"size", a.size}});
  }
  return dump(json{{"artifacts", list}});
}

std::string tests_json(const RunRecord& run,
                       const std::vector<std::pair<std::string, std::string>>& reports,
                       const std::string& status, size_t limit) {
  std::vector<json> kept[3];  // failed, skipped, passed
  uint64_t omitted = 0, unreadable = 0;
  for (const auto& [stage, text] : reports) {
    json report = json::parse(text, nullptr, false);
    auto cases = report.is_object() ? report.find("cases") : report.end();
    if (report.is_discarded() || !report.is_object() || cases == report.end() ||
        !cases->is_array()) {
      ++unreadable;
      continue;
    }
    if (auto o = report.find("omitted"); o != report.end() && o->is_number_unsigned())
      omitted += o->get<uint64_t>();
    for (const json& c : *cases) {
      if (!c.is_object()) continue;
      auto str = [&](const char* key) {
        auto it = c.find(key);
        return it != c.end() && it->is_string() ? it->get<std::string>() : std::string();
      };
      std::string st = str("status");
      int rank = st == "failed" ? 0 : st == "skipped" ? 1 : st == "passed" ? 2 : -1;
      if (rank < 0 || (!status.empty() && status != st)) continue;
      auto secs = c.find("seconds");
      json out = {{"stage", stage},
                  {"suite", str("suite")},
                  {"class", str("class")},
                  {"name", str("name")},
                  {"status", st},
                  {"seconds", secs != c.end() && secs->is_number() ? secs->get<double>() : 0.0},
                  {"message", str("message")},
                  {"details", str("details")}};
      kept[rank].push_back(std::move(out));
    }
  }
  json list = json::array();
  for (auto& group : kept) {
    for (json& c : group) {
      if (list.size() < limit) {
        list.push_back(std::move(c));
      } else {
        ++omitted;
      }
    }
  }
  return dump(json{
      {"run", run.id},
      {"counts",
       {{"total", run.tests_total}, {"failed", run.tests_failed}, {"skipped", run.tests_skipped}}},
      {"cases", std::move(list)},
      {"omitted", omitted},
      {"unreadable", unreadable}});
}

bool parse_create_run(const std::string& body, CreateRunRequest& out, std::string& error) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    error = "the body must be a JSON object";
    return false;
  }
  auto str = [&](const char* key, std::string& field) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return true;
    if (!it->is_string()) {
      error = std::string("'") + key + "' must be a string";
      return false;
    }
    field = it->get<std::string>();
    return true;
  };
  for (auto& [key, value] : j.items()) {
    static const char* kKeys[] = {"repo", "ref", "file", "source", "format", "job", "params"};
    if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
      error = "unknown field '" + key + "'";
      return false;
    }
  }
  if (!str("repo", out.repo) || !str("ref", out.ref) || !str("file", out.file) ||
      !str("source", out.source) || !str("format", out.format) || !str("job", out.job))
    return false;
  if (auto p = j.find("params"); p != j.end() && !p->is_null()) {
    if (!p->is_object()) {
      error = "'params' must be an object of strings";
      return false;
    }
    for (auto& [k, v] : p->items()) {
      if (v.is_string()) {
        out.params[k] = v.get<std::string>();
      } else if (v.is_boolean() || v.is_number()) {
        out.params[k] = v.dump();
      } else {
        error = "parameter '" + k + "' must be a string, number or boolean";
        return false;
      }
    }
  }
  if (out.repo.empty() == out.source.empty()) {
    error = "give either 'repo' (a repository URL or path) or 'source' (an inline pipeline)";
    return false;
  }
  if (!out.format.empty() && out.format != "jenkinsfile" && out.format != "yaml") {
    error = "'format' must be jenkinsfile or yaml";
    return false;
  }
  if (out.job.size() > 200 || out.ref.size() > 1000 || out.file.size() > 1000) {
    error = "job, ref or file too long";
    return false;
  }
  return true;
}

}  // namespace gantry::controller
