// The job's Groovy: the interpreter's host (steps, env, params, currentBuild)
// and the conversions between Groovy values and model steps.
#include "script_engine.hpp"

#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "gantry/pipelines/loader.hpp"

#include "gantry/pipelines/expression.hpp"
#include "steps_utility.hpp"

namespace gantry::agent {

namespace groovy = pipelines::groovy;
using groovy::Type;
using groovy::Value;
using pipelines::Node;
using pipelines::NodeKind;
using pipelines::NodePtr;
using pipelines::Result;

namespace {

constexpr size_t kMaxStateBytes = size_t{1} << 20;
constexpr size_t kMaxBranchThreads = 16;  // a scripted parallel's branches running at once

// A branch of a scripted `parallel`, run on a thread of its own.
struct Branch {
  std::string name;
  Value body;
  const Branch* parent = nullptr;  // the branch the parallel itself runs in
  bool ok = true;
  Value error;
  std::atomic<bool> stop{false};  // failFast: another branch failed
  std::mutex mu;
  Process* process = nullptr;  // the process its step waits on (under mu)

  bool stopped() const {
    for (const Branch* b = this; b != nullptr; b = b->parent) {
      if (b->stop) return true;
    }
    return false;
  }
};

thread_local Branch* tl_branch = nullptr;

// Calls whose value is a description another step takes, not a step of
// their own: withCredentials' bindings, build's parameters, checkout's SCMs.
bool is_describable(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "usernamePassword", "usernameColonPassword", "string", "file", "sshUserPrivateKey",
      "certificate", "booleanParam", "choice", "text", "password", "scmGit", "gitBranch", "branch",
      "userRemoteConfig", "cleanBeforeCheckout", "localBranch", "submodule", "cloneOption", "lfs",
      "pruneStale", "wipeWorkspace", "run", "credentials", "relativeTargetDirectory",
      "cleanAfterCheckout",
      // properties([...])'s job properties (a no-op
      // here): their values only describe.
      "buildDiscarder", "logRotator", "disableConcurrentBuilds", "disableResume", "durabilityHint",
      "pipelineTriggers", "cron", "pollSCM", "upstream", "githubPush", "parameters", "stringParam",
      "choiceParam", "rateLimitBuilds",
      // emailext's recipientProviders: resolved by the controller (steps_notify.cpp).
      "developers", "culprits", "requestor",
      // recordIssues' tools (issues.hpp reads the first twelve) and filters.
      "checkStyle", "esLint", "ktLint", "detekt", "tsLint", "swiftLint", "phpCodeSniffer",
      "pmdParser", "spotBugs", "findBugs", "sarif", "issues", "java", "javaDoc", "gcc", "gcc4",
      "clang", "clangTidy", "msBuild", "mavenConsole", "cpd", "pyLint", "flake8", "taskScanner",
      "excludeFile", "includeFile", "excludeCategory", "excludeType"};
  for (auto n : kNames) {
    if (n == name) return true;
  }
  return false;
}

// A describable call's value: it converts back into the call it was.
class Describable : public groovy::NativeObject {
 public:
  Describable(std::string name, std::vector<Value> args,
              std::vector<std::pair<std::string, Value>> named)
      : name_(std::move(name)), args_(std::move(args)), named_(std::move(named)) {}
  std::string type_name() const override { return name_; }
  bool get(groovy::Interpreter&, std::string_view key, Value& out, bool& found) override {
    found = false;
    for (const auto& [k, v] : named_) {
      if (k == key) {
        out = v;
        found = true;
      }
    }
    return true;
  }
  const std::string& name() const { return name_; }
  const std::vector<Value>& args() const { return args_; }
  const std::vector<std::pair<std::string, Value>>& named() const { return named_; }
  std::string to_string() const override { return "@" + name_ + "(...)"; }

 private:
  std::string name_;
  std::vector<Value> args_;
  std::vector<std::pair<std::string, Value>> named_;
};

// `scm`: the run's own repository as Jenkins' GitSCM shows it to Groovy, for the pipelines that
// read it (scm.userRemoteConfigs[0].url, scm.branches[0].name) or pass its parts to checkout.
class ScmObject : public groovy::NativeObject {
 public:
  ScmObject(std::string url, std::string branch)
      : url_(std::move(url)), branch_(std::move(branch)) {}
  std::string type_name() const override { return "hudson.plugins.git.GitSCM"; }
  bool get(groovy::Interpreter&, std::string_view name, Value& out, bool& found) override {
    found = true;
    if (name == "userRemoteConfigs") {
      Value remote = Value::map();
      remote.as_map().put(Value::string("url"), url_.empty() ? Value() : Value::string(url_));
      remote.as_map().put(Value::string("name"), Value::string("origin"));
      remote.as_map().put(Value::string("refspec"),
                          Value::string("+refs/heads/*:refs/remotes/origin/*"));
      remote.as_map().put(Value::string("credentialsId"), Value());
      out = Value::list({remote});
    } else if (name == "branches") {
      Value branch = Value::map();
      branch.as_map().put(Value::string("name"), Value::string(branch_));
      out = Value::list({branch});
    } else if (name == "extensions") {
      out = Value::list();
    } else if (name == "doGenerateSubmoduleConfigurations") {
      out = Value::boolean(false);
    } else if (name == "key") {
      out = Value::string("git " + url_);
    } else {
      found = false;
    }
    return true;
  }

 private:
  std::string url_, branch_;
};

// A Groovy value as the literal it would be written as, for a step's arguments.
NodePtr to_node(const Value& v, pipelines::Pos pos, std::string& error) {
  switch (v.type()) {
    case Type::Null:
      return pipelines::make_node(NodeKind::Null, pos);
    case Type::Bool:
      return pipelines::make_node(NodeKind::Bool, pos, v.as_bool() ? "true" : "false");
    case Type::Int:
    case Type::Long:
      return pipelines::make_node(NodeKind::Int, pos, std::to_string(v.as_int()));
    case Type::Decimal:
    case Type::Double:
      return pipelines::make_node(NodeKind::Float, pos, groovy::to_string(v));
    case Type::String:
      return pipelines::make_node(NodeKind::String, pos, v.as_string());
    case Type::List:
    case Type::Range: {
      auto list = pipelines::make_node(NodeKind::List, pos);
      std::vector<Value> items;
      if (v.type() == Type::List) {
        items = v.as_list().items;
      } else {
        for (int64_t i = 0; i < v.as_range().size() && i < 100000; ++i) {
          items.push_back(Value::whole(v.as_range().at(i)));
        }
      }
      for (const auto& item : items) {
        NodePtr n = to_node(item, pos, error);
        if (!n) return nullptr;
        list->items.push_back(std::move(n));
      }
      return list;
    }
    case Type::Map: {
      auto map = pipelines::make_node(NodeKind::Map, pos);
      for (const auto& [k, val] : v.as_map().entries()) {
        NodePtr n = to_node(val, pos, error);
        if (!n) return nullptr;
        map->named.push_back(pipelines::NamedArg{groovy::to_string(k), pos, std::move(n)});
      }
      return map;
    }
    case Type::Native: {
      if (auto* d = dynamic_cast<Describable*>(&v.as_native())) {
        auto call = pipelines::make_node(NodeKind::Call, pos, d->name());
        call->parens = true;
        for (const auto& a : d->args()) {
          NodePtr n = to_node(a, pos, error);
          if (!n) return nullptr;
          call->items.push_back(std::move(n));
        }
        for (const auto& [k, a] : d->named()) {
          NodePtr n = to_node(a, pos, error);
          if (!n) return nullptr;
          call->named.push_back(pipelines::NamedArg{k, pos, std::move(n)});
        }
        return call;
      }
      if (dynamic_cast<ScmObject*>(&v.as_native()) != nullptr) {
        return pipelines::make_node(NodeKind::Ident, pos, "scm");
      }
      return pipelines::make_node(NodeKind::String, pos, v.as_native().to_string());
    }
    default:
      error = "a " + groovy::class_name(v) + " cannot be a step's argument";
      return nullptr;
  }
}

}  // namespace

// ---- the host

class ScriptEngine::Host : public groovy::Host {
 public:
  Host(ScriptEngine& engine, JobState& job, StepRunner& steps)
      : engine_(engine), job_(job), steps_(steps) {}

  std::vector<const StepScope*> scopes;  // innermost last
  std::vector<Value> closures;           // Step.closure ids of the steps running
  bool quiet = false;                    // the top-level code: its output is not logged

  const StepScope& scope() const { return *scopes.back(); }

  bool has_step(std::string_view name) const override {
    return StepRunner::supports(name) || is_describable(name) || name == "node" ||
           name == "stage" || name == "parallel" || name == "ws" || name == "properties";
  }

  void print(std::string_view text) override {
    if (!quiet) job_.spool.append(text);
  }

  bool interrupted() override { return job_.control.interrupted() || branch_stopped(); }

  std::optional<Value> global(std::string_view name) override;

  bool step(groovy::Interpreter& in, const groovy::StepCall& call, Value& out) override;

  // Raises a step's failure as the exception Jenkins throws for it.
  bool fail(groovy::Interpreter& in, const StepStatus& st) {
    if (!st.groovy_error.is_null()) return in.raise(st.groovy_error);
    auto e = std::make_shared<groovy::Exception>();
    e->type = st.stopped ? "org.jenkinsci.plugins.workflow.steps.FlowInterruptedException"
                         : "hudson.AbortException";
    e->message = st.message;
    e->uncatchable = st.stopped;
    e->pos = in.position();
    e->host_data = st;
    return in.raise(Value::of(std::move(e)));
  }

  JobState& job() { return job_; }
  StepRunner& steps() { return steps_; }

 private:
  bool run_body(groovy::Interpreter& in, const Value& closure, Value& out) {
    if (closure.type() != Type::Closure) return true;
    return in.call(closure, {}, out);
  }
  bool parallel(groovy::Interpreter& in, const groovy::StepCall& call, Value& out);
  void run_branch(Branch& b, const ThreadState& start, bool fail_fast,
                  std::vector<std::unique_ptr<Branch>>& all, std::vector<Branch*>& failed);

  ScriptEngine& engine_;
  JobState& job_;
  StepRunner& steps_;
  Value env_;
  Value build_;
  Value scm_;
  Value docker_;
};

namespace {

class EnvObject : public groovy::NativeObject {
 public:
  explicit EnvObject(ScriptEngine::Host& host, StepRunner& steps) : host_(host), steps_(steps) {}
  std::string type_name() const override {
    return "org.jenkinsci.plugins.workflow.cps.EnvActionImpl";
  }
  bool get(groovy::Interpreter&, std::string_view name, Value& out, bool& found) override {
    found = true;
    auto env = steps_.effective_env(host_.scope());
    auto it = env.find(std::string(name));
    out = it == env.end() ? Value() : Value::string(it->second);
    return true;
  }
  bool set(groovy::Interpreter&, std::string_view name, const Value& v, bool& found) override;
  bool call(groovy::Interpreter& in, std::string_view method, std::vector<Value>& args, Value& out,
            bool& found) override {
    found = true;
    if (method == "getEnvironment" && args.empty()) {
      auto m = std::make_shared<groovy::Map>();
      for (const auto& [k, v] : steps_.effective_env(host_.scope())) {
        m->put(Value::string(k), Value::string(v));
      }
      out = Value::of(std::move(m));
      return true;
    }
    if (method == "getProperty" && args.size() == 1) {
      bool f = false;
      return get(in, groovy::to_string(args[0]), out, f);
    }
    if (method == "setProperty" && args.size() == 2) {
      bool f = false;
      return set(in, groovy::to_string(args[0]), args[1], f);
    }
    found = false;
    return true;
  }

 private:
  ScriptEngine::Host& host_;
  StepRunner& steps_;
};

class BuildObject : public groovy::NativeObject {
 public:
  explicit BuildObject(JobState& job) : job_(job) {}
  std::string type_name() const override {
    return "org.jenkinsci.plugins.workflow.support.steps.build.RunWrapper";
  }
  bool get(groovy::Interpreter& in, std::string_view name, Value& out, bool& found) override {
    found = true;
    const auto& spec = job_.spec;
    std::string job_name = spec.job_name;
    Result overall = job_.overall();
    if (name == "result") {
      if (overall != Result::Success) {
        out = Value::string(pipelines::result_name(overall));
      } else {
        out = spec.current_result.empty() || spec.current_result == "SUCCESS"
                  ? Value()
                  : Value::string(spec.current_result);
      }
    } else if (name == "currentResult") {
      std::string r = overall != Result::Success
                          ? pipelines::result_name(overall)
                          : (spec.current_result.empty() ? "SUCCESS" : spec.current_result);
      out = Value::string(r);
    } else if (name == "number") {
      out = Value::whole(spec.run_number);
    } else if (name == "id") {
      out = Value::string(std::to_string(spec.run_number));
    } else if (name == "displayName") {
      out = Value::string(job_.display_name.empty() ? "#" + std::to_string(spec.run_number)
                                                    : job_.display_name);
    } else if (name == "fullDisplayName") {
      out = Value::string(job_name + " #" + std::to_string(spec.run_number));
    } else if (name == "description") {
      out = job_.description.empty() ? Value() : Value::string(job_.description);
    } else if (name == "projectName" || name == "fullProjectName") {
      out = Value::string(job_name);
    } else if (name == "absoluteUrl") {
      auto it = spec.env.find("BUILD_URL");
      out = Value::string(it == spec.env.end() ? "" : it->second);
    } else if (name == "previousBuild") {
      if (spec.previous_result.empty()) {
        out = Value();
      } else {
        auto m = std::make_shared<groovy::Map>();
        m->put(Value::string("result"), Value::string(spec.previous_result));
        m->put(Value::string("currentResult"), Value::string(spec.previous_result));
        m->put(Value::string("number"), Value::whole(spec.run_number - 1));
        out = Value::of(std::move(m));
      }
    } else if (name == "changeSets") {
      out = Value::list();
    } else if (name == "durationString") {
      auto s = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                                started_)
                   .count();
      out = Value::string(std::to_string(s) + " sec and counting");
    } else if (name == "startTimeInMillis" || name == "timeInMillis") {
      out = Value::long_(std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count());
    } else if (name == "buildCauses") {
      out = causes();
    } else if (name == "rawBuild") {
      return in.raise("java.lang.SecurityException",
                      "Gantry's sandbox does not allow currentBuild.rawBuild (Jenkins' script "
                      "approval would be needed too): currentBuild has result, number, "
                      "description, displayName, previousBuild and getBuildCauses()");
    } else {
      found = false;
    }
    return true;
  }
  bool set(groovy::Interpreter& in, std::string_view name, const Value& v, bool& found) override {
    found = true;
    if (name == "result") {
      auto r = pipelines::parse_result(groovy::to_string(v));
      if (!r)
        return in.raise("java.lang.IllegalArgumentException",
                        "'" + groovy::to_string(v) + "' is not a build result");
      job_.set_build_result(*r);
    } else if (name == "description") {
      job_.description = v.is_null() ? "" : groovy::to_string(v);
    } else if (name == "displayName") {
      job_.display_name = v.is_null() ? "" : groovy::to_string(v);
    } else {
      found = false;
    }
    return true;
  }
  bool call(groovy::Interpreter& in, std::string_view method, std::vector<Value>& args, Value& out,
            bool& found) override {
    if (method == "getBuildCauses") {
      found = true;
      out = causes();
      return true;
    }
    if (method == "getRawBuild") {
      found = true;
      return in.raise("java.lang.SecurityException",
                      "Gantry's sandbox does not allow currentBuild.rawBuild");
    }
    if (method.size() > 3 && method.starts_with("get") && args.empty()) {
      std::string prop(method.substr(3));
      prop[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(prop[0])));
      return get(in, prop, out, found);
    }
    if (method.size() > 3 && method.starts_with("set") && args.size() == 1) {
      std::string prop(method.substr(3));
      prop[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(prop[0])));
      return set(in, prop, args[0], found);
    }
    found = false;
    return true;
  }

 private:
  Value causes() const {
    // Jenkins' causes, as far as Gantry knows them: the trigger of the run.
    auto cause = std::make_shared<groovy::Map>();
    auto it = job_.spec.env.find("GANTRY_TRIGGER");
    std::string trigger = it == job_.spec.env.end() ? "" : it->second;
    bool user = trigger.empty() || trigger == "api" || trigger == "cli" || trigger == "manual";
    cause->put(Value::string("_class"),
               Value::string(user ? "hudson.model.Cause$UserIdCause"
                                  : "hudson.triggers.SCMTrigger$SCMTriggerCause"));
    cause->put(Value::string("shortDescription"),
               Value::string(user ? "Started by user" : "Started by an SCM change"));
    return Value::list({Value::of(std::move(cause))});
  }

  JobState& job_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

bool EnvObject::set(groovy::Interpreter&, std::string_view name, const Value& v, bool& found) {
  found = true;
  // env.X = value is build-wide in Jenkins: later steps and stages see it.
  host_.job().env_overrides[std::string(name)] = v.is_null() ? "" : groovy::to_string(v);
  return true;
}

// ---- Docker Pipeline: docker.image(...).inside { }, withRun, build, push, withRegistry

Value native(std::shared_ptr<groovy::NativeObject> n) {
  return Value::of(std::move(n));
}

std::string string_arg(const std::vector<Value>& args, size_t i, size_t positional) {
  return i < positional && !args[i].is_null() ? groovy::to_string(args[i]) : std::string();
}

// The closure when the last argument is one; `positional` is how many come before it.
Value trailing_closure(const std::vector<Value>& args, size_t& positional) {
  positional = args.size();
  if (!args.empty() && args.back().type() == Type::Closure) {
    --positional;
    return args.back();
  }
  return Value();
}

class DockerContainer : public groovy::NativeObject {
 public:
  DockerContainer(ScriptEngine::Host& host, std::string id) : host_(host), id_(std::move(id)) {}
  std::string type_name() const override {
    return "org.jenkinsci.plugins.docker.workflow.Docker$Container";
  }
  std::string to_string() const override { return id_; }
  bool get(groovy::Interpreter&, std::string_view name, Value& out, bool& found) override {
    found = name == "id";
    if (found) out = Value::string(id_);
    return true;
  }
  bool call(groovy::Interpreter& in, std::string_view method, std::vector<Value>& args, Value& out,
            bool& found) override {
    found = true;
    if (method == "stop") {
      host_.steps().docker_remove(id_);
      out = Value();
      return true;
    }
    if (method == "port" && args.size() == 1) {
      std::string mapped;
      StepStatus st =
          host_.steps().docker_port(id_, groovy::to_string(args[0]), host_.scope(), mapped);
      if (!st.ok) return host_.fail(in, st);
      out = Value::string(mapped);
      return true;
    }
    if (method == "getId") {
      out = Value::string(id_);
      return true;
    }
    found = false;
    return true;
  }

 private:
  ScriptEngine::Host& host_;
  std::string id_;
};

class DockerImage : public groovy::NativeObject {
 public:
  DockerImage(ScriptEngine::Host& host, std::string name) : host_(host), name_(std::move(name)) {}
  std::string type_name() const override {
    return "org.jenkinsci.plugins.docker.workflow.Docker$Image";
  }
  std::string to_string() const override { return name_; }
  bool get(groovy::Interpreter&, std::string_view name, Value& out, bool& found) override {
    found = name == "id";
    if (found) out = Value::string(name_);
    return true;
  }
  bool call(groovy::Interpreter& in, std::string_view method, std::vector<Value>& args, Value& out,
            bool& found) override {
    found = true;
    StepRunner& steps = host_.steps();
    size_t n = 0;
    Value body = trailing_closure(args, n);
    if (method == "inside" || method == "withRun" || method == "run") {
      const bool inside = method == "inside";
      std::string container;
      StepStatus st = steps.docker_start(name_, string_arg(args, 0, n), string_arg(args, 1, n),
                                         inside, host_.scope(), container);
      if (!st.ok) return host_.fail(in, st);
      if (method == "run") {  // removed at the job's end, or by stop()
        out = native(std::make_shared<DockerContainer>(host_, container));
        return true;
      }
      bool ok = true;
      if (body.type() == Type::Closure) {
        if (inside) {
          StepScope inner = host_.scope();
          inner.container = container;
          host_.scopes.push_back(&inner);
          ok = in.call(body, {}, out);
          host_.scopes.pop_back();
        } else {
          ok = in.call(body, {native(std::make_shared<DockerContainer>(host_, container))}, out);
        }
      }
      steps.docker_remove(container);  // also when the body failed
      return ok;
    }
    if (method == "pull" || method == "push" || method == "tag") {
      StepStatus st = method == "pull" ? steps.docker_pull(name_, host_.scope())
                      : method == "push"
                          ? steps.docker_push(name_, string_arg(args, 0, n), host_.scope())
                          : steps.docker_tag(name_, string_arg(args, 0, n), host_.scope());
      if (!st.ok) return host_.fail(in, st);
      out = Value();
      return true;
    }
    if (method == "imageName" || method == "getId") {
      out = Value::string(method == "imageName" ? steps.registry_image(name_) : name_);
      return true;
    }
    found = false;
    return true;
  }

 private:
  ScriptEngine::Host& host_;
  std::string name_;
};

class DockerGlobal : public groovy::NativeObject {
 public:
  explicit DockerGlobal(ScriptEngine::Host& host) : host_(host) {}
  std::string type_name() const override { return "org.jenkinsci.plugins.docker.workflow.Docker"; }
  bool get(groovy::Interpreter&, std::string_view, Value&, bool& found) override {
    found = false;
    return true;
  }
  bool call(groovy::Interpreter& in, std::string_view method, std::vector<Value>& args, Value& out,
            bool& found) override {
    found = true;
    size_t n = 0;
    Value body = trailing_closure(args, n);
    if (method == "image" && n == 1) {
      out = native(std::make_shared<DockerImage>(host_, groovy::to_string(args[0])));
      return true;
    }
    if (method == "build" && (n == 1 || n == 2)) {
      std::string image = groovy::to_string(args[0]);
      StepStatus st = host_.steps().docker_build(image, n == 2 ? groovy::to_string(args[1]) : ".",
                                                 host_.scope());
      if (!st.ok) return host_.fail(in, st);
      out = native(std::make_shared<DockerImage>(host_, image));
      return true;
    }
    if (method == "withRegistry" && n >= 1) {
      auto& registries = host_.job().registries;
      registries.emplace_back(string_arg(args, 0, n), string_arg(args, 1, n));
      bool ok = body.type() != Type::Closure || in.call(body, {}, out);
      registries.pop_back();
      return ok;
    }
    if (method == "withServer" || method == "withTool" || method == "withDockerServer") {
      return body.type() != Type::Closure || in.call(body, {}, out);
    }
    found = false;
    return true;
  }

 private:
  ScriptEngine::Host& host_;
};

}  // namespace

std::optional<Value> ScriptEngine::Host::global(std::string_view name) {
  if (name == "env") {
    if (env_.is_null()) {
      env_ = Value::of(std::static_pointer_cast<groovy::NativeObject>(
          std::make_shared<EnvObject>(*this, steps_)));
    }
    return env_;
  }
  if (name == "currentBuild") {
    if (build_.is_null()) {
      build_ = Value::of(
          std::static_pointer_cast<groovy::NativeObject>(std::make_shared<BuildObject>(job_)));
    }
    return build_;
  }
  if (name == "scm") {
    if (scm_.is_null()) {
      // Its branch as a multibranch job's scm names it; a run of a commit: the commit.
      std::string branch = job_.spec.commit;
      for (const char* var : {"GIT_BRANCH", "BRANCH_NAME"}) {
        auto it = job_.spec.env.find(var);
        if (it != job_.spec.env.end() && !it->second.empty()) branch = it->second;
      }
      scm_ = Value::of(std::static_pointer_cast<groovy::NativeObject>(
          std::make_shared<ScmObject>(job_.spec.repo_url, branch)));
    }
    return scm_;
  }
  if (name == "docker") {
    if (docker_.is_null())
      docker_ = Value::of(
          std::static_pointer_cast<groovy::NativeObject>(std::make_shared<DockerGlobal>(*this)));
    return docker_;
  }
  if (name == "params") {
    // The run's parameters, typed as declared (a booleanParam is a boolean).
    auto m = std::make_shared<groovy::Map>();
    pipelines::EvalContext ctx = steps_.context(scope());
    for (const auto& [k, v] : ctx.params) m->put(Value::string(k), groovy::from_subset(v));
    return Value::of(std::move(m));
  }
  auto env = steps_.effective_env(scope());
  auto it = env.find(std::string(name));
  if (it != env.end()) return Value::string(it->second);
  return std::nullopt;
}

// ---- scripted parallel

struct ScriptEngine::ThreadState {
  groovy::Interpreter::Context context;
  std::vector<const StepScope*> scopes;
  std::vector<Value> closures;
};

ScriptEngine::ThreadState ScriptEngine::save_thread() const {
  return ThreadState{in_->save_context(), host_->scopes, host_->closures};
}

void ScriptEngine::restore_thread(const ThreadState& s) {
  in_->restore_context(s.context);
  host_->scopes = s.scopes;
  host_->closures = s.closures;
}

struct ScriptEngine::Wait::State {
  ThreadState thread;
};

ScriptEngine::Wait::Wait(ScriptEngine* engine, Process* process) {
  if (tl_branch != nullptr && process != nullptr) {
    std::lock_guard lock(tl_branch->mu);
    tl_branch->process = process;
    branch_ = tl_branch;
    if (tl_branch->stopped()) ::kill(-process->pid(), SIGTERM);
  }
  if (engine != nullptr && engine->concurrent_ > 0) {
    engine_ = engine;
    state_ = std::make_unique<State>(State{engine->save_thread()});
    engine->turn_.unlock();  // the other branches run while this one waits
  }
}

ScriptEngine::Wait::~Wait() {
  if (engine_ != nullptr) {
    engine_->turn_.lock();
    engine_->restore_thread(state_->thread);
  }
  if (branch_ != nullptr) {
    auto* b = static_cast<Branch*>(branch_);
    std::lock_guard lock(b->mu);
    b->process = nullptr;
  }
}

bool ScriptEngine::branch_stopped() {
  return tl_branch != nullptr && tl_branch->stopped();
}

// On a branch thread, holding the turn: runs the branch's closure.
void ScriptEngine::Host::run_branch(Branch& b, const ThreadState& start, bool fail_fast,
                                    std::vector<std::unique_ptr<Branch>>& all,
                                    std::vector<Branch*>& failed) {
  tl_branch = &b;
  engine_.restore_thread(start);
  groovy::Interpreter& in = *engine_.in_;
  steps_.log("[" + b.name + "] Branch started");
  Value ignored;
  b.ok = in.call(b.body, {}, ignored);
  if (b.ok) {
    steps_.log("[" + b.name + "] Branch succeeded");
  } else {
    b.error = in.error();
    in.clear_error();
    const bool aborted = b.stopped() && !job_.control.halted();
    steps_.log("[" + b.name + "] " +
               (aborted ? std::string("Branch aborted: another branch failed (failFast)")
                        : "Branch failed: " + (b.error.type() == Type::Exception
                                                   ? b.error.as_exception().message
                                                   : groovy::to_string(b.error))));
    if (!aborted) failed.push_back(&b);
    if (fail_fast && !aborted) {
      for (auto& other : all) {
        if (other.get() == &b) continue;
        other->stop = true;
        std::lock_guard lock(other->mu);
        if (other->process != nullptr) ::kill(-other->process->pid(), SIGTERM);
      }
    }
  }
  tl_branch = nullptr;
}

bool ScriptEngine::Host::parallel(groovy::Interpreter& in, const groovy::StepCall& call,
                                  Value& out) {
  // Branches run at once, each on a thread of its own that takes turns with
  // the interpreter (docs/groovy.md): a branch waiting on `sh` lets the others
  // go on. failFast stops the others when one fails.
  std::vector<std::unique_ptr<Branch>> branches;
  bool fail_fast = false;
  auto take = [&](const std::string& k, const Value& v) {
    if (k == "failFast") {
      fail_fast = groovy::truthy(v);
      return;
    }
    auto b = std::make_unique<Branch>();
    b->name = k;
    b->body = v;
    b->parent = tl_branch;
    branches.push_back(std::move(b));
  };
  for (const auto& [k, v] : call.named) take(k, v);
  for (const auto& a : call.args) {
    if (a.type() != Type::Map) continue;
    for (const auto& [k, v] : a.as_map().entries()) take(groovy::to_string(k), v);
  }
  for (const auto& b : branches) {
    if (b->body.type() != Type::Closure) {
      return in.raise("java.lang.IllegalArgumentException",
                      "parallel: branch '" + b->name + "' is not a closure");
    }
  }
  out = Value();
  if (branches.empty()) return true;
  ScriptEngine& e = engine_;
  const bool outermost = e.concurrent_ == 0;
  if (outermost) e.turn_.lock();
  ++e.concurrent_;
  const ThreadState mine = e.save_thread();
  std::vector<Branch*> failed;  // in the order they failed
  size_t next = 0;              // the next branch to start (under turn_)
  const size_t workers = std::min(branches.size(), kMaxBranchThreads);
  std::vector<std::thread> threads;
  threads.reserve(workers);
  for (size_t w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      for (;;) {
        std::lock_guard turn(e.turn_);
        if (next == branches.size()) return;
        Branch& b = *branches[next++];
        run_branch(b, mine, fail_fast, branches, failed);
      }
    });
  }
  e.turn_.unlock();
  for (auto& t : threads) t.join();
  e.turn_.lock();
  e.restore_thread(mine);
  --e.concurrent_;
  if (outermost) e.turn_.unlock();

  // A stop of the job (cancel, timeout) ends the parallel as it ends any step.
  for (const auto& b : branches) {
    if (!b->ok && b->error.type() == Type::Exception && b->error.as_exception().uncatchable &&
        !(b->stopped() && !job_.control.halted()))
      return in.raise(b->error);
  }
  if (failed.empty()) return true;
  const Value& first_error = failed.front()->error;
  auto ex = std::make_shared<groovy::Exception>();
  ex->type = "hudson.AbortException";
  ex->message = "Failed in branch " + failed.front()->name;
  ex->pos = call.pos;
  ex->cause = first_error;
  if (first_error.type() == Type::Exception) ex->host_data = first_error.as_exception().host_data;
  if (ex->host_data.has_value()) {
    if (auto* st = std::any_cast<StepStatus>(&ex->host_data)) {
      StepStatus copy = *st;
      copy.message = ex->message;
      ex->host_data = copy;
    }
  }
  return in.raise(Value::of(std::move(ex)));
}

bool ScriptEngine::Host::step(groovy::Interpreter& in, const groovy::StepCall& call, Value& out) {
  const std::string& name = call.name;
  Value closure = call.has_closure && !call.args.empty() ? call.args.back() : Value();
  if (is_describable(name)) {
    std::vector<Value> args = call.args;
    out = Value::of(std::static_pointer_cast<groovy::NativeObject>(
        std::make_shared<Describable>(name, std::move(args), call.named)));
    return true;
  }
  if (quiet && name == "echo") {  // the code around `pipeline { }`: logged by the first job
    out = Value();
    return true;
  }
  if (name == "parallel") return parallel(in, call, out);
  if (is_utility_step(name)) {  // their values are Groovy's: maps and lists
    StepStatus st = agent::run_utility_step(call, job_.workspace, scope().cwd, out);
    return st.ok ? true : fail(in, st);
  }
  if (name == "node" || name == "stage" || name == "script") {
    if (name == "stage" && !call.args.empty() && call.args[0].is_string()) {
      steps_.log("Stage: " + call.args[0].as_string());
    }
    if (name == "node") steps_.log("node: running on this agent, in this workspace");
    return run_body(in, closure, out);
  }
  if (name == "properties") {
    steps_.log(
        "properties(): not applied; declare parameters, triggers and options in the "
        "pipeline");
    out = Value();
    return true;
  }
  pipelines::Step step;
  step.name = name == "ws" ? "dir" : name;
  step.pos = call.pos;
  std::string error;
  size_t positional = call.args.size() - (call.has_closure ? 1 : 0);
  for (size_t i = 0; i < positional; ++i) {
    NodePtr n = to_node(call.args[i], call.pos, error);
    if (!n) return in.raise("java.lang.IllegalArgumentException", name + ": " += error);
    step.args.push_back(std::move(n));
  }
  for (const auto& [k, v] : call.named) {
    NodePtr n = to_node(v, call.pos, error);
    if (!n) return in.raise("java.lang.IllegalArgumentException", name + ": " += error);
    step.named.push_back(pipelines::NamedArg{k, call.pos, std::move(n)});
  }
  if (closure.type() == Type::Closure) {
    step.has_body = true;
    step.closure = static_cast<int>(closures.size());
    closures.push_back(closure);
  }
  StepStatus st = steps_.run_step(step, scope(), false);
  if (step.closure >= 0) closures.pop_back();
  if (!st.ok) return fail(in, st);
  if (st.entries) {
    out = Value::map();
    for (const auto& [k, v] : *st.entries)
      out.as_map().put(Value::string(k), groovy::from_subset(v));
    return true;
  }
  out = groovy::from_subset(st.value);
  return true;
}

// ---- the engine

ScriptEngine::ScriptEngine(JobState& job, StepRunner& steps,
                           std::shared_ptr<const pipelines::Node> tree)
    : job_(job),
      tree_(std::move(tree)),
      host_(std::make_unique<Host>(*this, job, steps)),
      in_(std::make_unique<groovy::Interpreter>(*host_, "WorkflowScript")) {}

void ScriptEngine::start() {
  StepScope top{job_.workspace, job_.base_env};
  host_->scopes.push_back(&top);
  // Shared libraries first: vars/ files become globals, src/ files classes.
  if (!job_.libraries.empty()) {
    std::string error;
    for (auto& f : pipelines::parse_library_files(job_.libraries, error)) {
      if (f.global.empty()) {
        in_->load_classes(std::move(f.tree));
      } else {
        in_->load_global(f.global, std::move(f.tree));
      }
    }
    if (!error.empty()) prelude_failure_ = StepStatus::failure(error);
  }
  if (tree_ && !prelude_failure_) {
    in_->load(tree_);
    // The code around `pipeline { }` runs again in every job (Jenkins runs it
    // once, on the controller); its output is logged by the run's first job only.
    host_->quiet = !job_.spec.log_prelude;
    for (const auto& stmt : tree_->items) {
      if (!stmt) continue;
      const Node& s = *stmt;
      bool is_pipeline = s.kind == NodeKind::ExprStmt && s.lhs && s.lhs->kind == NodeKind::Call &&
                         !s.lhs->lhs && s.lhs->text == "pipeline";
      bool is_library = s.kind == NodeKind::Annotation && s.text == "Library" &&
                        (!s.lhs || (s.lhs->kind == NodeKind::ExprStmt && s.lhs->lhs &&
                                    s.lhs->lhs->kind == NodeKind::Ident));
      if (is_pipeline || is_library) continue;
      if (in_->run_statement(s)) continue;
      const Value& e = in_->error();
      bool missing_step = e.type() == Type::Exception &&
                          e.as_exception().type == "groovy.lang.MissingMethodException";
      if (missing_step) {  // properties(...), library(...) and the like: not fatal here
        in_->clear_error();
        continue;
      }
      prelude_failure_ = to_status("top-level code");
      break;
    }
    host_->quiet = false;
  }
  std::vector<std::pair<std::string, Value>> incoming;
  if (!job_.spec.script_state.empty() &&
      groovy::decode_variables(job_.spec.script_state, incoming)) {
    for (auto& [name, v] : incoming) in_->set_variable(name, std::move(v));
  }
  for (const auto& [name, v] : in_->variables())
    baseline_.emplace_back(name, groovy::encode_value(v));
  host_->scopes.clear();
}

ScriptEngine::~ScriptEngine() = default;

StepStatus ScriptEngine::to_status(const std::string& where) {
  Value e = in_->error();
  in_->clear_error();
  if (e.type() == Type::Exception) {
    const groovy::Exception& ex = e.as_exception();
    if (const auto* st = std::any_cast<StepStatus>(&ex.host_data)) {
      StepStatus copy = *st;
      if (ex.message != st->message) {  // `parallel` names the branch
        copy.message = ex.message;
        copy.logged = false;
      }
      copy.groovy_error = e;
      return copy;
    }
    if (ex.type == "org.jenkinsci.plugins.workflow.steps.FlowInterruptedException") {
      StepStatus st = StepStatus::failure(
          job_.control.stop_reason().empty() ? "interrupted" : job_.control.stop_reason(),
          Result::Aborted);
      st.stopped = job_.control.halted();
      st.logged = true;
      return st;
    }
  }
  std::string text = groovy::to_string(e);
  if (e.type() == Type::Exception && e.as_exception().pos.line != 0) {
    text = std::to_string(e.as_exception().pos.line) + ":" +
           std::to_string(e.as_exception().pos.col) + ": " + text;
  }
  StepStatus st = StepStatus::failure(where + ": " + text);
  st.groovy_error = e;
  return st;
}

StepStatus ScriptEngine::run_script(const Node& code, const StepScope& scope) {
  if (prelude_failure_) return *prelude_failure_;
  host_->scopes.push_back(&scope);
  bool ok = in_->run_block(code);
  host_->scopes.pop_back();
  if (ok) return StepStatus{};
  return to_status("script");
}

StepStatus ScriptEngine::run_closure(int id, const StepScope& scope) {
  if (id < 0 || static_cast<size_t>(id) >= host_->closures.size()) {
    return StepStatus::failure("internal error: no closure " + std::to_string(id));
  }
  Value fn = host_->closures[static_cast<size_t>(id)];
  host_->scopes.push_back(&scope);
  Value ignored;
  bool ok = in_->call(fn, {}, ignored);
  host_->scopes.pop_back();
  if (ok) return StepStatus{};
  return to_status("script");
}

bool ScriptEngine::has_method(const std::string& name) const {
  return in_->has_method(name);
}

pipelines::EvalResult ScriptEngine::evaluate(const Node& expr, const StepScope& scope) {
  if (prelude_failure_) return pipelines::EvalError{expr.pos, prelude_failure_->message};
  host_->scopes.push_back(&scope);
  Value v;
  bool ok = in_->evaluate(expr, v);
  host_->scopes.pop_back();
  if (!ok) {
    Value e = in_->error();
    in_->clear_error();
    std::string text = groovy::to_string(e);
    if (e.type() == Type::Exception) {
      const groovy::Exception& ex = e.as_exception();
      // A step that failed inside the argument (sh(...) in a GString) keeps its own message.
      if (const auto* st = std::any_cast<StepStatus>(&ex.host_data)) text = st->message;
    }
    return pipelines::EvalError{e.type() == Type::Exception && e.as_exception().pos.line != 0
                                    ? e.as_exception().pos
                                    : expr.pos,
                                text};
  }
  return groovy::to_subset(v);
}

StepStatus ScriptEngine::call_method(const pipelines::Step& step, const StepScope& scope) {
  if (prelude_failure_) return *prelude_failure_;
  host_->scopes.push_back(&scope);
  std::vector<Value> args;
  auto named = std::make_shared<groovy::Map>();
  bool ok = true;
  for (const auto& a : step.named) {
    Value v;
    if (a.value && !(ok = in_->evaluate(*a.value, v))) break;
    named->put(Value::string(a.name), std::move(v));
  }
  if (ok && named->size() > 0) args.push_back(Value::of(named));
  for (const auto& a : step.args) {
    Value v;
    if (a && !(ok = in_->evaluate(*a, v))) break;
    args.push_back(std::move(v));
  }
  if (ok && step.script) {  // a trailing closure: myStep { ... }
    Value c;
    ok = in_->evaluate(*step.script, c);
    if (ok) args.push_back(std::move(c));
  }
  Value ignored;
  if (ok) ok = in_->call_method(step.name, std::move(args), ignored);
  host_->scopes.pop_back();
  if (ok) return StepStatus{};
  return to_status(step.name);
}

StepStatus ScriptEngine::run_utility_step(const pipelines::Step& step, const StepScope& scope) {
  if (prelude_failure_) return *prelude_failure_;
  host_->scopes.push_back(&scope);
  groovy::StepCall call{step.name, step.pos, {}, {}, false};
  bool ok = true;
  for (const auto& a : step.args) {
    Value v;
    if (a && !(ok = in_->evaluate(*a, v))) break;
    call.args.push_back(std::move(v));
  }
  for (const auto& a : step.named) {
    if (!ok) break;
    Value v;
    if (a.value && !(ok = in_->evaluate(*a.value, v))) break;
    call.named.emplace_back(a.name, std::move(v));
  }
  host_->scopes.pop_back();
  if (!ok) return to_status(step.name);
  Value ignored;
  return agent::run_utility_step(call, job_.workspace, scope.cwd, ignored);
}

std::string ScriptEngine::exported_state() const {
  std::vector<std::pair<std::string, Value>> changed;
  for (const auto& [name, v] : in_->variables()) {
    std::string now = groovy::encode_value(v);
    if (now.empty()) continue;
    bool same = false;
    for (const auto& [bn, bv] : baseline_) same = same || (bn == name && bv == now);
    if (!same) changed.emplace_back(name, v);
  }
  if (changed.empty()) return "";
  return groovy::encode_variables(changed, kMaxStateBytes);
}

}  // namespace gantry::agent
