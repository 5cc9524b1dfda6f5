// The pipeline block and its top-level sections.
#include "gantry/pipelines/model_builder.hpp"

#include <algorithm>
#include <map>

#include "gantry/pipelines/cron.hpp"
#include "model_builder_impl.hpp"

namespace gantry::pipelines {
namespace {

const std::vector<std::string_view> kAgentTypes = {"any",   "docker", "dockerfile", "kubernetes",
                                                   "label", "node",   "none"};

// Pipeline-level options: Jenkins' own, those of the plugins a stock
// installation has, and block-scoped wrapper steps.
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

bool contains(const std::vector<std::string_view>& list, std::string_view word) {
  return std::find(list.begin(), list.end(), word) != list.end();
}

// Finds `pipeline { }` calls nested inside other statements.
void find_nested_pipelines(const Node& n, std::vector<Pos>& out, int depth) {
  if (depth > 100) return;
  if (n.kind == NodeKind::Call && n.text == "pipeline" && n.block && !n.lhs) {
    out.push_back(n.pos);
    return;
  }
  for (const Node* child : {n.lhs.get(), n.rhs.get(), n.third.get(), n.block.get()}) {
    if (child) find_nested_pipelines(*child, out, depth + 1);
  }
  for (const auto& item : n.items) {
    if (item) find_nested_pipelines(*item, out, depth + 1);
  }
  for (const auto& arg : n.named) {
    if (arg.value) find_nested_pipelines(*arg.value, out, depth + 1);
  }
}

}  // namespace

std::optional<Pipeline> build_model(Node& root, Diagnostics& diags) {
  return ModelBuilder(diags).build(root);
}

std::optional<Pipeline> ModelBuilder::build(Node& root) {
  size_t errors_before = diags_.error_count();
  Node* pipeline_call = nullptr;
  std::vector<const Node*> outside;
  for (auto& stmt : root.items) {
    Node* call = as_call(*stmt);
    if (call && call->text == "pipeline" && call->block) {
      if (pipeline_call) {
        error(call->pos, "only one pipeline block is allowed per file");
      } else {
        pipeline_call = call;
      }
      continue;
    }
    std::vector<Pos> nested;
    find_nested_pipelines(*stmt, nested, 0);
    for (Pos p : nested) {
      error(p, "the pipeline block must be at the top level of the file, not inside another block");
    }
    if (!nested.empty()) continue;
    bool library = (stmt->kind == NodeKind::Annotation && stmt->text == "Library") ||
                   (call && call->text == "library");
    if (library) {
      warning(stmt->pos,
              "shared libraries are not loaded by Gantry; steps they define will fail "
              "when run");
    } else if (stmt->kind != NodeKind::Import && stmt->kind != NodeKind::Package) {
      outside.push_back(stmt.get());
    }
  }
  // One warning for all the code outside the pipeline block, at its first line.
  if (!outside.empty()) {
    std::map<std::string, size_t> kinds;
    for (const Node* s : outside) {
      ++kinds[kind_name(s->kind == NodeKind::ExprStmt && s->lhs ? s->lhs->kind : s->kind)];
    }
    std::string what;
    for (const auto& [kind, n] : kinds) {
      what += (what.empty() ? "" : ", ") + std::to_string(n) + " " + kind + (n > 1 ? "s" : "");
    }
    warning(outside.front()->pos,
            "code outside the pipeline block is not run by Gantry (" + what + ")");
  }
  if (!pipeline_call) {
    if (diags_.error_count() == errors_before) {
      error(root.items.empty() ? Pos{1, 1} : root.items.front()->pos,
            "no pipeline { } block found: a Jenkinsfile must contain a top-level pipeline block");
    }
    return std::nullopt;
  }
  Pipeline p;
  p.pos = pipeline_call->pos;
  if (!pipeline_call->items.empty() || !pipeline_call->named.empty()) {
    error(pipeline_call->pos, "pipeline takes no arguments, only a block");
  }
  std::set<std::string> seen;
  bool has_agent = false;
  bool has_stages = false;
  for (auto& stmt : pipeline_call->block->items) {
    Node* call = as_call(*stmt);
    if (!call) {
      error(stmt->pos, std::string("expected a pipeline section (agent, stages, environment, "
                                   "options, parameters, triggers, tools, libraries, post), "
                                   "found ") +
                           kind_name(stmt->kind == NodeKind::ExprStmt && stmt->lhs ? stmt->lhs->kind
                                                                                   : stmt->kind));
      continue;
    }
    const std::string& name = call->text;
    static const std::map<std::string, std::string> kRenamed = {
        {"properties",
         "The \"properties\" section has been renamed as of version 0.8; use \"options\" instead"},
        {"jobProperties",
         "The \"jobProperties\" section has been renamed as of version 0.8; use \"options\" "
         "instead"},
        {"wrappers",
         "The \"wrappers\" section has been removed as of version 0.8; use \"options\" instead"},
        {"notifications",
         "The \"notifications\" section has been removed as of version 0.6; use \"post\" for all "
         "post-build actions"},
        {"postBuild",
         "The \"postBuild\" section has been renamed as of version 0.6; use \"post\" for all "
         "post-build actions"},
    };
    if (auto it = kRenamed.find(name); it != kRenamed.end()) {
      error(call->pos, it->second);
      continue;
    }
    static const std::set<std::string> kSections = {"agent",   "stages",     "environment",
                                                    "options", "parameters", "triggers",
                                                    "tools",   "libraries",  "post"};
    if (!kSections.count(name)) {
      error(call->pos,
            "Undefined section \"" + name + "\"" +
                did_you_mean(name, {"agent", "stages", "environment", "options", "parameters",
                                    "triggers", "tools", "libraries", "post"}) +
                ": valid sections are agent, stages, environment, options, "
                "parameters, triggers, tools, libraries and post");
      continue;
    }
    if (!seen.insert(name).second) {
      error(call->pos, "Multiple occurrences of the " + name + " section");
      continue;
    }
    if (name == "agent") {
      has_agent = true;
      section_agent(*call, p.agent, false);
    } else if (name == "stages") {
      has_stages = true;
      if (require_block(*call, name)) section_stages(*call, p.stages, 0, false);
    } else if (name == "environment") {
      section_environment(*call, p.environment);
    } else if (name == "options") {
      section_options(*call, p.options, false);
    } else if (name == "parameters") {
      section_parameters(*call, p.parameters);
    } else if (name == "triggers") {
      section_triggers(*call, p.triggers);
    } else if (name == "tools") {
      section_tools(*call, p.tools);
    } else if (name == "libraries") {
      section_libraries(*call, p.libraries);
    } else if (name == "post") {
      section_post(*call, p.post);
    }
  }
  if (!has_agent) error(p.pos, "Missing required section \"agent\" in the pipeline block");
  if (!has_stages) error(p.pos, "Missing required section \"stages\" in the pipeline block");
  if (diags_.error_count() != errors_before) return std::nullopt;
  return p;
}

// ---- helpers

Node* ModelBuilder::as_call(Node& stmt) {
  if (stmt.kind != NodeKind::ExprStmt || !stmt.lhs) return nullptr;
  Node* call = stmt.lhs.get();
  if (call->kind == NodeKind::Ident && !call->grouped) {
    // A bare name (`skipDefaultCheckout`, `buildingTag`): a call without arguments.
    call->kind = NodeKind::Call;
    return call;
  }
  if (call->kind != NodeKind::Call || call->lhs) return nullptr;
  return call;
}

std::optional<std::string> ModelBuilder::literal_string(const Node* n) {
  if (n && n->kind == NodeKind::String) return n->text;
  return std::nullopt;
}

std::optional<bool> ModelBuilder::literal_bool(const Node* n) {
  if (n && n->kind == NodeKind::Bool) return n->text == "true";
  return std::nullopt;
}

std::optional<int64_t> ModelBuilder::literal_int(const Node* n) {
  if (!n || n->kind != NodeKind::Int || n->big) return std::nullopt;
  try {
    return std::stoll(n->text, nullptr, 0);
  } catch (...) {
    return std::nullopt;
  }
}

std::string ModelBuilder::display(const Node& n) const {
  return to_source(n);
}

bool ModelBuilder::require_block(Node& call, std::string_view what) {
  if (call.block && call.items.empty() && call.named.empty()) return true;
  error(call.pos, "Expected a block for " + std::string(what));
  return false;
}

// Reports `X can not be empty` and returns true for an empty block.
bool ModelBuilder::empty_section(Node& call, std::string_view what) {
  if (!call.block->items.empty()) return false;
  error(call.pos, std::string(what) + " can not be empty");
  return true;
}

// An entry of options, triggers or parameters: a call without a block.
Node* ModelBuilder::describable(Node& stmt, std::string_view what, std::string_view example) {
  Node* c = as_call(stmt);
  if (!c) {
    bool is_map = stmt.lhs && (stmt.lhs->kind == NodeKind::Map || stmt.lhs->kind == NodeKind::List);
    error(stmt.pos, is_map ? std::string(what) + " cannot be defined as maps"
                           : "expected " + std::string(example));
    return nullptr;
  }
  if (c->block) {
    error(c->pos, std::string(what) + " definitions cannot have blocks");
    return nullptr;
  }
  return c;
}

// ---- agent

void ModelBuilder::section_agent(Node& call, Agent& out, bool stage_level) {
  out.pos = call.pos;
  const char* where = stage_level ? "stage section" : "section";
  if (!call.block) {
    if (call.items.empty() && call.named.empty()) {
      error(call.pos, std::string("Not a valid ") + where +
                          " definition: \"agent\". Some extra configuration is required.");
      return;
    }
    const Node* arg = call.items.empty() ? nullptr : call.items[0].get();
    if (call.items.size() == 1 && call.named.empty() && arg->kind == NodeKind::Ident &&
        (arg->text == "none" || arg->text == "any")) {
      out.kind = arg->text == "none" ? AgentKind::None : AgentKind::Any;
      out.type = arg->text;
      return;
    }
    error(arg ? arg->pos : call.pos,
          "Only \"agent none\", \"agent any\" or \"agent {...}\" are allowed.");
    return;
  }
  if (!call.items.empty() || !call.named.empty()) {
    error(call.pos, "agent takes either none, any, or a block, not both arguments and a block");
    return;
  }
  std::vector<Node*> types;
  for (auto& stmt : call.block->items) {
    Node* c = as_call(*stmt);
    if (!c) {
      error(stmt->pos, "expected an agent type (" + join(kAgentTypes) + ")");
      continue;
    }
    types.push_back(c);
  }
  if (types.empty()) {
    if (call.block->items.empty()) {
      error(call.pos, "No agent type specified. Must be one of [" + join(kAgentTypes) + "]");
    }
    return;
  }
  if (types.size() > 1) {
    error(types[1]->pos, "Only one agent type is allowed per agent section");
    return;
  }
  Node& t = *types[0];
  out.type = t.text;
  static const std::map<std::string, std::vector<std::string_view>> kFields = {
      {"label", {"label", "customWorkspace", "retries"}},
      {"node", {"label", "customWorkspace", "retries"}},
      {"docker",
       {"image", "args", "alwaysPull", "label", "customWorkspace", "reuseNode", "registryUrl",
        "registryCredentialsId", "containerPerStageRoot"}},
      {"dockerfile",
       {"filename", "dir", "additionalBuildArgs", "args", "label", "customWorkspace", "reuseNode",
        "registryUrl", "registryCredentialsId", "containerPerStageRoot"}},
  };
  if (t.text == "none" || t.text == "any") {
    out.kind = t.text == "none" ? AgentKind::None : AgentKind::Any;
    return;
  }
  if (t.text == "kubernetes") {
    // The kubernetes plugin grows options often; accept them all.
    out.kind = AgentKind::Kubernetes;
    if (t.block) {
      for (auto& s : t.block->items) {
        Node* f = as_call(*s);
        if (!f || f->items.size() != 1) continue;
        if (auto v = literal_string(f->items[0].get())) out.fields[f->text] = *v;
      }
    }
    return;
  }
  auto fields_it = kFields.find(t.text);
  if (fields_it == kFields.end()) {
    error(t.pos, "Invalid agent type \"" + t.text + "\" specified" +
                     did_you_mean(t.text, kAgentTypes) + ". Must be one of [" + join(kAgentTypes) +
                     "]");
    return;
  }
  out.kind = t.text == "label"    ? AgentKind::Label
             : t.text == "node"   ? AgentKind::Node
             : t.text == "docker" ? AgentKind::Docker
                                  : AgentKind::Dockerfile;
  const auto& allowed = fields_it->second;
  auto set_field = [&](const std::string& key, const Node& value, Pos pos) {
    if (!contains(allowed, key)) {
      error(pos, "Invalid config option \"" + key + "\" for agent type \"" + t.text +
                     "\". Valid config options are [" + join(allowed) + "]");
      return;
    }
    std::string text;
    if (auto s = literal_string(&value)) {
      text = *s;
    } else if (auto b = literal_bool(&value)) {
      text = *b ? "true" : "false";
    } else if (value.kind == NodeKind::Int) {
      text = value.text;
    } else if (value.kind == NodeKind::GString) {
      text = to_source(value);
    } else {
      text = to_source(value);
    }
    if (key == "label") {
      out.label = text;
    } else if (key == "reuseNode") {
      out.reuse_node = text == "true";
    }
    out.fields[key] = text;
  };
  // Short forms: `label 'x'`, `docker 'image'`, `dockerfile true`.
  if (!t.block) {
    if (t.items.size() == 1 && t.named.empty()) {
      const Node& v = *t.items[0];
      if (t.text == "label" || t.text == "node") {
        set_field("label", v, v.pos);
      } else if (t.text == "docker") {
        set_field("image", v, v.pos);
      } else if (t.text == "dockerfile") {
        if (!literal_bool(&v)) error(v.pos, "dockerfile takes true or a block");
      }
      return;
    }
    if (!t.named.empty() && t.items.empty()) {
      for (auto& arg : t.named) set_field(arg.name, *arg.value, arg.pos);
      return;
    }
    error(t.pos, "Not a valid definition for agent type \"" + t.text + "\": give " +
                     (t.text == "docker" ? "an image" : "a value") + " or a block");
    return;
  }
  std::set<std::string> seen;
  for (auto& s : t.block->items) {
    Node* f = as_call(*s);
    if (!f || f->items.size() != 1 || !f->named.empty() || f->block) {
      error(s->pos, "expected 'name value' in the " + t.text + " agent block");
      continue;
    }
    if (!seen.insert(f->text).second) {
      // Jenkins keeps the last value without complaint; say so.
      warning(f->pos, "\"" + f->text + "\" is given again in the " + t.text +
                          " agent: this value replaces the earlier one");
    }
    set_field(f->text, *f->items[0], f->pos);
  }
  if (t.text == "docker" && !out.fields.count("image")) {
    error(t.pos, "the docker agent needs an image");
  }
}

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
      } else if (spec->kind != NodeKind::GString && spec->kind != NodeKind::Ident &&
                 spec->kind != NodeKind::Property) {
        // A GString or variable is checked when it is evaluated.
        error(spec->pos, c->text + " takes a cron spec string, such as 'H */4 * * 1-5'");
      }
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
    if (!tools_warned_) {  // once per file: the same advice for every tool
      tools_warned_ = true;
      warning(c->pos, "tools are not installed by Gantry: \"" + c->text +
                          "\" and the other tools must already be on the agents' PATH");
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
    warning(c->pos,
            "shared libraries are not loaded by Gantry; steps they define will fail when run");
    out.push_back(Library{*name, c->pos});
  }
}

}  // namespace gantry::pipelines
