// sshagent (Jenkins' SSH Agent plugin): an ssh-agent for the body, holding the named
// credentials' keys, reached through SSH_AUTH_SOCK; stopped, and its socket removed, however
// the body ends. The agent runs as the job user (ssh-agent answers its own user only), its
// socket in a private directory under /tmp (a Unix socket's path is short).
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "process.hpp"
#include "step_runner.hpp"

namespace gantry::agent {

using pipelines::Node;
using pipelines::NodeKind;
using pipelines::Step;

namespace {

// Stops the ssh-agent and removes its directory when the step ends.
struct AgentGuard {
  Process process;
  std::string dir;
  bool started = false;
  ~AgentGuard() {
    if (started) process.terminate_tree(std::chrono::milliseconds(500));
    std::error_code ec;
    if (!dir.empty()) std::filesystem::remove_all(dir, ec);
  }
};

}  // namespace

StepStatus StepRunner::sshagent(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  const Node* list = args.node("credentials", 0);
  const bool ignore_missing = args.boolean("ignoreMissing", false);
  if (!args.ok()) return args.failure();
  std::vector<std::string> ids;
  if (list && list->kind == NodeKind::List) {
    for (const auto& item : list->items) {
      if (!item) continue;
      auto v = args.eval(*item);
      if (v && !v->is_null()) ids.push_back(v->to_string());
    }
  } else if (list) {
    auto v = args.eval(*list);
    if (v && !v->is_null()) ids.push_back(v->to_string());
  }
  if (!args.ok()) return args.failure();
  if (ids.empty()) return StepStatus::failure("sshagent: no credentials named");
  std::vector<std::pair<std::string, std::string>> keys;
  for (const std::string& id : ids) {
    auto c = job_.spec.credentials.find(id);
    if (c == job_.spec.credentials.end()) {
      if (ignore_missing) {
        log("sshagent: credentials '" + id + "' not available; ignored (ignoreMissing)");
        continue;
      }
      return StepStatus::failure("sshagent: credentials '" + id + "' not available");
    }
    keys.emplace_back(id, c->second);
  }
  const std::map<std::string, std::string> env = effective_env(scope);
  auto path_of = env.find("PATH");
  const std::string path = path_of == env.end() ? std::string() : path_of->second;
  const std::string ssh_agent = find_on_path("ssh-agent", path);
  const std::string ssh_add = find_on_path("ssh-add", path);
  if (ssh_agent.empty() || ssh_add.empty())
    return StepStatus::failure(
        "sshagent: ssh-agent and ssh-add are not installed on this agent (openssh-client)");

  AgentGuard agent;
  char tmpl[] = "/tmp/gantry-ssh-XXXXXX";
  if (!::mkdtemp(tmpl)) return StepStatus::failure("sshagent: cannot make a socket directory");
  agent.dir = tmpl;
  if (job_.run_as && ::chown(tmpl, job_.run_as->uid, job_.run_as->gid) != 0)
    return StepStatus::failure("sshagent: cannot give " + agent.dir + " to the job user");
  const std::string sock = agent.dir + "/agent.sock";
  std::string error;
  ProcessSpec spec{{ssh_agent, "-D", "-a", sock}, env, scope.cwd, job_.cookie, job_.run_as};
  if (!agent.process.start(spec, error))
    return StepStatus::failure("sshagent: cannot start ssh-agent: " + error);
  agent.started = true;
  struct stat st {};
  for (int i = 0; i < 100 && ::stat(sock.c_str(), &st) != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (::stat(sock.c_str(), &st) != 0)
    return StepStatus::failure("sshagent: ssh-agent did not start");

  StepScope inner = scope;
  inner.env["SSH_AUTH_SOCK"] = sock;
  inner.env["SSH_AGENT_PID"] = std::to_string(agent.process.pid());
  for (const auto& [id, key] : keys) {
    // ssh-add reads the key from a file of the job user's, gone once it is added.
    std::string file;
    if (!temp_path("ssh-key", file, error)) return StepStatus::failure("sshagent: " + error);
    std::string text = key;
    if (!text.empty() && text.back() != '\n') text += '\n';
    if (!write_private_file(file, text, error) || !give_to_job_user(file, error)) {
      std::error_code ec;
      std::filesystem::remove(file, ec);
      std::string message = "sshagent: cannot write the key of '" + id + "': ";
      return StepStatus::failure(message.append(error));
    }
    std::string out;
    StepStatus added = run_process({ssh_add, file}, inner, &out);
    std::error_code ec;
    std::filesystem::remove(file, ec);
    if (!added.ok) {
      std::string message = "sshagent: ssh-add refused the key of '" + id + "': ";
      return StepStatus::failure(message.append(out));
    }
  }
  std::string names;
  for (const auto& [id, key] : keys) names += (names.empty() ? "" : ", ") + id;
  log("[ssh-agent] Using credentials " + names);
  return body(step, inner);
}

}  // namespace gantry::agent
