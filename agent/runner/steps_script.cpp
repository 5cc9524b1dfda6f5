// `script { }`: run by the job's Groovy interpreter (script_engine.hpp); and
// step_from_call(), a `script` call's step in the model's form.
#include "gantry/pipelines/diagnostics.hpp"
#include "script_engine.hpp"
#include "step_runner.hpp"

namespace gantry::agent {

using pipelines::Node;
using pipelines::NodeKind;
using pipelines::Result;
using pipelines::Step;

namespace {}  // namespace

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
  return engine().run_script(*step.script, scope);
}

// parallel(a: { ... }, b: { ... }, failFast: true) written straight in `steps { }`: Jenkins'
// parallel step; the model keeps the call as written (Step::script), and the Groovy engine runs
// its branches at once as it does in a script block.
StepStatus StepRunner::parallel_step(const Step& step, const StepScope& scope) {
  if (!step.script) return StepStatus::failure("parallel: no branches");
  return engine().run_script(*step.script, scope);
}

}  // namespace gantry::agent
