// The step dispatcher, argument evaluation, process running, and the simple
// steps: sh, echo, error, unstable, sleep.
#include "step_runner.hpp"

#include <charconv>
#include <filesystem>
#include <optional>

#include "process.hpp"
#include "script_engine.hpp"

namespace gantry::agent {

using pipelines::Node;
using pipelines::Result;
using pipelines::Step;
using pipelines::Value;

namespace {

constexpr size_t kReadChunk = size_t{64} * 1024;
constexpr size_t kMaxCapture = size_t{16} << 20;  // sh returnStdout
constexpr auto kSyncEvery = std::chrono::seconds(1);

std::string where(const Node& n) {
  return std::to_string(n.pos.line) + ":" + std::to_string(n.pos.col);
}

std::string first_line(std::string_view script) {
  size_t start = script.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return "";
  script.remove_prefix(start);
  size_t end = script.find('\n');
  std::string line(script.substr(0, end));
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
  if (end != std::string_view::npos &&
      script.find_first_not_of(" \t\r\n", end) != std::string_view::npos) {
    line += " ...";
  }
  return line;
}

// Keeps the job's process registered with JobControl while it runs.
class Attached {
 public:
  Attached(JobControl& control, Process& process) : control_(control), process_(process) {
    control_.attach(&process);
  }
  ~Attached() { control_.detach(&process_); }
  Attached(const Attached&) = delete;
  Attached& operator=(const Attached&) = delete;

 private:
  JobControl& control_;
  Process& process_;
};

}  // namespace

StepStatus StepStatus::failure(std::string message, Result result) {
  StepStatus s;
  s.ok = false;
  s.result = result;
  s.message = std::move(message);
  return s;
}

StepStatus StepStatus::with_value(Value value) {
  StepStatus s;
  s.value = std::move(value);
  return s;
}

Result JobState::overall() const {
  return pipelines::worse(pipelines::worse(stage_result, build_result), current);
}

void JobState::set_build_result(Result r) {
  build_result = pipelines::worse(build_result, r);
  if (reason.empty() && r != Result::Success) {
    reason = std::string("currentBuild.result set to ") + pipelines::result_name(r);
  }
}

void JobState::mark_unstable(const std::string& reason) {
  stage_result = pipelines::worse(stage_result, Result::Unstable);
  build_result = pipelines::worse(build_result, Result::Unstable);
  if (this->reason.empty()) this->reason = reason;
}

std::string format_seconds(std::chrono::milliseconds d) {
  auto ms = d.count();
  std::string out = std::to_string(ms / 1000);
  if (ms % 1000 != 0) {
    std::string frac = std::to_string(1000 + ms % 1000).substr(1);
    while (frac.back() == '0') frac.pop_back();
    out += "." + frac;
  }
  return out + "s";
}

std::optional<std::chrono::milliseconds> to_duration(int64_t n, std::string_view unit) {
  constexpr int64_t kYearMs = int64_t{366} * 24 * 3600 * 1000;
  struct Unit {
    std::string_view name;
    int64_t num;  // milliseconds = n * num / den
    int64_t den;
  };
  constexpr Unit kUnits[] = {{"NANOSECONDS", 1, 1000000}, {"MICROSECONDS", 1, 1000},
                             {"MILLISECONDS", 1, 1},      {"SECONDS", 1000, 1},
                             {"MINUTES", 60000, 1},       {"HOURS", 3600000, 1},
                             {"DAYS", 86400000, 1}};
  if (n < 0) n = 0;
  for (const Unit& u : kUnits) {
    if (u.name != unit) continue;
    int64_t ms = n > kYearMs ? kYearMs : n;  // keeps n * num from overflowing
    ms = std::min(ms * u.num / u.den, kYearMs);
    return std::chrono::milliseconds(ms);
  }
  return std::nullopt;
}

// ---- arguments

StepArgs::StepArgs(const Step& step, pipelines::EvalContext ctx)
    : step_(step), ctx_(std::move(ctx)) {}

const Node* StepArgs::node(std::string_view key, size_t position) const {
  return step_.arg(key, position);
}

void StepArgs::fail(const Node& at, const std::string& message) {
  if (error_.empty()) error_ = step_.name + ": " + where(at) + ": " + message;
}

StepStatus StepArgs::failure() const {
  return StepStatus::failure(error_);
}

std::optional<Value> StepArgs::eval(const Node& n) {
  pipelines::EvalResult r = pipelines::evaluate(n, ctx_);
  if (auto* e = std::get_if<pipelines::EvalError>(&r)) {
    if (error_.empty()) {
      error_ = step_.name + ": " + std::to_string(e->pos.line) + ":" + std::to_string(e->pos.col) +
               ": " + e->message;
    }
    return std::nullopt;
  }
  return std::get<Value>(std::move(r));
}

std::optional<Value> StepArgs::value(std::string_view key, size_t position) {
  const Node* n = node(key, position);
  if (n == nullptr) return std::nullopt;
  return eval(*n);
}

std::optional<std::string> StepArgs::string(std::string_view key, size_t position) {
  auto v = value(key, position);
  if (!v || v->is_null()) return std::nullopt;
  return v->to_string();
}

std::optional<int64_t> StepArgs::integer(std::string_view key, size_t position) {
  auto v = value(key, position);
  if (!v || v->is_null()) return std::nullopt;
  if (v->is_int()) return std::get<int64_t>(v->data);
  if (v->is_double()) return static_cast<int64_t>(std::get<double>(v->data));
  std::string text = v->to_string();
  int64_t out = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || end != text.data() + text.size()) {
    fail(*node(key, position),
         "expected a number for '" + std::string(key) + "', got '" + text + "'");
    return std::nullopt;
  }
  return out;
}

bool StepArgs::boolean(std::string_view key, bool fallback) {
  auto v = value(key);
  if (!v || v->is_null()) return fallback;
  if (v->is_string()) {
    const std::string& s = std::get<std::string>(v->data);
    if (s == "true" || s == "false") return s == "true";
  }
  return v->truthy();
}

// ---- running steps

std::map<std::string, std::string> StepRunner::effective_env(const StepScope& scope) const {
  std::map<std::string, std::string> env = scope.env;
  for (const auto& [k, v] : job_.env_overrides) {
    auto now = scope.env.find(k);
    auto base = job_.base_env.find(k);
    bool pinned =
        now != scope.env.end() && (base == job_.base_env.end() || base->second != now->second);
    if (!pinned) env[k] = v;
  }
  return env;
}

ScriptEngine& StepRunner::engine() {
  if (!job_.engine) {
    job_.engine = std::make_shared<ScriptEngine>(job_, *this, job_.tree);
    job_.engine->start();
  }
  return *job_.engine;
}

pipelines::EvalContext StepRunner::context(const StepScope& scope) const {
  pipelines::EvalContext ctx;
  ctx.env = effective_env(scope);
  // Parameters travel as strings in the environment; "true"/"false" come
  // from booleanParam, whose value Groovy code tests for truth.
  for (const auto& [k, v] : scope.env) {
    ctx.params.emplace(k, v == "true" || v == "false" ? Value(v == "true") : Value(v));
  }
  Result overall = job_.overall();
  ctx.current_result =
      overall != Result::Success ? pipelines::result_name(overall) : job_.spec.current_result;
  // A Jenkinsfile's step arguments are Groovy: the job's interpreter evaluates them.
  if (job_.tree && job_.spec.pipeline_format != "yaml") {
    auto* self = const_cast<StepRunner*>(this);
    const StepScope* at = &scope;
    ctx.evaluator = [self, at](const pipelines::Node& n) {
      return self->engine().evaluate(n, *at);
    };
  }
  return ctx;
}

void StepRunner::log(std::string_view text) {
  std::string line = "[gantry] ";
  line.append(text).append("\n");
  job_.spool.append(line);
}

// Not logged here: the JobRunner reports a job-level stop once, a timeout
// step its own expiry.
StepStatus StepRunner::interruption() const {
  StepStatus s = StepStatus::failure("interrupted by timeout", Result::Aborted);
  if (job_.control.halted()) {
    std::string reason = job_.control.stop_reason();
    s.message = reason.empty() ? "aborted" : reason;
    s.stopped = true;
  }
  s.logged = true;
  return s;
}

StepStatus StepRunner::run_steps(const std::vector<Step>& steps, const StepScope& scope,
                                 bool events) {
  std::optional<StepScope> local;  // once a step exports variables
  for (const Step& step : steps) {
    if (job_.control.interrupted()) return interruption();
    if (events) job_.host.step_event(step.name, "started");
    StepStatus st = run_step(step, local ? *local : scope);
    if (events) job_.host.step_event(step.name, st.ok ? "succeeded" : "failed");
    if (!st.ok) return st;
    if (!st.exports.empty()) {
      if (!local) local = scope;
      for (auto& [k, v] : st.exports) local->env[k] = v;
    }
  }
  return StepStatus{};
}

StepStatus StepRunner::run_step(const Step& step, const StepScope& scope, bool log_failure) {
  if (job_.control.interrupted()) return interruption();
  StepStatus st = dispatch(step, scope);
  if (!st.ok && !st.logged && log_failure) {
    log((st.result == Result::Aborted ? "Aborted: " : "ERROR: ") + st.message);
    st.logged = true;
  }
  return st;
}

StepStatus StepRunner::body(const Step& step, const StepScope& scope) {
  if (step.closure >= 0) return engine().run_closure(step.closure, scope);
  return run_steps(step.body, scope, false);
}

StepRunner::StepFn StepRunner::lookup(std::string_view name) {
  static const std::pair<std::string_view, StepFn> kSteps[] = {
      {"sh", &StepRunner::sh},
      {"echo", &StepRunner::echo},
      {"error", &StepRunner::error},
      {"unstable", &StepRunner::unstable},
      {"sleep", &StepRunner::sleep},
      {"dir", &StepRunner::dir},
      {"withEnv", &StepRunner::with_env},
      {"withCredentials", &StepRunner::with_credentials},
      {"sshagent", &StepRunner::sshagent},
      {"lock", &StepRunner::lock},
      {"milestone", &StepRunner::milestone},
      {"build", &StepRunner::build},
      {"parallel", &StepRunner::parallel_step},
      {"timeout", &StepRunner::timeout},
      {"retry", &StepRunner::retry},
      {"catchError", &StepRunner::catch_error},
      {"warnError", &StepRunner::warn_error},
      {"script", &StepRunner::script},
      {"writeFile", &StepRunner::write_file},
      {"readFile", &StepRunner::read_file},
      {"fileExists", &StepRunner::file_exists},
      {"deleteDir", &StepRunner::delete_dir},
      {"checkout", &StepRunner::checkout},
      {"git", &StepRunner::git},
      {"cleanWs", &StepRunner::clean_ws},
      {"archiveArtifacts", &StepRunner::archive_artifacts},
      {"junit", &StepRunner::junit},
      {"publishHTML", &StepRunner::publish_html},
      {"recordIssues", &StepRunner::record_issues},
      {"stash", &StepRunner::stash},
      {"unstash", &StepRunner::unstash},
      {"input", &StepRunner::input},
      {"mail", &StepRunner::mail},
      {"emailext", &StepRunner::emailext},
      {"slackSend", &StepRunner::slack_send},
      {"compareMetrics", &StepRunner::compare_metrics},
      {"pwd", &StepRunner::pwd},
      {"isUnix", &StepRunner::is_unix},
      {"libraryResource", &StepRunner::library_resource},
      {"library", &StepRunner::library},
      {"tool", &StepRunner::tool},
      {"container", &StepRunner::container},
      // Pipeline Utility Steps (steps_utility.hpp).
      {"readJSON", &StepRunner::utility},
      {"writeJSON", &StepRunner::utility},
      {"readYaml", &StepRunner::utility},
      {"writeYaml", &StepRunner::utility},
      {"readProperties", &StepRunner::utility},
      {"readCSV", &StepRunner::utility},
      // Log decoration wrappers: the body runs as is.
      {"timestamps", &StepRunner::body},
      {"ansiColor", &StepRunner::body},
      // GitHub Checks' withChecks('name') { }: its body (the run's commit statuses are the
      // controller's, docs/forges.md).
      {"withChecks", &StepRunner::body},
  };

  for (const auto& [n, fn] : kSteps) {
    if (n == name) return fn;
  }
  return nullptr;
}

bool StepRunner::supports(std::string_view name) {
  return lookup(name) != nullptr;
}

StepStatus StepRunner::dispatch(const Step& step, const StepScope& scope) {
  if (StepFn fn = lookup(step.name)) return (this->*fn)(step, scope);
  // A method of the Jenkinsfile used as a step: def deployTo(env) { ... }.
  if (job_.tree && engine().has_method(step.name)) return engine().call_method(step, scope);
  return StepStatus::failure("step '" + step.name + "' is not supported by this agent");
}

std::string StepRunner::resolve(const StepScope& scope, const std::string& path) const {
  std::filesystem::path p(path);
  return (p.is_absolute() ? p : std::filesystem::path(scope.cwd) / p).lexically_normal().string();
}

StepStatus StepRunner::run_process(const std::vector<std::string>& argv, const StepScope& scope,
                                   std::string* capture, ProcessMode mode) {
  std::error_code ec;
  std::filesystem::create_directories(scope.cwd, ec);  // deleteDir may have removed it
  if (job_.control.interrupted()) return interruption();
  if (ScriptEngine::branch_stopped()) {
    return StepStatus::failure("not started: another branch failed (failFast)", Result::Aborted);
  }
  Process proc;
  std::string error;
  const bool in_container =
      mode == ProcessMode::Step && !scope.container.empty() && job_.container_engine;
  // The engine's client runs as the agent (its containers are the agent's); the step in
  // the container runs as the job user through `exec -u`.
  ProcessSpec spec{in_container ? exec_in_container(argv, scope) : argv, effective_env(scope),
                   scope.cwd, job_.cookie,
                   in_container || mode == ProcessMode::Engine ? std::nullopt : job_.run_as};
  if (!proc.start(spec, error)) {
    return StepStatus::failure("cannot start " + spec.argv.front() + ": " + error);
  }
  int status = 0;
  bool dropped = false;
  {
    Attached attached(job_.control, proc);
    ScriptEngine::Wait others_run(job_.engine.get(), &proc);  // scripted parallel branches
    std::string buf(kReadChunk, '\0');
    for (;;) {
      long n = proc.read(buf.data(), buf.size());
      if (n <= 0) break;
      std::string_view chunk(buf.data(), static_cast<size_t>(n));
      if (capture == nullptr) {
        job_.spool.append(chunk);
      } else if (capture->size() + chunk.size() <= kMaxCapture) {
        capture->append(chunk);
      } else {
        dropped = true;
      }
      job_.spool.sync_due(kSyncEvery);
    }
    status = proc.wait();
  }
  // Durable at least every second; the job's end syncs the rest before its
  // finish is recorded (JobRunner::run), so a step's end need not.
  job_.spool.sync_due(kSyncEvery);
  if (job_.control.interrupted()) return interruption();
  if (dropped) log("output past " + std::to_string(kMaxCapture >> 20) + " MiB was not captured");
  return StepStatus::with_value(Value(status));
}

// ---- simple steps

StepStatus StepRunner::sh(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  auto script = args.string("script", 0);
  bool return_status = args.boolean("returnStatus", false);
  bool return_stdout = args.boolean("returnStdout", false);
  if (!args.ok()) return args.failure();
  if (!script) return StepStatus::failure("sh: no script given");
  log("+ " + first_line(*script));
  std::string out;
  // A script that starts with "#!" runs under the interpreter it names, as Jenkins runs it (the
  // script is a file it executes): written to a private file in WORKSPACE_TMP (else TMPDIR,
  // /tmp) by a small sh, run, and removed. The script travels as the sh's $0, so the same works
  // on this machine, in a container and in a pod.
  static constexpr const char* kShebangRunner =
      "d=${WORKSPACE_TMP:-${TMPDIR:-/tmp}}; [ -d \"$d\" ] && [ -w \"$d\" ] || d=/tmp; "
      "f=$(mktemp \"$d/gantry-script-XXXXXX\") || exit 1; "
      "printf '%s' \"$0\" > \"$f\" && chmod 700 \"$f\" || { rm -f \"$f\"; exit 1; }; "
      "\"$f\"; r=$?; rm -f \"$f\"; exit $r";
  std::vector<std::string> argv = {"/bin/sh", "-e", "-c", *script};
  if (script->starts_with("#!")) argv = {"/bin/sh", "-c", kShebangRunner, *script};
  StepStatus st = run_process(argv, scope, return_stdout ? &out : nullptr, ProcessMode::Step);
  if (!st.ok) return st;
  int64_t code = std::get<int64_t>(st.value.data);
  if (return_status) return StepStatus::with_value(Value(code));
  if (code != 0) return StepStatus::failure("script returned exit code " + std::to_string(code));
  if (return_stdout) return StepStatus::with_value(Value(std::move(out)));
  return StepStatus{};
}

StepStatus StepRunner::echo(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  auto message = args.value("message", 0);
  if (!args.ok()) return args.failure();
  job_.spool.append((message ? message->to_string() : std::string()) + "\n");
  return StepStatus{};
}

StepStatus StepRunner::error(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  auto message = args.string("message", 0);
  if (!args.ok()) return args.failure();
  return StepStatus::failure(message.value_or("error"));
}

StepStatus StepRunner::unstable(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  auto message = args.string("message", 0);
  if (!args.ok()) return args.failure();
  std::string text = message.value_or("unstable");
  log("WARNING: " + text);
  job_.mark_unstable(text);
  return StepStatus{};
}

StepStatus StepRunner::pwd(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  bool tmp = args.boolean("tmp", false);
  if (!args.ok()) return args.failure();
  return StepStatus::with_value(Value(tmp ? job_.workspace + "@tmp" : scope.cwd));
}

StepStatus StepRunner::is_unix(const Step&, const StepScope&) {
  return StepStatus::with_value(Value(true));  // agents are Linux
}

StepStatus StepRunner::sleep(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  auto time = args.integer("time", 0);
  auto unit = args.string("unit").value_or("SECONDS");
  if (!args.ok()) return args.failure();
  auto d = to_duration(time.value_or(0), unit);
  if (!d) return StepStatus::failure("sleep: unknown unit '" + unit + "'");
  log("Sleeping for " + format_seconds(*d));
  bool slept = false;
  {
    ScriptEngine::Wait others_run(job_.engine.get(), nullptr);
    slept = job_.control.sleep_until(std::chrono::steady_clock::now() + *d);
  }
  if (!slept) return interruption();
  return StepStatus{};
}

}  // namespace gantry::agent
