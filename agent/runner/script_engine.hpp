#pragma once
// Runs a job's Groovy (SPEC §4 "Groovy", docs/groovy.md): `script { }`
// blocks, helper methods called as steps, and the code around `pipeline { }`,
// in one interpreter per job. Steps are calls: a Groovy call to `sh`, `dir`,
// `withCredentials`... becomes a model Step run by the StepRunner, its
// closure body run back in the interpreter, its failure a Groovy exception
// (hudson.AbortException, catchable unless the job was stopped).
//
// State that outlives the job: `env.X = ...` (JobState.env_overrides), the
// script's variables (exported() as JSON, imported from JobSpec.script_state),
// currentBuild's description and display name. The controller carries them
// to the run's later jobs.
//
// Not responsible for the declarative steps around the Groovy, or for
// `environment` and `when`, which the controller evaluates. Runs on the job's
// thread only.

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gantry/pipelines/ast.hpp"
#include "gantry/pipelines/groovy.hpp"
#include "step_runner.hpp"

namespace gantry::agent {

class ScriptEngine {
 public:
  // `tree`: the parsed Jenkinsfile (its methods, classes and top-level code),
  // may be null.
  ScriptEngine(JobState& job, StepRunner& steps, std::shared_ptr<const pipelines::Node> tree);
  // Loads the run's libraries, runs the top-level code (not `pipeline { }`),
  // then restores the variables earlier jobs of the run left
  // (JobSpec.script_state). Called once the engine is the job's (JobState.engine):
  // the top-level code's steps evaluate their arguments through it.
  void start();
  ~ScriptEngine();
  ScriptEngine(const ScriptEngine&) = delete;
  ScriptEngine& operator=(const ScriptEngine&) = delete;

  // A failure of the top-level code, reported by the first step that needs Groovy.
  const std::optional<StepStatus>& prelude_failure() const { return prelude_failure_; }

  // A `script { }` closure (or block) in `scope`.
  StepStatus run_script(const pipelines::Node& code, const StepScope& scope);
  // The body of a block step called from Groovy (Step.closure).
  StepStatus run_closure(int id, const StepScope& scope);
  // A step argument or condition, with all of Groovy (the expression subset's
  // result type: strings, numbers, booleans, null; other values as their text).
  pipelines::EvalResult evaluate(const pipelines::Node& expr, const StepScope& scope);
  // A method defined in the Jenkinsfile, used as a step: `deployTo('prod')`.
  bool has_method(const std::string& name) const;
  StepStatus call_method(const pipelines::Step& step, const StepScope& scope);

  // A Pipeline Utility Step written as a declarative step (writeJSON,
  // writeYaml): its arguments evaluated as Groovy, then run (steps_utility.hpp).
  StepStatus run_utility_step(const pipelines::Step& step, const StepScope& scope);

  // The variables this job changed, as JSON for JobSpec.script_state ("" when none).
  std::string exported_state() const;

  // Scripted `parallel` runs its branches on threads that take turns with
  // the interpreter (one holds it at a time). A step that waits on a process
  // or a clock lets the others run: StepRunner wraps the wait in a Wait,
  // which also registers the process with the branch, so that failFast can
  // stop it. `engine` may be null (no Groovy in this job).
  class Wait {
   public:
    Wait(ScriptEngine* engine, Process* process);
    ~Wait();
    Wait(const Wait&) = delete;
    Wait& operator=(const Wait&) = delete;

   private:
    struct State;
    ScriptEngine* engine_ = nullptr;
    std::unique_ptr<State> state_;  // the thread's context while it lets go
    void* branch_ = nullptr;
  };
  // The branch this thread runs was stopped (failFast elsewhere).
  static bool branch_stopped();

  class Host;
  struct ThreadState;

 private:
  friend class Wait;
  StepStatus to_status(const std::string& where);
  ThreadState save_thread() const;
  void restore_thread(const ThreadState& s);

  std::mutex turn_;     // held by the thread running Groovy while branches run
  int concurrent_ = 0;  // scripted parallels in progress (under turn_)

  JobState& job_;
  std::shared_ptr<const pipelines::Node> tree_;
  std::unique_ptr<Host> host_;
  std::unique_ptr<pipelines::groovy::Interpreter> in_;
  std::vector<std::pair<std::string, std::string>> baseline_;  // variable -> encoded value
  std::optional<StepStatus> prelude_failure_;
};

}  // namespace gantry::agent
