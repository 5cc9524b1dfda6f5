// `script { }`: checked against the expression subset first (CheckMode::Run),
// then run statement by statement: step calls, if/else, return, and
// `currentBuild.result = '...'`; other expressions are evaluated for their
// errors and their values dropped.
#include "gantry/pipelines/diagnostics.hpp"
#include "step_runner.hpp"

namespace gantry::agent {

using pipelines::Node;
using pipelines::NodeKind;
using pipelines::Result;
using pipelines::Step;

namespace {

std::string at(pipelines::Pos pos) {
  return std::to_string(pos.line) + ":" + std::to_string(pos.col);
}

bool is_build_result(const Node& target) {
  return target.kind == NodeKind::Property && target.text == "result" && target.lhs &&
         target.lhs->kind == NodeKind::Ident && target.lhs->text == "currentBuild";
}

}  // namespace

Step step_from_call(const Node& call) {
  Step s;
  s.name = call.text;
  s.pos = call.pos;
  for (const auto& item : call.items) {
    if (item) s.args.push_back(pipelines::clone(*item));
  }
  for (const auto& arg : call.named) {
    if (arg.value) s.named.push_back({arg.name, arg.pos, pipelines::clone(*arg.value)});
  }
  if (call.block) {
    s.has_body = true;
    if (s.name == "script") {
      s.script = pipelines::clone(*call.block);
    } else {
      Step inner;
      inner.name = "script";
      inner.pos = call.block->pos;
      inner.has_body = true;
      inner.script = pipelines::clone(*call.block);
      s.body.push_back(std::move(inner));
    }
  }
  return s;
}

StepStatus StepRunner::script(const Step& step, const StepScope& scope) {
  if (!step.script) return StepStatus{};
  pipelines::Diagnostics diags;
  pipelines::check_subset(*step.script, diags, pipelines::CheckMode::Run,
                          pipelines::CodeKind::Script);
  if (diags.has_errors()) {
    std::string first;
    for (const auto& d : diags.all()) {
      if (d.severity != pipelines::Severity::Error) continue;
      std::string line = "script: " + at(d.pos) + ": " + d.message;
      log("ERROR: " + line);
      if (first.empty()) first = line;
    }
    StepStatus st = StepStatus::failure(first);
    st.logged = true;
    return st;
  }
  bool returned = false;
  const Node& code = *step.script;
  if (code.kind == NodeKind::Closure || code.kind == NodeKind::Block) {
    return statements(code.items, scope, returned);
  }
  return statement(code, scope, returned);
}

StepStatus StepRunner::statements(const std::vector<pipelines::NodePtr>& items,
                                  const StepScope& scope, bool& returned) {
  for (const auto& s : items) {
    if (!s) continue;
    if (job_.control.interrupted()) return interruption();
    StepStatus st = statement(*s, scope, returned);
    if (!st.ok || returned) return st;
  }
  return StepStatus{};
}

StepStatus StepRunner::statement(const Node& s, const StepScope& scope, bool& returned) {
  auto evaluate = [&](const Node& e, pipelines::Value& out) -> std::optional<StepStatus> {
    pipelines::EvalResult r = pipelines::evaluate(e, context(scope));
    if (auto* err = std::get_if<pipelines::EvalError>(&r)) {
      return StepStatus::failure("script: " + at(err->pos) + ": " + err->message);
    }
    out = std::get<pipelines::Value>(std::move(r));
    return std::nullopt;
  };
  pipelines::Value value;
  switch (s.kind) {
    case NodeKind::ExprStmt: {
      if (!s.lhs) return StepStatus{};
      const Node& e = *s.lhs;
      if (e.kind == NodeKind::Call && !e.lhs) return run_step(step_from_call(e), scope);
      if (e.kind == NodeKind::Assign && e.text == "=" && e.lhs && e.rhs &&
          is_build_result(*e.lhs)) {
        if (auto failed = evaluate(*e.rhs, value)) return *failed;
        auto result = pipelines::parse_result(value.to_string());
        if (!result) {
          return StepStatus::failure("script: " + at(e.rhs->pos) + ": '" + value.to_string() +
                                     "' is not a build result");
        }
        // As in Jenkins, a result can only get worse.
        job_.build_result = pipelines::worse(job_.build_result, *result);
        if (job_.reason.empty() && *result != Result::Success) {
          job_.reason =
              std::string("currentBuild.result set to ") + pipelines::result_name(*result);
        }
        return StepStatus{};
      }
      if (auto failed = evaluate(e, value)) return *failed;
      return StepStatus{};
    }
    case NodeKind::If: {
      if (!s.lhs) return StepStatus{};
      if (auto failed = evaluate(*s.lhs, value)) return *failed;
      const Node* branch = value.truthy() ? s.rhs.get() : s.third.get();
      if (branch == nullptr) return StepStatus{};
      if (branch->kind == NodeKind::Block) return statements(branch->items, scope, returned);
      return statement(*branch, scope, returned);
    }
    case NodeKind::Return:
      returned = true;
      return StepStatus{};
    default:
      return StepStatus::failure("script: " + at(pipelines::construct_pos(s)) + ": cannot run " +
                                 pipelines::describe_construct(s));
  }
}

}  // namespace gantry::agent
