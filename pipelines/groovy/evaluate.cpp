// Groovy where no agent is: `when { expression }`, trigger arguments and
// agent labels, evaluated by the controller with the Jenkinsfile's methods
// and variables, env, params and currentBuild.
#include "gantry/pipelines/groovy_eval.hpp"

#include "interp.hpp"

namespace gantry::pipelines::groovy {

namespace {

class MapObject : public NativeObject {
 public:
  MapObject(std::string type, const std::map<std::string, std::string>& values)
      : type_(std::move(type)), values_(values) {}
  std::string type_name() const override { return type_; }
  bool get(Interpreter&, std::string_view name, Value& out, bool& found) override {
    found = true;
    auto it = values_.find(std::string(name));
    out = it == values_.end() ? Value() : Value::string(it->second);
    return true;
  }

 private:
  std::string type_;
  const std::map<std::string, std::string>& values_;
};

class BuildObject : public NativeObject {
 public:
  explicit BuildObject(const EvalContext& ctx) : ctx_(ctx) {}
  std::string type_name() const override {
    return "org.jenkinsci.plugins.workflow.support.steps.build.RunWrapper";
  }
  bool get(Interpreter&, std::string_view name, Value& out, bool& found) override {
    found = true;
    auto env = [&](const char* k) {
      auto it = ctx_.env.find(k);
      return it == ctx_.env.end() ? std::string() : it->second;
    };
    if (name == "result") {
      out = ctx_.current_result.empty() ? Value() : Value::string(ctx_.current_result);
    } else if (name == "currentResult") {
      out = Value::string(ctx_.current_result.empty() ? "SUCCESS" : ctx_.current_result);
    } else if (name == "number") {
      std::string n = env("BUILD_NUMBER");
      out = n.empty() ? Value() : Value::whole(std::strtoll(n.c_str(), nullptr, 10));
    } else if (name == "displayName") {
      out = Value::string("#" + env("BUILD_NUMBER"));
    } else if (name == "fullDisplayName") {
      out = Value::string(env("JOB_NAME") + " #" + env("BUILD_NUMBER"));
    } else if (name == "projectName" || name == "fullProjectName") {
      out = Value::string(env("JOB_NAME"));
    } else if (name == "absoluteUrl") {
      out = Value::string(env("BUILD_URL"));
    } else if (name == "changeSets") {
      out = Value::list();
    } else {
      found = false;
    }
    return true;
  }

 private:
  const EvalContext& ctx_;
};

class ControllerHost : public Host {
 public:
  explicit ControllerHost(const EvalContext& ctx) : ctx_(ctx) {}
  bool has_step(std::string_view) const override { return false; }
  bool step(Interpreter& in, const StepCall& call, Value&) override {
    return in.raise("java.lang.UnsupportedOperationException",
                    "the step " + call.name + " cannot run here: no agent evaluates this");
  }
  void print(std::string_view) override {}
  std::optional<Value> global(std::string_view name) override {
    if (name == "env") {
      return Value::of(std::static_pointer_cast<NativeObject>(std::make_shared<MapObject>(
          "org.jenkinsci.plugins.workflow.cps.EnvActionImpl", ctx_.env)));
    }
    if (name == "params") {
      auto m = std::make_shared<Map>();
      for (const auto& [k, v] : ctx_.params) m->put(Value::string(k), from_subset(v));
      return Value::of(std::move(m));
    }
    if (name == "currentBuild") {
      return Value::of(std::static_pointer_cast<NativeObject>(std::make_shared<BuildObject>(ctx_)));
    }
    auto it = ctx_.env.find(std::string(name));
    if (it != ctx_.env.end()) return Value::string(it->second);
    auto p = ctx_.params.find(std::string(name));
    if (p != ctx_.params.end()) return from_subset(p->second);
    return std::nullopt;
  }

 private:
  const EvalContext& ctx_;
};

bool is_pipeline_or_library(const Node& s) {
  bool pipeline = s.kind == NodeKind::ExprStmt && s.lhs && s.lhs->kind == NodeKind::Call &&
                  !s.lhs->lhs && s.lhs->text == "pipeline";
  bool library = s.kind == NodeKind::Annotation && s.text == "Library";
  return pipeline || library;
}

}  // namespace

EvalResult evaluate_for_controller(const std::shared_ptr<const Node>& file, const Node& expr,
                                   const EvalContext& ctx, std::string_view script_state,
                                   const std::vector<ParsedLibraryFile>* libraries) {
  ControllerHost host(ctx);
  Limits limits;
  limits.max_operations = 2'000'000;  // the controller's loop waits on this: kept short
  Interpreter in(host, "WorkflowScript", limits);
  if (libraries != nullptr) {
    for (const auto& f : *libraries) {
      if (f.global.empty()) {
        in.load_classes(f.tree);
      } else {
        in.load_global(f.global, f.tree);
      }
    }
  }
  if (file) {
    in.load(file);
    for (const auto& stmt : file->items) {
      if (!stmt || is_pipeline_or_library(*stmt)) continue;
      if (!in.run_statement(*stmt)) in.clear_error();  // as on the agent: not fatal here
    }
  }
  std::vector<std::pair<std::string, Value>> vars;
  if (!script_state.empty() && decode_variables(script_state, vars)) {
    for (auto& [name, v] : vars) in.set_variable(name, std::move(v));
  }
  Value out;
  bool ok = in.evaluate(expr, out);
  if (ok && expr.kind == NodeKind::Closure) {  // `when { expression { ... } }`: its value
    Value closure = out;
    ok = in.call(closure, {}, out);
  }
  if (!ok) {
    const Value& e = in.error();
    Pos at = e.type() == Type::Exception && e.as_exception().pos.line != 0 ? e.as_exception().pos
                                                                           : expr.pos;
    return EvalError{at, to_string(e)};
  }
  return to_subset(out);
}

}  // namespace gantry::pipelines::groovy
