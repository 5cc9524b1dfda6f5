// The YAML front end's sections: the pipeline, generic directives, agent,
// environment, libraries, stages, input and matrix.
#include "yaml_translator.hpp"

namespace gantry::pipelines {

// ---- the pipeline and its sections

NodePtr YamlTranslator::pipeline(const YAML::Node& root) {
  Pos at = pos_of(root, Pos{1, 1});
  if (!root.IsMap()) {
    error(at, "a pipeline file is a map of sections such as `agent:` and `stages:`, not " +
                  describe(root));
    return nullptr;
  }
  auto p = call("pipeline", at);
  p->block = closure(at);
  for (const YamlEntry& e : entries(root)) {
    NodePtr s;
    if (e.key.rfind('.', 0) == 0) {
      continue;  // `.defaults: &defaults`: a hidden key holding anchors, as in GitLab CI
    } else if (e.key == "agent") {
      s = agent(e);
    } else if (e.key == "environment") {
      s = environment(e);
    } else if (e.key == "options" || e.key == "triggers" || e.key == "parameters") {
      s = call_list(e);
    } else if (e.key == "libraries") {
      s = libraries(e);
    } else if (e.key == "stages") {
      s = stage_list(e, "stages");
    } else if (e.key == "post") {
      s = post(e);
    } else {
      s = directive(e);  // tools, and any other key for the model builder to judge
    }
    if (s) p->block->items.push_back(statement(std::move(s)));
  }
  return statement(std::move(p));
}

// The generic translation of `key: value`, used for sections whose fields are
// directives (`tools`, agent types, `gmud`, `canary`) and for unknown keys:
//   key: v           key 'v'
//   key: [a, b]      key 'a', 'b'
//   key: {k: v}      key { k 'v' }
//   key: [{k: v}]    key { k 'v' }
//   key:             key()
NodePtr YamlTranslator::directive(const YamlEntry& e) {
  auto c = call(e.key, e.key_pos);
  const YAML::Node& v = e.value;
  if (!enter(e.key_pos)) return c;
  if (v.IsMap()) {
    c->block = section_closure(v, e.key_pos);
  } else if (v.IsSequence()) {
    bool scalars = v.size() > 0;
    for (auto it = v.begin(); it != v.end(); ++it) {
      scalars = scalars && (it->IsScalar() || it->IsNull());
    }
    if (scalars) {
      for (auto it = v.begin(); it != v.end(); ++it) c->items.push_back(scalar(*it, e.key_pos));
    } else {
      c->block = closure(pos_of(v, e.key_pos));
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (it->IsMap()) {
          NodePtr inner = section_closure(*it, e.key_pos);
          for (auto& s : inner->items) c->block->items.push_back(std::move(s));
        } else if (it->IsScalar() && is_identifier(it->Scalar())) {
          c->block->items.push_back(statement(call(it->Scalar(), pos_of(*it, e.key_pos), true)));
        } else {
          error(pos_of(*it, e.key_pos),
                "each item of `" + e.key + "` is a name or a map, not " + describe(*it));
        }
      }
    }
  } else if (v.IsScalar()) {
    c->items.push_back(scalar(v, e.key_pos));
  } else {
    c->parens = true;
  }
  leave();
  return c;
}

NodePtr YamlTranslator::section_closure(const YAML::Node& value, Pos fallback) {
  auto body = closure(pos_of(value, fallback));
  for (const YamlEntry& e : entries(value)) body->items.push_back(statement(directive(e)));
  return body;
}

// agent: any | none        → agent any
// agent: {docker: {...}}   → agent { docker { ... } }
NodePtr YamlTranslator::agent(const YamlEntry& e) {
  if (e.value.IsScalar() && e.value.Tag() == "?" && is_identifier(e.value.Scalar())) {
    auto c = call("agent", e.key_pos);
    c->items.push_back(make_node(NodeKind::Ident, pos_of(e.value, e.key_pos), e.value.Scalar()));
    return c;
  }
  return directive(e);
}

// environment: {NAME: value, KEY: {credentials: id}} → environment { NAME = 'value'; ... }
NodePtr YamlTranslator::environment(const YamlEntry& e) {
  auto c = call("environment", e.key_pos);
  c->block = closure(pos_of(e.value, e.key_pos));
  if (e.value.IsNull()) return c;
  if (!e.value.IsMap()) {
    error(pos_of(e.value, e.key_pos),
          "`environment` is a map of NAME: value, not " + describe(e.value));
    return c;
  }
  for (const YamlEntry& var : entries(e.value)) {
    auto assign = make_node(NodeKind::Assign, var.key_pos, "=");
    assign->lhs = make_node(NodeKind::Ident, var.key_pos, var.key);
    if (var.value.IsMap()) {
      std::vector<YamlEntry> fn = entries(var.value);
      if (fn.size() != 1) {
        error(pos_of(var.value, var.key_pos),
              "an environment value is a string or a one-key map such as "
              "`{credentials: my-id}`; this map has " +
                  std::to_string(fn.size()) + " keys");
        continue;
      }
      assign->rhs = call(fn[0].key, fn[0].key_pos, true);
      call_args(*assign->rhs, fn[0].value, fn[0].key_pos);
    } else {
      assign->rhs = arg_value(var.value, var.key_pos);
    }
    c->block->items.push_back(statement(std::move(assign)));
  }
  return c;
}

// libraries: [my-lib@1.0] → libraries { lib('my-lib@1.0') }
NodePtr YamlTranslator::libraries(const YamlEntry& e) {
  auto c = call("libraries", e.key_pos);
  c->block = closure(pos_of(e.value, e.key_pos));
  auto add = [&](const YAML::Node& item) {
    Pos at = pos_of(item, e.key_pos);
    if (!item.IsScalar()) {
      error(at, "each library is a string such as 'my-lib@1.0', not " + describe(item));
      return;
    }
    auto lib = call("lib", at, true);
    lib->items.push_back(scalar(item, at));
    c->block->items.push_back(statement(std::move(lib)));
  };
  if (e.value.IsSequence()) {
    for (auto it = e.value.begin(); it != e.value.end(); ++it) add(*it);
  } else if (e.value.IsScalar()) {
    add(e.value);
  } else if (!e.value.IsNull()) {
    error(pos_of(e.value, e.key_pos), "`libraries` is a list of 'name@version' strings");
  }
  return c;
}

// ---- stages

NodePtr YamlTranslator::stage_list(const YamlEntry& e, std::string_view what) {
  auto c = call(std::string(what), e.key_pos);
  c->block = closure(pos_of(e.value, e.key_pos));
  if (e.value.IsNull()) return c;
  if (!e.value.IsSequence()) {
    error(pos_of(e.value, e.key_pos),
          "`" + std::string(what) +
              "` is a list of stages, each starting with `- stage: NAME`; found " +
              describe(e.value));
    return c;
  }
  if (!enter(e.key_pos)) return c;
  for (auto it = e.value.begin(); it != e.value.end(); ++it) {
    NodePtr s = stage(*it);
    if (s) c->block->items.push_back(statement(std::move(s)));
  }
  leave();
  return c;
}

// - stage: Build          → stage('Build') {
//   steps: [...]               steps { ... }
//                            }
NodePtr YamlTranslator::stage(const YAML::Node& item) {
  Pos at = pos_of(item, Pos{1, 1});
  if (!item.IsMap()) {
    error(at, "a stage is a map such as `- stage: Build` with `steps:` beside it, not " +
                  describe(item));
    return nullptr;
  }
  std::vector<YamlEntry> fields = entries(item);
  const YamlEntry* name = nullptr;
  for (const YamlEntry& f : fields) {
    if (f.key != "stage" && f.key != "name") continue;
    if (name) {
      error(f.key_pos, "a stage has one name: `stage:` or `name:`, not both");
      continue;
    }
    name = &f;
  }
  if (!name) {
    error(at, "this stage has no name: add `stage: NAME` as its first key");
    return nullptr;
  }
  if (!name->value.IsScalar()) {
    error(pos_of(name->value, name->key_pos),
          "a stage name is a string; its sections (`steps:`, `when:`...) go beside `" + name->key +
              ":`, not under it");
    return nullptr;
  }
  auto c = call("stage", name->key_pos, true);
  c->items.push_back(scalar(name->value, name->key_pos));
  c->block = closure(at);
  for (const YamlEntry& f : fields) {
    if (&f == name || f.key == "stage" || f.key == "name") continue;
    c->block->items.push_back(statement(stage_section(f)));
  }
  return c;
}

NodePtr YamlTranslator::stage_section(const YamlEntry& e) {
  const std::string& k = e.key;
  if (k == "agent") return agent(e);
  if (k == "environment") return environment(e);
  if (k == "options") return call_list(e);
  if (k == "when") return when(e);
  if (k == "input") return input(e);
  if (k == "steps") {
    auto c = call("steps", e.key_pos);
    c->block = steps_closure(e.value, e.key_pos, "steps");
    return c;
  }
  if (k == "parallel" || k == "stages") return stage_list(e, k);
  if (k == "matrix") return matrix(e);
  if (k == "post") return post(e);
  if (k == "deploy") return deploy(e);
  return directive(e);  // tools, failFast, gmud, and unknown keys
}

// input: {message: Ship?, parameters: [...]} → input { message 'Ship?'; parameters { ... } }
// input: Ship?                                → input { message 'Ship?' }
NodePtr YamlTranslator::input(const YamlEntry& e) {
  auto c = call("input", e.key_pos);
  c->block = closure(pos_of(e.value, e.key_pos));
  if (e.value.IsScalar()) {
    auto message = call("message", pos_of(e.value, e.key_pos));
    message->items.push_back(scalar(e.value, e.key_pos));
    c->block->items.push_back(statement(std::move(message)));
  } else if (e.value.IsMap()) {
    for (const YamlEntry& f : entries(e.value)) {
      c->block->items.push_back(statement(f.key == "parameters" ? call_list(f) : directive(f)));
    }
  } else if (!e.value.IsNull()) {
    error(pos_of(e.value, e.key_pos),
          "`input` is a map such as `{message: 'Deploy?', ok: Yes}`, not " + describe(e.value));
  }
  return c;
}

// ---- matrix

NodePtr YamlTranslator::matrix(const YamlEntry& e) {
  auto c = call("matrix", e.key_pos);
  c->block = closure(pos_of(e.value, e.key_pos));
  if (!e.value.IsMap()) {
    error(pos_of(e.value, e.key_pos),
          "`matrix` is a map with `axes:` and `stages:`, not " + describe(e.value));
    return c;
  }
  if (!enter(e.key_pos)) return c;  // `matrix:` may hold a `matrix:` (for the builder to reject)
  for (const YamlEntry& f : entries(e.value)) {
    Pos at = pos_of(f.value, f.key_pos);
    if (f.key == "axes") {
      auto axes = call("axes", f.key_pos);
      axes->block = closure(at);
      if (f.value.IsMap()) {
        for (const YamlEntry& a : entries(f.value))
          axes->block->items.push_back(statement(axis(a, false)));
      } else {
        error(at, "`axes` is a map from axis name to its values, such as `OS: [linux, mac]`");
      }
      c->block->items.push_back(statement(std::move(axes)));
    } else if (f.key == "excludes") {
      auto excludes = call("excludes", f.key_pos);
      excludes->block = closure(at);
      if (!f.value.IsSequence()) {
        error(at, "`excludes` is a list of maps such as `- {OS: mac, BROWSER: chrome}`");
      }
      for (auto it = f.value.begin(); f.value.IsSequence() && it != f.value.end(); ++it) {
        Pos item_at = pos_of(*it, at);
        if (!it->IsMap()) {
          error(item_at, "an exclude is a map from axis name to values, not " + describe(*it));
          continue;
        }
        auto exclude = call("exclude", item_at);
        exclude->block = closure(item_at);
        for (const YamlEntry& a : entries(*it))
          exclude->block->items.push_back(statement(axis(a, true)));
        excludes->block->items.push_back(statement(std::move(exclude)));
      }
      c->block->items.push_back(statement(std::move(excludes)));
    } else {
      c->block->items.push_back(statement(stage_section(f)));
    }
  }
  leave();
  return c;
}

// OS: [linux, mac]          → axis { name 'OS'; values 'linux', 'mac' }
// OS: {notValues: [linux]}  → axis { name 'OS'; notValues 'linux' }
// Axis values are strings in Jenkins, so `JDK: [11, 17]` means '11', '17'.
NodePtr YamlTranslator::axis(const YamlEntry& e, bool in_exclude) {
  auto a = call("axis", e.key_pos);
  a->block = closure(pos_of(e.value, e.key_pos));
  auto name = call("name", e.key_pos);
  name->items.push_back(make_node(NodeKind::String, e.key_pos, e.key));
  a->block->items.push_back(statement(std::move(name)));
  auto values = [&](std::string keyword, Pos at, const YAML::Node& v) {
    auto c = call(std::move(keyword), at);
    auto add = [&](const YAML::Node& item) {
      NodePtr n = scalar(item, at);
      bool literal =
          n->kind == NodeKind::Int || n->kind == NodeKind::Float || n->kind == NodeKind::Bool;
      if (literal && item.Tag() == "?") n = make_node(NodeKind::String, n->pos, item.Scalar());
      c->items.push_back(std::move(n));
    };
    if (v.IsSequence()) {
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (it->IsScalar()) {
          add(*it);
        } else {
          error(pos_of(*it, at), "an axis value is a string, not " + describe(*it));
        }
      }
    } else if (v.IsScalar()) {
      add(v);
    }
    return c;
  };
  if (e.value.IsMap() && in_exclude) {
    for (const YamlEntry& f : entries(e.value)) {
      if (f.key == "values" || f.key == "notValues") {
        a->block->items.push_back(statement(values(f.key, f.key_pos, f.value)));
      } else {
        a->block->items.push_back(statement(directive(f)));
      }
    }
  } else if (e.value.IsSequence() || e.value.IsScalar()) {
    a->block->items.push_back(statement(values("values", pos_of(e.value, e.key_pos), e.value)));
  } else {
    error(pos_of(e.value, e.key_pos), "axis `" + e.key + "` takes a list of values" +
                                          (in_exclude ? " or `{notValues: [...]}`" : "") +
                                          ", not " + describe(e.value));
  }
  return a;
}

}  // namespace gantry::pipelines
