#pragma once
// What an agent is told about a job (job_spec.cpp): the stage's environment,
// evaluated here so every agent sees the same values, the secrets its steps
// name, and the source. Pure; no I/O.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "gantry/pipelines/expression.hpp"
#include "gantry/protocol/messages.hpp"
#include "scheduler/job_board.hpp"
#include "scheduler/run_state.hpp"

namespace gantry::controller {

// The environment a stage's steps see: Jenkins' standard variables, the
// parameters, the `environment` blocks (credentials() values go to
// `secrets` when given, else read "****"), matrix axes, gate values.
// `error`: why it could not be evaluated (an unknown credentials id).
// A value the controller cannot compute (Groovy beyond its subset: a step, a
// helper method) is left out, and named in `deferred` ("NAME LINE:COL") for
// the agent to compute.
std::map<std::string, std::string> stage_environment(const RunState& run, int node,
                                                     const SchedulerOptions& options,
                                                     std::map<std::string, std::string>* secrets,
                                                     std::string& error,
                                                     std::vector<std::string>* deferred = nullptr);
// An expression of the stage's agent (`label params.NODE`, a kubernetes `yaml "${...}"`),
// evaluated as Groovy with the stage's environment, the run's parameters and helpers.
pipelines::EvalResult evaluate_at_stage(const RunState& run, int node,
                                        const SchedulerOptions& options,
                                        const pipelines::Node& expr);
// The tools a node's steps need (`tools { maven 'M3' }` of the pipeline, its
// stages and matrix; the innermost per type): "TYPE:NAME" each. An agent has
// one when its config lists it (it advertises the label "tool:TYPE:NAME").
std::vector<std::string> required_tools(const RunState& run, int node,
                                        const SchedulerOptions& options);
// The label expression a node's job needs: its label, and each required tool.
std::string with_tools(const std::string& label, const std::vector<std::string>& tools);
// The assignment of `job`; `error` as for stage_environment.
protocol::JobSpec job_spec(const RunState& run, const Job& job, const SchedulerOptions& options,
                           std::string& error);
// Names the Jenkinsfile sets once to a string literal, at its top level (`def ID = 'x'`,
// `ID = 'x'`) or in the pipeline's environment: credentials ids written as names resolve here.
using LiteralVars = std::map<std::string, std::string>;
LiteralVars literal_vars(const pipelines::Node* file, const pipelines::Pipeline& pipeline);
// The credentials ids that these steps name (withCredentials bindings, in
// nested bodies and script blocks too), as literals or as names of `vars`.
void collect_credential_ids(const std::vector<pipelines::Step>& steps, std::set<std::string>& ids,
                            const LiteralVars* vars = nullptr);

}  // namespace gantry::controller
