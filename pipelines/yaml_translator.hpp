#pragma once
// Private: the translator behind yaml_frontend.hpp. It walks a loaded yaml-cpp
// document and synthesises the nodes parse_groovy() builds for the equivalent
// Jenkinsfile, each at the line and column of the YAML key or value it came
// from. The schema is in docs/yaml-form.md.
//
//   yaml_frontend.cpp  loading, positions, scalars, maps
//   yaml_sections.cpp  the pipeline, directives, agent, environment, stages, matrix
//   yaml_steps.cpp     steps, call arguments, `when`, `post`, `deploy`
//
// Only YAML-structural problems are reported here (a stage that is not a map,
// `stages` that is not a list...); whether a section or step exists is the
// model builder's call, so unknown keys are translated, not rejected.
// One translator per document; not thread-safe. Nothing here throws on input:
// yaml-cpp throws only while loading, which parse_yaml_pipeline() catches.

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "gantry/pipelines/ast.hpp"
#include "gantry/pipelines/diagnostics.hpp"

namespace gantry::pipelines {

// One entry of a YAML map, `<<` merge keys already expanded.
struct YamlEntry {
  std::string key;
  Pos key_pos;
  YAML::Node value;
};

class YamlTranslator {
 public:
  YamlTranslator(std::string_view source, Diagnostics& diags);

  // The `pipeline { ... }` statement for a document's root map, or null after
  // an error (the root is not a map).
  NodePtr pipeline(const YAML::Node& root);

  // ---- positions, scalars, maps (yaml_frontend.cpp)
  Pos pos_of(const YAML::Node& node, Pos fallback) const;
  // Entries of a map in document order; reports non-scalar keys.
  std::vector<YamlEntry> entries(const YAML::Node& map);
  // A scalar (or null) as a literal: Int, Bool, Null, Float, String, or a
  // GString when it interpolates; `!groovy` values are parsed as expressions.
  NodePtr scalar(const YAML::Node& node, Pos fallback);
  // Scalar text as Groovy statements (`script:`, `expression:`), positioned
  // in the YAML file.
  NodePtr statements(const YAML::Node& node, Pos fallback);
  bool is_identifier(std::string_view s) const;
  static std::string describe(const YAML::Node& node);  // "a list", "the string 'x'"

  // ---- nesting (200 levels, like the Groovy parser)
  bool enter(Pos pos);
  void leave() { --depth_; }

  // ---- sections (yaml_sections.cpp)
  NodePtr directive(const YamlEntry& e);  // `k v`, `k a, b`, `k { ... }`
  NodePtr stage_list(const YamlEntry& e, std::string_view what);
  NodePtr stage(const YAML::Node& item);

  // ---- steps and arguments (yaml_steps.cpp)
  NodePtr steps_closure(const YAML::Node& list, Pos fallback, std::string_view what);
  NodePtr step(const YAML::Node& item);
  NodePtr call_list(const YamlEntry& e);  // options, triggers, parameters
  NodePtr call_item(const YAML::Node& item, std::string_view what);
  void call_args(Node& call, const YAML::Node& value, Pos fallback);
  void map_args(Node& call, const std::vector<YamlEntry>& args);
  NodePtr nested_call(const YamlEntry& e);  // `{f: {k: v}}` → f(k: v)
  NodePtr arg_value(const YAML::Node& value, Pos fallback);
  NodePtr when(const YamlEntry& e);
  NodePtr post(const YamlEntry& e);
  NodePtr deploy(const YamlEntry& e);

  // ---- node builders
  static NodePtr call(std::string name, Pos pos, bool parens = false);
  static NodePtr statement(NodePtr expr);
  static NodePtr closure(Pos pos);
  void error(Pos pos, std::string message) { diags_.error(pos, std::move(message)); }

 private:
  NodePtr agent(const YamlEntry& e);
  NodePtr environment(const YamlEntry& e);
  NodePtr libraries(const YamlEntry& e);
  NodePtr input(const YamlEntry& e);
  NodePtr matrix(const YamlEntry& e);
  NodePtr axis(const YamlEntry& e, bool in_exclude);
  NodePtr stage_section(const YamlEntry& e);
  NodePtr section_closure(const YAML::Node& value, Pos fallback);
  void conditions(Node& closure, const YAML::Node& value, Pos fallback);
  NodePtr condition(const YamlEntry& e);
  void merge_entries(const YAML::Node& value, std::vector<YamlEntry>& out,
                     std::vector<std::string>& explicit_keys, int depth);

  struct Span;
  Span span_of(const YAML::Node& node) const;
  enum class Code { Statements, Expression, Template };
  NodePtr parse_code(const YAML::Node& node, Pos fallback, Code mode);
  size_t offset_of(int line, int col) const;
  Pos pos_at(size_t offset) const;

  std::string_view source_;
  Diagnostics& diags_;
  std::vector<size_t> line_starts_;
  int depth_ = 0;
  bool too_deep_ = false;
  size_t budget_;  // nodes left to translate: aliases can make a small file huge
};

}  // namespace gantry::pipelines
