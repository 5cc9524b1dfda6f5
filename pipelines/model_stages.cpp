// Stages, parallel and matrix.
#include <algorithm>
#include <map>

#include "model_builder_impl.hpp"

namespace gantry::pipelines {
namespace {

bool has_nested(const Stage& s) {
  return !s.parallel.empty() || s.matrix != nullptr;
}

}  // namespace

void ModelBuilder::section_stages(Node& call, std::vector<Stage>& out, int nesting,
                                  bool in_parallel) {
  if (call.block->items.empty()) {
    error(call.pos, "No stages specified");
    return;
  }
  std::set<std::string> names;
  for (auto& stmt : call.block->items) {
    Node* c = as_call(*stmt);
    if (!c || c->text != "stage") {
      error(stmt->pos, "Expected a stage, found " +
                           (c ? "\"" + c->text + "\"" : std::string(kind_name(stmt->kind))));
      continue;
    }
    Stage stage;
    parse_stage(*c, stage, nesting, in_parallel);
    if (!stage.name.empty() && !names.insert(stage.name).second) {
      error(c->pos, "Duplicate stage name: \"" + stage.name + "\"");
    }
    out.push_back(std::move(stage));
  }
}

void ModelBuilder::parse_stage(Node& call, Stage& stage, int nesting, bool in_parallel) {
  stage.pos = call.pos;
  if (call.items.size() != 1 || !call.named.empty()) {
    error(call.pos, "Expected string literal: stage needs a name, as in stage('Build') { ... }");
  } else if (auto name = literal_string(call.items[0].get())) {
    stage.name = *name;
  } else if (call.items[0]->kind == NodeKind::GString) {
    stage.name = to_source(*call.items[0]);
  } else {
    error(call.items[0]->pos, "Expected string literal for the stage name");
  }
  if (!call.block) {
    error(call.pos, "stage \"" + stage.name + "\" needs a block: stage('" + stage.name +
                        "') { steps { ... } }");
    return;
  }
  if (nesting > 20) {
    error(call.pos, "stages are nested too deeply");
    return;
  }
  std::set<std::string> seen;
  std::vector<std::string> bodies;  // steps / stages / parallel / matrix, in order
  Node* agent_call = nullptr;
  Node* tools_call = nullptr;
  for (auto& stmt : call.block->items) {
    Node* c = as_call(*stmt);
    if (!c) {
      error(stmt->pos,
            "Expected a stage section (steps, stages, parallel, matrix, agent, when, "
            "environment, options, input, tools, post, failFast), found " +
                std::string(kind_name(stmt->lhs ? stmt->lhs->kind : stmt->kind)));
      continue;
    }
    const std::string& name = c->text;
    static const std::set<std::string> kSections = {
        "agent",       "when",     "steps",  "post",   "options",  "input",  "tools",
        "environment", "parallel", "matrix", "stages", "failFast", "deploy", "gmud"};
    if (!kSections.count(name)) {
      error(c->pos, "Unknown stage section \"" + name + "\"" +
                        did_you_mean(name, {"agent", "when", "steps", "post", "options", "input",
                                            "tools", "environment", "parallel", "matrix", "stages",
                                            "failFast", "deploy", "gmud"}) +
                        ". Starting with version 0.5, steps in a stage must be in a 'steps' "
                        "block.");
      continue;
    }
    if (!seen.insert(name).second) {
      error(c->pos, "Multiple occurrences of the " + name + " section");
      continue;
    }
    if (name == "steps" || name == "stages" || name == "parallel" || name == "matrix") {
      bodies.push_back(name);
    }
    if (name == "agent") {
      agent_call = c;
      section_agent(*c, stage.agent, true);
    } else if (name == "when") {
      section_when(*c, stage.when);
    } else if (name == "steps") {
      section_steps(*c, stage.steps);
    } else if (name == "post") {
      section_post(*c, stage.post);
    } else if (name == "options") {
      section_options(*c, stage.options, true);
    } else if (name == "input") {
      section_input(*c, stage.input);
    } else if (name == "tools") {
      tools_call = c;
      section_tools(*c, stage.tools);
    } else if (name == "environment") {
      section_environment(*c, stage.environment);
    } else if (name == "stages") {
      if (require_block(*c, name)) section_stages(*c, stage.stages, nesting + 1, in_parallel);
    } else if (name == "parallel") {
      if (in_parallel) {
        error(c->pos,
              "\"matrix\" or \"parallel\" cannot be nested inside another \"matrix\" or "
              "\"parallel\".");
      } else if (require_block(*c, name)) {
        section_parallel(*c, stage, nesting);
      }
    } else if (name == "matrix") {
      if (in_parallel) {
        error(c->pos,
              "\"matrix\" or \"parallel\" cannot be nested inside another \"matrix\" or "
              "\"parallel\".");
      } else if (require_block(*c, name)) {
        section_matrix(*c, stage, nesting);
      }
    } else if (name == "failFast") {
      auto b =
          c->items.size() == 1 && c->named.empty() ? literal_bool(c->items[0].get()) : std::nullopt;
      if (!b) {
        error(c->pos, "failFast takes true or false");
      } else {
        stage.fail_fast = *b;
      }
    } else if (name == "deploy") {
      section_deploy(*c, stage.deploy);
    } else if (name == "gmud") {
      section_gmud(*c, stage.gmud);
    }
  }
  if (bodies.empty()) {
    error(call.pos,
          "Expected one of \"steps\", \"stages\", \"parallel\" or \"matrix\" for stage \"" +
              stage.name + "\"");
  } else if (bodies.size() > 1) {
    error(call.pos,
          "Only one of \"matrix\", \"parallel\", \"stages\", or \"steps\" allowed for stage \"" +
              stage.name + "\"");
  }
  if (has_nested(stage)) {
    if (agent_call) {
      error(agent_call->pos, "\"agent\" is not allowed in stage \"" + stage.name +
                                 "\" as it contains parallel or matrix stages");
    }
    if (tools_call) {
      error(tools_call->pos, "\"tools\" is not allowed in stage \"" + stage.name +
                                 "\" as it contains parallel or matrix stages");
    }
  }
  if (stage.deploy && stage.steps.empty()) {
    error(stage.deploy->pos, "deploy needs the stage's steps: put the deployment in steps { }");
  }
  if (stage.deploy && stage.deploy->rollback.empty()) {
    // Not an error: a first pipeline may deploy before it knows how to
    // undo; but `gantry rollback` of its releases is refused, and a canary
    // that fails its analysis has nothing to run.
    warning(stage.deploy->pos,
            "deploy('" + stage.deploy->environment +
                "') has no rollback { } block: gantry rollback of its releases will be refused" +
                (stage.deploy->canary ? " and a failed canary cannot undo itself" : ""));
  }
  if (stage.gmud && !stage.deploy) {
    warning(stage.gmud->pos, "gmud has no effect without deploy('environment') in the same stage");
  }
}

void ModelBuilder::section_parallel(Node& call, Stage& stage, int nesting) {
  // Nested parallel/matrix inside the branches is reported as they are parsed.
  section_stages(call, stage.parallel, nesting + 1, true);
}

void ModelBuilder::section_matrix(Node& call, Stage& stage, int nesting) {
  auto m = std::make_shared<Matrix>();
  m->pos = call.pos;
  std::set<std::string> seen;
  bool has_axes = false;
  bool has_stages = false;
  auto parse_axis = [&](Node& axis_call, Axis& axis, bool in_exclude) {
    axis.pos = axis_call.pos;
    if (!require_block(axis_call, "axis")) return false;
    bool has_name = false;
    bool has_values = false;
    for (auto& s : axis_call.block->items) {
      Node* f = as_call(*s);
      if (!f ||
          (f->text != "name" && f->text != "values" && !(in_exclude && f->text == "notValues"))) {
        error(s->pos, std::string("expected name and ") +
                          (in_exclude ? "values or notValues" : "values") + " in axis");
        continue;
      }
      if (f->text == "name") {
        has_name = true;
        auto v = f->items.size() == 1 ? literal_string(f->items[0].get()) : std::nullopt;
        if (!v) {
          error(f->items.empty() ? f->pos : f->items[0]->pos,
                "Expected string literal for the axis name");
          continue;
        }
        axis.name = *v;
        bool ident = !v->empty() &&
                     (std::isalpha(static_cast<unsigned char>((*v)[0])) || (*v)[0] == '_') &&
                     std::all_of(v->begin(), v->end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
                     });
        if (!ident) error(f->items[0]->pos, "axis name \"" + *v + "\" is not a valid identifier");
      } else {
        if (has_values) {
          error(f->pos, "Exclude axis must contain either \"values\" or \"notValues\", not both");
          continue;
        }
        has_values = true;
        axis.not_values = f->text == "notValues";
        if (f->items.empty()) error(f->pos, "values needs at least one value");
        std::set<std::string> vals;
        for (auto& item : f->items) {
          // Numbers and booleans are literals too; their text is the value.
          auto v = literal_string(item.get());
          if (!v && (item->kind == NodeKind::Int || item->kind == NodeKind::Float ||
                     item->kind == NodeKind::Bool)) {
            v = item->text;
          }
          if (!v) {
            error(item->pos, "Expected string literal for axis values, found " +
                                 std::string(kind_name(item->kind)));
            continue;
          }
          if (!vals.insert(*v).second) {
            error(item->pos, "Duplicate axis value: \"" + *v + "\"");
            continue;
          }
          axis.values.push_back(*v);
        }
      }
    }
    if (!has_name) error(axis_call.pos, "Missing required section \"name\" in axis");
    if (!has_values) error(axis_call.pos, "Missing required section \"values\" in axis");
    return has_name && has_values;
  };
  // The axis { } entries of `axes` or of one `exclude`: names unique, each valid.
  auto parse_axis_list = [&](Node& owner, std::string_view where, bool in_exclude) {
    std::vector<Axis> axes;
    if (owner.block->items.empty()) {
      error(owner.pos, "No axis directives specified in " + std::string(where));
    }
    std::set<std::string> names;
    for (auto& s : owner.block->items) {
      Node* a = as_call(*s);
      if (!a || a->text != "axis") {
        error(s->pos, "expected axis { name '...'; values '...' } in " + std::string(where));
        continue;
      }
      Axis axis;
      if (!parse_axis(*a, axis, in_exclude)) continue;
      if (!names.insert(axis.name).second) {
        error(a->pos, "Duplicate axis name: \"" + axis.name + "\"");
        continue;
      }
      axes.push_back(std::move(axis));
    }
    return axes;
  };
  for (auto& stmt : call.block->items) {
    Node* c = as_call(*stmt);
    if (!c) {
      error(stmt->pos, "expected a matrix section (axes, excludes, stages, agent, when, ...)");
      continue;
    }
    const std::string& name = c->text;
    static const std::set<std::string> kSections = {"axes",        "excludes", "agent", "when",
                                                    "post",        "options",  "input", "tools",
                                                    "environment", "stages"};
    if (!kSections.count(name)) {
      error(c->pos, "Unknown matrix section \"" + name + "\"");
      continue;
    }
    if (!seen.insert(name).second) {
      error(c->pos, "Multiple occurrences of the " + name + " section");
      continue;
    }
    if (name == "axes") {
      has_axes = true;
      if (require_block(*c, name)) m->axes = parse_axis_list(*c, "axes", false);
    } else if (name == "excludes") {
      if (!require_block(*c, name)) continue;
      if (c->block->items.empty()) error(c->pos, "No exclude directives specified in excludes");
      for (auto& s : c->block->items) {
        Node* e = as_call(*s);
        if (!e || e->text != "exclude" || !e->block) {
          error(s->pos, "expected exclude { axis { ... } } in excludes");
          continue;
        }
        std::vector<Axis> excl = parse_axis_list(*e, "exclude", true);
        m->excludes.push_back(std::move(excl));
      }
    } else if (name == "agent") {
      section_agent(*c, m->agent, true);
    } else if (name == "when") {
      section_when(*c, m->when);
    } else if (name == "post") {
      section_post(*c, m->post);
    } else if (name == "options") {
      section_options(*c, m->options, true);
    } else if (name == "input") {
      section_input(*c, m->input);
    } else if (name == "tools") {
      section_tools(*c, m->tools);
    } else if (name == "environment") {
      section_environment(*c, m->environment);
    } else if (name == "stages") {
      has_stages = true;
      if (require_block(*c, name)) section_stages(*c, m->stages, nesting + 1, true);
    }
  }
  if (!has_axes) error(call.pos, "Missing required section \"axes\" in matrix");
  if (!has_stages) error(call.pos, "Missing required section \"stages\" in matrix");
  for (const auto& excl : m->excludes) {
    for (const auto& axis : excl) {
      auto it = std::find_if(m->axes.begin(), m->axes.end(),
                             [&](const Axis& a) { return a.name == axis.name; });
      if (it == m->axes.end()) {
        warning(axis.pos,
                "exclude names axis \"" + axis.name + "\", which the matrix does not have");
      }
    }
  }
  stage.matrix = std::move(m);
}

}  // namespace gantry::pipelines
