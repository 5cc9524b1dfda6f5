// The `build` step (Jenkins' Pipeline: Build Step): starts a run of another configured job
// through the controller (controller/service/run_downstream.cpp), then, with `wait` (the
// default), follows it until it ends. `propagate` (the default) makes the downstream result
// this step's: FAILURE or ABORTED fail it with that result, UNSTABLE marks the stage and the
// run unstable. The value, as Jenkins' RunWrapper reads from Groovy: result, number,
// projectName, fullProjectName, displayName, absoluteUrl, ...; null without `wait`.
// A job stopped while it waits aborts the run it started, as Jenkins does.
#include <nlohmann/json.hpp>

#include <chrono>

#include "job_control.hpp"
#include "step_runner.hpp"

namespace gantry::agent {

using nlohmann::json;
using pipelines::Node;
using pipelines::NodeKind;
using pipelines::Step;

namespace {

constexpr auto kPollEvery = std::chrono::seconds(1);

// One `parameters:` entry: string(name: 'X', value: 'y'), booleanParam(name:, value: true),
// text, password, choice(name:, value:); their values as the downstream run gets them.
bool read_parameter(const Node& item, const pipelines::EvalContext& ctx, json& params,
                    std::string& error) {
  if (item.kind != NodeKind::Call || item.lhs) {
    error = "expected a parameter such as string(name: 'X', value: 'y')";
    return false;
  }
  Step p = step_from_call(item);
  StepArgs args(p, ctx);
  auto name = args.string("name");
  auto value = args.value("value");
  if (!args.ok()) {
    error = args.failure().message;
    return false;
  }
  if (!name || name->empty()) {
    error = p.name + "(...) has no name";
    return false;
  }
  static const char* kTypes[] = {"string",      "booleanParam", "text",        "password", "choice",
                                 "stringParam", "textParam",    "credentials", "run"};
  bool known = false;
  for (const char* t : kTypes) known = known || p.name == t;
  if (!known) {
    error = "unsupported parameter type " + p.name +
            " (use string, text, booleanParam, choice or password)";
    return false;
  }
  if (!value || value->is_null()) {
    params[*name] = p.name == "booleanParam" ? json(false) : json("");
  } else if (p.name == "booleanParam") {
    params[*name] = value->truthy();
  } else {
    params[*name] = value->to_string();
  }
  return true;
}

}  // namespace

StepStatus StepRunner::build(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  auto job = args.string("job", 0);
  const bool wait = args.boolean("wait", true);
  const bool propagate = args.boolean("propagate", true);
  (void)args.integer("quietPeriod");
  (void)args.boolean("waitForStart", false);
  const Node* list = args.node("parameters");
  if (!args.ok()) return args.failure();
  if (!job || job->empty()) return StepStatus::failure("build: no job named");
  json params = json::object();
  if (list) {
    if (list->kind != NodeKind::List)
      return StepStatus::failure("build: 'parameters' must be a list");
    for (const auto& item : list->items) {
      std::string error;
      if (!item || !read_parameter(*item, context(scope), params, error))
        return StepStatus::failure("build: " + error);
    }
  }
  // The key lets the controller answer a repeated start (its answer lost) with the same run.
  const std::string key = std::to_string(++build_steps_);
  json question = {{"op", "start"}, {"key", key}, {"job", *job}, {"parameters", params}};
  log("Scheduling project: " + *job);
  std::string text, error;
  json answer;
  if (!ask_controller("build", question.dump(), text, error)) {
    if (error == "interrupted") return interruption();
    return StepStatus::failure("build " + *job + ": " +
                               (error.starts_with("refused: ") ? error.substr(9) : error));
  }
  answer = json::parse(text, nullptr, false);
  if (!answer.is_object() || !answer.contains("run"))
    return StepStatus::failure("build " + *job + ": the controller's answer is not a run");
  const int64_t run = answer.value("run", int64_t{0});
  const std::string shown =
      answer.value("job", *job) + " #" + std::to_string(answer.value("number", int64_t{0}));
  log("Starting building: " + shown + " (run " + std::to_string(run) + ")");
  if (!wait) return StepStatus{};
  const json poll = {{"op", "status"}, {"run", run}};
  std::string last_error;
  for (;;) {
    if (!job_.control.sleep_until(std::chrono::steady_clock::now() + kPollEvery)) {
      // Stopped while waiting: the downstream run goes too (bounded, best effort).
      json cancel = {{"op", "cancel"}, {"run", run}};
      std::string ignored_text, ignored;
      (void)job_.host.coordinate("build", cancel.dump(), ignored_text, ignored);
      return interruption();
    }
    if (!job_.host.coordinate("build", poll.dump(), text, error)) {
      if (error.starts_with("refused: "))
        return StepStatus::failure("build " + shown + ": " + error);
      if (error != last_error)
        log("build: cannot reach the controller (" + error + "); asking again");
      last_error = error;
      continue;
    }
    answer = json::parse(text, nullptr, false);
    if (answer.is_object() && !answer.value("result", std::string()).empty()) break;
  }
  const std::string result = answer.value("result", std::string());
  log(shown + " completed: " + result);
  StepStatus st;
  std::vector<std::pair<std::string, pipelines::Value>> wrapper = {
      {"result", result},
      {"currentResult", result},
      {"number", answer.value("number", int64_t{0})},
      {"id", std::to_string(answer.value("number", int64_t{0}))},
      {"projectName", answer.value("job", *job).substr(answer.value("job", *job).rfind('/') + 1)},
      {"fullProjectName", answer.value("job", *job)},
      {"displayName", "#" + std::to_string(answer.value("number", int64_t{0}))},
      {"fullDisplayName", shown},
      {"absoluteUrl", answer.value("url", std::string())},
      {"runId", run}};
  st.entries = std::move(wrapper);
  if (!propagate || result == "SUCCESS") return st;
  if (result == "UNSTABLE") {
    job_.mark_unstable(shown + " completed with status UNSTABLE");
    return st;
  }
  StepStatus failed = StepStatus::failure(
      shown + " completed with status " + result + " (propagate: false to ignore)",
      result == "ABORTED" ? pipelines::Result::Aborted : pipelines::Result::Failure);
  failed.entries = st.entries;
  return failed;
}

}  // namespace gantry::agent
