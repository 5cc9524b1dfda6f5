// The when, input and post directives of stages and matrices.
#include <algorithm>
#include <map>
#include <regex>

#include "gantry/pipelines/expression.hpp"
#include "model_builder_impl.hpp"

namespace gantry::pipelines {
namespace {

const std::vector<std::string_view> kWhenConditions = {
    "allOf",          "anyOf",     "branch",      "buildingTag", "changeRequest",
    "changelog",      "changeset", "environment", "equals",      "expression",
    "isRestartedRun", "not",       "tag",         "triggeredBy"};

const std::vector<std::string_view> kPostConditions = {
    "always",       "changed",  "fixed",   "regression", "aborted", "success",
    "unsuccessful", "unstable", "failure", "notBuilt",   "cleanup"};

WhenKind when_kind(std::string_view name) {
  static const std::map<std::string_view, WhenKind> kKinds = {
      {"branch", WhenKind::Branch},
      {"tag", WhenKind::Tag},
      {"buildingTag", WhenKind::BuildingTag},
      {"changeRequest", WhenKind::ChangeRequest},
      {"changeset", WhenKind::Changeset},
      {"changelog", WhenKind::Changelog},
      {"environment", WhenKind::Environment},
      {"equals", WhenKind::Equals},
      {"expression", WhenKind::Expression},
      {"triggeredBy", WhenKind::TriggeredBy},
      {"isRestartedRun", WhenKind::IsRestartedRun},
      {"allOf", WhenKind::AllOf},
      {"anyOf", WhenKind::AnyOf},
      {"not", WhenKind::Not}};
  return kKinds.at(name);
}

}  // namespace

// ---- when

void ModelBuilder::section_when(Node& call, std::optional<WhenBlock>& out) {
  if (!require_block(call, "when")) return;
  WhenBlock w;
  w.pos = call.pos;
  size_t errors = diags_.error_count();
  if (call.block->items.empty()) {
    error(call.pos, "Empty when closure, remove the property or add some content.");
    return;
  }
  for (auto& stmt : call.block->items) {
    Node* c = as_call(*stmt);
    if (c && (c->text == "beforeAgent" || c->text == "beforeInput" || c->text == "beforeOptions")) {
      auto b = c->items.size() == 1 && c->named.empty() && !c->block
                   ? literal_bool(c->items[0].get())
                   : std::nullopt;
      if (!b) {
        error(c->pos, c->text + " takes true or false");
        continue;
      }
      (c->text == "beforeAgent"   ? w.before_agent
       : c->text == "beforeInput" ? w.before_input
                                  : w.before_options) = *b;
      continue;
    }
    if (!c) {
      error(stmt->pos, "Expected a when condition, found " +
                           std::string(kind_name(stmt->lhs ? stmt->lhs->kind : stmt->kind)) +
                           "; wrap expressions in expression { ... }");
      continue;
    }
    When cond;
    if (parse_condition(*c, cond)) w.conditions.push_back(std::move(cond));
  }
  if (w.conditions.empty() && diags_.error_count() == errors) {
    error(call.pos, "Empty when closure: it has modifiers but no condition");
  }
  out = std::move(w);
}

bool ModelBuilder::parse_condition(Node& c, When& out) {
  if (std::find(kWhenConditions.begin(), kWhenConditions.end(), c.text) == kWhenConditions.end()) {
    error(c.pos, "Unknown conditional " + c.text + did_you_mean(c.text, kWhenConditions) +
                     ". Valid conditionals are: " + join(kWhenConditions));
    return false;
  }
  out.kind = when_kind(c.text);
  out.pos = c.pos;
  bool nesting =
      out.kind == WhenKind::AllOf || out.kind == WhenKind::AnyOf || out.kind == WhenKind::Not;
  if (nesting) {
    if (!c.items.empty() || !c.named.empty()) {
      error(c.pos,
            "No additional arguments are allowed for children when condition \"" + c.text + "\".");
      return false;
    }
    if (!c.block || c.block->items.empty()) {
      error(c.pos, "Nested when condition \"" + c.text + "\" requires " +
                       (out.kind == WhenKind::Not ? "exactly one child condition."
                                                  : "at least one child condition."));
      return false;
    }
    if (out.kind == WhenKind::Not && c.block->items.size() != 1) {
      error(c.pos, "Nested when condition \"not\" requires exactly one child condition.");
      return false;
    }
    bool ok = true;
    for (auto& stmt : c.block->items) {
      Node* child = as_call(*stmt);
      if (!child) {
        error(stmt->pos, "Expected a when condition inside " + c.text);
        ok = false;
        continue;
      }
      When w;
      if (parse_condition(*child, w)) {
        out.children.push_back(std::move(w));
      } else {
        ok = false;
      }
    }
    return ok;
  }
  if (out.kind == WhenKind::Expression) {
    if (!c.block || !c.items.empty() || !c.named.empty()) {
      error(c.pos, "expression needs a block: expression { return ... }");
      return false;
    }
    check_groovy(*c.block, names_, diags_);
    out.expression = std::move(c.block);
    return true;
  }
  if (c.block) {
    error(c.pos, "No children when conditions are allowed for when condition \"" + c.text + "\".");
    return false;
  }
  const Signature* sig = find_when_signature(c.text);
  size_t errors = diags_.error_count();
  check_duplicate_named(c);
  if (sig) check_signature(c, *sig, "when condition");
  if (diags_.error_count() != errors) return false;
  for (size_t i = 0; i < c.items.size() && sig && i < sig->params.size(); ++i) {
    out.args[std::string(sig->params[i].name)] = std::move(c.items[i]);
  }
  for (auto& arg : c.named) out.args[arg.name] = std::move(arg.value);
  bool regexp = false;
  if (auto it = out.args.find("comparator"); it != out.args.end()) {
    // Jenkins matches the comparator's name case-insensitively.
    if (auto v = literal_string(it->second.get())) {
      std::string upper = *v;
      for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      if (upper != "EQUALS" && upper != "GLOB" && upper != "REGEXP") {
        error(it->second->pos, "comparator must be one of EQUALS, GLOB, REGEXP");
        return false;
      }
      it->second->text = upper;
      regexp = upper == "REGEXP";
    }
  }
  if (out.kind == WhenKind::Changelog || regexp) {
    auto it = out.args.find("pattern");
    if (it != out.args.end()) {
      if (auto p = literal_string(it->second.get())) {
        try {
          std::regex re(*p, std::regex::ECMAScript);
        } catch (const std::regex_error&) {
          error(it->second->pos, "\"" + *p + "\" is not a valid regular expression.");
          return false;
        }
      }
    }
  }
  return true;
}

// ---- input

void ModelBuilder::section_input(Node& call, std::optional<Input>& out) {
  if (!require_block(call, "input")) return;
  Input in;
  in.pos = call.pos;
  std::set<std::string> seen;
  for (auto& stmt : call.block->items) {
    Node* c = as_call(*stmt);
    static const std::set<std::string> kFields = {
        "message", "id", "ok", "submitter", "submitterParameter", "parameters"};
    if (!c || !kFields.count(c->text)) {
      error(stmt->pos, "Not a valid field for input: \"" + (c ? c->text : to_source(*stmt)) + "\"");
      continue;
    }
    if (!seen.insert(c->text).second) {
      error(c->pos, "Multiple occurrences of the " + c->text + " section");
      continue;
    }
    if (c->text == "parameters") {
      section_parameters(*c, in.parameters);
      continue;
    }
    if (c->items.size() != 1 || !c->named.empty() || c->block) {
      error(c->pos, "input field " + c->text + " takes one value");
      continue;
    }
    if (c->text == "message") {
      in.message = std::move(c->items[0]);
      continue;
    }
    auto v = literal_string(c->items[0].get());
    std::string text = v ? *v : to_source(*c->items[0]);
    if (c->text == "id") in.id = text;
    if (c->text == "ok") in.ok = text;
    if (c->text == "submitter") in.submitter = text;
    if (c->text == "submitterParameter") in.submitter_parameter = text;
  }
  if (!in.message) {
    error(call.pos, "No message specified for input");
    return;
  }
  out = std::move(in);
}

// ---- post

void ModelBuilder::section_post(Node& call, std::vector<PostBlock>& out) {
  if (!require_block(call, "post")) return;
  if (call.block->items.empty()) {
    error(call.pos, "post can not be empty");
    return;
  }
  std::set<std::string> seen;
  for (auto& stmt : call.block->items) {
    Node* c = as_call(*stmt);
    if (!c || !c->block || !c->items.empty() || !c->named.empty()) {
      error(stmt->pos,
            "The 'post' section can only contain build condition names with code blocks. "
            "Valid condition names are [" +
                join(kPostConditions) + "]");
      continue;
    }
    auto it = std::find(kPostConditions.begin(), kPostConditions.end(), c->text);
    if (it == kPostConditions.end()) {
      error(c->pos, "Invalid condition \"" + c->text + "\"" +
                        did_you_mean(c->text, kPostConditions) + " - valid conditions are [" +
                        join(kPostConditions) + "]");
      continue;
    }
    if (!seen.insert(c->text).second) {
      error(c->pos, "Duplicate build condition name: \"" + c->text + "\"");
      continue;
    }
    PostBlock block;
    block.condition = static_cast<PostCondition>(it - kPostConditions.begin());
    block.pos = c->pos;
    parse_steps_body(*c->block, block.steps, 0);
    out.push_back(std::move(block));
  }
  std::sort(out.begin(), out.end(),
            [](const PostBlock& a, const PostBlock& b) { return a.condition < b.condition; });
}

}  // namespace gantry::pipelines
