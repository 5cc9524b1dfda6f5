#pragma once
// The execution tree of one run: the pipeline's stages as nodes (sequences,
// parallel blocks, matrices and their cells, leaf stages with steps) with
// the plan's ids, each tied to the StageRecord that users see. RunState
// knows Jenkins' rules for walking that tree — which node starts next, when
// a stage is skipped, how results roll up, failFast — and reports what must
// happen (a leaf needs an agent; a leaf must be stopped) to the Scheduler,
// which owns agents and jobs. Pure and synchronous: no I/O, no clock of its
// own (times are passed in). Not thread-safe.

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gantry/pipelines/loader.hpp"
#include "gantry/pipelines/model.hpp"
#include "gantry/pipelines/results.hpp"
#include "model/records.hpp"

namespace gantry::controller {

enum class NodeKind { Sequence, Parallel, Stage, PipelinePost };
enum class NodeState { Pending, Active, Done };

struct ExecNode {
  NodeKind kind = NodeKind::Sequence;
  std::string id, name;
  int parent = -1;
  std::vector<int> children;
  const pipelines::Stage* stage = nullptr;  // the stage behind this node (null for cells/root)
  const pipelines::WhenBlock* when = nullptr;
  std::map<std::string, std::string> axes;
  std::vector<const std::vector<pipelines::EnvVar>*> environment;  // outermost first
  std::string label;            // effective agent label expression; "" = any agent
  bool uses_top_agent = false;  // inherits the pipeline's agent: prefer its agent and workspace
  bool fail_fast = false;
  NodeState state = NodeState::Pending;
  std::optional<pipelines::Result> result;  // nullopt = skipped
  int record = -1;                          // index into RunState::stages
  // A container stage with a post section: its children's combined result
  // while its post job runs.
  bool post_dispatched = false;
  std::optional<pipelines::Result> children_result;
};

// Something the scheduler has to act on after a RunState transition.
struct RunAction {
  enum Kind { Dispatch, Stop } kind = Dispatch;
  int node = -1;
  std::string reason;
};

class RunState {
 public:
  // A restart (run.restart_stage): why `node`, in a top-level stage before the one restarted
  // from, is skipped; "" when it runs.
  std::string restarted_past(int node) const;
  // Builds the tree. Returns nullptr and sets `error` when the pipeline does
  // not load. `stages` may hold records from before a restart. `parsed`: the
  // run's pipeline as the caller loaded it already (each run is parsed once).
  static std::unique_ptr<RunState> create(RunRecord run, const std::vector<StageRecord>& stages,
                                          std::string& error,
                                          std::optional<pipelines::Pipeline> parsed = {});

  RunRecord run;
  std::vector<StageRecord> stages;  // one per node except the root
  std::vector<ExecNode> nodes;      // nodes[0] is the root sequence
  pipelines::Pipeline pipeline;
  std::set<int> dirty_stages;  // records changed since the owner last persisted them
  bool dirty_run = false;
  std::string preferred_agent;  // the agent of the pipeline's top-level agent

  // The agent section a node's label comes from (its own stage's, a matrix's, an enclosing
  // stage's or the pipeline's); null when none names a label.
  const pipelines::Agent* label_agent(int node) const;
  std::map<int, std::string> resolved_labels;  // labels written as expressions, once evaluated

  // The Jenkinsfile's syntax tree, for Groovy the controller evaluates (`when`
  // expressions, labels); parsed on first use, null for a YAML pipeline.
  const std::shared_ptr<const pipelines::Node>& groovy_tree() const;
  // The run's shared libraries parsed (RunRecord.libraries); null when it has none.
  const std::shared_ptr<const std::vector<pipelines::ParsedLibraryFile>>& library_files() const;

  // Starts the run (or resumes it after a restart). Returns what to dispatch.
  std::vector<RunAction> start(int64_t now);
  // A leaf ended (result nullopt: skipped). Returns what to do next.
  std::vector<RunAction> leaf_done(int node, std::optional<pipelines::Result> result,
                                   const std::string& reason, int64_t now);
  // The scheduler decided a node's `when` (asked with a Dispatch action whose
  // reason is "when").
  void when_decided(int node, bool run_it, const std::string& reason, int64_t now,
                    std::vector<RunAction>& out);
  // A node cannot run (its `when` or environment failed to evaluate).
  void fail_node(int node, const std::string& reason, int64_t now, std::vector<RunAction>& out) {
    finish_node(node, pipelines::Result::Failure, reason, now, out);
  }
  // Cancel: pending nodes will be skipped; returns the active leaves to stop.
  std::vector<RunAction> cancel(const std::string& reason, int64_t now);

  bool finished() const { return nodes[0].state == NodeState::Done && post_done_; }
  pipelines::Result result() const;  // worst result so far
  StageRecord& record_of(int node) { return stages[static_cast<size_t>(nodes[node].record)]; }
  const StageRecord& record_of(int node) const {
    return stages[static_cast<size_t>(nodes[static_cast<size_t>(node)].record)];
  }
  void mark(int node, RunStatus status, int64_t now, const std::string& reason = {});

  // Options that matter to the scheduler.
  int retries_of(int node) const;         // total attempts allowed by options { retry(n) }
  int64_t timeout_ms_of(int node) const;  // options { timeout(...) }, 0 = none
  int64_t run_timeout_ms() const;
  bool disable_concurrent() const;
  bool skip_checkout() const;
  std::optional<pipelines::Result> previous_result;

 private:
  // A cache of the parse (groovy_tree()); not the run's state.
  mutable std::shared_ptr<const pipelines::Node> tree_;
  mutable bool tree_parsed_ = false;
  mutable std::shared_ptr<const std::vector<pipelines::ParsedLibraryFile>> libs_;
  mutable bool libs_parsed_ = false;

  void build();
  int add_node(ExecNode node);
  void add_sequence(const std::vector<pipelines::Stage>& stages, int parent,
                    const std::string& label, bool top_agent,
                    const std::map<std::string, std::string>& axes,
                    const std::vector<const std::vector<pipelines::EnvVar>*>& env);
  void add_stage(const pipelines::Stage& s, int parent, const std::string& label, bool top_agent,
                 const std::map<std::string, std::string>& axes,
                 std::vector<const std::vector<pipelines::EnvVar>*> env);
  void activate(int node, int64_t now, std::vector<RunAction>& out);
  void enter_container(int node, int64_t now, std::vector<RunAction>& out);
  void stop_subtree(int node, const std::string& reason, int64_t now, std::vector<RunAction>& out);
  void finish_run(int64_t now);
  void mark_fail_fast_victims(int node);
  void child_done(int parent, int child, int64_t now, std::vector<RunAction>& out);
  void finish_node(int node, std::optional<pipelines::Result> result, const std::string& reason,
                   int64_t now, std::vector<RunAction>& out);
  void skip_subtree(int node, const std::string& reason, int64_t now);
  void resume(int node, int64_t now, std::vector<RunAction>& out);
  bool should_skip_new_stages() const;
  bool has_option(const std::vector<pipelines::Step>& options, std::string_view name) const;
  // A rollback run: only its release's deploy stage runs (its rollback
  // steps); every other stage is skipped.
  bool narrow_to_rollback(std::string& error);

  std::set<int> fail_fast_victims_;  // aborted by a sibling's failure: not the run's result
  bool cancelled_ = false;
  bool post_done_ = false;
  int post_node_ = -1;
};

RunStatus status_of(std::optional<pipelines::Result> r);
// Succeeded -> "SUCCESS", ...; "" for statuses that are not results.
std::string result_name_for_status(RunStatus status);

// A run's pipeline, loaded in its stored format (jenkinsfile or yaml).
pipelines::LoadResult load_run_pipeline(const RunRecord& run);
// Why a load failed, for a run's reason: the first error as "L:C: message".
std::string first_load_error(const pipelines::LoadResult& loaded);

// The node of the stage with this id; -1 when the run has none.
int stage_node(const RunState& run, const std::string& stage_id);

}  // namespace gantry::controller
