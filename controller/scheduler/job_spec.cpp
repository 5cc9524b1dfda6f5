// What an agent is told about a job: the environment (evaluated here, so
// every agent sees the same values), the secrets it needs, and the source.
#include "scheduler/job_spec.hpp"

#include "gantry/pipelines/groovy_eval.hpp"

#include <set>

#include "gantry/pipelines/expression.hpp"
#include "gantry/pipelines/run_parameters.hpp"
#include "scheduler/rollout.hpp"
#include "scheduler/secret_scope.hpp"

namespace gantry::controller {

using pipelines::Result;

namespace {

void set_ref_env(const std::string& ref, std::map<std::string, std::string>& env) {
  const std::string heads = "refs/heads/", tags = "refs/tags/";
  if (ref.rfind(tags, 0) == 0) {
    // As in Jenkins' multibranch tag jobs, BRANCH_NAME names the tag too.
    env["TAG_NAME"] = ref.substr(tags.size());
    env["BRANCH_NAME"] = env["TAG_NAME"];
  } else if (ref.rfind(heads, 0) == 0) {
    env["BRANCH_NAME"] = ref.substr(heads.size());
  } else if (!ref.empty()) {
    env["BRANCH_NAME"] = ref;
  }
  if (env.count("BRANCH_NAME")) env["GIT_BRANCH"] = env["BRANCH_NAME"];
}

// A credentials id as written: a literal, or a name (ID, env.ID, "${ID}") that the
// Jenkinsfile sets once to a literal at its top level or in the pipeline's environment.
std::optional<std::string> credentials_id_of(const pipelines::Node* v, const LiteralVars* vars) {
  using pipelines::NodeKind;
  if (v == nullptr) return std::nullopt;
  if (v->kind == NodeKind::String) return v->text;
  if (v->kind == NodeKind::GString && v->items.size() == 1) v = v->items[0].get();
  if (vars == nullptr || v == nullptr) return std::nullopt;
  std::string name;
  if (v->kind == NodeKind::Ident) name = v->text;
  if (v->kind == NodeKind::Property && v->lhs && v->lhs->kind == NodeKind::Ident &&
      v->lhs->text == "env")
    name = v->text;
  auto it = vars->find(name);
  if (name.empty() || it == vars->end()) return std::nullopt;
  return it->second;
}

// sshagent(['id', ...]) / sshagent(credentials: [...]) / sshagent('id'): the keys of its agent.
void sshagent_ids(const pipelines::Node* list, std::set<std::string>& ids,
                  const LiteralVars* vars) {
  if (list && list->kind == pipelines::NodeKind::List) {
    for (const auto& item : list->items) {
      if (auto id = credentials_id_of(item.get(), vars)) ids.insert(*id);
    }
  } else if (auto id = credentials_id_of(list, vars)) {
    ids.insert(*id);
  }
}

void collect_ids(const pipelines::Node& node, std::set<std::string>& ids, int depth,
                 const LiteralVars* vars) {
  if (depth > pipelines::kMaxEvalDepth) return;
  for (const auto& arg : node.named) {
    if (arg.name == "credentialsId") {
      if (auto id = credentials_id_of(arg.value.get(), vars)) ids.insert(*id);
    }
    if (arg.value) collect_ids(*arg.value, ids, depth + 1, vars);
  }
  if (node.kind == pipelines::NodeKind::Call && !node.lhs && node.text == "sshagent") {
    const pipelines::Node* list = node.items.empty() ? nullptr : node.items[0].get();
    for (const auto& arg : node.named) {
      if (arg.name == "credentials") list = arg.value.get();
    }
    sshagent_ids(list, ids, vars);
  }
  // Docker Pipeline: docker.withRegistry(url, 'id') { } and docker.withServer(uri, 'id') { }.
  if (node.kind == pipelines::NodeKind::Call && node.lhs &&
      (node.text == "withRegistry" || node.text == "withServer") && node.items.size() >= 2) {
    if (auto id = credentials_id_of(node.items[1].get(), vars)) ids.insert(*id);
  }
  for (const auto* child : {node.lhs.get(), node.rhs.get(), node.third.get(), node.block.get()}) {
    if (child) collect_ids(*child, ids, depth + 1, vars);
  }
  for (const auto& item : node.items) {
    if (item) collect_ids(*item, ids, depth + 1, vars);
  }
}

// Names of the plain calls in `node` (a helper method called from a step or a script).
void collect_calls(const pipelines::Node& node, std::set<std::string>& calls, int depth) {
  if (depth > pipelines::kMaxEvalDepth) return;
  if (node.kind == pipelines::NodeKind::Call && !node.lhs) calls.insert(node.text);
  for (const auto& arg : node.named) {
    if (arg.value) collect_calls(*arg.value, calls, depth + 1);
  }
  for (const auto* child : {node.lhs.get(), node.rhs.get(), node.third.get(), node.block.get()}) {
    if (child) collect_calls(*child, calls, depth + 1);
  }
  for (const auto& item : node.items) {
    if (item) collect_calls(*item, calls, depth + 1);
  }
}

void collect_step_calls(const std::vector<pipelines::Step>& steps, std::set<std::string>& calls) {
  for (const pipelines::Step& step : steps) {
    calls.insert(step.name);
    for (const auto& a : step.args) {
      if (a) collect_calls(*a, calls, 0);
    }
    for (const auto& a : step.named) {
      if (a.value) collect_calls(*a.value, calls, 0);
    }
    if (step.script) collect_calls(*step.script, calls, 0);
    collect_step_calls(step.body, calls);
  }
}

// withCredentials inside the Jenkinsfile's own methods that `calls` reach
// (def deploy() { withCredentials([...]) { ... } }, called from a step).
void collect_method_credential_ids(const pipelines::Node* file, std::set<std::string> calls,
                                   std::set<std::string>& ids, const LiteralVars* vars) {
  if (file == nullptr) return;
  std::set<std::string> seen;
  for (int round = 0; round < 8 && !calls.empty(); ++round) {
    std::set<std::string> next;
    for (const auto& stmt : file->items) {
      const pipelines::Node* m = stmt.get();
      while (m != nullptr && m->kind == pipelines::NodeKind::Annotation) m = m->lhs.get();
      if (m == nullptr || m->kind != pipelines::NodeKind::MethodDef || !calls.count(m->text) ||
          seen.count(m->text))
        continue;
      seen.insert(m->text);
      collect_ids(*m, ids, 0, vars);
      collect_calls(*m, next, 0);
    }
    calls = std::move(next);
  }
}

std::string secret_refusal_of(const std::string& id, const SchedulerOptions& options,
                              const RunState& run, int node,
                              const std::map<std::string, std::string>& env) {
  auto scope = options.secret_scopes.find(id);
  static const SecretScope kNone;
  auto branch = env.find("BRANCH_NAME");
  return secret_refusal(id, scope == options.secret_scopes.end() ? kNone : scope->second, run, node,
                        branch == env.end() ? std::string() : branch->second);
}

}  // namespace

LiteralVars literal_vars(const pipelines::Node* file, const pipelines::Pipeline& pipeline) {
  using pipelines::NodeKind;
  LiteralVars vars;
  std::set<std::string> twice;  // set more than once: not a constant
  auto note = [&](const std::string& name, const pipelines::Node* v) {
    if (name.empty() || v == nullptr || v->kind != NodeKind::String || twice.count(name)) return;
    if (!vars.emplace(name, v->text).second) {
      vars.erase(name);
      twice.insert(name);
    }
  };
  if (file != nullptr) {
    for (const auto& stmt : file->items) {
      if (!stmt) continue;
      if (stmt->kind == NodeKind::VarDecl) note(stmt->text, stmt->lhs.get());
      const pipelines::Node* e = stmt->kind == NodeKind::ExprStmt ? stmt->lhs.get() : nullptr;
      if (e && e->kind == NodeKind::Assign && e->text == "=" && e->lhs &&
          e->lhs->kind == NodeKind::Ident)
        note(e->lhs->text, e->rhs.get());
    }
  }
  for (const pipelines::EnvVar& v : pipeline.environment) note(v.name, v.value.get());
  return vars;
}

void collect_credential_ids(const std::vector<pipelines::Step>& steps, std::set<std::string>& ids,
                            const LiteralVars* vars) {
  for (const pipelines::Step& step : steps) {
    if (step.name == "sshagent") sshagent_ids(step.arg("credentials", 0), ids, vars);
    for (const auto& a : step.args) {
      if (a) collect_ids(*a, ids, 0, vars);
    }
    for (const auto& a : step.named) {
      if (a.name == "credentialsId") {
        if (auto id = credentials_id_of(a.value.get(), vars)) ids.insert(*id);
      }
      if (a.value) collect_ids(*a.value, ids, 0, vars);
    }
    if (step.script) collect_ids(*step.script, ids, 0, vars);
    collect_credential_ids(step.body, ids, vars);
  }
}

pipelines::EvalResult evaluate_at_stage(const RunState& run, int node,
                                        const SchedulerOptions& options,
                                        const pipelines::Node& expr) {
  std::string ignored;
  pipelines::EvalContext ctx;
  ctx.env = stage_environment(run, node, options, nullptr, ignored);
  ctx.params = pipelines::typed_parameters(run.pipeline, run.run.params);
  return pipelines::groovy::evaluate_for_controller(
      run.groovy_tree(), expr, ctx, run.run.script_state, run.library_files().get());
}

std::vector<std::string> required_tools(const RunState& run, int node,
                                        const SchedulerOptions& options) {
  std::map<std::string, std::string> by_type;  // the innermost declaration of a type wins
  // `jdk params.jdkVersion`, `jdk "${MATRIX_JDK}"`, `maven MVN`: the stage's environment,
  // axes and the run's parameters. A name that does not evaluate to a value asks for nothing
  // (the job finds the tool on PATH or fails at the step that needs it), not for a tool that
  // no agent can have.
  std::optional<pipelines::EvalContext> ctx;
  auto take = [&](const std::vector<pipelines::Tool>& tools) {
    for (const pipelines::Tool& t : tools) {
      if (by_type.count(t.type) || !t.version) continue;
      if (t.version->kind == pipelines::NodeKind::String) {
        by_type[t.type] = t.version->text;
        continue;
      }
      if (!ctx) {
        ctx.emplace();
        std::string ignored;
        ctx->env = stage_environment(run, node, options, nullptr, ignored);
        ctx->params = pipelines::typed_parameters(run.pipeline, run.run.params);
      }
      pipelines::EvalResult v = pipelines::evaluate(*t.version, *ctx);
      std::string name;
      if (auto* value = std::get_if<pipelines::Value>(&v); value && !value->is_null())
        name = value->to_string();
      by_type[t.type] = name;  // "" when unknown: the type is settled, nothing required
    }
  };
  for (int i = node; i >= 0; i = run.nodes[static_cast<size_t>(i)].parent) {
    const pipelines::Stage* s = run.nodes[static_cast<size_t>(i)].stage;
    if (s == nullptr) continue;
    if (s->matrix) take(s->matrix->tools);
    take(s->tools);
  }
  take(run.pipeline.tools);
  std::vector<std::string> out;
  for (const auto& [type, name] : by_type) {
    if (!name.empty()) out.push_back(type + ":" + name);
  }
  return out;
}

std::string with_tools(const std::string& label, const std::vector<std::string>& tools) {
  std::string out = label.empty() ? "" : "(" + label + ")";
  for (const std::string& t : tools) {
    std::string quoted = "\"tool:";
    for (char c : t) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    out += (out.empty() ? "" : " && ") + quoted + "\"";
  }
  return out;
}

std::map<std::string, std::string> stage_environment(const RunState& run, int node,
                                                     const SchedulerOptions& options,
                                                     std::map<std::string, std::string>* secrets,
                                                     std::string& error,
                                                     std::vector<std::string>* deferred) {
  const RunRecord& r = run.run;
  const ExecNode& n = run.nodes[static_cast<size_t>(node)];
  std::map<std::string, std::string> env;
  env["BUILD_ID"] = std::to_string(r.number);
  env["BUILD_NUMBER"] = std::to_string(r.number);
  env["RUN_ID"] = std::to_string(r.id);
  env["JOB_NAME"] = r.job_name;
  env["GIT_COMMIT"] = r.commit;
  env["CHANGE_AUTHOR"] = r.author;
  env["CHANGE_AUTHOR_EMAIL"] = r.author_email;
  if (!r.repo_url.empty()) env["GIT_URL"] = r.repo_url;
  if (!r.previous_commit.empty()) env["GIT_PREVIOUS_COMMIT"] = r.previous_commit;
  if (!r.previous_successful_commit.empty())
    env["GIT_PREVIOUS_SUCCESSFUL_COMMIT"] = r.previous_successful_commit;
  set_ref_env(r.ref, env);
  if (auto id = r.change_request.find("CHANGE_ID"); id != r.change_request.end()) {
    // A pull or merge request, as Jenkins' multibranch names it: PR-12 (GitHub), MR-12 (GitLab).
    for (const auto& [k, v] : r.change_request) env[k] = v;
    env["BRANCH_NAME"] = (r.ref.starts_with("refs/merge-requests/") ? "MR-" : "PR-") + id->second;
    env["GIT_BRANCH"] = env["BRANCH_NAME"];
  }
  // Jenkins' standard variables (BUILD_URL needs the controller's `url:`).
  const std::string job_base = r.job_name.substr(r.job_name.find_last_of('/') + 1);
  env["JOB_BASE_NAME"] = job_base;
  env["BUILD_TAG"] = "gantry-" + r.job_name + "-" + std::to_string(r.number);
  if (!options.public_url.empty()) {
    env["GANTRY_URL"] = options.public_url + "/";
    env["JENKINS_URL"] = env["GANTRY_URL"];
    env["BUILD_URL"] = options.public_url + "/#/runs/" + std::to_string(r.id);
    env["RUN_DISPLAY_URL"] = env["BUILD_URL"];
    env["JOB_URL"] = options.public_url + "/#/runs?job=" + r.job_name;
  }
  const std::map<std::string, std::string> own = env;
  pipelines::EvalContext ctx;
  // Parameters: declared defaults, then the values the run was started with, typed.
  ctx.params = pipelines::typed_parameters(run.pipeline, r.params);
  // Never over Gantry's own variables, set above (a run's parameters with
  // such names are refused when it is created; this covers declared ones).
  for (const auto& [k, v] : ctx.params) env.emplace(k, v.to_string());
  // `env.X = ...` in an earlier job's Groovy: seen by the later ones (not over Gantry's own
  // variables; the `environment` directives below win over it, as in Jenkins).
  for (const auto& [k, v] : r.script_env) {
    if (!own.count(k)) env[k] = v;
  }
  // A password parameter is a secret: the agent masks it wherever its output goes.
  for (const auto& p : run.pipeline.parameters) {
    auto value = env.find(p.name);
    if (secrets && p.type == "password" && value != env.end() && !value->second.empty())
      (*secrets)[p.name] = value->second;
  }
  for (const auto* list : n.environment) {
    for (const pipelines::EnvVar& var : *list) {
      if (!var.credentials_id.empty()) {
        // credentials("${ID}"): the id is the GString's value here, with the variables so far.
        std::string id = var.credentials_id;
        const pipelines::Node* arg =
            var.value && var.value->items.size() == 1 ? var.value->items[0].get() : nullptr;
        if (arg && arg->kind == pipelines::NodeKind::GString) {
          ctx.env = env;
          pipelines::EvalResult v = pipelines::evaluate(*arg, ctx);
          if (std::holds_alternative<pipelines::EvalError>(v)) {
            // Beyond the subset ("${props['id']}"): the file's Groovy, as Jenkins has it.
            v = pipelines::groovy::evaluate_for_controller(
                run.groovy_tree(), *arg, ctx, r.script_state, run.library_files().get());
          }
          if (auto* e = std::get_if<pipelines::EvalError>(&v)) {
            error = "environment " + var.name + " (" + std::to_string(e->pos.line) + ":" +
                    std::to_string(e->pos.col) + "): " + e->message;
            return env;
          }
          id = std::get<pipelines::Value>(v).to_string();
        }
        auto s = options.secrets.find(id);
        if (s == options.secrets.end()) {
          error = "credentials '" + id + "' not found (configure it under secrets)";
          return env;
        }
        // Checked where the value is handed out (a job's assignment); the
        // gate's texts and `when` see "****" only.
        if (secrets) {
          error = secret_refusal_of(id, options, run, node, env);
          if (!error.empty()) return env;
        }
        env[var.name] = secrets ? s->second : "****";
        if (secrets) (*secrets)[var.name] = s->second;
        // A "user:password" secret is a username with password, as Jenkins binds one: NAME_USR
        // and NAME_PSW too (the password a secret of its own, masked alone).
        if (const size_t colon = s->second.find(':'); colon != std::string::npos) {
          env[var.name + "_USR"] = secrets ? s->second.substr(0, colon) : "****";
          env[var.name + "_PSW"] = secrets ? s->second.substr(colon + 1) : "****";
          if (secrets) (*secrets)[var.name + "_PSW"] = s->second.substr(colon + 1);
        }
        continue;
      }
      if (!var.value) continue;
      ctx.env = env;
      // What only the stage's agent knows (PATH, HOME, WORKSPACE) it fills in itself.
      ctx.defer_unknown_env = true;
      pipelines::EvalResult v = pipelines::evaluate(*var.value, ctx);
      ctx.defer_unknown_env = false;
      if (std::holds_alternative<pipelines::EvalError>(v)) {
        // Groovy the controller does not run (a step, a helper method): the
        // stage's agent computes it, as Jenkins evaluates `environment` there.
        env.erase(var.name);
        if (deferred) {
          deferred->push_back(var.name + " " + std::to_string(var.value->pos.line) + ":" +
                              std::to_string(var.value->pos.col));
        }
        continue;
      }
      env[var.name] = std::get<pipelines::Value>(v).to_string();
    }
  }
  for (const auto& [k, v] : n.axes) env[k] = v;
  if (!n.name.empty()) env["STAGE_NAME"] = n.name;
  if (n.stage && n.stage->deploy) env["DEPLOY_ENV"] = n.stage->deploy->environment;
  if (n.record >= 0) {
    const StageRecord& rec = run.record_of(node);
    for (const auto& [k, v] : rec.gate_values) env[k] = v;
    if (int weight = canary_weight(run, node); weight > 0)
      env["CANARY_WEIGHT"] = std::to_string(weight);
  }
  return env;
}

protocol::JobSpec job_spec(const RunState& run, const Job& job, const SchedulerOptions& options,
                           std::string& error) {
  const RunRecord& r = run.run;
  const ExecNode& n = run.nodes[static_cast<size_t>(job.node)];
  protocol::JobSpec spec;
  spec.run_id = std::to_string(r.id);
  spec.run_number = r.number;
  spec.job_name = r.job_name;
  spec.stage_id = n.kind == NodeKind::PipelinePost ? "" : n.id;
  spec.stage_name = n.name;
  spec.attempt = job.attempt;
  spec.pipeline_source = r.pipeline_source;
  spec.libraries = r.libraries;
  if (auto c = options.repository_credentials.find(r.repo_name);
      !r.repo_name.empty() && c != options.repository_credentials.end()) {
    auto secret = options.secrets.find(c->second);
    if (secret != options.secrets.end()) spec.checkout_secret = secret->second;
  }
  // Public: how git hosts are checked, for the checkout and for git steps with credentialsId.
  spec.known_hosts = options.git_known_hosts;
  spec.git_ca = options.git_ca_pem;
  spec.tools = required_tools(run, job.node, options);
  // The first job of the run logs what the code around `pipeline { }` prints.
  spec.log_prelude = job.attempt == 1;
  for (const StageRecord& s : run.stages) {
    if (s.stage_id != spec.stage_id && (s.attempts > 0 || s.started_at != 0))
      spec.log_prelude = false;
  }
  spec.pipeline_format = r.pipeline_format;
  spec.repo_url = r.repo_url;
  spec.commit = r.commit;
  spec.workspace = r.job_name + "-" + std::to_string(r.number);
  // customWorkspace (node, docker, dockerfile agents): a directory of its own that outlives
  // the run, as in Jenkins; under the agent's workspaces whatever path is written (an
  // absolute one would let a pipeline have the agent check out over any directory).
  if (const pipelines::Agent* a = run.label_agent(job.node)) {
    auto it = a->fields.find("customWorkspace");
    if (it != a->fields.end() && !it->second.empty() && !a->field_exprs.count(it->first))
      spec.workspace = "custom-" + it->second;
  }
  spec.env = stage_environment(run, job.node, options, &spec.secrets, error, &spec.groovy_env);
  spec.script_state = r.script_state;
  spec.description = r.description;
  spec.display_name = r.display_name;
  // withCredentials secrets go only to the job whose own steps name them.
  std::set<std::string> ids;
  std::set<std::string> calls;
  const LiteralVars vars = literal_vars(run.groovy_tree().get(), run.pipeline);
  if (n.kind == NodeKind::PipelinePost) {
    for (const auto& p : run.pipeline.post) {
      collect_credential_ids(p.steps, ids, &vars);
      collect_step_calls(p.steps, calls);
    }
  } else if (n.stage) {
    collect_credential_ids(n.stage->steps, ids, &vars);
    collect_step_calls(n.stage->steps, calls);
    for (const auto& p : n.stage->post) {
      collect_credential_ids(p.steps, ids, &vars);
      collect_step_calls(p.steps, calls);
    }
  }
  collect_method_credential_ids(run.groovy_tree().get(), std::move(calls), ids, &vars);
  // A container agent's registry login (registryCredentialsId) is the job's, scoped as any.
  if (const pipelines::Agent* a = run.label_agent(job.node);
      a && pipelines::runs_in_container(a->kind)) {
    auto it = a->fields.find("registryCredentialsId");
    if (it != a->fields.end() && !a->field_exprs.count(it->first)) ids.insert(it->second);
  }
  for (const std::string& id : ids) {
    auto it = options.secrets.find(id);
    if (it == options.secrets.end()) continue;  // the step says it is missing
    if (error.empty()) error = secret_refusal_of(id, options, run, job.node, spec.env);
    if (error.empty()) spec.credentials[id] = it->second;
  }
  Result current =
      n.children_result ? pipelines::worse(*n.children_result, run.result()) : run.result();
  const Rollout* rollout = n.record >= 0 ? &run.record_of(job.node).rollout : nullptr;
  if (rollout && rollout->phase == CanaryPhase::Post) {
    // A canary's post is judged on how the canary ended.
    current = pipelines::worse(current,
                               pipelines::parse_result(rollout->result).value_or(Result::Failure));
  }
  spec.current_result = pipelines::result_name(current);
  if (run.previous_result) spec.previous_result = pipelines::result_name(*run.previous_result);
  spec.timeout_ms = run.timeout_ms_of(job.node);
  spec.cancel_grace_ms = options.cancel_grace_ms;
  spec.skip_checkout = run.skip_checkout() || r.repo_url.empty();
  if (r.rollback_of != 0 && n.id == r.rollback_stage) {
    spec.mode = to_string(CanaryPhase::Rollback);
  } else if (rollout && n.stage && n.stage->deploy) {
    // The job modes on the wire (docs/protocol.md) are the phases' words.
    const CanaryPhase phase = rollout->phase;
    if (phase == CanaryPhase::Rollback || phase == CanaryPhase::Analysis ||
        phase == CanaryPhase::Post) {
      spec.mode = to_string(phase);
    } else if (phase == CanaryPhase::Steps && n.stage->deploy->canary) {
      spec.mode = "canary";
    }
  }
  return spec;
}

}  // namespace gantry::controller
