#pragma once
// The commands that talk to a controller over its REST API (SPEC §10):
// trigger, runs, show, logs, wait, cancel, retry, agents, audit, and the local
// runner `gantry run`. The server and token come from --server/--token, or
// GANTRY_SERVER/GANTRY_TOKEN, or default to http://127.0.0.1:8080 and the
// admin token a local controller wrote to ./gantry-data/admin.token.
//
// Views of the API's JSON (remote_json.cpp) are plain structs here.

#include <cstdint>
#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include "gantry/common/states.hpp"
#include "gantry/net/http_client.hpp"
#include "gantry/pipelines/model.hpp"
#include "gantry/pipelines/pool_fit.hpp"

namespace gantry::cli {

struct Remote {
  std::string server = "http://127.0.0.1:8080";
  std::string token;
  net::TlsClientOptions tls;  // https: --ca FILE / GANTRY_CA, --insecure-skip-verify
  bool color = false;         // stdout is a terminal
};

struct StageView {
  std::string id, name, status, agent, reason;
  int attempts = 0;
  std::vector<std::string> attempt_names;  // a deploy's phases, by attempt - 1
  int64_t started_at = 0, finished_at = 0;
  uint64_t log_bytes = 0;
};

struct RunView {
  int64_t id = 0, number = 0;
  std::string job, status, reason, repo, ref, commit, author, trigger;
  std::string title;  // the commit's title, when the run knows it
  int64_t created_at = 0, started_at = 0, finished_at = 0;
  int64_t tests_total = 0, tests_failed = 0;
  std::vector<StageView> stages;
};

// remote_json.cpp
bool parse_run(const std::string& json, RunView& out);
bool parse_runs(const std::string& json, std::vector<RunView>& out);
std::string error_message(const std::string& body);  // {"error":{"message"}} or the body
std::string create_run_body(const std::string& repo, const std::string& ref,
                            const std::string& file,
                            const std::map<std::string, std::string>& params,
                            const std::string& source, const std::string& format);
std::string agents_table(const std::string& json);
std::string locks_table(const std::string& json);  // GET /api/v1/locks
// `gantry repos`: one block per repository; times relative to now_ms.
std::string repos_table(const std::string& json, int64_t now_ms);
int64_t now_ms();
// The views keep the status words as the API sent them, so a word this CLI
// does not know (a newer controller's) is still shown; these read them
// through the shared parser (gantry/common/states.hpp). An unknown word is
// no status: status_is is false, run_finished false.
bool status_is(const std::string& word, RunStatus status);
// The terminal colour of a status word; `waiting` is coloured only when
// asked (the watch view's tree, where a gate stands out).
const char* color_of(const std::string& status, bool color_waiting);
bool run_finished(const std::string& status);  // a run's end (a stage may also be skipped)
int exit_code_for(const std::string& status);  // 0 succeeded, 1 failed, 3 unstable, 4 aborted

// help.cpp: `gantry CMD --help` (false for a command it does not know), and the one shape of a
// usage error: "gantry: CMD: MESSAGE" and where the usage is; returns 2.
bool print_help(const std::string& cmd, std::ostream& out);
int usage_error(std::ostream& err, const std::string& cmd, const std::string& message);

// One API call with the remote's server and token (remote_commands.cpp).
net::ClientResponse call(const Remote& remote, const std::string& method, const std::string& path,
                         const std::string& body = {});
// Prints the failure and returns the exit code (2: could not talk to the
// controller or it refused).
int report(const net::ClientResponse& resp, const std::string& what, std::ostream& err);

// `--agents`: the controller's connected agents, for gantry lint and plan (pool_fit.hpp).
// False with `error` when the controller cannot be asked.
bool fetch_pool(const Remote& remote, std::vector<pipelines::PoolAgent>& pool, std::string& error);
// gantry plan --agents: "Build: agent1, agent2" per stage, or why none qualifies.
std::string pool_fit_text(const std::vector<pipelines::StageFit>& fits, size_t pool_size);

// `gantry audit`'s view of GET /api/v1/audit[/verify] (remote_json.cpp).
struct AuditEntryView {
  int64_t id = 0, at = 0;
  std::string actor, action, subject, prev_hash, hash;
  std::map<std::string, std::string> details;
};
struct AuditVerifyView {
  bool ok = false;
  int64_t entries = 0, first_broken = 0;
  std::string reason;
};
bool parse_audit_entries(const std::string& json, std::vector<AuditEntryView>& append_to);
std::string audit_entries_json(const std::vector<AuditEntryView>& entries);
bool parse_audit_verify(const std::string& json, AuditVerifyView& out);
// gantry audit [--json] | gantry audit verify [--json] (audit_command.cpp)
int audit_command(const Remote& remote, const std::vector<std::string>& args, std::ostream& out,
                  std::ostream& err);

int remote_command(const Remote& remote, const std::string& cmd,
                   const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// `gantry plan FILE --env NAME`: the gates on the way to NAME (plan_env.cpp).
int plan_env(const pipelines::Pipeline& pipeline, const std::string& env,
             const std::string& config_path, const Remote& remote, std::ostream& out,
             std::ostream& err);
int local_run_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// Follows a run until it ends: stage transitions as lines (or a compact
// live view with colors on a terminal), and with `logs` every stage's log as
// it grows. Returns the exit code for the run's result.
// gantry watch RUN: the live events stream, drawn in place (watch.cpp).
int watch_run(const Remote& remote, int64_t run_id, std::ostream& out, std::ostream& err);
int follow_run(const Remote& remote, int64_t run_id, bool logs, std::ostream& out,
               std::ostream& err);

}  // namespace gantry::cli
