// Steps, and the signatures of the steps and describables Gantry knows.
#include <algorithm>

#include <map>
#include "gantry/common/edit_distance.hpp"

#include "gantry/pipelines/expression.hpp"
#include "model_builder_impl.hpp"

namespace gantry::pipelines {
namespace {

using T = ArgType;

// The steps of SPEC §4 plus the wrapper steps allowed as options. Anything
// else is an unknown step: a lint warning, a failure when it runs.
const std::vector<Signature> kSteps = {
    {"sh",
     {{"script", T::String, true},
      {"returnStatus", T::Bool},
      {"returnStdout", T::Bool},
      {"label", T::String},
      {"encoding", T::String}}},
    {"echo", {{"message", T::Any, true}}},
    {"error", {{"message", T::Any, true}}},
    {"sleep", {{"time", T::Int, true}, {"unit", T::String}}},
    // Canary analysis (SPEC §8): two samples, a file of numbers or a
    // Prometheus query URL each, compared with a Mann-Whitney U test.
    {"compareMetrics",
     {{"baseline", T::String, true},
      {"canary", T::String, true},
      {"metric", T::String},
      {"maxIncrease", T::Any},
      {"test", T::String},
      {"alpha", T::Any},
      {"minSamples", T::Int}},
     0},
    {"dir", {{"path", T::String, true}}},
    // kubernetes agents (docs/containers.md): the pod's container the body runs in.
    {"container", {{"name", T::String, true}, {"shell", T::String}}},
    // tools (SPEC §4): the home of a tool the agent has; shared libraries' resources/.
    {"tool", {{"name", T::String, true}, {"type", T::String}}},
    {"libraryResource", {{"resource", T::String, true}, {"encoding", T::String}}},
    {"library", {{"identifier", T::String, true}, {"changelog", T::Bool}, {"retriever", T::Any}}},
    {"retry", {{"count", T::Int, true}, {"conditions", T::List}}},
    {"timeout", {{"time", T::Int, true}, {"unit", T::String}, {"activity", T::Bool}}},
    {"withEnv", {{"overrides", T::List, true}}},
    {"withCredentials", {{"bindings", T::List, true}}},
    // Pipeline Milestone Step: older runs that have not passed it are cancelled.
    {"milestone", {{"ordinal", T::Any}, {"label", T::String}, {"unsafe", T::Bool}}, 1},
    // Pipeline: Build Step: a run of another configured job (docs/pipeline-language.md).
    {"build",
     {{"job", T::String, true},
      {"parameters", T::List},
      {"wait", T::Bool},
      {"propagate", T::Bool},
      {"quietPeriod", T::Int},
      {"waitForStart", T::Bool}}},
    // SSH Agent plugin: an ssh-agent with the credentials' keys for the body.
    {"sshagent", {{"credentials", T::List, true}, {"ignoreMissing", T::Bool}}},
    {"catchError",
     {{"buildResult", T::String},
      {"stageResult", T::String},
      {"message", T::String},
      {"catchInterruptions", T::Bool}},
     0},
    {"warnError", {{"message", T::String, true}, {"catchInterruptions", T::Bool}}},
    {"unstable", {{"message", T::String, true}}},
    {"archiveArtifacts",
     {{"artifacts", T::String, true},
      {"allowEmptyArchive", T::Bool},
      {"caseSensitive", T::Bool},
      {"defaultExcludes", T::Bool},
      {"excludes", T::String},
      {"fingerprint", T::Bool},
      {"followSymlinks", T::Bool},
      {"onlyIfSuccessful", T::Bool}}},
    {"junit",
     {{"testResults", T::String, true},
      {"allowEmptyResults", T::Bool},
      {"keepLongStdio", T::Bool},
      {"skipPublishingChecks", T::Bool},
      {"healthScaleFactor", T::Any},
      {"testDataPublishers", T::List},
      {"skipMarkingBuildUnstable", T::Bool},
      {"checksName", T::String},
      {"keepProperties", T::Bool},
      {"keepTestNames", T::Bool},
      {"stdioRetention", T::String}}},
    // Reports (docs/reports.md): HTML Publisher's publishHTML (its fields in `target`, a map,
    // or as the step's own arguments) and Warnings Next Generation's recordIssues.
    {"publishHTML",
     {{"target", T::Any},
      {"reportDir", T::String},
      {"reportFiles", T::String},
      {"reportName", T::String},
      {"reportTitles", T::String},
      {"allowMissing", T::Bool},
      {"alwaysLinkToLastBuild", T::Bool},
      {"keepAll", T::Bool},
      {"includes", T::String},
      {"escapeUnderscores", T::Bool},
      {"useWrapperFileDirectly", T::Bool}},
     1},
    {"recordIssues",
     {{"tools", T::List},
      {"tool", T::Any},
      {"id", T::String},
      {"name", T::String},
      {"qualityGates", T::List},
      {"enabledForFailure", T::Bool},
      {"ignoreQualityGate", T::Bool},
      {"aggregatingResults", T::Bool},
      {"ignoreFailedBuilds", T::Bool},
      {"failOnError", T::Bool},
      {"skipBlames", T::Bool},
      {"skipPublishingChecks", T::Bool},
      {"sourceCodeEncoding", T::String},
      {"sourceDirectories", T::List},
      {"minimumSeverity", T::String},
      {"healthy", T::Int},
      {"unhealthy", T::Int},
      {"filters", T::List},
      {"trendChartType", T::String},
      {"referenceJobName", T::String},
      {"publishAllIssues", T::Bool}},
     0,
     true},
    {"stash",
     {{"name", T::String, true},
      {"includes", T::String},
      {"excludes", T::String},
      {"useDefaultExcludes", T::Bool},
      {"allowEmpty", T::Bool}}},
    {"unstash", {{"name", T::String, true}}},
    {"checkout", {{"scm", T::Any}}, 1, true},
    // Jenkins' git plugin step and ws-cleanup's cleanWs (docs/pipeline-language.md).
    {"git",
     {{"url", T::String, true},
      {"branch", T::String},
      {"credentialsId", T::String},
      {"changelog", T::Bool},
      {"poll", T::Bool}}},
    {"cleanWs",
     {{"cleanWhenAborted", T::Bool},
      {"cleanWhenFailure", T::Bool},
      {"cleanWhenNotBuilt", T::Bool},
      {"cleanWhenSuccess", T::Bool},
      {"cleanWhenUnstable", T::Bool},
      {"cleanupMatrixParent", T::Bool},
      {"deleteDirs", T::Bool},
      {"disableDeferredWipeout", T::Bool},
      {"externalDelete", T::String},
      {"notFailBuild", T::Bool},
      {"patterns", T::List},
      {"skipWhenFailed", T::Bool}},
     0},
    {"deleteDir", {}, 0},
    {"writeFile",
     {{"file", T::String, true}, {"text", T::String, true}, {"encoding", T::String}},
     0},
    // Pipeline Utility Steps (agent/runner/steps_utility.hpp); the read steps
    // return values, so they belong in script { }.
    {"readJSON", {{"file", T::String}, {"text", T::String}, {"returnPojo", T::Bool}}, 0},
    {"writeJSON",
     {{"file", T::String}, {"json", T::Any, true}, {"pretty", T::Int}, {"returnText", T::Bool}},
     0},
    {"readYaml", {{"file", T::String}, {"text", T::String}, {"charset", T::String}}, 0},
    {"writeYaml",
     {{"file", T::String},
      {"data", T::Any},
      {"datas", T::List},
      {"overwrite", T::Bool},
      {"returnText", T::Bool},
      {"charset", T::String}},
     0},
    {"readProperties",
     {{"file", T::String},
      {"text", T::String},
      {"defaults", T::Any},
      {"interpolate", T::Bool},
      {"charset", T::String}},
     0},
    {"readCSV", {{"file", T::String}, {"text", T::String}, {"format", T::Any}}, 0},
    // Notifications through the controller's channels (docs/notifications.md): Jenkins' Mailer
    // `mail`, Email Extension's `emailext` and the Slack plugin's `slackSend`. `channel` of mail
    // and emailext names a channel of the controller's notifications: (Gantry's own).
    {"mail",
     {{"subject", T::String, true},
      {"body", T::String, true},
      {"to", T::String},
      {"cc", T::String},
      {"bcc", T::String},
      {"from", T::String},
      {"replyTo", T::String},
      {"mimeType", T::String},
      {"charset", T::String},
      {"channel", T::String}},
     0},
    {"emailext",
     {{"subject", T::String, true},
      {"body", T::String, true},
      {"to", T::String},
      {"from", T::String},
      {"replyTo", T::String},
      {"mimeType", T::String},
      {"recipientProviders", T::List},
      {"attachLog", T::Bool},
      {"compressLog", T::Bool},
      {"attachmentsPattern", T::String},
      {"channel", T::String}},
     0,
     true},
    {"slackSend",
     {{"message", T::String},
      {"channel", T::String},
      {"color", T::String},
      {"tokenCredentialId", T::String},
      {"botUser", T::Bool}},
     1,
     true},
    {"input",
     {{"message", T::Any, true},
      {"id", T::String},
      {"ok", T::String},
      {"parameters", T::List},
      {"submitter", T::String},
      {"submitterParameter", T::String}}},
    {"script", {}, 0},
    // Wrapper steps used as options.
    {"timestamps", {}, 0},
    {"ansiColor", {{"colorMapName", T::String, true}}},
    {"withChecks", {{"name", T::String, true}, {"includeStage", T::Bool}}},
    {"lock",
     {{"resource", T::String},
      {"label", T::String},
      {"quantity", T::Int},
      {"variable", T::String},
      {"inversePrecedence", T::Bool},
      {"skipIfLocked", T::Bool},
      {"extra", T::List},
      {"resourceSelectStrategy", T::String}},
     1},
    {"skipDefaultCheckout", {{"value", T::Bool}}},
    {"checkoutToSubdirectory", {{"value", T::String, true}}},
    {"buildDiscarder", {{"strategy", T::Any, true}}},
    {"disableConcurrentBuilds", {{"abortPrevious", T::Bool}}, 0},
    {"quietPeriod", {{"value", T::Int, true}}},
    {"preserveStashes", {{"buildCount", T::Int}}, 0},
    {"durabilityHint", {{"hint", T::String, true}}},
};

const std::vector<Signature> kParameters = {
    {"string",
     {{"name", T::String, true},
      {"defaultValue", T::Any},
      {"description", T::String},
      {"trim", T::Bool}},
     0},
    {"stringParam",
     {{"name", T::String, true},
      {"defaultValue", T::Any},
      {"description", T::String},
      {"trim", T::Bool}},
     0},
    {"text",
     {{"name", T::String, true},
      {"defaultValue", T::Any},
      {"description", T::String},
      {"trim", T::Bool}},
     0},
    {"booleanParam",
     {{"name", T::String, true}, {"defaultValue", T::Bool}, {"description", T::String}},
     0},
    {"choice", {{"name", T::String, true}, {"choices", T::Any}, {"description", T::String}}, 0},
    {"password",
     {{"name", T::String, true}, {"defaultValue", T::Any}, {"description", T::String}},
     0},
    {"file", {{"name", T::String, true}, {"description", T::String}}, 0},
    {"run",
     {{"name", T::String, true},
      {"project", T::String},
      {"description", T::String},
      {"filter", T::String}},
     0},
    {"credentials",
     {{"name", T::String, true},
      {"credentialType", T::String},
      {"defaultValue", T::Any},
      {"description", T::String},
      {"required", T::Bool}},
     0},
    {"base64File", {{"name", T::String, true}, {"description", T::String}}, 0},
    {"stashedFile", {{"name", T::String, true}, {"description", T::String}}, 0},
    // Popular plugin parameters (git-parameter, extended-choice, active-choices,
    // parameter-separator, validating-string): their many options are not checked.
    {"gitParameter", {{"name", T::String, true}}, 0, true},
    {"extendedChoice", {{"name", T::String, true}}, 0, true},
    {"activeChoice", {{"name", T::String, true}}, 0, true},
    {"reactiveChoice", {{"name", T::String, true}}, 0, true},
    {"activeChoiceHtml", {{"name", T::String, true}}, 0, true},
    {"separator", {{"name", T::String, true}}, 0, true},
    {"validatingString", {{"name", T::String, true}}, 0, true},
};

const std::vector<Signature> kTriggers = {
    {"cron", {{"spec", T::String, true}}},
    {"pollSCM", {{"scmpoll_spec", T::String, true}, {"ignorePostCommitHooks", T::Bool}}},
    {"upstream", {{"upstreamProjects", T::String, true}, {"threshold", T::Any}}},
    {"issueCommentTrigger", {{"commentPattern", T::String, true}}},
    {"githubPush", {}, 0},
    {"GenericTrigger", {}, 0, true},
    {"gitlab", {}, 0, true},
    {"bitbucketPush", {}, 0, true},
    {"parameterizedCron", {{"parameterizedSpecification", T::String, true}}},
};

const std::vector<Signature> kWhen = {
    {"branch", {{"pattern", T::String, true}, {"comparator", T::String}}},
    {"tag", {{"pattern", T::String}, {"comparator", T::String}}},
    {"buildingTag", {}, 0},
    {"changeRequest",
     {{"id", T::String},
      {"target", T::String},
      {"branch", T::String},
      {"fork", T::String},
      {"url", T::String},
      {"title", T::String},
      {"author", T::String},
      {"authorDisplayName", T::String},
      {"authorEmail", T::String},
      {"comparator", T::String}},
     0},
    {"changeset",
     {{"pattern", T::String, true}, {"comparator", T::String}, {"caseSensitive", T::Bool}}},
    {"changelog", {{"pattern", T::String, true}}},
    {"environment",
     {{"name", T::String, true},
      {"value", T::String, true},
      {"ignoreCase", T::Bool},
      {"comparator", T::String}},
     0},
    {"equals", {{"expected", T::Any, true}, {"actual", T::Any, true}}, 0},
    {"triggeredBy", {{"cause", T::String, true}, {"detail", T::String}}},
    {"isRestartedRun", {}, 0},
};

const Signature* find_in(const std::vector<Signature>& list, std::string_view name) {
  for (const auto& sig : list) {
    if (sig.name == name) return &sig;
  }
  return nullptr;
}

bool literal_matches(ArgType type, const Node& v) {
  switch (v.kind) {
    case NodeKind::String:
    case NodeKind::GString:
      return type == T::Any || type == T::String;
    case NodeKind::Int:
      return type == T::Any || type == T::Int;
    case NodeKind::Bool:
      return type == T::Any || type == T::Bool;
    case NodeKind::List:
      return type == T::Any || type == T::List || type == T::String;
    default:
      return true;  // expressions are checked when they run
  }
}

const char* type_name(ArgType t) {
  switch (t) {
    case T::String:
      return "a string";
    case T::Int:
      return "an integer";
    case T::Bool:
      return "true or false";
    case T::List:
      return "a list";
    case T::Any:
      return "a value";
  }
  return "a value";
}

const std::set<std::string> kBlockedInSteps = {"stage", "properties"};
const std::set<std::string> kBlockedInArgs = {"node", "stage", "properties", "parallel"};

}  // namespace

const Signature* find_step_signature(std::string_view name) {
  return find_in(kSteps, name);
}
const Signature* find_parameter_signature(std::string_view name) {
  return find_in(kParameters, name);
}
const Signature* find_trigger_signature(std::string_view name) {
  return find_in(kTriggers, name);
}
const Signature* find_when_signature(std::string_view name) {
  return find_in(kWhen, name);
}

std::string closest(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string best;
  size_t best_d = SIZE_MAX;
  for (auto c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string best = closest(word, candidates);
  if (best.empty()) return {};
  size_t limit = std::max<size_t>(1, word.size() / 3);
  return edit_distance(word, best) <= limit ? " (did you mean \"" + best + "\"?)" : std::string();
}

std::string join(const std::vector<std::string_view>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

void ModelBuilder::check_duplicate_named(const Node& call) {
  std::set<std::string_view> seen;
  for (const auto& arg : call.named) {
    if (!seen.insert(arg.name).second) {
      error(arg.pos, "Duplicate named parameter '" + arg.name + "' found");
    }
  }
}

void ModelBuilder::reject_blocked_in_args(const Node& call) {
  auto visit = [&](const Node& n, auto& self, int depth) -> void {
    if (depth > 50) return;
    if (n.kind == NodeKind::Call && !n.lhs && kBlockedInArgs.count(n.text)) {
      error(n.pos, "Invalid step \"" + n.text + "\" used - not allowed in this context - The " +
                       n.text + " step cannot be used as an argument to a method call");
    }
    for (const auto& item : n.items) {
      if (item) self(*item, self, depth + 1);
    }
    for (const auto& arg : n.named) {
      if (arg.value) self(*arg.value, self, depth + 1);
    }
    if (n.lhs) self(*n.lhs, self, depth + 1);
    if (n.rhs) self(*n.rhs, self, depth + 1);
  };
  for (const auto& item : call.items) visit(*item, visit, 0);
  for (const auto& arg : call.named) visit(*arg.value, visit, 0);
}

void ModelBuilder::check_signature(const Node& call, const Signature& sig, std::string_view what) {
  std::vector<std::string_view> names;
  for (const auto& p : sig.params) names.push_back(p.name);
  if (call.items.size() > sig.max_positional) {
    if (sig.max_positional == 0) {
      error(call.pos, "Arguments to \"" + call.text + "\" must be explicitly named" +
                          (names.empty() ? "; it takes none" : " (" + join(names) + ")"));
    } else {
      error(call.pos, "\"" + call.text + "\" takes at most " + std::to_string(sig.max_positional) +
                          " unnamed argument" + (sig.max_positional > 1 ? "s" : "") + ", got " +
                          std::to_string(call.items.size()));
    }
    return;
  }
  if (!call.items.empty() && !call.named.empty() && !sig.open) {
    // `sh(script: ..)` or `sh '...'`, not both; Jenkins allows only the
    // first parameter positionally, and then no named ones.
    error(call.pos, "Cannot mix named and unnamed arguments for \"" + call.text + "\"");
    return;
  }
  std::set<std::string_view> given;
  std::set<std::string> suggested;  // a misspelt name already points at the missing one
  for (size_t i = 0; i < call.items.size() && i < sig.params.size(); ++i) {
    const ParamSpec& p = sig.params[i];
    given.insert(p.name);
    if (!literal_matches(p.type, *call.items[i])) {
      error(call.items[i]->pos, "Expecting " + std::string(type_name(p.type)) +
                                    " for parameter \"" + std::string(p.name) + "\" of " +
                                    std::string(what) + " \"" + call.text + "\" but got " +
                                    to_source(*call.items[i]));
    }
  }
  for (const auto& arg : call.named) {
    auto it = std::find_if(sig.params.begin(), sig.params.end(),
                           [&](const ParamSpec& p) { return p.name == arg.name; });
    if (it == sig.params.end()) {
      if (sig.open) continue;
      std::string msg = "Invalid parameter \"" + arg.name + "\" for " + std::string(what) + " \"" +
                        call.text + "\"";
      if (!names.empty()) {
        std::string guess = closest(arg.name, names);
        suggested.insert(guess);
        msg += ", did you mean \"" + guess + "\"?";
      }
      error(arg.pos, msg);
      continue;
    }
    given.insert(it->name);
    if (!literal_matches(it->type, *arg.value)) {
      error(arg.value->pos, "Expecting " + std::string(type_name(it->type)) + " for parameter \"" +
                                arg.name + "\" but got " + to_source(*arg.value));
    }
  }
  for (const auto& p : sig.params) {
    if (p.required && !given.count(p.name) && !suggested.count(std::string(p.name))) {
      error(call.pos, "Missing required parameter: \"" + std::string(p.name) + "\" for " +
                          std::string(what) + " \"" + call.text + "\"");
    }
  }
}

Step ModelBuilder::call_to_step(Node& call) {
  Step s;
  s.name = call.text;
  s.pos = call.pos;
  s.args = std::move(call.items);
  s.named = std::move(call.named);
  return s;
}

// ---- steps

void ModelBuilder::section_steps(Node& call, std::vector<Step>& out) {
  if (!require_block(call, "steps")) return;
  if (call.block->items.empty()) {
    error(call.pos, "No steps specified for branch: steps { } needs at least one step");
    return;
  }
  parse_steps_body(*call.block, out, 0);
}

void ModelBuilder::parse_steps_body(Node& closure, std::vector<Step>& out, int depth) {
  if (depth > 50) {
    error(closure.pos, "steps are nested too deeply");
    return;
  }
  // `parallel` is allowed only as the one step of its block.
  for (auto& stmt : closure.items) {
    Node* c = stmt->kind == NodeKind::ExprStmt && stmt->lhs && stmt->lhs->kind == NodeKind::Call
                  ? stmt->lhs.get()
                  : nullptr;
    if (c && !c->lhs && c->text == "parallel" && closure.items.size() > 1) {
      error(c->pos,
            "Invalid step \"parallel\" used - not allowed in this context - The parallel "
            "step can only be used as the only top-level step in a stage's step block");
      return;
    }
  }
  for (auto& stmt : closure.items) {
    Step step;
    if (parse_step(*stmt, step, depth)) out.push_back(std::move(step));
  }
}

bool ModelBuilder::parse_step(Node& stmt, Step& out, int depth) {
  Node* c = stmt.kind == NodeKind::ExprStmt ? stmt.lhs.get() : nullptr;
  if (!c || c->kind != NodeKind::Call) {
    std::string found = kind_name(c ? c->kind : stmt.kind);
    error(stmt.pos,
          "Expected a step, found " + found +
              (c && c->kind == NodeKind::Assign ? "; put assignments in a script { } block" : ""));
    return false;
  }
  if (c->lhs) {
    error(c->pos, "Method calls on objects not allowed outside \"script\" blocks.");
    return false;
  }
  if (kBlockedInSteps.count(c->text)) {
    error(c->pos, "Invalid step \"" + c->text + "\" used - not allowed in this context - The " +
                      c->text + " step cannot be used in Declarative Pipelines");
    return false;
  }
  check_duplicate_named(*c);
  if (c->text == "parallel") {
    // parallel(a: { ... }, b: { ... }, failFast: true)
    bool ok = true;
    for (auto& arg : c->named) {
      if (arg.name == "failFast") {
        if (!literal_bool(arg.value.get())) {
          error(arg.value->pos, "Expected a boolean with failFast");
          ok = false;
        }
      } else if (arg.value->kind != NodeKind::Closure) {
        error(arg.pos, "Expected closure or failFast, found \"" + arg.name + "\"");
        ok = false;
      }
    }
    size_t branches = std::count_if(c->named.begin(), c->named.end(),
                                    [](const NamedArg& a) { return a.name != "failFast"; });
    if (!c->items.empty() || (ok && branches == 0)) {
      error(c->pos, "parallel takes named branches: parallel(a: { ... }, b: { ... })");
      ok = false;
    }
    if (!ok) return false;
    out.name = "parallel";
    out.pos = c->pos;
    // The call as written, for the agent's Groovy engine to run (its branches at once).
    auto statement = make_node(NodeKind::ExprStmt, c->pos);
    statement->lhs = clone(*c);
    out.script = make_node(NodeKind::Block, c->pos);
    out.script->items.push_back(std::move(statement));
    for (auto& arg : c->named) {
      if (arg.name == "failFast") {
        out.named.push_back(std::move(arg));
        continue;
      }
      Step branch;
      branch.name = arg.name;
      branch.pos = arg.pos;
      branch.has_body = true;
      parse_steps_body(*arg.value, branch.body, depth + 1);
      out.body.push_back(std::move(branch));
    }
    return true;
  }
  reject_blocked_in_args(*c);
  for (auto& arg : c->named) {
    if (arg.value->kind == NodeKind::Closure) {
      error(arg.value->pos, "Method call arguments cannot be closures: \"" + arg.name +
                                "\" of step \"" + c->text + "\"");
      return false;
    }
  }
  const Signature* sig = find_step_signature(c->text);
  if (sig) {
    check_signature(*c, *sig, "step");
  } else if (names_.methods.count(c->text) != 0) {
    // A method of the Jenkinsfile used as a step: its body is checked where it is defined.
  } else {
    warning(c->pos, "unknown step \"" + c->text +
                        "\": Gantry does not provide it, and it will fail its stage when run");
  }
  // Interpolated arguments run when the step does: warn now about what Gantry
  // cannot evaluate there.
  for (const auto& arg : c->items) {
    check_groovy(*arg, names_, diags_);
  }
  for (const auto& arg : c->named) {
    check_groovy(*arg.value, names_, diags_);
  }
  Node* block = c->block.get();
  NodePtr closure = std::move(c->block);
  out = call_to_step(*c);
  if (block) {
    out.has_body = true;
    if (out.name == "script") {
      check_groovy(*closure, names_, diags_);
      out.script = std::move(closure);
    } else {
      parse_steps_body(*block, out.body, depth + 1);
    }
  }
  return true;
}

}  // namespace gantry::pipelines
