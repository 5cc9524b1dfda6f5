// The pipeline's other sections: environment, options, parameters,
// triggers, tools, libraries.
#include <algorithm>
#include <map>
#include <variant>

#include "gantry/pipelines/build_discarder.hpp"
#include "gantry/pipelines/cron.hpp"
#include "model_builder_impl.hpp"

namespace gantry::pipelines {
namespace {

const std::vector<std::string_view> kPipelineOptions = {"ansiColor",
                                                        "buildDiscarder",
                                                        "catchError",
                                                        "checkoutToSubdirectory",
                                                        "copyArtifactPermission",
                                                        "disableConcurrentBuilds",
                                                        "disableRestartFromStage",
                                                        "disableResume",
                                                        "durabilityHint",
                                                        "gitLabConnection",
                                                        "githubProjectProperty",
                                                        "lock",
                                                        "newContainerPerStage",
                                                        "overrideIndexTriggers",
                                                        "parallelsAlwaysFailFast",
                                                        "preserveStashes",
                                                        "quietPeriod",
                                                        "rateLimitBuilds",
                                                        "retry",
                                                        "skipDefaultCheckout",
                                                        "skipStagesAfterUnstable",
                                                        "throttleJobProperty",
                                                        "timeout",
                                                        "timestamps",
                                                        "warnError",
                                                        "withCredentials",
                                                        "withEnv",
                                                        "withFolderProperties"};

const std::vector<std::string_view> kStageOptions = {"ansiColor",
                                                     "catchError",
                                                     "checkoutToSubdirectory",
                                                     "lock",
                                                     "retry",
                                                     "skipDefaultCheckout",
                                                     "timeout",
                                                     "timestamps",
                                                     "warnError",
                                                     "withCredentials",
                                                     "withEnv"};

const std::vector<std::string_view> kToolTypes = {
    "allure", "ant",   "dockerTool", "go",     "gradle", "git",      "jdk",
    "jfrog",  "maven", "msbuild",    "nodejs", "python", "terraform"};

bool valid_env_name(std::string_view name) {
  if (name.empty()) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

}  // namespace

// ---- environment

namespace {

// Values may be strings, `+` joins of values, literals and method calls.
bool check_env_value(ModelBuilder& b, const Node& v) {
  switch (v.kind) {
    case NodeKind::String:
    case NodeKind::GString:
    case NodeKind::Int:
    case NodeKind::Float:
    case NodeKind::Bool:
    case NodeKind::Null:
    case NodeKind::Call:
    case NodeKind::Property:
    case NodeKind::Ident:
      return true;
    case NodeKind::Dollar: {
      std::string inner = v.lhs ? to_source(*v.lhs) : "";
      b.error(v.pos, "${" + inner + "} cannot be used as a value directly. Did you mean \"${" +
                         inner + "}\"? (add quotes)");
      return false;
    }
    case NodeKind::Binary:
      if (v.text == "+") {
        bool ok = check_env_value(b, *v.lhs);
        return check_env_value(b, *v.rhs) && ok;
      }
      [[fallthrough]];
    default:
      b.error(v.pos, "Environment variable values can only be joined together with '+'s (found " +
                         std::string(kind_name(v.kind)) +
                         (v.kind == NodeKind::Binary ? " '" + v.text + "'" : "") + ")");
      return false;
  }
}

}  // namespace

void ModelBuilder::section_environment(Node& call, std::vector<EnvVar>& out) {
  if (!require_block(call, "environment")) return;
  if (call.block->items.empty()) {
    error(call.pos, "No variables specified for environment");
    return;
  }
  std::set<std::string> seen;
  for (auto& stmt : call.block->items) {
    if (stmt->kind == NodeKind::VarDecl && stmt->lhs && stmt->params.empty()) {
      // `def NAME = value`: Jenkins takes it as NAME = value.
      auto assign = make_node(NodeKind::Assign, stmt->pos, "=");
      assign->lhs = make_node(NodeKind::Ident, stmt->pos, stmt->text);
      assign->rhs = std::move(stmt->lhs);
      auto expr = make_node(NodeKind::ExprStmt, stmt->pos);
      expr->lhs = std::move(assign);
      stmt = std::move(expr);
    }
    Node* e = stmt->kind == NodeKind::ExprStmt ? stmt->lhs.get() : nullptr;
    if (!e || e->kind != NodeKind::Assign || e->text != "=") {
      error(stmt->pos, "expected NAME = value in environment, found " +
                           std::string(kind_name(e ? e->kind : stmt->kind)));
      continue;
    }
    std::string name;
    if (e->lhs->kind == NodeKind::Ident) {
      name = e->lhs->text;
    } else {
      std::string shown = to_source(*e->lhs);
      shown.erase(std::remove(shown.begin(), shown.end(), ' '), shown.end());
      error(e->lhs->pos, "\"" + shown +
                             "\" is not a valid identifier and cannot be used for an environment "
                             "variable. Identifiers must start with a letter or underscore and can "
                             "contain only letters, numbers or underscores.");
      continue;
    }
    if (!valid_env_name(name)) {
      error(e->lhs->pos, "\"" + name +
                             "\" is not a valid identifier and cannot be used for an environment "
                             "variable. Identifiers must start with a letter or underscore and can "
                             "contain only letters, numbers or underscores.");
      continue;
    }
    if (!seen.insert(name).second) {
      error(e->lhs->pos, "Duplicate environment variable name: \"" + name + "\"");
      continue;
    }
    if (!check_env_value(*this, *e->rhs)) continue;
    EnvVar var{name, e->lhs->pos, std::move(e->rhs), {}};
    if (var.value->kind == NodeKind::Call && var.value->text == "credentials" && !var.value->lhs) {
      const Node* arg = var.value->items.size() == 1 && var.value->named.empty()
                            ? var.value->items[0].get()
                            : nullptr;
      if (!arg || (arg->kind != NodeKind::String && arg->kind != NodeKind::GString)) {
        error(var.value->pos, "credentials() takes one credential id, as a string");
        continue;
      }
      // An interpolated id ("${CRED_NAME}") is resolved when the stage runs.
      var.credentials_id = arg->kind == NodeKind::String ? arg->text : to_source(*arg);
    }
    out.push_back(std::move(var));
  }
}

// ---- options

void ModelBuilder::section_options(Node& call, std::vector<Step>& out, bool stage_level) {
  if (!require_block(call, "options") || empty_section(call, "options")) return;
  std::set<std::string> seen;
  const auto& allowed = stage_level ? kStageOptions : kPipelineOptions;
  for (auto& stmt : call.block->items) {
    Node* c = describable(*stmt, "Options", "an option, such as timeout(time: 1, unit: 'HOURS')");
    if (!c) continue;
    if (c->text == "parameters" || c->text == "pipelineTriggers") {
      std::string d = c->text == "parameters" ? "parameters" : "triggers";
      error(c->pos, "The \"" + c->text +
                        "\" job property cannot be used in the \"options\" directive. Use the \"" +
                        d + " {...}\" directive instead.");
      continue;
    }
    if (!contains(allowed, c->text)) {
      error(c->pos, "Invalid option type \"" + c->text + "\"" + did_you_mean(c->text, allowed) +
                        ". Valid option types" + (stage_level ? " in a stage" : "") + ": [" +
                        join(allowed) + "]");
      continue;
    }
    if (!seen.insert(c->text).second) {
      error(c->pos, "Duplicate option name: \"" + c->text + "\"");
      continue;
    }
    reject_blocked_in_args(*c);
    check_duplicate_named(*c);
    if (const Signature* sig = find_step_signature(c->text)) check_signature(*c, *sig, "option");
    if (c->text == "buildDiscarder") {
      // Without a strategy, check_signature has said so.
      out.push_back(call_to_step(*c));
      if (out.back().arg("strategy")) read_build_discarder(out.back(), &diags_);
      continue;
    }
    if (c->text == "preserveStashes") {
      for (auto& arg : c->named) {
        auto n = literal_int(arg.value.get());
        if (arg.name == "buildCount" && n && (*n < 1 || *n > 50)) {
          error(arg.value->pos, "The number of builds to preserve must be between 1 and 50.");
        }
      }
    }
    out.push_back(call_to_step(*c));
  }
}

// ---- parameters

void ModelBuilder::section_parameters(Node& call, std::vector<Parameter>& out) {
  if (!require_block(call, "parameters") || empty_section(call, "parameters")) return;
  std::set<std::string> names;
  for (auto& stmt : call.block->items) {
    Node* c = describable(*stmt, "Build parameters",
                          "a parameter, such as string(name: 'X', defaultValue: 'y')");
    if (!c) continue;
    const Signature* sig = find_parameter_signature(c->text);
    if (!sig) {
      error(c->pos, "Invalid parameter type \"" + c->text +
                        "\". Valid parameter types: [base64File, booleanParam, choice, "
                        "credentials, file, password, run, stashedFile, string, text]");
      continue;
    }
    if (!c->items.empty() && !c->named.empty()) {
      error(c->pos, "Cannot mix named and unnamed arguments for parameter " + c->text);
      continue;
    }
    reject_blocked_in_args(*c);
    check_duplicate_named(*c);
    check_signature(*c, *sig, "parameter");
    Parameter p;
    p.type = c->text;
    p.pos = c->pos;
    for (auto& arg : c->named) {
      if (arg.name == "name") {
        if (auto s = literal_string(arg.value.get())) p.name = *s;
      } else if (arg.name == "description") {
        if (auto s = literal_string(arg.value.get())) p.description = *s;
      } else if (arg.name == "defaultValue") {
        p.default_value = clone(*arg.value);
      } else if (arg.name == "choices") {
        const Node* v = arg.value.get();
        if (v->kind == NodeKind::List) {
          for (auto& item : v->items) {
            if (auto s = literal_string(item.get())) p.choices.push_back(*s);
          }
        } else if (auto s = literal_string(v)) {
          size_t start = 0;
          while (start <= s->size()) {
            size_t nl = s->find('\n', start);
            p.choices.push_back(s->substr(start, nl == std::string::npos ? nl : nl - start));
            if (nl == std::string::npos) break;
            start = nl + 1;
          }
        }
      }
    }
    if (!p.name.empty() && !names.insert(p.name).second) {
      error(c->pos, "Duplicate parameter name: \"" + p.name + "\"");
    }
    p.raw = call_to_step(*c);
    out.push_back(std::move(p));
  }
}

// ---- triggers

void ModelBuilder::section_triggers(Node& call, std::vector<Trigger>& out) {
  if (!require_block(call, "triggers") || empty_section(call, "triggers")) return;
  std::set<std::string> seen;
  for (auto& stmt : call.block->items) {
    Node* c = describable(*stmt, "Triggers", "a trigger, such as cron('H */4 * * 1-5')");
    if (!c) continue;
    const Signature* sig = find_trigger_signature(c->text);
    if (!sig) {
      error(c->pos, "Invalid trigger type \"" + c->text +
                        "\". Valid trigger types: [GenericTrigger, bitbucketPush, cron, "
                        "gitlab, githubPush, parameterizedCron, pollSCM, upstream]");
      continue;
    }
    if (!seen.insert(c->text).second) {
      error(c->pos, "Duplicate trigger name: \"" + c->text + "\"");
      continue;
    }
    reject_blocked_in_args(*c);
    check_duplicate_named(*c);
    bool closure_arg = false;
    for (auto& item : c->items) {
      if (item->kind == NodeKind::Closure || (item->kind == NodeKind::Call && item->block)) {
        error(item->pos, "Method call arguments cannot be closures in triggers");
        closure_arg = true;
      }
    }
    if (closure_arg) continue;
    Trigger t;
    t.type = c->text;
    t.pos = c->pos;
    if (c->text == "cron" || c->text == "pollSCM") {
      size_t n = c->items.size() + c->named.size();
      if (n != 1) {
        error(c->pos, "\"" + c->text + "\" should have 1 arguments but has " + std::to_string(n) +
                          " arguments instead.");
        continue;
      }
      const Node* spec = c->items.empty() ? c->named[0].value.get() : c->items[0].get();
      if (auto s = literal_string(spec)) {
        t.spec = *s;
        CronResult parsed = parse_cron(*s, "pipeline");
        if (const auto* bad = std::get_if<CronError>(&parsed)) {
          error(spec->pos, bad->message);
        }
      } else if (spec->kind == NodeKind::Int || spec->kind == NodeKind::Float ||
                 spec->kind == NodeKind::Bool || spec->kind == NodeKind::List ||
                 spec->kind == NodeKind::Map || spec->kind == NodeKind::Closure) {
        error(spec->pos, c->text + " takes a cron spec string, such as 'H */4 * * 1-5'");
      }
      // Any other expression (a GString, a ternary on env.BRANCH_NAME, a helper's result) is
      // evaluated for each branch when the controller reads its triggers, as Jenkins does.
    } else {
      check_signature(*c, *sig, "trigger");
    }
    t.raw = call_to_step(*c);
    out.push_back(std::move(t));
  }
}

// ---- tools and libraries

void ModelBuilder::section_tools(Node& call, std::vector<Tool>& out) {
  if (!require_block(call, "tools") || empty_section(call, "tools")) return;
  for (auto& stmt : call.block->items) {
    Node* c = as_call(*stmt);
    if (!c || c->items.size() != 1 || !c->named.empty() || c->block) {
      error(stmt->pos, "Expected to find 'someTool \"someVersion\"'");
      continue;
    }
    if (!contains(kToolTypes, c->text)) {
      error(c->pos,
            "Invalid tool type \"" + c->text + "\". Valid tool types: [" + join(kToolTypes) + "]");
      continue;
    }
    out.push_back(Tool{c->text, c->pos, std::move(c->items[0])});
  }
}

void ModelBuilder::section_libraries(Node& call, std::vector<Library>& out) {
  if (!require_block(call, "libraries") || empty_section(call, "libraries")) return;
  for (auto& stmt : call.block->items) {
    Node* c = as_call(*stmt);
    std::optional<std::string> name;
    if (c && c->text == "lib" && c->items.size() == 1 && c->named.empty() && !c->block) {
      name = literal_string(c->items[0].get());
      if (!name && c->items[0]->kind == NodeKind::GString) name = to_source(*c->items[0]);
    }
    if (!name) {
      error(stmt->pos, "Expected a \"lib(...)\" but got " + to_source(*stmt));
      continue;
    }
    if (!options_.libraries_loaded) {
      warning(c->pos,
              "shared libraries are loaded by the controller (its `libraries:` configuration); "
              "their steps are not checked here");
    }
    out.push_back(Library{*name, c->pos});
  }
}

}  // namespace gantry::pipelines
