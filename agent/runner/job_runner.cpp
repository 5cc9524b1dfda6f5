// The job: load the pipeline, find the stage, run its steps under the job's
// deadline, then its post blocks in Jenkins order, and report one outcome.
#include "job_runner.hpp"

#include "script_engine.hpp"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <random>

#include "gantry/pipelines/expression.hpp"
#include "gantry/pipelines/groovy_parser.hpp"
#include "gantry/pipelines/loader.hpp"
#include "gantry/pipelines/results.hpp"
#include "gantry/pipelines/stage_lookup.hpp"
#include "job_control.hpp"
#include "step_runner.hpp"

namespace gantry::agent {

using pipelines::Result;

namespace {

// 128 random bits in hex. getrandom(2) directly: std::random_device probes
// the CPU (cpuid, slow in a VM) each time one is made, once per job.
std::string make_cookie() {
  uint8_t bytes[16] = {};
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n > 0) {
      got += static_cast<size_t>(n);
    } else if (errno != EINTR) {
      std::random_device rd;  // no getrandom: the library's source
      for (; got < sizeof bytes; ++got) bytes[got] = static_cast<uint8_t>(rd());
    }
  }
  std::string out;
  constexpr char kHex[] = "0123456789abcdef";
  for (uint8_t b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

// The agent's environment, then the job's: spec.env (BUILD_ID, params,
// environment{}, axes), secrets, WORKSPACE and STAGE_NAME.
std::map<std::string, std::string> job_env(const protocol::JobSpec& spec,
                                           const std::string& workspace) {
  std::map<std::string, std::string> env = process_environment();
  for (const auto& [k, v] : spec.env) env[k] = v;
  for (const auto& [k, v] : spec.secrets) env[k] = v;
  env["WORKSPACE"] = workspace;
  env["WORKSPACE_TMP"] = workspace + "@tmp";  // Jenkins' name for the job's scratch directory
  if (!env.count("EXECUTOR_NUMBER")) env["EXECUTOR_NUMBER"] = "0";
  if (!spec.stage_name.empty()) env["STAGE_NAME"] = spec.stage_name;
  return env;
}

// `environment` values that read what only this agent knows ("/opt/x/bin:${env.PATH}"): the
// controller left markers; they take this agent's values, as Jenkins evaluates them here.
// What they read is this agent's own value (PATH before the job's PATH), or the job's where
// the controller knew it.
void expand_markers(std::map<std::string, std::string>& env) {
  std::map<std::string, std::string> known = process_environment();
  for (const auto& [k, v] : env) {
    if (v.find('\x1f') == std::string::npos) known[k] = v;
  }
  for (auto& [k, v] : env) {
    if (v.find('\x1f') != std::string::npos) v = pipelines::expand_agent_env(v, known);
  }
}

// Every `environment` variable of the pipeline, for finding a deferred one by position.
void collect_env(const std::vector<pipelines::Stage>& stages,
                 std::vector<const pipelines::EnvVar*>& out, int depth) {
  if (depth > pipelines::kMaxDepth) return;
  for (const auto& s : stages) {
    for (const auto& v : s.environment) out.push_back(&v);
    collect_env(s.stages, out, depth + 1);
    collect_env(s.parallel, out, depth + 1);
    if (s.matrix) {
      for (const auto& v : s.matrix->environment) out.push_back(&v);
      collect_env(s.matrix->stages, out, depth + 1);
    }
  }
}

// The agent section that applies to `target`: its own, else the nearest enclosing stage's
// (or matrix's), else the pipeline's.
const pipelines::Agent* find_agent(const std::vector<pipelines::Stage>& stages,
                                   const pipelines::Stage* target,
                                   const pipelines::Agent* inherited, int depth) {
  if (depth > pipelines::kMaxDepth) return nullptr;
  for (const auto& s : stages) {
    const pipelines::Agent* a =
        s.agent.kind != pipelines::AgentKind::Inherit ? &s.agent : inherited;
    if (&s == target) return a;
    if (auto* f = find_agent(s.stages, target, a, depth + 1)) return f;
    if (auto* f = find_agent(s.parallel, target, a, depth + 1)) return f;
    if (s.matrix) {
      const pipelines::Agent* m =
          s.matrix->agent.kind != pipelines::AgentKind::Inherit ? &s.matrix->agent : a;
      if (auto* f = find_agent(s.matrix->stages, target, m, depth + 1)) return f;
    }
  }
  return nullptr;
}

std::string first_error(const pipelines::Diagnostics& diags) {
  for (const auto& d : diags.all()) {
    if (d.severity == pipelines::Severity::Error) {
      return std::to_string(d.pos.line) + ":" + std::to_string(d.pos.col) + ": " + d.message;
    }
  }
  return "the pipeline could not be loaded";
}

// One run() of a JobRunner.
class Execution {
 public:
  Execution(const protocol::JobSpec& spec, const std::string& workspace, Spool& spool,
            JobHost& host, JobControl& control, const std::string& cookie,
            std::optional<RunAs> run_as)
      : job_{spec, workspace, spool, host, control, cookie}, steps_(job_) {
    job_.run_as = run_as;
  }

  void set_tools(const std::map<std::string, std::string>& tools, bool from_path) {
    job_.tools = tools;
    job_.tools_from_path = from_path;
  }

  void set_containers(std::shared_ptr<const ContainerEngine> engine, const std::string& agent_id) {
    job_.container_engine = std::move(engine);
    job_.agent_id = agent_id;
  }

  void set_git(git::GitCache* git) { job_.git = git; }

  JobOutcome run() {
    // The job's containers go with it, however it ends.
    struct RemoveContainers {
      StepRunner& steps;
      ~RemoveContainers() { steps.remove_containers(); }
    } remove_containers{steps_};
    const protocol::JobSpec& spec = job_.spec;
    auto format = spec.pipeline_format == "yaml" ? pipelines::SourceFormat::Yaml
                                                 : pipelines::SourceFormat::Jenkinsfile;
    if (std::string error; !pipelines::decode_libraries(spec.libraries, job_.libraries, error)) {
      return fail("libraries: " + error);
    }
    pipelines::LoadResult loaded = pipelines::load_pipeline(
        spec.pipeline_source, format, spec.libraries.empty() ? nullptr : &job_.libraries);
    if (!loaded.pipeline) return fail("pipeline: " + first_error(loaded.diagnostics));
    const pipelines::Pipeline& pipeline = *loaded.pipeline;
    StepScope scope{job_.workspace, job_env(spec, job_.workspace)};
    for (const std::string& t : spec.tools) {  // tools { maven 'M3' }
      size_t colon = t.find(':');
      std::string home, error;
      if (!tool_home(job_, t.substr(0, colon), t.substr(colon + 1), scope.env, home, error))
        return fail("tools: " + error);
      apply_tool(t.substr(0, colon), home, scope.env);
    }
    job_.tree = loaded.tree;
    job_.base_env = scope.env;
    if (spec.log_prelude && job_.tree && spec.pipeline_format != "yaml") {
      // The first job runs the code around `pipeline { }` now, so that what it prints is
      // logged even when no step of this stage needs Groovy.
      bool code = false;
      for (const auto& stmt : job_.tree->items) {
        if (!stmt) continue;
        const pipelines::Node& st = *stmt;
        bool pipeline_block = st.kind == pipelines::NodeKind::ExprStmt && st.lhs &&
                              st.lhs->kind == pipelines::NodeKind::Call && !st.lhs->lhs &&
                              st.lhs->text == "pipeline";
        code =
            code ||
            (!pipeline_block && st.kind != pipelines::NodeKind::MethodDef &&
             st.kind != pipelines::NodeKind::ClassDef && st.kind != pipelines::NodeKind::Import &&
             st.kind != pipelines::NodeKind::Package && st.kind != pipelines::NodeKind::Annotation);
      }
      if (code) (void)steps_.engine();
    }
    if (!spec.groovy_env.empty()) {
      // `environment` values the controller left to Groovy here, in order.
      std::vector<const pipelines::EnvVar*> vars;
      for (const auto& v : pipeline.environment) vars.push_back(&v);
      collect_env(pipeline.stages, vars, 0);
      for (const std::string& entry : spec.groovy_env) {
        size_t space = entry.rfind(' ');
        std::string name = entry.substr(0, space);
        std::string at = space == std::string::npos ? "" : entry.substr(space + 1);
        const pipelines::EnvVar* var = nullptr;
        for (const auto* v : vars) {
          if (v->name == name && v->value &&
              std::to_string(v->value->pos.line) + ":" + std::to_string(v->value->pos.col) == at)
            var = v;
        }
        if (var == nullptr) return fail("environment " + name + ": not found at " + at);
        pipelines::EvalResult r = steps_.engine().evaluate(*var->value, scope);
        if (auto* e = std::get_if<pipelines::EvalError>(&r)) {
          return fail("environment " + name + " (" + std::to_string(e->pos.line) + ":" +
                      std::to_string(e->pos.col) + "): " + e->message);
        }
        scope.env[name] = std::get<pipelines::Value>(r).to_string();
      }
    }
    expand_markers(scope.env);
    job_.base_env = scope.env;
    job_.description = spec.description;
    job_.display_name = spec.display_name;
    job_.current = pipelines::parse_result(spec.current_result).value_or(Result::Success);
    previous_ = pipelines::parse_result(spec.previous_result);

    const std::vector<pipelines::PostBlock>* post = &pipeline.post;
    pipelines::StageLookup found;
    if (!spec.stage_id.empty()) {
      found = pipelines::find_stage(pipeline, spec.stage_id);
      if (found.stage == nullptr) {
        return fail("stage '" + spec.stage_id + "' not found in the pipeline");
      }
    }
    // docker, dockerfile, kubernetes: the steps (and post) run in the stage's containers.
    const pipelines::Agent* agent =
        found.stage ? find_agent(pipeline.stages, found.stage, &pipeline.agent, 0)
                    : &pipeline.agent;
    if (agent && pipelines::runs_in_container(agent->kind)) {
      StepStatus st = steps_.enter_container_agent(*agent, scope);
      if (!st.ok) return fail(st.message);
    }
    if (found.stage) {
      const pipelines::Stage& stage = *found.stage;
      post = &stage.post;
      if (!spec.mode.empty()) {
        // One phase of a deploy (JobSpec.mode): its steps alone, no post,
        // except the "post" phase, which is the post alone.
        if (!stage.deploy) return fail("stage '" + spec.stage_id + "' does not deploy");
        const pipelines::Deploy& d = *stage.deploy;
        std::string weight = scope.env["CANARY_WEIGHT"];
        if (spec.mode == "rollback") {
          log("Rolling back " + scope.env["RELEASE_ID"] + " of " + d.environment);
          run_steps(d.rollback, scope);
        } else if (spec.mode == "canary") {
          log("Canary " + scope.env["RELEASE_ID"] + " of " + d.environment + " at " + weight + "%");
          run_steps(stage.steps, scope);
        } else if (spec.mode == "analysis" && d.canary) {
          log("Analysis of " + scope.env["RELEASE_ID"] + " at " + weight + "%");
          run_steps(d.canary->analysis, scope);
        } else if (spec.mode != "post") {
          return fail("unknown job mode '" + spec.mode + "' for stage '" + spec.stage_id + "'");
        }
        if (spec.mode != "post") return finish();
      } else {
        // A stage that groups others (parallel, matrix, nested stages) comes
        // here only for its post section, once its children ended; the
        // controller passes their combined result as current_result.
        bool group = !stage.parallel.empty() || !stage.stages.empty() || stage.matrix;
        if (!group) run_steps(stage.steps, scope, lock_option(stage));
      }
    }
    if (job_.control.stop_kind() == StopKind::Fenced) return finish();
    job_.control.begin_post();
    run_post(*post, scope);
    return finish();
  }

  void log(std::string_view text) { steps_.log(text); }

 private:
  // The stage's `options { lock(...) }`, which holds its resource around the steps; null: none.
  static const pipelines::Step* lock_option(const pipelines::Stage& stage) {
    for (const pipelines::Step& option : stage.options) {
      if (option.name == "lock") return &option;
    }
    return nullptr;
  }

  void run_steps(const std::vector<pipelines::Step>& steps, const StepScope& scope,
                 const pipelines::Step* lock = nullptr) {
    const protocol::JobSpec& spec = job_.spec;
    if (spec.timeout_ms > 0) {
      std::chrono::milliseconds limit(spec.timeout_ms);
      job_.control.set_deadline(std::chrono::steady_clock::now() + limit,
                                "timeout after " + format_seconds(limit));
    }
    auto run = [&](const StepScope& inner) { return steps_.run_steps(steps, inner, true); };
    StepStatus st = lock ? steps_.locked(*lock, scope, run) : run(scope);
    job_.control.clear_deadline();
    if (!st.ok) {
      if (reason_.empty()) inconclusive_ = st.inconclusive;
      add_failure(st.stopped ? Result::Aborted : st.result, st.message);
    }
    note_stop();
  }

  // Post blocks in Jenkins' order, each judged on the result as it stands
  // (a failing `always` makes `failure` apply).
  void run_post(const std::vector<pipelines::PostBlock>& blocks, const StepScope& scope) {
    std::vector<const pipelines::PostBlock*> order;
    order.reserve(blocks.size());
    for (const auto& b : blocks) order.push_back(&b);
    std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
      return static_cast<int>(a->condition) < static_cast<int>(b->condition);
    });
    for (const pipelines::PostBlock* block : order) {
      if (job_.control.halted()) break;  // cancelled again, or fenced, during post
      if (!pipelines::post_applies(block->condition, job_.overall(), previous_)) continue;
      const char* name = pipelines::post_condition_name(block->condition);
      log(std::string("Post: ") + name);
      StepStatus st = steps_.run_steps(block->steps, scope, true);
      if (!st.ok) {
        add_failure(st.stopped ? Result::Aborted : st.result,
                    "post " + std::string(name) + ": " + st.message);
      }
      note_stop();
    }
  }

  void add_failure(Result r, const std::string& message) {
    job_.stage_result = pipelines::worse(job_.stage_result, r);
    job_.build_result = pipelines::worse(job_.build_result, r);
    if (reason_.empty()) reason_ = message;
  }

  // A cancel, fence or job timeout makes the job ABORTED, even when it came
  // between two steps; said once in the log.
  void note_stop() {
    if (stop_logged_ || job_.control.stop_kind() == StopKind::None) return;
    stop_logged_ = true;
    std::string reason = job_.control.stop_reason();
    add_failure(Result::Aborted, reason);
    reason_ = reason;
    inconclusive_ = false;  // stopped: no verdict at all
    log("Aborted: " + reason);
  }

  JobOutcome fail(const std::string& message) {
    log("ERROR: " + message);
    add_failure(Result::Failure, message);
    return finish();
  }

  JobOutcome finish() {
    note_stop();
    JobOutcome out;
    out.result = pipelines::result_name(job_.build_result);
    out.stage_result = pipelines::result_name(job_.stage_result);
    out.reason = reason_.empty() ? job_.reason : reason_;
    out.tests = job_.tests;
    out.inconclusive = inconclusive_;
    out.env_changes = job_.env_overrides;
    if (job_.engine) out.script_state = job_.engine->exported_state();
    out.description = job_.description;
    out.display_name = job_.display_name;
    return out;
  }

  JobState job_;
  StepRunner steps_;
  std::optional<Result> previous_;
  std::string reason_;
  bool stop_logged_ = false;
  bool inconclusive_ = false;
};

}  // namespace

std::vector<std::string> job_secrets(const protocol::JobSpec& spec) {
  std::vector<std::string> out;
  // A value read from a file keeps its trailing newline; the shell drops it
  // ($(cat f), "$T"), so the trimmed value is masked too.
  auto add = [&out](const std::string& v) {
    out.push_back(v);
    std::string trimmed = v;
    while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == '\r'))
      trimmed.pop_back();
    if (!trimmed.empty() && trimmed != v) out.push_back(trimmed);
  };
  for (const auto& [name, value] : spec.secrets) add(value);
  for (const auto& [id, value] : spec.credentials) {
    add(value);
    if (size_t colon = value.find(':'); colon != std::string::npos) add(value.substr(colon + 1));
  }
  return out;
}

JobRunner::JobRunner(const protocol::JobSpec& spec, std::string workspace, Spool& spool,
                     JobHost& host)
    : spec_(spec),
      workspace_(std::move(workspace)),
      spool_(spool),
      host_(host),
      cookie_(make_cookie()),
      control_(std::make_unique<JobControl>(
          std::chrono::milliseconds(std::max<int64_t>(spec.cancel_grace_ms, 0)), cookie_)) {}

JobRunner::~JobRunner() = default;

void JobRunner::cancel(const std::string& reason, std::chrono::milliseconds grace, bool fenced) {
  if (fenced) {
    control_->stop(StopKind::Fenced, "fenced: lease lost", std::chrono::milliseconds(0));
  } else {
    control_->stop(StopKind::Cancel, reason.empty() ? "cancelled" : reason, grace);
  }
}

JobOutcome JobRunner::run() {
  JobOutcome out;
  try {
    Execution execution(spec_, workspace_, spool_, host_, *control_, cookie_, run_as_);
    execution.set_tools(tools_, tools_from_path_);
    execution.set_containers(engine_, agent_id_);
    execution.set_git(git_);
    out = execution.run();
  } catch (const std::exception& e) {
    out = JobOutcome{"FAILURE", "FAILURE", std::string("internal error: ") + e.what(), {}};
    spool_.append("[gantry] ERROR: " + out.reason + "\n");
  } catch (...) {
    out = JobOutcome{"FAILURE", "FAILURE", "internal error", {}};
    spool_.append("[gantry] ERROR: internal error\n");
  }
  spool_.flush();  // not synced here: the agent syncs it with the finish record
  return out;
}

}  // namespace gantry::agent
