#include "scheduler/run_state.hpp"

#include "gantry/pipelines/groovy_parser.hpp"

#include <algorithm>

#include "gantry/pipelines/loader.hpp"
#include "gantry/pipelines/stage_lookup.hpp"

namespace gantry::controller {

using pipelines::Result;

RunStatus status_of(std::optional<Result> r) {
  if (!r) return RunStatus::Skipped;
  switch (*r) {
    case Result::Success:
      return RunStatus::Succeeded;
    case Result::Unstable:
      return RunStatus::Unstable;
    case Result::Failure:
      return RunStatus::Failed;
    case Result::Aborted:
      return RunStatus::Aborted;
    case Result::NotBuilt:
      return RunStatus::Skipped;
  }
  return RunStatus::Failed;
}

std::optional<Result> result_of_status(RunStatus s) {
  switch (s) {
    case RunStatus::Succeeded:
      return Result::Success;
    case RunStatus::Unstable:
      return Result::Unstable;
    case RunStatus::Failed:
      return Result::Failure;
    case RunStatus::Aborted:
      return Result::Aborted;
    default:
      return std::nullopt;
  }
}

std::string result_name_for_status(RunStatus status) {
  std::optional<Result> r = result_of_status(status);
  return r ? std::string(pipelines::result_name(*r)) : "";
}

namespace {

constexpr const char* kPostId = "Declarative: Post Actions";

}  // namespace

pipelines::LoadResult load_run_pipeline(const RunRecord& run) {
  const auto format = run.pipeline_format == "yaml" ? pipelines::SourceFormat::Yaml
                                                    : pipelines::SourceFormat::Jenkinsfile;
  pipelines::LibraryBundle libs;
  std::string error;
  if (!run.libraries.empty() && pipelines::decode_libraries(run.libraries, libs, error))
    return pipelines::load_pipeline(run.pipeline_source, format, &libs);
  return pipelines::load_pipeline(run.pipeline_source, format);
}

std::string first_load_error(const pipelines::LoadResult& loaded) {
  for (const auto& d : loaded.diagnostics.all()) {
    if (d.severity == pipelines::Severity::Error)
      return std::to_string(d.pos.line) + ":" + std::to_string(d.pos.col) + ": " + d.message;
  }
  return "pipeline does not load";
}

const pipelines::Agent* RunState::label_agent(int node) const {
  for (int i = node; i > 0; i = nodes[static_cast<size_t>(i)].parent) {
    const ExecNode& n = nodes[static_cast<size_t>(i)];
    if (!n.stage) continue;
    if (n.stage->matrix && n.stage->matrix->agent.kind != pipelines::AgentKind::Inherit &&
        i != node)
      return &n.stage->matrix->agent;
    if (n.stage->agent.kind != pipelines::AgentKind::Inherit) return &n.stage->agent;
  }
  return &pipeline.agent;
}

const std::shared_ptr<const pipelines::Node>& RunState::groovy_tree() const {
  if (!tree_parsed_) {
    tree_parsed_ = true;
    if (run.pipeline_format != "yaml") {
      pipelines::Diagnostics diags;
      std::shared_ptr<const pipelines::Node> tree =
          pipelines::parse_groovy(run.pipeline_source, diags);
      if (!diags.has_errors()) tree_ = std::move(tree);
    }
  }
  return tree_;
}

const std::shared_ptr<const std::vector<pipelines::ParsedLibraryFile>>& RunState::library_files()
    const {
  if (!libs_parsed_) {
    libs_parsed_ = true;
    pipelines::LibraryBundle libs;
    std::string error;
    if (!run.libraries.empty() && pipelines::decode_libraries(run.libraries, libs, error)) {
      libs_ = std::make_shared<const std::vector<pipelines::ParsedLibraryFile>>(
          pipelines::parse_library_files(libs, error));
    }
  }
  return libs_;
}

std::unique_ptr<RunState> RunState::create(RunRecord run, const std::vector<StageRecord>& stages,
                                           std::string& error,
                                           std::optional<pipelines::Pipeline> parsed) {
  pipelines::LoadResult loaded;
  if (parsed) {
    loaded.pipeline = std::move(parsed);
  } else {
    loaded = load_run_pipeline(run);
  }
  if (!loaded.pipeline) {
    error = first_load_error(loaded);
    return nullptr;
  }
  auto state = std::unique_ptr<RunState>(new RunState());
  state->run = std::move(run);
  state->pipeline = std::move(*loaded.pipeline);
  state->build();
  // Adopt the records of a run that was already going before a restart.
  for (const StageRecord& old : stages) {
    for (StageRecord& rec : state->stages) {
      if (rec.stage_id == old.stage_id) rec = old;
    }
  }
  if (stages.empty()) {
    for (size_t i = 0; i < state->stages.size(); ++i)
      state->dirty_stages.insert(static_cast<int>(i));
  }
  if (state->run.rollback_of != 0 && !state->narrow_to_rollback(error)) return nullptr;
  return state;
}

bool RunState::narrow_to_rollback(std::string& error) {
  int target = -1;
  for (size_t i = 1; i < nodes.size(); ++i) {
    if (nodes[i].kind == NodeKind::Stage && nodes[i].id == run.rollback_stage && nodes[i].stage &&
        nodes[i].stage->deploy)
      target = static_cast<int>(i);
  }
  if (target < 0) {
    error = "stage '" + run.rollback_stage + "' of the release does not deploy";
    return false;
  }
  std::set<int> keep;
  for (int n = target; n >= 0; n = nodes[static_cast<size_t>(n)].parent) keep.insert(n);
  for (size_t i = 1; i < nodes.size(); ++i) {
    if (keep.count(static_cast<int>(i))) continue;
    StageRecord& rec = record_of(static_cast<int>(i));
    if (rec.status == RunStatus::Queued) {
      rec.status = RunStatus::Skipped;
      rec.reason = "not part of the rollback";
      dirty_stages.insert(nodes[i].record);
    }
  }
  // The deploy's gates and `when` were passed when it went out; its
  // rollback runs with the release's variables (in the run's params).
  ExecNode& n = nodes[static_cast<size_t>(target)];
  n.when = nullptr;
  record_of(target).gates = {GateKind::Gmud, GateKind::Input, GateKind::Release};
  return true;
}

int RunState::add_node(ExecNode node) {
  int index = static_cast<int>(nodes.size());
  if (node.parent >= 0) nodes[static_cast<size_t>(node.parent)].children.push_back(index);
  StageRecord rec;
  rec.run_id = run.id;
  rec.stage_id = node.id;
  rec.name = node.name;
  rec.order = static_cast<int>(stages.size());
  rec.job_id = std::to_string(run.id) + "." + std::to_string(index);
  node.record = static_cast<int>(stages.size());
  stages.push_back(std::move(rec));
  nodes.push_back(std::move(node));
  return index;
}

void RunState::build() {
  ExecNode root;
  root.kind = NodeKind::Sequence;
  nodes.push_back(root);
  bool top_agent = pipeline.agent.kind != pipelines::AgentKind::None &&
                   pipeline.agent.kind != pipelines::AgentKind::Inherit;
  std::string label = pipelines::top_agent_label(pipeline);
  add_sequence(pipeline.stages, 0, label, top_agent, {}, {&pipeline.environment});
  if (!pipeline.post.empty()) {
    ExecNode post;
    post.kind = NodeKind::PipelinePost;
    post.id = kPostId;
    post.name = kPostId;
    post.label = label;
    post.uses_top_agent = top_agent;
    post.environment = {&pipeline.environment};
    post_node_ = add_node(std::move(post));
  } else {
    post_done_ = true;
  }
}

void RunState::add_sequence(const std::vector<pipelines::Stage>& list, int parent,
                            const std::string& label, bool top_agent,
                            const std::map<std::string, std::string>& axes,
                            const std::vector<const std::vector<pipelines::EnvVar>*>& env) {
  for (const auto& s : list) add_stage(s, parent, label, top_agent, axes, env);
}

void RunState::add_stage(const pipelines::Stage& s, int parent, const std::string& inherited,
                         bool top_agent, const std::map<std::string, std::string>& axes,
                         std::vector<const std::vector<pipelines::EnvVar>*> env) {
  ExecNode node;
  const std::string& parent_id = nodes[static_cast<size_t>(parent)].id;
  node.name = s.name;
  node.id = parent_id.empty() ? s.name : parent_id + " / " + s.name;
  node.parent = parent;
  node.stage = &s;
  node.when = s.when ? &*s.when : nullptr;
  node.axes = axes;
  node.fail_fast = s.fail_fast || has_option(pipeline.options, "parallelsAlwaysFailFast");
  std::string label = inherited;
  if (s.agent.kind != pipelines::AgentKind::Inherit) {
    // `docker { reuseNode true }`: the container runs on the agent (and in the workspace) of
    // the enclosing stages, which must then have a container engine too.
    const bool reuse = s.agent.reuse_node && pipelines::runs_in_container(s.agent.kind);
    if (reuse) {
      label = pipelines::agent_label(s.agent.kind, s.agent.label.empty() ? label : s.agent.label);
    } else {
      label = pipelines::agent_label(s.agent);
      top_agent = false;
    }
  }
  node.label = label;
  node.uses_top_agent = top_agent;
  env.push_back(&s.environment);
  node.environment = env;
  if (!s.parallel.empty()) {
    node.kind = NodeKind::Parallel;
    int self = add_node(std::move(node));
    // Each branch is a sequence of one stage so that a branch with nested
    // stages walks them in order.
    for (const auto& branch : s.parallel) add_stage(branch, self, label, top_agent, axes, env);
    return;
  }
  if (s.matrix) {
    const pipelines::Matrix& m = *s.matrix;
    node.kind = NodeKind::Parallel;
    if (m.when) node.when = &*m.when;
    if (m.agent.kind != pipelines::AgentKind::Inherit) {
      label = pipelines::agent_label(m.agent);
      top_agent = false;
    }
    int self = add_node(std::move(node));
    env.push_back(&m.environment);
    for (const auto& cell : pipelines::matrix_cells(m)) {
      ExecNode c;
      c.kind = NodeKind::Sequence;
      c.name = pipelines::cell_label(cell);
      c.id = nodes[static_cast<size_t>(self)].id + " / " + c.name;
      c.parent = self;
      c.axes = std::map<std::string, std::string>(cell.begin(), cell.end());
      c.label = label;
      c.uses_top_agent = top_agent;
      c.environment = env;
      int cell_index = add_node(std::move(c));
      auto cell_axes = nodes[static_cast<size_t>(cell_index)].axes;
      add_sequence(m.stages, cell_index, label, top_agent, cell_axes, env);
    }
    return;
  }
  node.kind = s.stages.empty() ? NodeKind::Stage : NodeKind::Sequence;
  int self = add_node(std::move(node));
  if (!s.stages.empty()) add_sequence(s.stages, self, label, top_agent, axes, env);
}

bool RunState::has_option(const std::vector<pipelines::Step>& options,
                          std::string_view name) const {
  for (const auto& o : options) {
    if (o.name == name) return true;
  }
  return false;
}

bool RunState::should_skip_new_stages() const {
  if (cancelled_) return true;
  Result r = result();
  if (r == Result::Failure || r == Result::Aborted) return true;
  return r == Result::Unstable && has_option(pipeline.options, "skipStagesAfterUnstable");
}

Result RunState::result() const {
  Result r = Result::Success;
  for (const ExecNode& n : nodes) {
    if (n.kind == NodeKind::Stage || n.kind == NodeKind::PipelinePost) {
      if (fail_fast_victims_.count(static_cast<int>(&n - nodes.data()))) continue;
      if (n.result && *n.result != Result::NotBuilt) r = pipelines::worse(r, *n.result);
    }
  }
  if (cancelled_) r = pipelines::worse(r, Result::Aborted);
  return r;
}

std::string RunState::restarted_past(int node) const {
  if (run.restart_stage.empty() || node <= 0) return {};
  int top = node;
  while (top > 0 && nodes[static_cast<size_t>(top)].parent > 0)
    top = nodes[static_cast<size_t>(top)].parent;
  const std::vector<int>& order = nodes[0].children;
  auto at = [&](auto pred) { return std::find_if(order.begin(), order.end(), pred); };
  auto restart = at([&](int c) { return nodes[static_cast<size_t>(c)].name == run.restart_stage; });
  auto mine = at([&](int c) { return c == top; });
  if (restart == order.end() || mine == order.end() || mine >= restart) return {};
  return "skipped: restarted from stage '" + run.restart_stage + "' (run " +
         std::to_string(run.retry_of) + " ran it)";
}

void RunState::mark(int node, RunStatus status, int64_t now, const std::string& reason) {
  if (node <= 0) return;
  StageRecord& rec = record_of(node);
  rec.status = status;
  if (!reason.empty()) rec.reason = reason;
  if (status == RunStatus::Running && rec.started_at == 0) rec.started_at = now;
  if (is_finished(status)) rec.finished_at = now;
  dirty_stages.insert(nodes[static_cast<size_t>(node)].record);
}

std::vector<RunAction> RunState::start(int64_t now) {
  std::vector<RunAction> out;
  if (run.started_at == 0) run.started_at = now;
  if (run.status == RunStatus::Queued) {
    run.status = RunStatus::Running;
    dirty_run = true;
  }
  cancelled_ = run.cancel_requested;
  // Recover node states from the records (after a restart; new runs have
  // every record queued).
  bool any_started = false;
  for (size_t i = 1; i < nodes.size(); ++i) {
    const StageRecord& rec = record_of(static_cast<int>(i));
    if (is_finished(rec.status)) {
      nodes[i].state = NodeState::Done;
      nodes[i].result = result_of_status(rec.status);
      any_started = true;
    } else if (rec.status == RunStatus::Running || rec.status == RunStatus::Waiting ||
               (rec.status == RunStatus::Queued &&
                (rec.epoch > 0 || rec.rollout.phase != CanaryPhase::None))) {
      // Queued after a first attempt (a retry, a canary's next phase): it
      // goes on from there, not from its `when`.
      nodes[i].state = NodeState::Active;
      any_started = true;
    }
  }
  if (post_node_ >= 0 && nodes[static_cast<size_t>(post_node_)].state == NodeState::Done)
    post_done_ = true;
  if (!any_started) {
    activate(0, now, out);
  } else {
    nodes[0].state = NodeState::Active;
    resume(0, now, out);
  }
  return out;
}

void RunState::resume(int node, int64_t now, std::vector<RunAction>& out) {
  ExecNode& n = nodes[static_cast<size_t>(node)];
  if (n.kind == NodeKind::PipelinePost) {
    if (n.state == NodeState::Active) out.push_back({RunAction::Dispatch, node, {}});
    return;
  }
  if (n.state == NodeState::Done) {
    if (node == 0 && !post_done_) child_done(-1, 0, now, out);
    return;
  }
  if (n.state == NodeState::Pending) {
    activate(node, now, out);
    return;
  }
  if (n.kind == NodeKind::Stage) {
    out.push_back({RunAction::Dispatch, node, {}});
    return;
  }
  std::vector<int> children = n.children;
  bool all_done = true;
  for (int c : children) {
    ExecNode& child = nodes[static_cast<size_t>(c)];
    if (child.state == NodeState::Done) continue;
    all_done = false;
    if (n.kind == NodeKind::Sequence) {
      resume(c, now, out);
      return;
    }
    resume(c, now, out);
  }
  if (all_done) {
    int last = children.empty() ? -1 : children.back();
    if (last >= 0) {
      child_done(node, last, now, out);
    } else {
      finish_node(node, Result::Success, {}, now, out);
    }
  }
}

void RunState::activate(int node, int64_t now, std::vector<RunAction>& out) {
  ExecNode& n = nodes[static_cast<size_t>(node)];
  if (node != 0 && should_skip_new_stages()) {
    std::string why = cancelled_ ? "run aborted" : "skipped due to earlier failure(s)";
    skip_subtree(node, why, now);
    child_done(n.parent, node, now, out);
    return;
  }
  n.state = NodeState::Active;
  if (n.when) {
    // Decided by the scheduler, which can compute the environment; a leaf
    // is dispatched (or skipped) from there. Containers ask too.
    out.push_back({RunAction::Dispatch, node, "when"});
    return;
  }
  if (node != 0)
    mark(node, n.kind == NodeKind::Stage ? RunStatus::Queued : RunStatus::Running, now);
  if (n.kind == NodeKind::Stage) {
    out.push_back({RunAction::Dispatch, node, {}});
    return;
  }
  enter_container(node, now, out);
}

void RunState::enter_container(int node, int64_t now, std::vector<RunAction>& out) {
  ExecNode& n = nodes[static_cast<size_t>(node)];
  n.state = NodeState::Active;
  if (node != 0) mark(node, RunStatus::Running, now);
  if (n.children.empty()) {
    finish_node(node, Result::Success, {}, now, out);
    return;
  }
  std::vector<int> children = n.children;
  if (n.kind == NodeKind::Sequence) {
    activate(children.front(), now, out);
    return;
  }
  for (int c : children) {
    if (nodes[static_cast<size_t>(c)].state == NodeState::Pending) activate(c, now, out);
  }
}

void RunState::when_decided(int node, bool run_it, const std::string& reason, int64_t now,
                            std::vector<RunAction>& out) {
  ExecNode& n = nodes[static_cast<size_t>(node)];
  if (!run_it) {
    skip_subtree(node, reason, now);
    child_done(n.parent, node, now, out);
    return;
  }
  if (n.kind == NodeKind::Stage) {
    mark(node, RunStatus::Queued, now);
    out.push_back({RunAction::Dispatch, node, {}});
    return;
  }
  enter_container(node, now, out);
}

void RunState::skip_subtree(int node, const std::string& reason, int64_t now) {
  ExecNode& n = nodes[static_cast<size_t>(node)];
  if (n.state == NodeState::Done) return;
  n.state = NodeState::Done;
  n.result = std::nullopt;
  mark(node, RunStatus::Skipped, now, reason);
  for (int c : std::vector<int>(n.children)) skip_subtree(c, reason, now);
}

std::vector<RunAction> RunState::leaf_done(int node, std::optional<Result> result,
                                           const std::string& reason, int64_t now) {
  std::vector<RunAction> out;
  ExecNode& n = nodes[static_cast<size_t>(node)];
  if (n.state == NodeState::Done) return out;
  if (n.kind == NodeKind::PipelinePost) {
    n.state = NodeState::Done;
    n.result = result;
    mark(node, status_of(result), now, reason);
    post_done_ = true;
    finish_run(now);
    return out;
  }
  if (n.post_dispatched && n.children_result && result) {
    result = pipelines::worse(*n.children_result, *result);
  }
  finish_node(node, result, reason, now, out);
  return out;
}

void RunState::finish_node(int node, std::optional<Result> result, const std::string& reason,
                           int64_t now, std::vector<RunAction>& out) {
  ExecNode& n = nodes[static_cast<size_t>(node)];
  n.state = NodeState::Done;
  n.result = result;
  if (node != 0) mark(node, status_of(result), now, reason);
  child_done(n.parent, node, now, out);
}

void RunState::child_done(int parent, int child, int64_t now, std::vector<RunAction>& out) {
  if (parent < 0) {
    // The root ended: the pipeline's post section, then the run's end.
    if (post_node_ >= 0 && !post_done_) {
      ExecNode& post = nodes[static_cast<size_t>(post_node_)];
      if (post.state == NodeState::Pending) {
        post.state = NodeState::Active;
        mark(post_node_, RunStatus::Queued, now);
        out.push_back({RunAction::Dispatch, post_node_, "post"});
      }
      return;
    }
    finish_run(now);
    return;
  }
  ExecNode& p = nodes[static_cast<size_t>(parent)];
  if (p.state == NodeState::Done) return;
  const ExecNode& c = nodes[static_cast<size_t>(child)];
  if (p.kind == NodeKind::Parallel && p.fail_fast && c.result &&
      (*c.result == Result::Failure || *c.result == Result::Aborted)) {
    for (int sibling : p.children) {
      if (nodes[static_cast<size_t>(sibling)].state != NodeState::Done) {
        mark_fail_fast_victims(sibling);
        stop_subtree(sibling, "aborted by failFast", now, out);
      }
    }
  }
  std::optional<Result> combined;
  bool all_done = true;
  int next = -1;
  for (int s : p.children) {
    const ExecNode& sn = nodes[static_cast<size_t>(s)];
    if (sn.state != NodeState::Done) {
      all_done = false;
      if (next < 0 && sn.state == NodeState::Pending) next = s;
      continue;
    }
    if (sn.result) combined = combined ? pipelines::worse(*combined, *sn.result) : *sn.result;
  }
  if (p.kind == NodeKind::Sequence && next >= 0) {
    activate(next, now, out);
    return;
  }
  if (!all_done) return;
  if (!combined) combined = Result::Success;
  if (p.stage && !p.stage->post.empty() && !p.post_dispatched) {
    // The container's own post section runs as a job once its children end.
    p.post_dispatched = true;
    p.children_result = combined;
    out.push_back({RunAction::Dispatch, parent, "post"});
    return;
  }
  finish_node(parent, combined, {}, now, out);
}

void RunState::stop_subtree(int node, const std::string& reason, int64_t now,
                            std::vector<RunAction>& out) {
  ExecNode& n = nodes[static_cast<size_t>(node)];
  if (n.state == NodeState::Done) return;
  if (n.state == NodeState::Pending) {
    n.state = NodeState::Done;
    n.result = Result::Aborted;
    mark(node, RunStatus::Aborted, now, reason);
    for (int c : std::vector<int>(n.children)) stop_subtree(c, reason, now, out);
    return;
  }
  if (n.kind == NodeKind::Stage) {
    out.push_back({RunAction::Stop, node, reason});
    return;
  }
  for (int c : std::vector<int>(n.children)) stop_subtree(c, reason, now, out);
}

void RunState::mark_fail_fast_victims(int node) {
  fail_fast_victims_.insert(node);
  for (int c : nodes[static_cast<size_t>(node)].children) mark_fail_fast_victims(c);
}

std::vector<RunAction> RunState::cancel(const std::string& reason, int64_t /*now*/) {
  std::vector<RunAction> out;
  if (finished()) return out;
  cancelled_ = true;
  if (!run.cancel_requested) {
    run.cancel_requested = true;
    run.reason = reason;
    dirty_run = true;
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    const ExecNode& n = nodes[i];
    if ((n.kind == NodeKind::Stage || n.kind == NodeKind::PipelinePost) &&
        n.state == NodeState::Active)
      out.push_back({RunAction::Stop, static_cast<int>(i), reason});
  }
  return out;
}

void RunState::finish_run(int64_t now) {
  Result r = result();
  run.status = status_of(r);
  run.finished_at = now;
  dirty_run = true;
}

int RunState::retries_of(int node) const {
  const ExecNode& n = nodes[static_cast<size_t>(node)];
  for (const auto* options : {n.stage ? &n.stage->options : nullptr, &pipeline.options}) {
    if (!options) continue;
    for (const auto& o : *options) {
      if (o.name != "retry") continue;
      const pipelines::Node* v = o.arg("count");
      if (v && v->kind == pipelines::NodeKind::Int) return std::max(1, std::atoi(v->text.c_str()));
    }
    if (n.kind != NodeKind::Stage) break;
    break;  // a pipeline-level retry retries the whole run in Jenkins; not per stage
  }
  return 1;
}

namespace {

int64_t timeout_option_ms(const std::vector<pipelines::Step>& options) {
  for (const auto& o : options) {
    if (o.name != "timeout") continue;
    const pipelines::Node* t = o.arg("time");
    if (!t || t->kind != pipelines::NodeKind::Int) continue;
    int64_t value = std::atoll(t->text.c_str());
    std::string unit = "MINUTES";
    if (const pipelines::Node* u = o.arg("unit", 1); u && u->kind == pipelines::NodeKind::String)
      unit = u->text;
    int64_t ms = value * 60000;
    if (unit == "SECONDS") ms = value * 1000;
    if (unit == "MILLISECONDS") ms = value;
    if (unit == "HOURS") ms = value * 3600000;
    if (unit == "DAYS") ms = value * 86400000;
    return ms;
  }
  return 0;
}

}  // namespace

int64_t RunState::timeout_ms_of(int node) const {
  const ExecNode& n = nodes[static_cast<size_t>(node)];
  return n.stage ? timeout_option_ms(n.stage->options) : 0;
}

int64_t RunState::run_timeout_ms() const {
  return timeout_option_ms(pipeline.options);
}

bool RunState::disable_concurrent() const {
  return has_option(pipeline.options, "disableConcurrentBuilds");
}

bool RunState::skip_checkout() const {
  return has_option(pipeline.options, "skipDefaultCheckout");
}

int stage_node(const RunState& run, const std::string& stage_id) {
  for (size_t i = 1; i < run.nodes.size(); ++i) {
    if (run.nodes[i].kind == NodeKind::Stage &&
        run.record_of(static_cast<int>(i)).stage_id == stage_id)
      return static_cast<int>(i);
  }
  return -1;
}

}  // namespace gantry::controller
