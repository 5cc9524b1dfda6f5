#include "scheduler/secret_scope.hpp"

#include <algorithm>

#include "gantry/pipelines/when_eval.hpp"
#include "scheduler/run_state.hpp"

namespace gantry::controller {
namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

}  // namespace

std::string secret_refusal(const std::string& id, const SecretScope& scope, const RunState& run,
                           int node, const std::string& branch) {
  const std::string what = "credentials '" + id + "'";
  const RunRecord& r = run.run;
  if (r.repo_name.empty())
    return what + " are not given to runs of an inline pipeline or an unconfigured URL";
  // Anyone can open a pull request from a fork: its Jenkinsfile is theirs, so it reads nothing.
  if (r.from_fork())
    return what + " are not given to a change request from a fork (" +
           r.change_request.at("CHANGE_FORK") + ")";
  if (!scope.repositories.empty() && std::find(scope.repositories.begin(), scope.repositories.end(),
                                               r.repo_name) == scope.repositories.end())
    return what + " are scoped to repositories " + joined(scope.repositories) +
           " (this run is of " + r.repo_name + ")";
  if (!scope.branches.empty() &&
      std::none_of(scope.branches.begin(), scope.branches.end(),
                   [&](const std::string& b) { return pipelines::glob_match(b, branch); }))
    return what + " are scoped to branches " + joined(scope.branches) + " (this run is on " +
           (branch.empty() ? std::string("no branch") : branch) + ")";
  if (!scope.environments.empty()) {
    const ExecNode& n = run.nodes[static_cast<size_t>(node)];
    const pipelines::Deploy* deploy =
        n.kind == NodeKind::Stage && n.stage && n.stage->deploy ? &*n.stage->deploy : nullptr;
    const bool there = deploy && std::find(scope.environments.begin(), scope.environments.end(),
                                           deploy->environment) != scope.environments.end();
    const bool gated = n.record >= 0 && (run.record_of(node).gates.count(GateKind::Release) > 0 ||
                                         r.rollback_of != 0);
    if (!there || !gated)
      return what + " are scoped to environments " + joined(scope.environments) +
             ": only a stage that deploys there gets them, after its gate";
  }
  return "";
}

}  // namespace gantry::controller
