// lock (Lockable Resources) and milestone (Pipeline Milestone Step): the job asks the
// controller, which keeps the queue and the milestones of every run (controller/scheduler/
// coordination.hpp). `lock` waits, asking again every second, until its resource is granted,
// runs its body, and releases it however the body ends (the controller also releases what a
// job held when the job ends). `milestone` passes, or aborts the run when a newer run of the
// same job passed it first. A controller that cannot be reached is asked again, not failed.
#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

#include "job_control.hpp"
#include "step_runner.hpp"

namespace gantry::agent {

using nlohmann::json;
using pipelines::Step;

namespace {

constexpr auto kAskEvery = std::chrono::seconds(1);

bool parse_answer(const std::string& text, json& answer, std::string& error) {
  answer = json::parse(text, nullptr, false);
  if (answer.is_object()) return true;
  error = "the controller's answer is not JSON";
  return false;
}

}  // namespace

bool StepRunner::ask_controller(const std::string& kind, const std::string& question,
                                std::string& answer, std::string& error) {
  std::string last_error;
  for (;;) {
    if (job_.host.coordinate(kind, question, answer, error)) return true;
    if (error.starts_with("refused: ")) return false;
    if (error != last_error)
      log(kind + ": cannot reach the controller (" + error + "); asking again");
    last_error = error;
    if (!job_.control.sleep_until(std::chrono::steady_clock::now() + kAskEvery)) {
      error = "interrupted";
      return false;
    }
  }
}

// lock('name') { }, lock(resource: 'name', inversePrecedence: true) { }, lock(label: 'printer',
// quantity: 1, variable: 'P') { }; also the stage option `options { lock(...) }`, which wraps
// the stage's steps. The pipeline's option is the controller's: it holds it for the whole run.
StepStatus StepRunner::lock(const Step& step, const StepScope& scope) {
  return locked(step, scope, [&](const StepScope& inner) { return body(step, inner); });
}

StepStatus StepRunner::locked(const Step& step, const StepScope& scope,
                              const std::function<StepStatus(const StepScope&)>& run) {
  StepArgs args(step, context(scope));
  auto resource = args.string("resource", 0);
  auto label = args.string("label");
  auto quantity = args.integer("quantity");
  const bool inverse = args.boolean("inversePrecedence", false);
  const bool skip_if_locked = args.boolean("skipIfLocked", false);
  auto variable = args.string("variable");
  if (!args.ok()) return args.failure();
  const bool by_label = label && !label->empty();
  const bool by_name = resource && !resource->empty();
  if (by_label && by_name)
    return StepStatus::failure("lock: either a resource or a label, not both");
  if (!by_label && !by_name) return StepStatus::failure("lock: no resource or label named");
  const int64_t count = quantity.value_or(0);
  if (count < 0) return StepStatus::failure("lock: the quantity is a whole number from 0 (0: all)");
  const std::string wanted =
      by_label
          ? "[Label: " + *label +
                ", Quantity: " + (count == 0 ? std::string("all") : std::to_string(count)) + "]"
          : "[" + *resource + "]";
  const int64_t block = ++lock_blocks_;
  json question = {{"op", "acquire"}, {"block", block}, {"inverse", inverse}};
  if (by_label) {
    question["label"] = *label;
    question["quantity"] = count;
  } else {
    question["resource"] = *resource;
  }
  if (skip_if_locked) question["skip"] = true;
  auto release = [&] {
    json r = {{"op", "release"}, {"block", block}};
    std::string ignored_text, ignored;
    (void)job_.host.coordinate("lock", r.dump(), ignored_text, ignored);
  };
  bool announced = false;
  std::vector<std::string> names;
  for (;;) {
    json answer;
    std::string error;
    std::string text;
    if (!ask_controller("lock", question.dump(), text, error) ||
        !parse_answer(text, answer, error)) {
      if (error == "interrupted") return interruption();
      return StepStatus::failure("lock: " + error);
    }
    const std::string status = answer.value("status", "");
    if (status == "refused")
      return StepStatus::failure("lock " + wanted + ": " +
                                 answer.value("reason", std::string("refused")));
    if (status == "acquired") {
      for (const auto& n : answer.value("resources", json::array())) {
        if (n.is_string()) names.push_back(n.get<std::string>());
      }
      if (names.empty() && by_name) names.push_back(*resource);
      break;
    }
    if (skip_if_locked) {
      // Nothing is left queued (older controllers queue it: the release forgets it).
      release();
      log(wanted + " is locked, skipping execution...");
      return StepStatus{};
    }
    if (!announced) {
      log(wanted + " is locked by " + answer.value("holder", std::string("another run")) +
          ", waiting... (" + std::to_string(answer.value("ahead", 0)) + " ahead)");
      announced = true;
    }
    if (!job_.control.sleep_until(std::chrono::steady_clock::now() + kAskEvery)) {
      release();
      return interruption();
    }
  }
  std::string joined;
  for (const std::string& n : names) joined += (joined.empty() ? "" : ",") + n;
  log("Lock acquired on [" + joined + "]");
  StepScope inner = scope;
  if (variable && !variable->empty()) {
    // As Jenkins: VAR holds the names joined by commas, VAR0, VAR1, ... each one.
    inner.env[*variable] = joined;
    for (size_t i = 0; i < names.size(); ++i) inner.env[*variable + std::to_string(i)] = names[i];
  }
  StepStatus st = run(inner);
  json release_question = {{"op", "release"}, {"block", block}};
  std::string error;
  // Bounded: a controller that stays away releases the lock itself when the job ends.
  for (int i = 0; i < 5; ++i) {
    std::string text;
    if (job_.host.coordinate("lock", release_question.dump(), text, error)) break;
    if (error.starts_with("refused: ")) break;
    std::this_thread::sleep_for(kAskEvery);
  }
  log("Lock released on resource [" + joined + "]");
  return st;
}

// milestone(3), milestone(ordinal: 3, label: 'deploy'), milestone('deploy'): older runs of the
// job that have not passed it are cancelled; this run aborts if a newer one passed it already.
StepStatus StepRunner::milestone(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  auto first = args.value("ordinal", 0);
  auto label = args.string("label");
  if (!args.ok()) return args.failure();
  json question = json::object();
  std::string name = label.value_or("");
  if (first && first->is_number()) {
    question["ordinal"] = first->is_int() ? std::get<int64_t>(first->data)
                                          : static_cast<int64_t>(std::get<double>(first->data));
  } else if (first && !first->is_null()) {
    name = first->to_string();  // milestone('deploy'): a label, the ordinal follows the last
  }
  if (!name.empty()) question["label"] = name;
  json answer;
  std::string error;
  std::string text;
  if (!ask_controller("milestone", question.dump(), text, error) ||
      !parse_answer(text, answer, error)) {
    if (error == "interrupted") return interruption();
    return StepStatus::failure("milestone: " + error);
  }
  const std::string ordinal = std::to_string(answer.value("ordinal", 0));
  if (answer.value("status", "") != "passed")
    return StepStatus::failure("milestone " + ordinal + (name.empty() ? "" : " (" + name + ")") +
                                   ": " + answer.value("reason", std::string("superseded")),
                               pipelines::Result::Aborted);
  std::string cancelled;
  for (const auto& id : answer.value("cancelled", json::array()))
    cancelled += (cancelled.empty() ? "" : ", ") + id.dump();
  log("Milestone " + ordinal + (name.empty() ? "" : " (" + name + ")") + " passed" +
      (cancelled.empty() ? "" : "; older runs cancelled: " + cancelled));
  return StepStatus{};
}

}  // namespace gantry::agent
