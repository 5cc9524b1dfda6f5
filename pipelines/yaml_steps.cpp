// The YAML front end's steps and call arguments, and the sections made of
// them: options/triggers/parameters, `when`, `post` and `deploy`.
#include <string_view>

#include "yaml_translator.hpp"

namespace gantry::pipelines {
namespace {

// Block steps whose main argument Jenkins takes positionally: with `steps:`,
// `dir: {path: sub, steps: [...]}` becomes `dir('sub') { ... }`.
struct PositionalKey {
  std::string_view step;
  std::string_view key;
};
constexpr PositionalKey kPositional[] = {
    {"dir", "path"},
    {"retry", "count"},
    {"withEnv", "vars"},
    {"withEnv", "overrides"},
    {"withCredentials", "bindings"},
    {"node", "label"},
    {"warnError", "message"},
    {"lock", "resource"},
    {"ws", "dir"},
    {"container", "name"},
};

bool is_positional(std::string_view step, std::string_view key) {
  for (const auto& p : kPositional) {
    if (p.step == step && p.key == key) return true;
  }
  return false;
}

// `when` conditions that take no argument: `buildingTag: true` → buildingTag().
bool is_bare_condition(std::string_view name) {
  return name == "buildingTag" || name == "isRestartedRun" || name == "changeRequest";
}

std::string key_list(const std::vector<YamlEntry>& entries) {
  std::string out;
  for (const auto& e : entries) out += (out.empty() ? "" : ", ") + e.key;
  return out;
}

}  // namespace

// ---- call arguments
//
//   name: v                 name(v)          (steps: `sh 'make'`)
//   name: [a, b]            name(['a', 'b'])
//   name: {k: v, l: w}      name(k: v, l: w)
//   name: {f: {k: v}}       name(f(k: v))    a one-key map holding a map is a call
//   name:                   name()

void YamlTranslator::call_args(Node& c, const YAML::Node& value, Pos fallback) {
  if (value.IsNull()) {
    c.parens = true;
  } else if (value.IsMap()) {
    map_args(c, entries(value));
  } else {
    c.parens = c.parens || value.IsSequence();
    c.items.push_back(arg_value(value, fallback));
  }
}

void YamlTranslator::map_args(Node& c, const std::vector<YamlEntry>& args) {
  c.parens = true;
  if (args.size() == 1 && args[0].value.IsMap()) {
    NodePtr inner = nested_call(args[0]);
    if (inner) c.items.push_back(std::move(inner));
    return;
  }
  for (const YamlEntry& a : args) {
    c.named.push_back(NamedArg{a.key, a.key_pos, arg_value(a.value, a.key_pos)});
  }
}

NodePtr YamlTranslator::nested_call(const YamlEntry& e) {
  if (!enter(e.key_pos)) return nullptr;
  auto c = call(e.key, e.key_pos, true);
  call_args(*c, e.value, e.key_pos);
  leave();
  return c;
}

NodePtr YamlTranslator::arg_value(const YAML::Node& value, Pos fallback) {
  Pos at = pos_of(value, fallback);
  if (!value.IsMap() && !value.IsSequence()) return scalar(value, fallback);
  if (value.IsMap()) {
    std::vector<YamlEntry> args = entries(value);
    if (args.size() == 1 && args[0].value.IsMap()) {
      NodePtr c = nested_call(args[0]);
      return c ? std::move(c) : make_node(NodeKind::Null, at, "null");
    }
    if (!enter(at)) return make_node(NodeKind::Null, at, "null");
    auto map = make_node(NodeKind::Map, at);
    for (const YamlEntry& a : args) {
      map->named.push_back(NamedArg{a.key, a.key_pos, arg_value(a.value, a.key_pos)});
    }
    leave();
    return map;
  }
  if (!enter(at)) return make_node(NodeKind::Null, at, "null");
  auto list = make_node(NodeKind::List, at);
  for (auto it = value.begin(); it != value.end(); ++it) list->items.push_back(arg_value(*it, at));
  leave();
  return list;
}

// options, triggers, parameters: a list of calls (or a map, one call per key).
//   options: [skipDefaultCheckout, {retry: 3}] → options { skipDefaultCheckout(); retry(3) }
NodePtr YamlTranslator::call_list(const YamlEntry& e) {
  auto c = call(e.key, e.key_pos);
  c->block = closure(pos_of(e.value, e.key_pos));
  if (e.value.IsSequence()) {
    for (auto it = e.value.begin(); it != e.value.end(); ++it) {
      NodePtr item = call_item(*it, e.key);
      if (item) c->block->items.push_back(statement(std::move(item)));
    }
  } else if (e.value.IsMap()) {
    for (const YamlEntry& f : entries(e.value)) {
      auto item = call(f.key, f.key_pos, true);
      call_args(*item, f.value, f.key_pos);
      c->block->items.push_back(statement(std::move(item)));
    }
  } else if (!e.value.IsNull()) {
    error(pos_of(e.value, e.key_pos),
          "`" + e.key + "` is a list such as `- timeout: {time: 1, unit: HOURS}`, not " +
              describe(e.value));
  }
  return c;
}

// One item of a call list: `name` or `name: arguments`.
NodePtr YamlTranslator::call_item(const YAML::Node& item, std::string_view what) {
  Pos at = pos_of(item, Pos{1, 1});
  if (item.IsScalar() && item.Tag() == "!groovy") return scalar(item, at);
  // A name that is not an identifier still goes through: "Invalid option type" is
  // the model builder's message to give.
  if (item.IsScalar()) return call(item.Scalar(), at, true);
  std::vector<YamlEntry> fields;
  if (item.IsMap()) {
    fields = entries(item);
    if (fields.size() == 1) {
      auto c = call(fields[0].key, fields[0].key_pos, true);
      call_args(*c, fields[0].value, fields[0].key_pos);
      return c;
    }
  }
  std::string found = !item.IsMap()    ? describe(item)
                      : fields.empty() ? "an empty map"
                                       : "a map with keys " + key_list(fields);
  error(at, "an item of `" + std::string(what) +
                "` is a name or a one-key map `name: arguments`, not " + found);
  return nullptr;
}

// ---- steps

NodePtr YamlTranslator::steps_closure(const YAML::Node& list, Pos fallback, std::string_view what) {
  Pos at = pos_of(list, fallback);
  auto body = closure(at);
  if (list.IsNull()) return body;
  if (!list.IsSequence()) {
    error(at, "`" + std::string(what) + "` is a list of steps such as `- sh: make`, not " +
                  describe(list));
    return body;
  }
  if (!enter(at)) return body;
  for (auto it = list.begin(); it != list.end(); ++it) {
    NodePtr s = step(*it);
    if (s) body->items.push_back(std::move(s));
  }
  leave();
  return body;
}

//   - sh: make                            sh 'make'
//   - sh: {script: make, label: build}    sh(script: 'make', label: 'build')
//   - deleteDir                           deleteDir()
//   - dir: {path: sub, steps: [...]}      dir('sub') { ... }
//   - script: "if (x) { ... }"            script { if (x) { ... } }
//   - checkout: scm                       checkout scm
NodePtr YamlTranslator::step(const YAML::Node& item) {
  Pos at = pos_of(item, Pos{1, 1});
  if (item.IsScalar()) {
    if (item.Tag() == "!groovy") return statement(scalar(item, at));
    if (is_identifier(item.Scalar())) return statement(call(item.Scalar(), at, true));
    error(at, "'" + item.Scalar() + "' is not a step name; to run a shell command write `- sh: " +
                  item.Scalar() + "`");
    return nullptr;
  }
  if (!item.IsMap()) {
    error(at, "a step is a name or a one-key map `name: arguments`, not " + describe(item));
    return nullptr;
  }
  std::vector<YamlEntry> fields = entries(item);
  if (fields.size() != 1) {
    bool block = false;
    for (const auto& f : fields) block = block || f.key == "steps";
    error(at, fields.empty() ? "a step is `name: arguments`; this map is empty"
                             : "a step is a one-key map `name: arguments`; this one has keys " +
                                   key_list(fields) +
                                   (block ? ". A block step nests its arguments and steps: "
                                            "`- dir: {path: sub, steps: [...]}`"
                                          : ". Write each step as its own list item"));
    return nullptr;
  }
  const YamlEntry& f = fields[0];
  const YAML::Node& v = f.value;
  if (f.key == "script") {
    auto c = call("script", f.key_pos);
    if (v.IsScalar()) {
      c->block = statements(v, f.key_pos);
    } else {
      c->block = steps_closure(v, f.key_pos, "script");
    }
    return statement(std::move(c));
  }
  if (f.key == "checkout" && v.IsScalar() && v.Tag() == "?" && v.Scalar() == "scm") {
    auto c = call("checkout", f.key_pos);
    c->items.push_back(make_node(NodeKind::Ident, pos_of(v, f.key_pos), "scm"));
    return statement(std::move(c));
  }
  auto c = call(f.key, f.key_pos);
  if (v.IsMap()) {
    std::vector<YamlEntry> args = entries(v);
    const YamlEntry* body = nullptr;
    for (const auto& a : args) {
      if (a.key == "steps") body = &a;
    }
    if (body) {
      for (const auto& a : args) {
        if (&a == body) continue;
        if (c->items.empty() && is_positional(f.key, a.key)) {
          c->items.push_back(arg_value(a.value, a.key_pos));
        } else {
          c->named.push_back(NamedArg{a.key, a.key_pos, arg_value(a.value, a.key_pos)});
        }
      }
      c->parens = !c->items.empty() || !c->named.empty();
      c->block = steps_closure(body->value, body->key_pos, "steps");
    } else {
      map_args(*c, args);
    }
    return statement(std::move(c));
  }
  call_args(*c, v, f.key_pos);
  return statement(std::move(c));
}

// ---- when
//
//   when:                               when {
//     branch: main                        branch 'main'
//     expression: "params.DRY"            expression { params.DRY }
//     anyOf: [{tag: 'v*'}, buildingTag]   anyOf { tag 'v*'; buildingTag() }
//     beforeAgent: true                   beforeAgent true
//                                         }

NodePtr YamlTranslator::when(const YamlEntry& e) {
  auto c = call("when", e.key_pos);
  c->block = closure(pos_of(e.value, e.key_pos));
  conditions(*c->block, e.value, e.key_pos);
  return c;
}

void YamlTranslator::conditions(Node& body, const YAML::Node& value, Pos fallback) {
  Pos at = pos_of(value, fallback);
  if (!enter(at)) return;
  if (value.IsMap()) {
    for (const YamlEntry& f : entries(value)) body.items.push_back(statement(condition(f)));
  } else if (value.IsSequence()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (it->IsScalar() && is_identifier(it->Scalar())) {
        body.items.push_back(statement(call(it->Scalar(), pos_of(*it, at), true)));
      } else if (it->IsMap()) {
        for (const YamlEntry& f : entries(*it)) body.items.push_back(statement(condition(f)));
      } else {
        error(pos_of(*it, at), "a condition is a map such as `branch: main`, not " + describe(*it));
      }
    }
  } else if (!value.IsNull()) {
    error(at, "conditions are a map such as `{branch: main}` or a list of them, not " +
                  describe(value));
  }
  leave();
}

NodePtr YamlTranslator::condition(const YamlEntry& e) {
  const YAML::Node& v = e.value;
  if (e.key == "allOf" || e.key == "anyOf" || e.key == "not") {
    auto c = call(e.key, e.key_pos);
    c->block = closure(pos_of(v, e.key_pos));
    conditions(*c->block, v, e.key_pos);
    return c;
  }
  if (e.key == "expression") {
    auto c = call("expression", e.key_pos);
    if (v.IsScalar()) {
      c->block = statements(v, e.key_pos);
    } else {
      error(pos_of(v, e.key_pos),
            "`expression` takes Groovy code as a string, such as \"params.DRY == false\"");
      c->block = closure(pos_of(v, e.key_pos));
    }
    return c;
  }
  bool is_true = v.IsScalar() && v.Tag() == "?" && v.Scalar() == "true";
  if (is_bare_condition(e.key) && (v.IsNull() || is_true)) return call(e.key, e.key_pos, true);
  auto c = call(e.key, e.key_pos);
  call_args(*c, v, e.key_pos);
  return c;
}

// ---- post

// post: {always: [...], failure: [...]} → post { always { ... } failure { ... } }
NodePtr YamlTranslator::post(const YamlEntry& e) {
  auto c = call("post", e.key_pos);
  c->block = closure(pos_of(e.value, e.key_pos));
  if (e.value.IsNull()) return c;
  if (!e.value.IsMap()) {
    error(pos_of(e.value, e.key_pos),
          "`post` is a map from condition to steps, such as `always: [{sh: ./cleanup.sh}]`, not " +
              describe(e.value));
    return c;
  }
  for (const YamlEntry& f : entries(e.value)) {
    auto condition = call(f.key, f.key_pos);
    condition->block = steps_closure(f.value, f.key_pos, f.key);
    c->block->items.push_back(statement(std::move(condition)));
  }
  return c;
}

// ---- deploy (Gantry's own)
//
//   deploy:                             deploy('production') {
//     environment: production             canary {
//     canary:                               weights 10, 50, 100
//       weights: [10, 50, 100]              pause '2m'            (`pause: manual` → pause())
//       pause: 2m                           analysis { sh './check.sh' }
//       analysis: [{sh: ./check.sh}]      }
//     rollback: [{sh: ./rollback.sh}]     rollback { sh './rollback.sh' }
//                                       }

NodePtr YamlTranslator::deploy(const YamlEntry& e) {
  auto c = call("deploy", e.key_pos);
  Pos at = pos_of(e.value, e.key_pos);
  if (!e.value.IsMap()) {
    error(at, "`deploy` is a map with `environment:`, `canary:` and `rollback:`, not " +
                  describe(e.value));
    return c;
  }
  c->block = closure(at);
  for (const YamlEntry& f : entries(e.value)) {
    if (f.key == "environment" && c->items.empty()) {
      c->parens = true;
      c->items.push_back(arg_value(f.value, f.key_pos));
    } else if (f.key == "rollback") {
      auto rollback = call("rollback", f.key_pos);
      rollback->block = steps_closure(f.value, f.key_pos, "rollback");
      c->block->items.push_back(statement(std::move(rollback)));
    } else if (f.key == "canary" && f.value.IsMap()) {
      auto canary = call("canary", f.key_pos);
      canary->block = closure(pos_of(f.value, f.key_pos));
      for (const YamlEntry& g : entries(f.value)) {
        NodePtr field;
        bool manual = g.value.IsNull() ||
                      (g.value.IsScalar() && g.value.Tag() == "?" && g.value.Scalar() == "manual");
        if (g.key == "analysis") {
          field = call("analysis", g.key_pos);
          field->block = steps_closure(g.value, g.key_pos, "analysis");
        } else if (g.key == "pause" && manual) {
          field = call("pause", g.key_pos, true);
        } else {
          field = directive(g);
        }
        canary->block->items.push_back(statement(std::move(field)));
      }
      c->block->items.push_back(statement(std::move(canary)));
    } else {
      c->block->items.push_back(statement(directive(f)));
    }
  }
  return c;
}

}  // namespace gantry::pipelines
