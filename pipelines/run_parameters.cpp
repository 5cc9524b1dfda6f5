#include "gantry/pipelines/run_parameters.hpp"

#include <algorithm>
#include <array>

namespace gantry::pipelines {
namespace {

// What Gantry sets for every step (controller/scheduler/job_spec.cpp) and
// what Jenkins pipelines read as its own.
constexpr std::array<std::string_view, 20> kGantryNames = {
    "RUN_ID",      "JOB_NAME",         "JOB_URL",       "BUILD_ID",   "BUILD_NUMBER",
    "BUILD_URL",   "BRANCH_NAME",      "TAG_NAME",      "STAGE_NAME", "DEPLOY_ENV",
    "RELEASE_ID",  "PREVIOUS_RELEASE", "CANARY_WEIGHT", "WORKSPACE",  "NODE_NAME",
    "NODE_LABELS", "EXECUTOR_NUMBER",  "JENKINS_URL",   "CI",         "GANTRY"};
constexpr std::array<std::string_view, 4> kGantryPrefixes = {"GIT_", "BUILD_", "CHANGE_",
                                                             "GANTRY_"};
// What changes how a shell or the dynamic loader starts, before any step
// line runs.
constexpr std::array<std::string_view, 12> kStartupNames = {
    "PATH",     "BASH_ENV", "ENV",        "IFS",  "CDPATH",         "SHELLOPTS",
    "BASHOPTS", "PS4",      "GLOBIGNORE", "HOME", "PROMPT_COMMAND", "SHELL"};
constexpr std::array<std::string_view, 3> kStartupPrefixes = {"LD_", "BASH_FUNC_", "DYLD_"};

bool starts_with_any(std::string_view name, const auto& prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](std::string_view p) { return name.substr(0, p.size()) == p; });
}

bool is_any(std::string_view name, const auto& names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool env_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string shown(std::string_view name) {
  return std::string(name.substr(0, 64));
}

}  // namespace

std::string reserved_parameter(std::string_view name) {
  if (!env_name(name))
    return "parameter '" + shown(name) +
           "' is not a variable name (letters, digits and _, not starting with a digit)";
  if (is_any(name, kGantryNames) || starts_with_any(name, kGantryPrefixes))
    return "parameter " + shown(name) + " is set by Gantry itself and cannot be given";
  if (is_any(name, kStartupNames) || starts_with_any(name, kStartupPrefixes))
    return "parameter " + shown(name) + " would change how steps' shells start; it cannot be given";
  return "";
}

std::string check_run_parameters(const Pipeline& pipeline,
                                 const std::map<std::string, std::string>& params) {
  std::string declared;
  for (const Parameter& p : pipeline.parameters)
    declared += (declared.empty() ? "" : ", ") + p.name;
  for (const auto& [name, value] : params) {
    if (std::string why = reserved_parameter(name); !why.empty()) return why;
    auto p = std::find_if(pipeline.parameters.begin(), pipeline.parameters.end(),
                          [&, &name = name](const Parameter& d) { return d.name == name; });
    if (p == pipeline.parameters.end())
      return "parameter " + shown(name) + " is not declared by the pipeline (" +
             (declared.empty() ? "it declares none" : "it declares: " + declared) + ")";
    if (p->type == "choice" && !p->choices.empty() &&
        std::find(p->choices.begin(), p->choices.end(), value) == p->choices.end()) {
      std::string message = "parameter " + name + " must be one of: ";
      for (const std::string& c : p->choices) {
        if (&c != &p->choices.front()) message += ", ";
        message += c;
      }
      return message;
    }
    if (p->type == "booleanParam" && value != "true" && value != "false")
      return "parameter " + name + " is a booleanParam: true or false";
  }
  return "";
}

std::map<std::string, std::string> shown_parameters(const Pipeline& pipeline,
                                                    std::map<std::string, std::string> params) {
  for (const Parameter& p : pipeline.parameters) {
    auto it = params.find(p.name);
    if (p.type == "password" && it != params.end()) it->second = "****";
  }
  return params;
}

std::map<std::string, Value> typed_parameters(const Pipeline& pipeline,
                                              const std::map<std::string, std::string>& given) {
  std::map<std::string, Value> out;
  std::map<std::string, std::string> types;
  EvalContext none;
  for (const Parameter& p : pipeline.parameters) {
    types[p.name] = p.type;
    if (!p.default_value) {
      if (p.type == "booleanParam") out[p.name] = Value(false);
      continue;
    }
    EvalResult v = evaluate(*p.default_value, none);
    if (auto* value = std::get_if<Value>(&v)) {
      out[p.name] = p.type == "booleanParam" ? Value(value->truthy()) : Value(value->to_string());
    }
  }
  for (const auto& [name, text] : given) {
    auto type = types.find(name);
    out[name] =
        type != types.end() && type->second == "booleanParam" ? Value(text == "true") : Value(text);
  }
  return out;
}

}  // namespace gantry::pipelines
