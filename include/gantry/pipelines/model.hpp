#pragma once
// The pipeline model: what a Jenkinsfile or .gantry.yml means, independent of
// how it was written. The model builder fills it from the syntax tree; the
// planner expands it into a stage graph; the scheduler (later) runs it.
//
// Steps keep their arguments as expression nodes (ast.hpp) because values
// may interpolate (`"v${env.BUILD_NUMBER}"`) and are only evaluated at run
// time. Every element keeps its source position for messages.
// Plain values; a Pipeline owns everything it points to. Not thread-safe.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gantry/pipelines/ast.hpp"

namespace gantry::pipelines {

// A call-like element: a step (`sh 'make'`), an option (`timeout(time: 5)`),
// a trigger, a parameter, a tool. Positional and named arguments as written.
struct Step {
  std::string name;
  Pos pos;
  std::vector<NodePtr> args;
  std::vector<NamedArg> named;
  std::vector<Step> body;  // block steps: dir, retry, timeout, withEnv, ...
  NodePtr script;          // `script { }`: the closure, statements kept as parsed
  bool has_body = false;
  int closure = -1;  // a step called from Groovy: its body is this closure of the job's interpreter

  const Node* arg(std::string_view key, size_t position = 0) const;
};

enum class AgentKind { Inherit, None, Any, Label, Node, Docker, Dockerfile, Kubernetes, Other };

struct Agent {
  AgentKind kind = AgentKind::Inherit;  // Inherit: no agent section here
  Pos pos;
  std::string type;                           // as written: "label", "docker", "ecs", ...
  std::string label;                          // label expression (Label, Node, and docker's label)
  std::map<std::string, std::string> fields;  // image, args, customWorkspace, filename, ...
  bool reuse_node = false;
  // A label written as an expression (`label params.NODE`, "${PLATFORM}"): evaluated when the
  // stage is dispatched, with the stage's environment; `label` holds its source then.
  std::shared_ptr<const Node> label_expr;
  // Fields written as expressions (`image "node:${NODE_VERSION}"`, `yaml libraryResource('x')`):
  // the agent evaluates them with the stage's environment; `fields` holds their source.
  std::map<std::string, std::shared_ptr<const Node>> field_exprs;
};

struct EnvVar {
  std::string name;
  Pos pos;
  NodePtr value;               // String, GString, `+` concatenation, or a call
  std::string credentials_id;  // set for credentials('id')
};

enum class Comparator { Default, Equals, Glob, Regexp };

enum class WhenKind {
  Branch,
  Tag,
  BuildingTag,
  ChangeRequest,
  Changeset,
  Changelog,
  Environment,
  Equals,
  Expression,
  TriggeredBy,
  IsRestartedRun,
  AllOf,
  AnyOf,
  Not,
};

struct When {
  WhenKind kind = WhenKind::Branch;
  Pos pos;
  std::map<std::string, NodePtr> args;  // pattern, comparator, name, value, expected, ...
  NodePtr expression;                   // Expression: the closure
  std::vector<When> children;           // AllOf, AnyOf, Not
};

struct WhenBlock {
  Pos pos;
  std::vector<When> conditions;  // implicitly ANDed
  bool before_agent = false;
  bool before_input = false;
  bool before_options = false;
};

struct Parameter {
  std::string type;  // string, text, booleanParam, choice, password, ...
  std::string name;
  Pos pos;
  NodePtr default_value;
  std::string description;
  std::vector<std::string> choices;
  Step raw;  // the declaration as written, for types Gantry does not model
};

struct Input {
  Pos pos;
  NodePtr message;
  std::string id;
  std::string ok;
  std::string submitter;  // comma-separated users or groups
  std::string submitter_parameter;
  std::vector<Parameter> parameters;
};

// Post conditions in Jenkins' evaluation order.
enum class PostCondition {
  Always,
  Changed,
  Fixed,
  Regression,
  Aborted,
  Success,
  Unsuccessful,
  Unstable,
  Failure,
  NotBuilt,
  Cleanup,
};

struct PostBlock {
  PostCondition condition = PostCondition::Always;
  Pos pos;
  std::vector<Step> steps;
};

struct Trigger {
  std::string type;  // cron, pollSCM, upstream, ...
  Pos pos;
  std::string spec;  // cron / pollSCM spec
  Step raw;
};

struct Tool {
  std::string type;  // maven, jdk, ...
  Pos pos;
  NodePtr version;
};

struct Axis {
  std::string name;
  Pos pos;
  std::vector<std::string> values;
  bool not_values = false;  // in an exclude: `notValues`
};

struct Canary {
  Pos pos;
  std::vector<int> weights;
  std::optional<int64_t> pause_seconds;  // nullopt with `manual_pause`: wait for promote
  bool manual_pause = false;
  std::vector<Step> analysis;
  int failure_limit = 0;
  // `inconclusive 'pause'`: an analysis that had too few samples waits for
  // `gantry promote` instead of counting as a failure ('fail', the default).
  bool inconclusive_pause = false;
};

struct Deploy {
  std::string environment;
  Pos pos;
  std::optional<Canary> canary;
  std::vector<Step> rollback;
};

struct Gmud {
  Pos pos;
  NodePtr title;
  std::string impact;
  NodePtr rollback_plan;
};

struct Matrix;

struct Stage {
  std::string name;
  Pos pos;
  Agent agent;
  std::vector<EnvVar> environment;
  std::vector<Step> options;
  std::optional<WhenBlock> when;
  std::optional<Input> input;
  std::vector<Tool> tools;
  std::vector<Step> steps;
  std::vector<Stage> stages;    // sequential nested stages
  std::vector<Stage> parallel;  // parallel branches
  std::shared_ptr<Matrix> matrix;
  std::vector<PostBlock> post;
  bool fail_fast = false;
  std::optional<Deploy> deploy;
  std::optional<Gmud> gmud;
};

struct Matrix {
  Pos pos;
  std::vector<Axis> axes;
  std::vector<std::vector<Axis>> excludes;
  Agent agent;
  std::vector<EnvVar> environment;
  std::vector<Step> options;
  std::optional<WhenBlock> when;
  std::optional<Input> input;
  std::vector<Tool> tools;
  std::vector<Stage> stages;
  std::vector<PostBlock> post;
};

struct Library {
  std::string name;  // "name@version"
  Pos pos;
};

struct Pipeline {
  Pos pos;
  Agent agent;
  std::vector<EnvVar> environment;
  std::vector<Step> options;
  std::vector<Parameter> parameters;
  std::vector<Trigger> triggers;
  std::vector<Tool> tools;
  std::vector<Library> libraries;
  std::vector<Stage> stages;
  std::vector<PostBlock> post;
};

const char* post_condition_name(PostCondition c);
const char* when_kind_name(WhenKind k);
const char* agent_kind_name(AgentKind k);

// The capability label an agent with a container engine advertises (SPEC §5).
inline constexpr const char* kContainerCapability = "docker";
// Whether steps under this agent run in a container (docker, dockerfile, kubernetes).
bool runs_in_container(AgentKind k);
// The label expression an agent of kind `k` with label `label` must match: the label for
// label/node agents; for container agents, the label (if any) and the docker capability.
std::string agent_label(AgentKind k, const std::string& label);
inline std::string agent_label(const Agent& a) {
  return agent_label(a.kind, a.label);
}
// The label of the pipeline's own agent, as every stage that uses it needs it: with the
// docker capability added when a stage under it runs a container with `reuseNode true`
// (that stage runs on the same agent, so the whole pipeline's agent needs an engine).
std::string top_agent_label(const Pipeline& pipeline);

}  // namespace gantry::pipelines
