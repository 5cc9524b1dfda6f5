#include "gantry/pipelines/ast.hpp"

#include <vector>

namespace gantry::pipelines {

// ---- tree helpers

NodePtr clone(const Node& n) {
  auto c = std::make_unique<Node>(n.kind, n.pos, n.text);
  c->type_name = n.type_name;
  if (n.lhs) c->lhs = clone(*n.lhs);
  if (n.rhs) c->rhs = clone(*n.rhs);
  if (n.third) c->third = clone(*n.third);
  if (n.block) c->block = clone(*n.block);
  c->items.reserve(n.items.size());
  for (const auto& item : n.items) c->items.push_back(item ? clone(*item) : nullptr);
  for (const auto& arg : n.named) {
    c->named.push_back(NamedArg{arg.name, arg.pos, arg.value ? clone(*arg.value) : nullptr,
                                arg.key ? clone(*arg.key) : nullptr});
  }
  c->params = n.params;
  c->parens = n.parens;
  c->grouped = n.grouped;
  c->safe = n.safe;
  c->spread = n.spread;
  c->postfix = n.postfix;
  c->big = n.big;
  c->is_static = n.is_static;
  return c;
}

const char* kind_name(NodeKind kind) {
  switch (kind) {
    case NodeKind::Null:
      return "null";
    case NodeKind::Bool:
      return "boolean";
    case NodeKind::Int:
      return "integer";
    case NodeKind::Float:
      return "number";
    case NodeKind::String:
      return "string";
    case NodeKind::GString:
      return "interpolated string";
    case NodeKind::List:
      return "list";
    case NodeKind::Map:
      return "map";
    case NodeKind::Ident:
      return "name";
    case NodeKind::Property:
      return "property access";
    case NodeKind::Index:
      return "index expression";
    case NodeKind::Call:
      return "method call";
    case NodeKind::New:
      return "'new' expression";
    case NodeKind::Closure:
      return "closure";
    case NodeKind::Unary:
      return "unary expression";
    case NodeKind::Binary:
      return "binary expression";
    case NodeKind::Ternary:
      return "conditional expression";
    case NodeKind::Assign:
      return "assignment";
    case NodeKind::Cast:
      return "cast";
    case NodeKind::MethodRef:
      return "method reference";
    case NodeKind::Dollar:
      return "bare ${...}";
    case NodeKind::ExprStmt:
      return "expression";
    case NodeKind::VarDecl:
      return "variable declaration";
    case NodeKind::If:
      return "if statement";
    case NodeKind::While:
      return "while loop";
    case NodeKind::For:
      return "for loop";
    case NodeKind::Try:
      return "try statement";
    case NodeKind::Catch:
      return "catch block";
    case NodeKind::Switch:
      return "switch statement";
    case NodeKind::Case:
      return "case";
    case NodeKind::Return:
      return "return statement";
    case NodeKind::Throw:
      return "throw statement";
    case NodeKind::Break:
      return "break";
    case NodeKind::Continue:
      return "continue";
    case NodeKind::Block:
      return "block";
    case NodeKind::MethodDef:
      return "method definition";
    case NodeKind::ClassDef:
      return "class definition";
    case NodeKind::Import:
      return "import";
    case NodeKind::Package:
      return "package declaration";
    case NodeKind::Annotation:
      return "annotation";
    case NodeKind::Label:
      return "label";
  }
  return "node";
}

namespace {

void quote(std::string& out, const std::string& s) {
  out += '\'';
  for (char c : s) {
    if (c == '\'' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  out += '\'';
}

void render(std::string& out, const Node& n, int depth);

void render_args(std::string& out, const Node& n, int depth) {
  bool first = true;
  for (const auto& item : n.items) {
    if (!first) out += ", ";
    first = false;
    if (item) render(out, *item, depth);
  }
  for (const auto& arg : n.named) {
    if (!first) out += ", ";
    first = false;
    out += arg.name + ": ";
    if (arg.value) render(out, *arg.value, depth);
  }
}

void render(std::string& out, const Node& n, int depth) {
  if (depth > 50 || out.size() > 4096) {
    out += "...";
    return;
  }
  ++depth;
  if (n.grouped) out += '(';
  switch (n.kind) {
    case NodeKind::Null:
      out += "null";
      break;
    case NodeKind::Bool:
    case NodeKind::Int:
    case NodeKind::Float:
    case NodeKind::Ident:
      out += n.text;
      break;
    case NodeKind::String:
      quote(out, n.text);
      break;
    case NodeKind::GString:
      out += '"';
      for (const auto& part : n.items) {
        if (part->kind == NodeKind::String) {
          for (char c : part->text) {
            if (c == '"' || c == '\\' || c == '$') out += '\\';
            out += c;
          }
        } else {
          out += "${";
          render(out, *part, depth);
          out += '}';
        }
      }
      out += '"';
      break;
    case NodeKind::List:
      out += '[';
      render_args(out, n, depth);
      out += ']';
      break;
    case NodeKind::Map:
      out += '[';
      if (n.named.empty()) out += ':';
      render_args(out, n, depth);
      out += ']';
      break;
    case NodeKind::Property:
      if (n.lhs) render(out, *n.lhs, depth);
      out += n.safe ? "?." : n.spread ? "*." : ".";
      out += n.text;
      break;
    case NodeKind::Index:
      if (n.lhs) render(out, *n.lhs, depth);
      out += '[';
      if (n.rhs) render(out, *n.rhs, depth);
      out += ']';
      break;
    case NodeKind::Call:
    case NodeKind::New:
      if (n.kind == NodeKind::New) out += "new ";
      if (n.lhs) {
        render(out, *n.lhs, depth);
        out += n.safe ? "?." : ".";
      }
      out += n.text;
      out += '(';
      render_args(out, n, depth);
      out += ')';
      if (n.block) out += " { ... }";
      break;
    case NodeKind::Closure:
      out += "{ ... }";
      break;
    case NodeKind::Unary:
      if (!n.postfix) out += n.text;
      if (n.lhs) render(out, *n.lhs, depth);
      if (n.postfix) out += n.text;
      break;
    case NodeKind::Binary:
    case NodeKind::Assign:
      if (n.lhs) render(out, *n.lhs, depth);
      out += ' ' + n.text + ' ';
      if (n.rhs) render(out, *n.rhs, depth);
      break;
    case NodeKind::Ternary:
      if (n.lhs) render(out, *n.lhs, depth);
      if (n.rhs) {
        out += " ? ";
        render(out, *n.rhs, depth);
        out += " : ";
      } else {
        out += " ?: ";
      }
      if (n.third) render(out, *n.third, depth);
      break;
    case NodeKind::Cast:
      if (n.lhs) render(out, *n.lhs, depth);
      out += " as " + n.text;
      break;
    case NodeKind::MethodRef:
      if (n.lhs) render(out, *n.lhs, depth);
      out += ".&" + n.text;
      break;
    case NodeKind::Dollar:
      out += "${";
      if (n.lhs) render(out, *n.lhs, depth);
      out += '}';
      break;
    case NodeKind::ExprStmt:
      if (n.lhs) render(out, *n.lhs, depth);
      break;
    case NodeKind::Return:
      out += "return";
      if (n.lhs) {
        out += ' ';
        render(out, *n.lhs, depth);
      }
      break;
    default:
      out += kind_name(n.kind);
      break;
  }
  if (n.grouped) out += ')';
}

}  // namespace

std::string to_source(const Node& node) {
  std::string out;
  render(out, node, 0);
  return out;
}

}  // namespace gantry::pipelines
