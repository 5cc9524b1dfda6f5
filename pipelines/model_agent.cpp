// The agent section: none, any, label, node, docker, dockerfile, kubernetes.
#include <map>

#include "model_builder_impl.hpp"

namespace gantry::pipelines {
namespace {

const std::vector<std::string_view> kAgentTypes = {"any",   "docker", "dockerfile", "kubernetes",
                                                   "label", "node",   "none"};

// Pipeline-level options: Jenkins' own, those of the plugins a stock
// installation has, and block-scoped wrapper steps.

}  // namespace

// ---- agent

void ModelBuilder::section_agent(Node& call, Agent& out, bool stage_level) {
  out.pos = call.pos;
  const char* where = stage_level ? "stage section" : "section";
  if (!call.block) {
    if (call.items.empty() && call.named.empty()) {
      error(call.pos, std::string("Not a valid ") + where +
                          " definition: \"agent\". Some extra configuration is required.");
      return;
    }
    const Node* arg = call.items.empty() ? nullptr : call.items[0].get();
    if (call.items.size() == 1 && call.named.empty() && arg->kind == NodeKind::Ident &&
        (arg->text == "none" || arg->text == "any")) {
      out.kind = arg->text == "none" ? AgentKind::None : AgentKind::Any;
      out.type = arg->text;
      return;
    }
    error(arg ? arg->pos : call.pos,
          "Only \"agent none\", \"agent any\" or \"agent {...}\" are allowed.");
    return;
  }
  if (!call.items.empty() || !call.named.empty()) {
    error(call.pos, "agent takes either none, any, or a block, not both arguments and a block");
    return;
  }
  std::vector<Node*> types;
  for (auto& stmt : call.block->items) {
    Node* c = as_call(*stmt);
    if (!c) {
      error(stmt->pos, "expected an agent type (" + join(kAgentTypes) + ")");
      continue;
    }
    types.push_back(c);
  }
  if (types.empty()) {
    if (call.block->items.empty()) {
      error(call.pos, "No agent type specified. Must be one of [" + join(kAgentTypes) + "]");
    }
    return;
  }
  if (types.size() > 1) {
    error(types[1]->pos, "Only one agent type is allowed per agent section");
    return;
  }
  Node& t = *types[0];
  out.type = t.text;
  static const std::map<std::string, std::vector<std::string_view>> kFields = {
      {"label", {"label", "customWorkspace", "retries"}},
      {"node", {"label", "customWorkspace", "retries"}},
      {"docker",
       {"image", "args", "alwaysPull", "label", "customWorkspace", "reuseNode", "registryUrl",
        "registryCredentialsId", "containerPerStageRoot"}},
      {"dockerfile",
       {"filename", "dir", "additionalBuildArgs", "args", "label", "customWorkspace", "reuseNode",
        "registryUrl", "registryCredentialsId", "containerPerStageRoot"}},
  };
  if (t.text == "none" || t.text == "any") {
    out.kind = t.text == "none" ? AgentKind::None : AgentKind::Any;
    return;
  }
  if (t.text == "kubernetes") {
    // The kubernetes plugin grows options often; accept them all.
    out.kind = AgentKind::Kubernetes;
    if (t.block) {
      for (auto& s : t.block->items) {
        Node* f = as_call(*s);
        if (!f || f->items.size() != 1) continue;
        if (auto v = literal_string(f->items[0].get())) {
          out.fields[f->text] = *v;
        } else if (f->items[0]) {
          out.fields[f->text] = to_source(*f->items[0]);
          out.field_exprs[f->text] = clone(*f->items[0]);
        }
      }
    }
    if (!out.fields.count("yaml") && !out.fields.count("yamlFile")) {
      // inheritFrom, containerTemplate, cloud: a Jenkins cloud's pod templates.
      warning(t.pos,
              "this kubernetes agent gives no pod (yaml or yamlFile): Gantry runs a pod from "
              "its spec and has no cloud pod templates (inheritFrom, containerTemplate), so "
              "the stage will fail (docs/containers.md)");
    }
    return;
  }
  auto fields_it = kFields.find(t.text);
  if (fields_it == kFields.end()) {
    error(t.pos, "Invalid agent type \"" + t.text + "\" specified" +
                     did_you_mean(t.text, kAgentTypes) + ". Must be one of [" + join(kAgentTypes) +
                     "]");
    return;
  }
  out.kind = t.text == "label"    ? AgentKind::Label
             : t.text == "node"   ? AgentKind::Node
             : t.text == "docker" ? AgentKind::Docker
                                  : AgentKind::Dockerfile;
  const auto& allowed = fields_it->second;
  auto set_field = [&](const std::string& key, const Node& value, Pos pos) {
    if (!contains(allowed, key)) {
      error(pos, "Invalid config option \"" + key + "\" for agent type \"" + t.text +
                     "\". Valid config options are [" + join(allowed) + "]");
      return;
    }
    std::string text;
    if (auto s = literal_string(&value)) {
      text = *s;
    } else if (auto b = literal_bool(&value)) {
      text = *b ? "true" : "false";
    } else if (value.kind == NodeKind::Int) {
      text = value.text;
    } else {
      text = to_source(value);
      out.field_exprs[key] = clone(value);
    }
    if (key == "label") {
      out.label = text;
      if (!literal_string(&value)) out.label_expr = clone(value);
    } else if (key == "reuseNode") {
      out.reuse_node = text == "true";
    }
    out.fields[key] = text;
  };
  // Short forms: `label 'x'`, `docker 'image'`, `dockerfile true`.
  if (!t.block) {
    if (t.items.size() == 1 && t.named.empty()) {
      const Node& v = *t.items[0];
      if (t.text == "label" || t.text == "node") {
        set_field("label", v, v.pos);
      } else if (t.text == "docker") {
        set_field("image", v, v.pos);
      } else if (t.text == "dockerfile") {
        if (!literal_bool(&v)) error(v.pos, "dockerfile takes true or a block");
      }
      return;
    }
    if (!t.named.empty() && t.items.empty()) {
      for (auto& arg : t.named) set_field(arg.name, *arg.value, arg.pos);
      return;
    }
    error(t.pos, "Not a valid definition for agent type \"" + t.text + "\": give " +
                     (t.text == "docker" ? "an image" : "a value") + " or a block");
    return;
  }
  std::set<std::string> seen;
  for (auto& s : t.block->items) {
    Node* f = as_call(*s);
    if (!f || f->items.size() != 1 || !f->named.empty() || f->block) {
      error(s->pos, "expected 'name value' in the " + t.text + " agent block");
      continue;
    }
    if (!seen.insert(f->text).second) {
      // Jenkins keeps the last value without complaint; say so.
      warning(f->pos, "\"" + f->text + "\" is given again in the " + t.text +
                          " agent: this value replaces the earlier one");
    }
    set_field(f->text, *f->items[0], f->pos);
  }
  if (t.text == "docker" && !out.fields.count("image")) {
    error(t.pos, "the docker agent needs an image");
  }
}

}  // namespace gantry::pipelines
