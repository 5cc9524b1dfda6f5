#pragma once
// Which jobs a secret may reach (SPEC §9, "Secrets"). A secret scoped to
// environments reaches only the jobs of a stage that deploys to one of
// them, once its gates are passed (a rollback run's deploy too); scoped to
// repositories or branches, only runs of those (branch patterns as in
// `when { branch 'release/*' }`).
// A secret with no scope reaches runs of configured repositories only, and
// runs of an inline pipeline or an unconfigured URL, and runs of a change request from a fork,
// get no secret at all.
//
// Pure; no I/O. Used by job_spec() when it hands values to an agent.

#include <string>
#include <string_view>
#include <vector>

namespace gantry::controller {

class RunState;

struct SecretScope {
  std::vector<std::string> environments, repositories, branches;
  bool empty() const { return environments.empty() && repositories.empty() && branches.empty(); }
};

// Why the secret `id` may not go to the job of `node` ("" when it may).
// `branch`: the run's BRANCH_NAME ("" when none).
std::string secret_refusal(const std::string& id, const SecretScope& scope, const RunState& run,
                           int node, const std::string& branch);

}  // namespace gantry::controller
