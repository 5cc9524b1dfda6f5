// The pipeline block, code outside it, and the helpers every section uses.
// The sections live in model_agent.cpp, model_sections.cpp, model_stages.cpp,
// model_steps.cpp and model_deploy.cpp.
#include "gantry/pipelines/model_builder.hpp"

#include <algorithm>
#include <map>

#include "model_builder_impl.hpp"

namespace gantry::pipelines {
namespace {

void find_nested_pipelines(const Node& n, std::vector<Pos>& out, int depth) {
  if (depth > 100) return;
  if (n.kind == NodeKind::Call && n.text == "pipeline" && n.block && !n.lhs) {
    out.push_back(n.pos);
    return;
  }
  for (const Node* child : {n.lhs.get(), n.rhs.get(), n.third.get(), n.block.get()}) {
    if (child) find_nested_pipelines(*child, out, depth + 1);
  }
  for (const auto& item : n.items) {
    if (item) find_nested_pipelines(*item, out, depth + 1);
  }
  for (const auto& arg : n.named) {
    if (arg.value) find_nested_pipelines(*arg.value, out, depth + 1);
  }
}

}  // namespace

std::optional<Pipeline> build_model(Node& root, Diagnostics& diags, const ModelOptions& options) {
  return ModelBuilder(diags, options).build(root);
}

std::optional<Pipeline> ModelBuilder::build(Node& root) {
  size_t errors_before = diags_.error_count();
  names_ = collect_groovy_names(root);
  names_.methods.insert(options_.globals.begin(), options_.globals.end());
  names_.classes.insert(options_.classes.begin(), options_.classes.end());
  Node* pipeline_call = nullptr;
  for (auto& stmt : root.items) {
    Node* call = as_call(*stmt);
    if (call && call->text == "pipeline" && call->block) {
      if (pipeline_call) {
        error(call->pos, "only one pipeline block is allowed per file");
      } else {
        pipeline_call = call;
      }
      continue;
    }
    std::vector<Pos> nested;
    find_nested_pipelines(*stmt, nested, 0);
    for (Pos p : nested) {
      error(p, "the pipeline block must be at the top level of the file, not inside another block");
    }
    if (!nested.empty()) continue;
    bool library = (stmt->kind == NodeKind::Annotation && stmt->text == "Library") ||
                   (call && call->text == "library");
    if (library && !options_.libraries_loaded) {
      warning(stmt->pos,
              "shared libraries are loaded by the controller (its `libraries:` configuration); "
              "their steps are not checked here");
    } else if (library) {
      continue;
    } else if (stmt->kind != NodeKind::Import && stmt->kind != NodeKind::Package) {
      // Methods, variables and classes around the pipeline run (docs/groovy.md): only what
      // the interpreter refuses is worth a warning.
      check_groovy(*stmt, names_, diags_);
    }
  }
  if (!pipeline_call && options_.template_pipeline != nullptr) {
    pipeline_call = options_.template_pipeline;  // a pipeline template of a library (vars/)
  }
  if (!pipeline_call) {
    if (diags_.error_count() == errors_before) {
      bool libraries = false;
      for (const auto& stmt : root.items) {
        libraries =
            libraries || (stmt && stmt->kind == NodeKind::Annotation && stmt->text == "Library");
      }
      error(root.items.empty() ? Pos{1, 1} : root.items.front()->pos,
            libraries && !options_.libraries_loaded
                ? "no pipeline { } block found: a Jenkinsfile must contain a top-level pipeline "
                  "block, or call a pipeline template of a shared library that is loaded (the "
                  "controller's `libraries:`, or gantry run --library NAME=URL)"
                : "no pipeline { } block found: a Jenkinsfile must contain a top-level pipeline "
                  "block");
    }
    return std::nullopt;
  }
  Pipeline p;
  p.pos = pipeline_call->pos;
  if (!pipeline_call->items.empty() || !pipeline_call->named.empty()) {
    error(pipeline_call->pos, "pipeline takes no arguments, only a block");
  }
  std::set<std::string> seen;
  bool has_agent = false;
  bool has_stages = false;
  for (auto& stmt : pipeline_call->block->items) {
    Node* call = as_call(*stmt);
    if (!call) {
      error(stmt->pos, std::string("expected a pipeline section (agent, stages, environment, "
                                   "options, parameters, triggers, tools, libraries, post), "
                                   "found ") +
                           kind_name(stmt->kind == NodeKind::ExprStmt && stmt->lhs ? stmt->lhs->kind
                                                                                   : stmt->kind));
      continue;
    }
    const std::string& name = call->text;
    static const std::map<std::string, std::string> kRenamed = {
        {"properties",
         "The \"properties\" section has been renamed as of version 0.8; use \"options\" instead"},
        {"jobProperties",
         "The \"jobProperties\" section has been renamed as of version 0.8; use \"options\" "
         "instead"},
        {"wrappers",
         "The \"wrappers\" section has been removed as of version 0.8; use \"options\" instead"},
        {"notifications",
         "The \"notifications\" section has been removed as of version 0.6; use \"post\" for all "
         "post-build actions"},
        {"postBuild",
         "The \"postBuild\" section has been renamed as of version 0.6; use \"post\" for all "
         "post-build actions"},
    };
    if (auto it = kRenamed.find(name); it != kRenamed.end()) {
      error(call->pos, it->second);
      continue;
    }
    static const std::set<std::string> kSections = {"agent",   "stages",     "environment",
                                                    "options", "parameters", "triggers",
                                                    "tools",   "libraries",  "post"};
    if (!kSections.count(name)) {
      error(call->pos,
            "Undefined section \"" + name + "\"" +
                did_you_mean(name, {"agent", "stages", "environment", "options", "parameters",
                                    "triggers", "tools", "libraries", "post"}) +
                ": valid sections are agent, stages, environment, options, "
                "parameters, triggers, tools, libraries and post");
      continue;
    }
    if (!seen.insert(name).second) {
      error(call->pos, "Multiple occurrences of the " + name + " section");
      continue;
    }
    if (name == "agent") {
      has_agent = true;
      section_agent(*call, p.agent, false);
    } else if (name == "stages") {
      has_stages = true;
      if (require_block(*call, name)) section_stages(*call, p.stages, 0, false);
    } else if (name == "environment") {
      section_environment(*call, p.environment);
    } else if (name == "options") {
      section_options(*call, p.options, false);
    } else if (name == "parameters") {
      section_parameters(*call, p.parameters);
    } else if (name == "triggers") {
      section_triggers(*call, p.triggers);
    } else if (name == "tools") {
      section_tools(*call, p.tools);
    } else if (name == "libraries") {
      section_libraries(*call, p.libraries);
    } else if (name == "post") {
      section_post(*call, p.post);
    }
  }
  if (!has_agent) error(p.pos, "Missing required section \"agent\" in the pipeline block");
  if (!has_stages) error(p.pos, "Missing required section \"stages\" in the pipeline block");
  if (diags_.error_count() != errors_before) return std::nullopt;
  return p;
}

// ---- helpers

Node* ModelBuilder::as_call(Node& stmt) {
  if (stmt.kind != NodeKind::ExprStmt || !stmt.lhs) return nullptr;
  Node* call = stmt.lhs.get();
  if (call->kind == NodeKind::Ident && !call->grouped) {
    // A bare name (`skipDefaultCheckout`, `buildingTag`): a call without arguments.
    call->kind = NodeKind::Call;
    return call;
  }
  if (call->kind != NodeKind::Call || call->lhs) return nullptr;
  return call;
}

std::optional<std::string> ModelBuilder::literal_string(const Node* n) {
  if (n && n->kind == NodeKind::String) return n->text;
  return std::nullopt;
}

std::optional<bool> ModelBuilder::literal_bool(const Node* n) {
  if (n && n->kind == NodeKind::Bool) return n->text == "true";
  return std::nullopt;
}

std::optional<int64_t> ModelBuilder::literal_int(const Node* n) {
  if (!n || n->kind != NodeKind::Int || n->big) return std::nullopt;
  try {
    return std::stoll(n->text, nullptr, 0);
  } catch (...) {
    return std::nullopt;
  }
}

bool ModelBuilder::require_block(Node& call, std::string_view what) {
  if (call.block && call.items.empty() && call.named.empty()) return true;
  error(call.pos, "Expected a block for " + std::string(what));
  return false;
}

// Reports `X can not be empty` and returns true for an empty block.
bool ModelBuilder::empty_section(Node& call, std::string_view what) {
  if (!call.block->items.empty()) return false;
  error(call.pos, std::string(what) + " can not be empty");
  return true;
}

// An entry of options, triggers or parameters: a call without a block.
Node* ModelBuilder::describable(Node& stmt, std::string_view what, std::string_view example) {
  Node* c = as_call(stmt);
  if (!c) {
    bool is_map = stmt.lhs && (stmt.lhs->kind == NodeKind::Map || stmt.lhs->kind == NodeKind::List);
    error(stmt.pos, is_map ? std::string(what) + " cannot be defined as maps"
                           : "expected " + std::string(example));
    return nullptr;
  }
  if (c->block) {
    error(c->pos, std::string(what) + " definitions cannot have blocks");
    return nullptr;
  }
  return c;
}

}  // namespace gantry::pipelines
