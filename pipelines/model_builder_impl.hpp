#pragma once
// Private: the model builder's state and helpers, shared by
//   model_builder.cpp   pipeline sections: agent, environment, options, ...
//   model_stages.cpp    stages, parallel, matrix, when, input, post
//   model_steps.cpp     steps and call signatures
//   model_deploy.cpp    Gantry's deploy / canary / gmud directives
// Every check reports and carries on, so one pass finds every problem.

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "gantry/pipelines/diagnostics.hpp"
#include "gantry/pipelines/groovy_check.hpp"
#include "gantry/pipelines/model.hpp"
#include "gantry/pipelines/model_builder.hpp"

namespace gantry::pipelines {

// Argument types a signature can require of a literal.
enum class ArgType { Any, String, Int, Bool, List };

struct ParamSpec {
  std::string_view name;
  ArgType type = ArgType::Any;
  bool required = false;
};

// A describable's or step's signature: its named parameters, and how many may
// be given positionally (in declaration order).
struct Signature {
  std::string_view name;
  std::vector<ParamSpec> params;
  size_t max_positional = 1;
  bool open = false;  // accepts parameters not listed (plugin steps with many options)
};

const Signature* find_step_signature(std::string_view name);
const Signature* find_parameter_signature(std::string_view name);
const Signature* find_trigger_signature(std::string_view name);
const Signature* find_when_signature(std::string_view name);

class ModelBuilder {
 public:
  ModelBuilder(Diagnostics& diags, const ModelOptions& options)
      : diags_(diags), options_(options) {}
  std::optional<Pipeline> build(Node& root);

  // ---- shared helpers
  void error(Pos pos, std::string message) { diags_.error(pos, std::move(message)); }
  void warning(Pos pos, std::string message) { diags_.warning(pos, std::move(message)); }
  static Node* as_call(Node& stmt);  // a statement that is a plain call, else null
  static std::optional<std::string> literal_string(const Node* n);
  static std::optional<bool> literal_bool(const Node* n);
  static std::optional<int64_t> literal_int(const Node* n);

  // Checks a call against a signature: named-parameter names, types, required
  // ones, positional count; and duplicate named parameters for every call.
  void check_signature(const Node& call, const Signature& sig, std::string_view what);
  void check_duplicate_named(const Node& call);
  // `node`, `stage`, `properties`, `parallel` may not appear as arguments.
  void reject_blocked_in_args(const Node& call);

  // ---- pipeline sections (model_builder.cpp)
  void section_agent(Node& call, Agent& out, bool stage_level);
  void section_environment(Node& call, std::vector<EnvVar>& out);
  void section_options(Node& call, std::vector<Step>& out, bool stage_level);
  void section_parameters(Node& call, std::vector<Parameter>& out);
  void section_triggers(Node& call, std::vector<Trigger>& out);
  void section_tools(Node& call, std::vector<Tool>& out);
  void section_libraries(Node& call, std::vector<Library>& out);
  bool require_block(Node& call, std::string_view what);
  Node* describable(Node& stmt, std::string_view what, std::string_view example);
  bool empty_section(Node& call, std::string_view what);

  // ---- stages (model_stages.cpp)
  void section_stages(Node& call, std::vector<Stage>& out, int nesting, bool in_parallel);
  void parse_stage(Node& call, Stage& stage, int nesting, bool in_parallel);
  void section_parallel(Node& call, Stage& stage, int nesting);
  void section_matrix(Node& call, Stage& stage, int nesting);
  void section_when(Node& call, std::optional<WhenBlock>& out);
  bool parse_condition(Node& call, When& out);
  void section_input(Node& call, std::optional<Input>& out);
  void section_post(Node& call, std::vector<PostBlock>& out);

  // ---- steps (model_steps.cpp)
  void section_steps(Node& call, std::vector<Step>& out);
  void parse_steps_body(Node& closure, std::vector<Step>& out, int depth);
  bool parse_step(Node& stmt, Step& out, int depth);
  Step call_to_step(Node& call);

  // ---- Gantry directives (model_deploy.cpp)
  void section_deploy(Node& call, std::optional<Deploy>& out);
  void section_gmud(Node& call, std::optional<Gmud>& out);

 private:
  Diagnostics& diags_;
  const ModelOptions& options_;
  GroovyNames names_;  // the file's methods, variables and classes (groovy_check.hpp)
};

inline bool contains(const std::vector<std::string_view>& list, std::string_view word) {
  for (auto item : list) {
    if (item == word) return true;
  }
  return false;
}

// Edit distance (with transpositions), for "did you mean" suggestions.
std::string closest(std::string_view word, const std::vector<std::string_view>& candidates);
std::string join(const std::vector<std::string_view>& items, std::string_view sep = ", ");
// " (did you mean \"steps\"?)" when a candidate is a likely typo of `word`, else "".
std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace gantry::pipelines
