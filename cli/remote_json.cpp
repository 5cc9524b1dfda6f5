// JSON views of the controller's API for the CLI. nlohmann stays here.
#include <chrono>

#include <nlohmann/json.hpp>

#include "json_get.hpp"
#include "remote.hpp"

namespace gantry::cli {

using nlohmann::json;

namespace {

RunView run_from(const json& j) {
  RunView r;
  r.id = json_num(j, "id");
  r.number = json_num(j, "number");
  r.job = json_str(j, "job");
  r.status = json_str(j, "status");
  r.reason = json_str(j, "reason");
  r.repo = json_str(j, "repo");
  r.ref = json_str(j, "ref");
  r.commit = json_str(j, "commit");
  r.title = json_str(j, "title");
  r.author = json_str(j, "author");
  r.trigger = json_str(j, "trigger");
  r.created_at = json_num(j, "created_at");
  r.started_at = json_num(j, "started_at");
  r.finished_at = json_num(j, "finished_at");
  if (auto t = j.find("tests"); t != j.end() && t->is_object()) {
    r.tests_total = json_num(*t, "total");
    r.tests_failed = json_num(*t, "failed");
  }
  if (auto s = j.find("stages"); s != j.end() && s->is_array()) {
    for (const auto& st : *s) {
      StageView v;
      v.id = json_str(st, "id");
      v.name = json_str(st, "name");
      v.status = json_str(st, "status");
      v.agent = json_str(st, "agent");
      v.reason = json_str(st, "reason");
      v.attempts = static_cast<int>(json_num(st, "attempts"));
      if (auto n = st.find("attempt_names"); n != st.end() && n->is_array()) {
        for (const auto& name : *n)
          v.attempt_names.push_back(name.is_string() ? name.get<std::string>() : "");
      }
      v.started_at = json_num(st, "started_at");
      v.finished_at = json_num(st, "finished_at");
      v.log_bytes = static_cast<uint64_t>(json_num(st, "log_bytes"));
      r.stages.push_back(v);
    }
  }
  return r;
}

}  // namespace

bool parse_run(const std::string& body, RunView& out) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return false;
  out = run_from(j);
  return true;
}

bool parse_runs(const std::string& body, std::vector<RunView>& out) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("runs") || !j["runs"].is_array()) return false;
  for (const auto& r : j["runs"]) out.push_back(run_from(r));
  return true;
}

std::string error_message(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object())
    return json_str(j["error"], "message");
  return body.substr(0, 500);
}

std::string create_run_body(const std::string& repo, const std::string& ref,
                            const std::string& file,
                            const std::map<std::string, std::string>& params,
                            const std::string& source, const std::string& format) {
  json j = json::object();
  if (!repo.empty()) j["repo"] = repo;
  if (!ref.empty()) j["ref"] = ref;
  if (!file.empty()) j["file"] = file;
  if (!source.empty()) j["source"] = source;
  if (!format.empty()) j["format"] = format;
  if (!params.empty()) j["params"] = params;
  return j.dump();
}

std::string agents_table(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("agents")) return "";
  std::string out = "NAME                 STATUS        EXECUTORS  JOBS  LABELS\n";
  for (const auto& a : j["agents"]) {
    std::string name = json_str(a, "name");
    bool connected = a.value("connected", false);
    std::string labels;
    for (const auto& l : a.value("labels", json::array()))
      labels += (labels.empty() ? "" : ",") + l.get<std::string>();
    char line[512];
    std::snprintf(line, sizeof line, "%-20s %-13s %9lld  %4zu  %s\n", name.c_str(),
                  connected ? "connected" : "disconnected",
                  static_cast<long long>(json_num(a, "executors")),
                  a.value("jobs", json::array()).size(), labels.c_str());
    out += line;
  }
  return out;
}

std::string locks_table(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("locks") || !j["locks"].is_array()) return "";
  std::string out = "RESOURCE             LABELS               HELD BY   WAITING\n";
  for (const auto& l : j["locks"]) {
    std::string labels, waiting;
    for (const auto& x : l.value("labels", json::array()))
      if (x.is_string()) labels += (labels.empty() ? "" : ",") + x.get<std::string>();
    for (const auto& x : l.value("waiting", json::array()))
      waiting += (waiting.empty() ? "" : ",") + x.dump();
    const std::string held =
        l.contains("run") && l["run"].is_number() ? "run " + l["run"].dump() : "-";
    char line[1024];
    std::snprintf(line, sizeof line, "%-20s %-20s %-9s %s\n", json_str(l, "resource").c_str(),
                  labels.empty() ? "-" : labels.c_str(), held.c_str(),
                  waiting.empty() ? "-" : ("runs " + waiting).c_str());
    out += line;
  }
  const json queue = j.value("queue", json::array());
  if (queue.empty()) return out;
  out += "\nQUEUE (in the order served)\n";
  for (const auto& q : queue)
    out += "  run " + q.value("run", json(0)).dump() + " wants " + json_str(q, "wanted") + "\n";
  return out;
}

namespace {

std::string ago(const json& j, const char* key, int64_t now) {
  if (!j.contains(key) || !j[key].is_number_integer()) return "never";
  int64_t s = (now - j[key].get<int64_t>()) / 1000;
  if (s < 0) return "in " + std::to_string(-s) + "s";
  if (s < 120) return std::to_string(s) + "s ago";
  if (s < 7200) return std::to_string(s / 60) + "m ago";
  return std::to_string(s / 3600) + "h ago";
}

}  // namespace

std::string repos_table(const std::string& body, int64_t now) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("repos") || !j["repos"].is_array()) return "";
  std::string out;
  for (const auto& r : j["repos"]) {
    if (!r.is_object()) continue;
    out += json_str(r, "name") + "  " + json_str(r, "url") + "\n";
    out += "  last fetch " + ago(r, "last_fetch_at", now) + ", last success " +
           ago(r, "last_success_at", now);
    if (r.contains("next_fetch_at") && r["next_fetch_at"].is_number_integer()) {
      int64_t next = (r["next_fetch_at"].get<int64_t>() - now) / 1000;
      out += ", next in " + std::to_string(std::max<int64_t>(next, 0)) + "s";
    }
    out += "\n";
    std::string error = json_str(r, "last_error");
    if (!error.empty()) {
      out += "  error (" + std::to_string(json_num(r, "failures")) + " in a row): " + error + "\n";
    }
    if (r.contains("heads") && r["heads"].is_object()) {
      for (const auto& [ref, commit] : r["heads"].items()) {
        std::string sha = commit.is_string() ? commit.get<std::string>().substr(0, 12) : "";
        out.append("  ").append(sha).append("  ").append(ref).append("\n");
      }
    }
  }
  return out;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool status_is(const std::string& word, RunStatus status) {
  return parse_run_status(word) == status;
}

const char* color_of(const std::string& status, bool color_waiting) {
  std::optional<RunStatus> s = parse_run_status(status);
  if (!s) return "\033[2m";
  switch (*s) {
    case RunStatus::Succeeded:
      return "\033[32m";
    case RunStatus::Failed:
      return "\033[31m";
    case RunStatus::Unstable:
      return "\033[33m";
    case RunStatus::Aborted:
      return "\033[35m";
    case RunStatus::Running:
      return "\033[36m";
    case RunStatus::Waiting:
      return color_waiting ? "\033[33m" : "\033[2m";
    default:
      return "\033[2m";
  }
}

bool run_finished(const std::string& s) {
  std::optional<RunStatus> status = parse_run_status(s);
  return status && is_finished(*status) && *status != RunStatus::Skipped;
}

int exit_code_for(const std::string& s) {
  switch (parse_run_status(s).value_or(RunStatus::Failed)) {
    case RunStatus::Succeeded:
      return 0;
    case RunStatus::Unstable:
      return 3;
    case RunStatus::Aborted:
      return 4;
    default:
      return 1;
  }
}

bool parse_audit_entries(const std::string& body, std::vector<AuditEntryView>& append_to) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("entries") || !j["entries"].is_array()) return false;
  for (const json& e : j["entries"]) {
    if (!e.is_object()) continue;
    AuditEntryView v;
    v.id = json_num(e, "id");
    v.at = json_num(e, "at");
    v.actor = json_str(e, "actor");
    v.action = json_str(e, "action");
    v.subject = json_str(e, "subject");
    v.prev_hash = json_str(e, "prev_hash");
    v.hash = json_str(e, "hash");
    if (auto d = e.find("details"); d != e.end() && d->is_object()) {
      for (const auto& [key, value] : d->items()) {
        if (value.is_string()) v.details[key] = value.get<std::string>();
      }
    }
    append_to.push_back(std::move(v));
  }
  return true;
}

std::string audit_entries_json(const std::vector<AuditEntryView>& entries) {
  json list = json::array();
  for (const AuditEntryView& v : entries) {
    list.push_back({{"id", v.id},
                    {"at", v.at},
                    {"actor", v.actor},
                    {"action", v.action},
                    {"subject", v.subject},
                    {"details", v.details},
                    {"prev_hash", v.prev_hash},
                    {"hash", v.hash}});
  }
  json j = {{"entries", std::move(list)}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool parse_audit_verify(const std::string& body, AuditVerifyView& out) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("ok") || !j["ok"].is_boolean()) return false;
  out.ok = j["ok"].get<bool>();
  out.entries = json_num(j, "entries");
  out.first_broken = json_num(j, "first_broken");
  out.reason = json_str(j, "reason");
  return true;
}

}  // namespace gantry::cli

namespace gantry::cli {

bool fetch_pool(const Remote& remote, std::vector<pipelines::PoolAgent>& pool, std::string& error) {
  net::ClientResponse resp = call(remote, "GET", "/api/v1/agents");
  if (!resp.ok || resp.status != 200) {
    error = "cannot read the agents of " + remote.server + ": " +
            (resp.ok ? "HTTP " + std::to_string(resp.status) : resp.error);
    return false;
  }
  json j = json::parse(resp.body, nullptr, false);
  if (!j.is_object() || !j.contains("agents") || !j["agents"].is_array()) {
    error = remote.server + " did not answer with a list of agents";
    return false;
  }
  for (const auto& a : j["agents"]) {
    if (!a.is_object() || !a.value("connected", false)) continue;
    pipelines::PoolAgent agent;
    agent.name = json_str(a, "name");
    agent.labels.insert(agent.name);
    for (const auto& l : a.value("labels", json::array())) {
      if (l.is_string()) agent.labels.insert(l.get<std::string>());
    }
    pool.push_back(std::move(agent));
  }
  return true;
}

std::string pool_fit_text(const std::vector<pipelines::StageFit>& fits, size_t pool_size) {
  std::string out = "agents (" + std::to_string(pool_size) + " connected):\n";
  for (const auto& f : fits) {
    out += "  " + f.stage_id + " [" + (f.label.empty() ? "any" : f.label) + "]: ";
    if (f.evaluated) {
      out += "decided at run time (the label is an expression)\n";
    } else if (f.agents.empty()) {
      out += "none qualifies: the stage would wait\n";
    } else {
      std::string names;
      for (size_t i = 0; i < f.agents.size() && i < 10; ++i) names += (i ? ", " : "") + f.agents[i];
      if (f.agents.size() > 10) names += ", ... (" + std::to_string(f.agents.size()) + ")";
      out += names + "\n";
    }
  }
  return out;
}

}  // namespace gantry::cli
