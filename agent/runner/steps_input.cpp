// The `input` step: the job pauses, holding its agent as Jenkins does, until
// someone allowed by `submitter` approves or rejects the change request the
// controller opens for it (INPUT-<n>, the same machinery as the stage's
// input directive and GMUDs). The question is asked again every second; the
// controller answers from the request it already has, so a network cut or a
// controller restart only delays the answer. A cancel or timeout interrupts
// the wait at once.
//
// `parameters` (string, text, booleanParam, choice, password) travel with the
// question; the approver's values come back with the approval and the step
// returns them as Jenkins does: nothing asked, null; one value (a parameter,
// or only the submitterParameter), that value; more, a map by name.
#include <algorithm>
#include <chrono>

#include "job_control.hpp"
#include "spool.hpp"
#include "step_runner.hpp"

namespace gantry::agent {

namespace {

using pipelines::Node;
using pipelines::NodeKind;

constexpr size_t kMaxParameters = 100;

std::string where(const Node& n) {
  return std::to_string(n.pos.line) + ":" + std::to_string(n.pos.col);
}

std::string trimmed(const std::string& s) {
  const char* kSpace = " \t\r\n\f\v";
  size_t b = s.find_first_not_of(kSpace);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

// "a\nb" or ['a', 'b'], as Jenkins' choice takes them.
bool choices_of(const Node& n, StepArgs& args, std::vector<std::string>& out) {
  if (n.kind == NodeKind::List) {
    for (const auto& item : n.items) {
      auto v = item ? args.eval(*item) : std::nullopt;
      if (!v) return false;
      out.push_back(v->to_string());
    }
    return true;
  }
  auto v = args.eval(n);
  if (!v) return false;
  std::string text = v->to_string();
  for (size_t start = 0;;) {
    size_t nl = text.find('\n', start);
    out.push_back(text.substr(start, nl == std::string::npos ? nl : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return true;
}

// One of `parameters: [...]`: string(name:, defaultValue:, description:, trim:), text(...),
// booleanParam(name:, defaultValue:), choice(name:, choices:), password(name:, defaultValue:).
// Returns "" or why it is not one.
std::string parameter_of(const Node& item, StepArgs& args, InputQuestion::Parameter& out) {
  static const std::vector<std::string> kTypes = {"string", "text", "booleanParam", "choice",
                                                  "password"};
  if (item.kind != NodeKind::Call || item.lhs ||
      std::find(kTypes.begin(), kTypes.end(), item.text) == kTypes.end())
    return where(item) +
           ": expected a parameter: string, text, booleanParam, choice or password(name: ...)";
  out.type = item.text;
  if (!item.items.empty()) return where(item) + ": " + out.type + "(...) takes named arguments";
  bool is_text = out.type == "string" || out.type == "text";
  for (const pipelines::NamedArg& a : item.named) {
    const std::string& key = a.name;
    bool known = key == "name" || key == "description" ||
                 (key == "defaultValue" && out.type != "choice") || (key == "trim" && is_text) ||
                 (key == "choices" && out.type == "choice");
    if (!known) return where(item) + ": " + out.type + "(...) has no argument '" + key + "'";
    if (!a.value) continue;
    if (key == "choices") {
      if (!choices_of(*a.value, args, out.choices)) return "";
      continue;
    }
    auto v = args.eval(*a.value);
    if (!v) return "";
    if (key == "name") out.name = v->is_null() ? "" : v->to_string();
    if (key == "description") out.description = v->is_null() ? "" : v->to_string();
    if (key == "trim") out.trim = v->truthy() && v->to_string() != "false";
    if (key == "defaultValue" && !v->is_null()) out.default_value = v->to_string();
  }
  if (out.name.empty()) return where(item) + ": " + out.type + "(...) needs a name";
  if (out.type == "booleanParam") {
    if (out.default_value.empty()) out.default_value = "false";
    if (out.default_value != "true" && out.default_value != "false")
      return where(item) + ": booleanParam '" + out.name + "': defaultValue is true or false";
  }
  if (out.type == "choice") {
    if (out.choices.empty()) return where(item) + ": choice '" + out.name + "' has no choices";
    out.default_value = out.choices.front();
  }
  return "";
}

// The approved value of `p`, typed as Jenkins hands it to the script.
pipelines::Value returned(const InputQuestion::Parameter& p, const InputReply& r) {
  auto it = r.values.find(p.name);
  std::string v = it != r.values.end() ? it->second : p.default_value;
  if (p.type == "booleanParam") return pipelines::Value(v == "true");
  if (p.trim) v = trimmed(v);
  return pipelines::Value(std::move(v));
}

}  // namespace

StepStatus StepRunner::input(const pipelines::Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  auto message = args.value("message", 0);
  InputQuestion q;
  q.id = args.string("id").value_or("");
  q.ok = args.string("ok").value_or("Proceed");
  q.submitter = args.string("submitter").value_or("");
  q.submitter_parameter = args.string("submitterParameter").value_or("");
  const pipelines::Node* params = args.node("parameters");
  if (!args.ok()) return args.failure();
  if (params && params->kind != NodeKind::Null) {
    if (params->kind != NodeKind::List)
      return StepStatus::failure("input: " + where(*params) +
                                 ": 'parameters' is a list, such as [string(name: 'WHO')]");
    if (params->items.size() > kMaxParameters)
      return StepStatus::failure("input: at most 100 parameters");
    for (const auto& item : params->items) {
      InputQuestion::Parameter p;
      std::string why = item ? parameter_of(*item, args, p) : "a parameter is missing";
      if (!args.ok()) return args.failure();
      if (!why.empty()) return StepStatus::failure("input: " + why);
      for (const InputQuestion::Parameter& seen : q.parameters) {
        if (seen.name == p.name)
          return StepStatus::failure("input: parameter '" + p.name + "' is defined twice");
      }
      q.parameters.push_back(std::move(p));
    }
  }
  // The question is shown to approvers, on the web page and in the audit log: never a secret.
  q.message = mask_secrets(message ? message->to_string() : "", job_secrets(job_.spec));
  if (q.id.empty()) q.id = q.message.substr(0, 200);
  bool announced = false;
  std::string last_error;
  for (;;) {
    InputReply r = job_.host.ask_input(q);
    if (r.status == "approved") {
      log(r.name + " approved by " + r.approver);
      StepStatus ok;
      if (!q.submitter_parameter.empty()) ok.exports[q.submitter_parameter] = r.approver;
      std::vector<std::pair<std::string, pipelines::Value>> values;
      for (const InputQuestion::Parameter& p : q.parameters) {
        values.emplace_back(p.name, returned(p, r));
        // A password the approver typed is a secret of the job from here on: masked in its log.
        if (p.type == "password") job_.spool.add_secret(values.back().second.to_string());
      }
      if (!q.submitter_parameter.empty()) values.emplace_back(q.submitter_parameter, r.approver);
      if (values.size() == 1) ok.value = values.front().second;
      if (values.size() > 1) ok.entries = std::move(values);
      return ok;
    }
    if (r.status == "rejected" || r.status == "expired" || r.status == "cancelled")
      return StepStatus::failure(r.reason.empty() ? r.name + " " + r.status : r.reason,
                                 pipelines::Result::Aborted);
    if (r.status == "refused") return StepStatus::failure("input: " + r.reason);
    if (r.status == "pending" && !announced) {
      std::string how = q.parameters.empty() ? "" : " -p NAME=VALUE";
      log("Waiting for " + r.name + ": " + q.message + " (" + q.ok + ": gantry approve " + r.name +
          how + "; abort: gantry reject " + r.name + " --comment WHY)");
      announced = true;
    } else if (r.status == "error" && r.reason != last_error) {
      log("input: cannot reach the controller (" + r.reason + "); asking again");
      last_error = r.reason;
    }
    if (!job_.control.sleep_until(std::chrono::steady_clock::now() + std::chrono::seconds(1)))
      return interruption();
  }
}

}  // namespace gantry::agent
