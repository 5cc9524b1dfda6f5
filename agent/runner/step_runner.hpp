#pragma once
// Runs pipeline steps for the JobRunner: one function per step (SPEC §4),
// split over step_runner.cpp (dispatch, arguments, sh/echo/error/sleep),
// steps_control.cpp (block steps and `script { }`) and steps_files.cpp
// (files, artifacts, stashes, junit). Step arguments are expression nodes,
// evaluated here against the scope's environment.
//
// A failure is a value (StepStatus), never an exception: it stops the
// enclosing body and travels up until a catchError/warnError/retry/timeout
// handles it or it reaches the stage. Failures caused by a job-level stop
// (cancel, fence, job timeout) are never caught or retried.
//
// Not responsible for the stage, post blocks or the final result (JobRunner).
// Runs on the job's thread only; cancellation comes through JobControl.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "gantry/pipelines/expression.hpp"
#include "gantry/pipelines/groovy.hpp"
#include "gantry/pipelines/libraries.hpp"
#include "gantry/pipelines/model.hpp"
#include "gantry/pipelines/results.hpp"
#include "job_control.hpp"
#include "job_runner.hpp"

namespace gantry::git {
struct GitCredentials;
}

namespace gantry::agent {

class ScriptEngine;

struct StepStatus {
  bool ok = true;
  pipelines::Result result = pipelines::Result::Success;  // of a failure: FAILURE or ABORTED
  std::string message;
  bool stopped = false;       // by a job-level stop: not caught, not retried
  bool logged = false;        // the message is already in the log
  bool inconclusive = false;  // an analysis without enough samples to decide
  pipelines::Value value;     // sh returnStatus/returnStdout, readFile, fileExists
  // A map value instead (an input's parameters), its entries in order: Groovy
  // code gets a Map; `value` is then null.
  std::optional<std::vector<std::pair<std::string, pipelines::Value>>> entries;
  // Variables the following steps of the same block see (an input's
  // submitterParameter).
  std::map<std::string, std::string> exports;
  // A Groovy exception that failed a closure body: thrown again as itself
  // when the failure reaches Groovy code (so `catch (MyError e)` still sees it).
  pipelines::groovy::Value groovy_error;

  static StepStatus failure(std::string message,
                            pipelines::Result result = pipelines::Result::Failure);
  static StepStatus with_value(pipelines::Value value);
};

// Where steps run: the directory (dir) and the complete process environment
// (withEnv, withCredentials add to it).
struct StepScope {
  std::string cwd;
  std::map<std::string, std::string> env;
  // The container `sh` runs in (the engine's name for it); empty: this machine.
  std::string container;
};

// The job as the steps see and change it.
struct JobState {
  const protocol::JobSpec& spec;
  std::string workspace;
  Spool& spool;
  JobHost& host;
  JobControl& control;
  std::string cookie;
  pipelines::Result current = pipelines::Result::Success;  // the run's, from the spec
  pipelines::Result stage_result = pipelines::Result::Success;
  pipelines::Result build_result = pipelines::Result::Success;
  std::string reason;  // why the result first got worse without a failure
  protocol::TestCounts tests;
  std::optional<RunAs> run_as;  // the job user, when the agent has one

  // Groovy (script_engine.hpp): the parsed Jenkinsfile, the interpreter once
  // some Groovy ran, and what the job's Groovy changed for later jobs.
  std::shared_ptr<const pipelines::Node> tree;
  std::shared_ptr<ScriptEngine> engine;
  std::map<std::string, std::string> env_overrides;  // env.X = ... (build-wide, as in Jenkins)
  std::map<std::string, std::string> base_env;       // the job's environment before any step
  pipelines::LibraryBundle libraries;                // the run's shared libraries (JobSpec)
  std::map<std::string, std::string> tools;          // the agent's: "TYPE:NAME" -> home
  bool tools_from_path = false;                      // gantry run: unlisted tools from PATH
  std::string description;                           // currentBuild.description, when set
  std::string display_name;                          // currentBuild.displayName, when set

  // Containers (steps_container.cpp, docs/containers.md): the agent's engine, its id (a
  // label on every container the job starts, so a restart finds leftovers), what this job
  // started (removed at its end), and a kubernetes pod's containers by their pod-spec name.
  std::shared_ptr<const ContainerEngine> container_engine;
  std::string agent_id;
  std::vector<std::string> started_containers;
  std::set<std::string> auto_removed;  // of those, started with --rm
  // Names are never reused: one removed (--rm) may still be going when the next starts.
  uint64_t containers_named = 0;
  std::map<std::string, std::string> pod_containers;
  std::string default_container;  // the pod's, for steps outside container('x')
  // docker.withRegistry(url, credentialsId) { }, innermost last.
  std::vector<std::pair<std::string, std::string>> registries;
  // The agent's git mirror cache, for `git` and `checkout` (steps_scm.cpp); may be null.
  git::GitCache* git = nullptr;
  // The last seq of a notify step's message in this job (steps_notify.cpp).
  uint64_t notify_seq = 0;

  // The result so far, as post conditions and currentBuild see it.
  pipelines::Result overall() const;
  void mark_unstable(const std::string& reason);
  // currentBuild.result = r: as in Jenkins, a result can only get worse.
  void set_build_result(pipelines::Result r);
};

// The home of tool "TYPE:NAME" (`type` may be empty: any type of that name) on this
// agent: its config's, or with tools_from_path the directory above the tool's command on
// `env`'s PATH. False with `error` when it has none.
bool tool_home(const JobState& job, const std::string& type, const std::string& name,
               const std::map<std::string, std::string>& env, std::string& home,
               std::string& error);
// What `tools { }` does to the environment: HOME/bin first on PATH, and the type's
// variable (JAVA_HOME, MAVEN_HOME and M2_HOME, GRADLE_HOME, ANT_HOME, NODEJS_HOME, GOROOT).
void apply_tool(const std::string& type, const std::string& home,
                std::map<std::string, std::string>& env);

// Writes `value` to a new file `path` (0600, which must not exist): secret files, keys.
bool write_private_file(const std::string& path, const std::string& value, std::string& error);

// A step's arguments, evaluated on demand; the first error is kept.
class StepArgs {
 public:
  static constexpr size_t kNamed = static_cast<size_t>(-1);  // no positional form

  StepArgs(const pipelines::Step& step, pipelines::EvalContext ctx);

  const pipelines::Node* node(std::string_view key, size_t position = kNamed) const;
  std::optional<pipelines::Value> value(std::string_view key, size_t position = kNamed);
  std::optional<std::string> string(std::string_view key, size_t position = kNamed);
  std::optional<int64_t> integer(std::string_view key, size_t position = kNamed);
  bool boolean(std::string_view key, bool fallback);
  std::optional<pipelines::Value> eval(const pipelines::Node& node);

  bool ok() const { return error_.empty(); }
  // "step: line:col: message"
  StepStatus failure() const;

 private:
  void fail(const pipelines::Node& at, const std::string& message);

  const pipelines::Step& step_;
  pipelines::EvalContext ctx_;
  std::string error_;
};

class StepRunner {
 public:
  explicit StepRunner(JobState& job) : job_(job) {}

  // Runs `steps` in order and stops at the first failure. With `events`, each
  // step reports started/succeeded/failed to the host.
  // `step`'s lock (a lock step, or the stage option `lock(...)`) held around `run`.
  StepStatus locked(const pipelines::Step& step, const StepScope& scope,
                    const std::function<StepStatus(const StepScope&)>& run);
  StepStatus run_steps(const std::vector<pipelines::Step>& steps, const StepScope& scope,
                       bool events);
  // `log_failure` false: a failure is not logged here (a step called from
  // Groovy: its exception may be caught).
  StepStatus run_step(const pipelines::Step& step, const StepScope& scope, bool log_failure = true);
  // Whether this agent has a step of that name.
  static bool supports(std::string_view name);

  // "[gantry] <text>\n" into the spool.
  void log(std::string_view text);

  pipelines::EvalContext context(const StepScope& scope) const;

  // The process environment of `scope` with the job's `env.X = ...`
  // assignments, except where a withEnv/withCredentials around set the name.
  std::map<std::string, std::string> effective_env(const StepScope& scope) const;

  // The job's interpreter, made on first use.
  ScriptEngine& engine();

  // steps_container.cpp: the stage's container agent (docker, dockerfile, kubernetes) made
  // ready (pulled or built, started) and `scope` pointed at it; a failure fails the stage.
  StepStatus enter_container_agent(const pipelines::Agent& agent, StepScope& scope);
  // Removes every container the job started (at its end, whatever happened).
  void remove_containers();
  // Docker Pipeline (script_engine.cpp's `docker` global), all in steps_container.cpp.
  // `inside`: as docker.image().inside (cat, the job user, the workspace); else as withRun
  // and run (the image's own command, `args` as engine flags).
  StepStatus docker_start(const std::string& image, const std::string& args,
                          const std::string& command, bool inside, const StepScope& scope,
                          std::string& name);
  void docker_remove(const std::string& name);
  StepStatus docker_port(const std::string& name, const std::string& port, const StepScope& scope,
                         std::string& mapped);
  StepStatus docker_build(const std::string& image, const std::string& args,
                          const StepScope& scope);
  StepStatus docker_pull(const std::string& image, const StepScope& scope);
  StepStatus docker_push(const std::string& image, const std::string& tag, const StepScope& scope);
  StepStatus docker_tag(const std::string& image, const std::string& tag, const StepScope& scope);
  // The image's name with the innermost withRegistry's host, when it names none.
  std::string registry_image(const std::string& image) const;

 private:
  using StepFn = StepStatus (StepRunner::*)(const pipelines::Step&, const StepScope&);
  static StepFn lookup(std::string_view name);
  StepStatus dispatch(const pipelines::Step& step, const StepScope& scope);
  StepStatus interruption() const;
  StepStatus body(const pipelines::Step& step, const StepScope& scope);

  // Runs argv to completion, output to the spool (or into `capture`); the
  // exit status is the result's value. Interruptions come back as failures.
  // Host: on this machine, as the job user (tar, git). Step: in scope.container when there
  // is one (sh), else as Host. Engine: the container engine's own command (as the agent).
  enum class ProcessMode { Host, Step, Engine };
  StepStatus run_process(const std::vector<std::string>& argv, const StepScope& scope,
                         std::string* capture, ProcessMode mode = ProcessMode::Host);
  std::string resolve(const StepScope& scope, const std::string& path) const;

  // step_runner.cpp
  StepStatus sh(const pipelines::Step& step, const StepScope& scope);
  StepStatus echo(const pipelines::Step& step, const StepScope& scope);
  StepStatus error(const pipelines::Step& step, const StepScope& scope);
  StepStatus unstable(const pipelines::Step& step, const StepScope& scope);
  StepStatus sleep(const pipelines::Step& step, const StepScope& scope);
  StepStatus pwd(const pipelines::Step& step, const StepScope& scope);
  StepStatus is_unix(const pipelines::Step& step, const StepScope& scope);
  StepStatus input(const pipelines::Step& step, const StepScope& scope);  // steps_input.cpp
  // steps_notify.cpp: mail, emailext and slackSend, sent by the controller's channels.
  StepStatus mail(const pipelines::Step& step, const StepScope& scope);
  StepStatus emailext(const pipelines::Step& step, const StepScope& scope);
  StepStatus slack_send(const pipelines::Step& step, const StepScope& scope);
  StepStatus send_notification(const std::string& step, protocol::Notify message,
                               const std::string& what);
  // steps_analysis.cpp
  StepStatus compare_metrics(const pipelines::Step& step, const StepScope& scope);
  bool read_samples(const std::string& source, const StepScope& scope, std::vector<double>& out,
                    std::string& error);

  // steps_control.cpp
  StepStatus dir(const pipelines::Step& step, const StepScope& scope);
  StepStatus with_env(const pipelines::Step& step, const StepScope& scope);
  StepStatus with_credentials(const pipelines::Step& step, const StepScope& scope);
  // steps_ssh.cpp: sshagent(['id']) { } with an ssh-agent holding the keys.
  StepStatus sshagent(const pipelines::Step& step, const StepScope& scope);
  // steps_coordination.cpp: lock(resource) { } and milestone(ordinal), through the controller.
  StepStatus lock(const pipelines::Step& step, const StepScope& scope);
  StepStatus milestone(const pipelines::Step& step, const StepScope& scope);
  // steps_build.cpp: build(job: 'app/main', parameters: [...], wait, propagate).
  StepStatus build(const pipelines::Step& step, const StepScope& scope);
  // Asks the controller (JobHost::coordinate) until it answers or refuses, or the job stops
  // (error "interrupted"); a controller out of reach is asked again every second.
  bool ask_controller(const std::string& kind, const std::string& question, std::string& answer,
                      std::string& error);
  StepStatus timeout(const pipelines::Step& step, const StepScope& scope);
  StepStatus retry(const pipelines::Step& step, const StepScope& scope);
  StepStatus catch_error(const pipelines::Step& step, const StepScope& scope);
  StepStatus warn_error(const pipelines::Step& step, const StepScope& scope);

  // steps_script.cpp
  StepStatus script(const pipelines::Step& step, const StepScope& scope);
  StepStatus parallel_step(const pipelines::Step& step, const StepScope& scope);

  // steps_files.cpp
  StepStatus write_file(const pipelines::Step& step, const StepScope& scope);
  StepStatus read_file(const pipelines::Step& step, const StepScope& scope);
  StepStatus file_exists(const pipelines::Step& step, const StepScope& scope);
  // Shared libraries: libraryResource reads a library's resources/; `library`
  // names one the run already loaded (the controller loads them before the run).
  StepStatus library_resource(const pipelines::Step& step, const StepScope& scope);
  StepStatus library(const pipelines::Step& step, const StepScope& scope);
  // tool 'M3' / tool name: 'M3', type: 'maven': the tool's home on this agent.
  StepStatus tool(const pipelines::Step& step, const StepScope& scope);
  StepStatus delete_dir(const pipelines::Step& step, const StepScope& scope);
  StepStatus archive_artifacts(const pipelines::Step& step, const StepScope& scope);
  StepStatus junit(const pipelines::Step& step, const StepScope& scope);
  // steps_reports.cpp (docs/reports.md): publishHTML and recordIssues.
  StepStatus publish_html(const pipelines::Step& step, const StepScope& scope);
  StepStatus record_issues(const pipelines::Step& step, const StepScope& scope);
  // steps_utility.cpp: writeJSON/writeYaml as declarative steps (through the
  // engine, which evaluates their Groovy arguments); the read steps fail there.
  StepStatus utility(const pipelines::Step& step, const StepScope& scope);

  // steps_container.cpp
  StepStatus container(const pipelines::Step& step, const StepScope& scope);
  // The engine argv that runs `argv` in scope.container, as the job user, in scope.cwd,
  // with the job's variables (by name: their values travel in the engine's environment,
  // never on a command line).
  std::vector<std::string> exec_in_container(const std::vector<std::string>& argv,
                                             const StepScope& scope) const;
  // "UID:GID" steps run as in a container (the job user's, else the agent's), and the run
  // flags that give it (`-u`, and keep-id for rootless podman).
  std::string container_user() const;
  std::vector<std::string> container_user_flags() const;
  // `text` split and expanded by the job's shell (as the job user, in scope.cwd): where
  // Jenkins' Docker Pipeline puts a string into an `sh` command line.
  StepStatus shell_words(const std::string& text, const StepScope& scope,
                         std::vector<std::string>& words);
  // An engine command in the job's log (pull, build), cancellable like a step.
  StepStatus engine_command(std::vector<std::string> args, const StepScope& scope,
                            std::string* capture = nullptr);
  // How a container's image is fetched: `always` first, else only when it is missing.
  struct PullPolicy {
    bool always = false;
    std::string registry;
    std::string credentials_id;
  };
  // Starts a container for the job: labelled as the agent's, `name` returned. `auto_remove`:
  // the engine removes it when it stops (--rm), so the job's end only kills it.
  StepStatus start_container(const std::string& image, const std::vector<std::string>& flags,
                             const std::vector<std::string>& command, const StepScope& scope,
                             std::string& name, const PullPolicy& pull, bool auto_remove);
  // Engine `args` (pull, push) logged in to `registry` with `credentials_id`, when given.
  StepStatus logged_in_command(std::vector<std::string> args, const std::string& registry,
                               const std::string& credentials_id, const StepScope& scope);
  StepStatus pull_if_needed(const std::string& image, bool always, const std::string& registry,
                            const std::string& credentials_id, const StepScope& scope);

  // steps_scm.cpp: git, checkout (scm, GitSCM, scmGit) and cleanWs.
  StepStatus git(const pipelines::Step& step, const StepScope& scope);
  StepStatus checkout(const pipelines::Step& step, const StepScope& scope);
  StepStatus clean_ws(const pipelines::Step& step, const StepScope& scope);
  struct GitCheckout;
  StepStatus git_checkout(const GitCheckout& what, const StepScope& scope);
  // The submodules checked out in `dir` (from `url`), `levels` deep.
  StepStatus check_out_submodules(const std::string& step, const std::string& url,
                                  const std::string& dir, const git::GitCredentials& credentials,
                                  int levels);

  // steps_stash.cpp
  StepStatus stash(const pipelines::Step& step, const StepScope& scope);
  StepStatus unstash(const pipelines::Step& step, const StepScope& scope);
  // A fresh path under "<workspace>@tmp" (created 0700), for stash archives
  // and secret files.
  bool temp_path(std::string_view stem, std::string& path, std::string& error);
  // Makes `path` the job user's (when the agent has one), so its steps can read it.
  bool give_to_job_user(const std::string& path, std::string& error);

  JobState& job_;
  uint64_t temp_counter_ = 0;
  int64_t lock_blocks_ = 0;  // lock blocks so far: each holds its resource as "JOB#n"
  int64_t build_steps_ = 0;  // build steps so far: each start's key for the controller
};

// A step as written in a `script { }` (a Call node) in the model's form; a
// block becomes a body holding one `script` step with the closure.
pipelines::Step step_from_call(const pipelines::Node& call);

// A branch as Jenkins' git plugin takes it ("*/main", "origin/main", "main") as the ref
// GitCache::checkout resolves: "*/" and "origin/" (also "remotes/origin/" and
// "refs/remotes/origin/") stripped; "refs/heads/x", tags and SHAs as they are; blank:
// "master", Jenkins' default.
std::string jenkins_branch(std::string_view written);

// "5s", "1.5s": durations in messages.
std::string format_seconds(std::chrono::milliseconds d);

// `sleep`/`timeout` arguments: N in Jenkins' TimeUnit names (NANOSECONDS ..
// DAYS), capped at a year; nullopt for an unknown unit.
std::optional<std::chrono::milliseconds> to_duration(int64_t n, std::string_view unit);

}  // namespace gantry::agent
