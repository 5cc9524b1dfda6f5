// Statement productions of the Groovy parser.
#include <cctype>

#include "parser.hpp"

namespace gantry::pipelines {
namespace {

bool is_modifier(std::string_view w) {
  return w == "final" || w == "static" || w == "private" || w == "public" || w == "protected" ||
         w == "synchronized" || w == "abstract" || w == "transient" || w == "volatile";
}

// Groovy 2's keywords (the lexer reads them as names).
bool is_reserved_word(std::string_view w) {
  static constexpr std::string_view kWords[] = {
      "as",     "assert",  "break",   "case",       "catch",  "class",   "const",      "continue",
      "def",    "default", "do",      "else",       "enum",   "extends", "false",      "finally",
      "for",    "goto",    "if",      "implements", "import", "in",      "instanceof", "interface",
      "new",    "null",    "package", "return",     "super",  "switch",  "this",       "throw",
      "throws", "trait",   "true",    "try",        "while"};
  for (auto k : kWords) {
    if (k == w) return true;
  }
  return false;
}

bool is_primitive(std::string_view w) {
  return w == "int" || w == "long" || w == "boolean" || w == "double" || w == "float" ||
         w == "char" || w == "byte" || w == "short" || w == "void";
}

// Declarations start with def, a modifier, a primitive or a type name
// (capitalised, by Groovy convention); anything else is an expression, so the
// parser does not try (and backtrack from) a declaration first.
bool may_start_declaration(std::string_view w) {
  return w == "def" || is_modifier(w) || is_primitive(w) ||
         std::isupper(static_cast<unsigned char>(w[0]));
}

}  // namespace

NodePtr Parser::parse_statement() {
  if (tok_.kind == Tok::Error) {
    error_here(tok_.value);
    next();
    return nullptr;
  }
  if (!enter(tok_.pos)) return nullptr;
  NodePtr result;
  if (tok_.kind == Tok::Ident) {
    const std::string& w = tok_.value;
    if (w == "if") {
      result = parse_if();
    } else if (w == "while") {
      result = parse_while();
    } else if (w == "for") {
      result = parse_for();
    } else if (w == "try") {
      result = parse_try();
    } else if (w == "switch") {
      result = parse_switch();
    } else if (w == "return" || w == "throw") {
      auto node = make_node(w == "return" ? NodeKind::Return : NodeKind::Throw, tok_.pos);
      next();
      if (!at_statement_end()) {
        node->lhs = parse_expression();
        if (!node->lhs) node.reset();
      }
      result = std::move(node);
    } else if (w == "break" || w == "continue") {
      result = make_node(w == "break" ? NodeKind::Break : NodeKind::Continue, tok_.pos);
      next();
      if (tok_.kind == Tok::Ident && !newline_before_) {  // a label
        result->text = tok_.value;
        next();
      }
    } else if (w == "import") {
      result = parse_import_or_package(NodeKind::Import);
    } else if (w == "package") {
      result = parse_import_or_package(NodeKind::Package);
    } else if (w == "class" || w == "interface" || w == "enum" || w == "trait") {
      result = parse_class();
    } else if (w == "assert") {
      auto call = make_node(NodeKind::Call, tok_.pos, "assert");
      next();
      call->items.push_back(parse_expression());
      if (!call->items.back()) {
        call.reset();
      } else if (accept_op(":") || accept_op(",")) {
        call->items.push_back(parse_expression());
        if (!call->items.back()) call.reset();
      }
      result = std::move(call);
    } else if (lexer_.next_char_on_line() == ':' && lexer_.char_after_next_on_line() != ':') {
      // `outer: for (...)`: a labelled statement, for break/continue outer.
      auto label = make_node(NodeKind::Label, tok_.pos, w);
      next();
      next();  // ':'
      label->lhs = parse_statement();
      result = label->lhs ? std::move(label) : nullptr;
    } else if (may_start_declaration(w)) {
      Cursor c = save();
      size_t errors = diags_.error_count();
      result = try_parse_declaration();
      if (!result && diags_.error_count() == errors) {
        restore(c);
        result = parse_expression_statement();
      }
    } else {
      result = parse_expression_statement();
    }
  } else if (is_op("@")) {
    result = parse_annotation();
  } else if (is_op("{") && lexer_.rest_of_line_contains("->")) {
    // `{ x -> ... }` as a statement is a closure (a closure's last value).
    result = parse_expression_statement();
  } else if (is_op("{")) {
    Pos open = tok_.pos;
    next();
    int saved = paren_depth_;
    paren_depth_ = 0;
    result = parse_statements_until_close(open, "block");
    paren_depth_ = saved;
  } else if (is_op("(")) {
    result = parse_multiple_assignment();
    if (!result) result = parse_expression_statement();
  } else {
    result = parse_expression_statement();
  }
  leave();
  return result;
}

// `(a, b) = [b, a]`: an assignment to several names (a List target); null,
// with nothing consumed, when the statement is something else.
NodePtr Parser::parse_multiple_assignment() {
  Cursor c = save();
  Pos pos = tok_.pos;
  next();  // '('
  auto targets = make_node(NodeKind::List, pos);
  while (tok_.kind == Tok::Ident) {
    targets->items.push_back(make_node(NodeKind::Ident, tok_.pos, tok_.value));
    next();
    if (!accept_op(",")) break;
  }
  if (targets->items.size() < 2 || !is_op(")")) {
    restore(c);
    return nullptr;
  }
  next();
  if (!is_op("=")) {
    restore(c);
    return nullptr;
  }
  auto assign = make_node(NodeKind::Assign, tok_.pos, "=");
  next();
  assign->lhs = std::move(targets);
  assign->rhs = parse_expression();
  if (!assign->rhs) return nullptr;
  auto stmt = make_node(NodeKind::ExprStmt, pos);
  stmt->lhs = std::move(assign);
  return stmt;
}

NodePtr Parser::parse_expression_statement() {
  Pos pos = tok_.pos;
  NodePtr expr = parse_command_expression();
  if (!expr) return nullptr;
  auto stmt = make_node(NodeKind::ExprStmt, pos);
  stmt->lhs = std::move(expr);
  return stmt;
}

// An expression that may start with a paren-less call: `sh 'make'`,
// `stage('x') { ... }`, `foo.bar = 1`, `x == y`.
NodePtr Parser::parse_command_expression() {
  if (tok_.kind != Tok::Ident || tok_.value == "new" || tok_.value == "true" ||
      tok_.value == "false" || tok_.value == "null") {
    return parse_expression();
  }
  NodePtr base = make_node(NodeKind::Ident, tok_.pos, tok_.value);
  next();
  // Allman style: `pipeline` / `stage('x')` with the '{' on the next line.
  if (is_op("{") && newline_before_) newline_before_ = false;
  base = parse_postfix(std::move(base), true);
  if (base && base->kind == NodeKind::Call && is_op("{") && newline_before_ && !base->block) {
    newline_before_ = false;
    base = parse_postfix(std::move(base), false);
  }
  if (!base) return nullptr;
  if (at_statement_end()) return base;
  // Re-enter the precedence climb with `base` as the leftmost operand.
  return continue_expression(std::move(base));
}

NodePtr Parser::parse_block_or_statement() {
  if (is_op("{")) {
    Pos open = tok_.pos;
    next();
    int saved = paren_depth_;
    paren_depth_ = 0;
    NodePtr b = parse_statements_until_close(open, "block");
    paren_depth_ = saved;
    return b;
  }
  if (at_statement_end() && tok_.kind == Tok::Semi) {
    next();
    return make_node(NodeKind::Block, tok_.pos);
  }
  auto block = make_node(NodeKind::Block, tok_.pos);
  NodePtr stmt = parse_statement();
  if (!stmt) return nullptr;
  block->items.push_back(std::move(stmt));
  return block;
}

NodePtr Parser::parse_condition(std::string_view keyword) {
  Pos open = tok_.pos;
  if (!expect_op("(", "after '" + std::string(keyword) + "'")) return nullptr;
  ++paren_depth_;
  NodePtr cond = parse_expression();
  --paren_depth_;
  if (!cond || !expect_close(")", open)) return nullptr;
  return cond;
}

NodePtr Parser::parse_if() {
  auto node = make_node(NodeKind::If, tok_.pos);
  next();
  node->lhs = parse_condition("if");
  if (!node->lhs) return nullptr;
  node->rhs = parse_block_or_statement();
  if (!node->rhs) return nullptr;
  if (is_ident("else")) {
    next();
    if (is_ident("if")) {
      node->third = parse_if();
    } else {
      node->third = parse_block_or_statement();
    }
    if (!node->third) return nullptr;
  }
  return node;
}

NodePtr Parser::parse_while() {
  auto node = make_node(NodeKind::While, tok_.pos);
  next();
  node->lhs = parse_condition("while");
  if (!node->lhs) return nullptr;
  node->rhs = parse_block_or_statement();
  return node->rhs ? std::move(node) : nullptr;
}

NodePtr Parser::parse_for() {
  auto node = make_node(NodeKind::For, tok_.pos);
  next();
  Pos open = tok_.pos;
  if (!expect_op("(", "after 'for'")) return nullptr;
  ++paren_depth_;
  // for (x in y) / for (def x in y) / for (Type x : y)
  Cursor c = save();
  std::string type;
  if (is_ident("def") || is_ident("final")) next();
  if (tok_.kind == Tok::Ident) {
    std::string name = tok_.value;
    next();
    if (tok_.kind == Tok::Ident && !is_ident("in")) {  // typed variable
      name = tok_.value;
      next();
    } else if (is_op("<") || is_op(".") || is_op("[")) {
      restore(c);
      if (parse_type(type) && tok_.kind == Tok::Ident) {
        name = tok_.value;
        next();
      }
    }
    if (is_ident("in") || is_op(":")) {
      next();
      node->text = name;
      node->lhs = parse_expression();
      --paren_depth_;
      if (!node->lhs || !expect_close(")", open)) return nullptr;
      node->rhs = parse_block_or_statement();
      return node->rhs ? std::move(node) : nullptr;
    }
  }
  restore(c);
  // Classic for (init; cond; update): items[0] is the init (or null), then the updates.
  if (!is_op(";") && tok_.kind != Tok::Semi) {
    NodePtr init = try_parse_declaration();
    if (!init) init = parse_expression();
    if (!init) return nullptr;
    node->items.push_back(std::move(init));
  } else {
    node->items.push_back(nullptr);
  }
  if (tok_.kind != Tok::Semi) {
    error_here("expected 'in', ':' or ';' in for loop, found " + describe(tok_));
    return nullptr;
  }
  next();
  if (tok_.kind != Tok::Semi) {
    node->lhs = parse_expression();
    if (!node->lhs) return nullptr;
  }
  if (tok_.kind != Tok::Semi) {
    error_here("expected ';' in for loop, found " + describe(tok_));
    return nullptr;
  }
  next();
  while (!is_op(")") && tok_.kind != Tok::End) {
    NodePtr update = parse_expression();
    if (!update) return nullptr;
    node->items.push_back(std::move(update));
    if (!accept_op(",")) break;
  }
  --paren_depth_;
  if (!expect_close(")", open)) return nullptr;
  node->rhs = parse_block_or_statement();
  return node->rhs ? std::move(node) : nullptr;
}

NodePtr Parser::parse_try() {
  auto node = make_node(NodeKind::Try, tok_.pos);
  next();
  node->rhs = parse_braced_block("try block");
  if (!node->rhs) return nullptr;
  while (is_ident("catch")) {
    auto c = make_node(NodeKind::Catch, tok_.pos);
    next();
    Pos open = tok_.pos;
    if (!expect_op("(", "after 'catch'")) return nullptr;
    ++paren_depth_;
    std::string type;
    if (tok_.kind == Tok::Ident) {
      std::string first;
      parse_type(first);
      while (accept_op("|")) {
        std::string more;
        parse_type(more);
        first += "|" + more;
      }
      if (tok_.kind == Tok::Ident) {
        c->type_name = first;
        c->text = tok_.value;
        next();
      } else {
        c->text = first;
      }
    }
    --paren_depth_;
    if (!expect_close(")", open)) return nullptr;
    c->rhs = parse_braced_block("catch block");
    if (!c->rhs) return nullptr;
    node->items.push_back(std::move(c));
  }
  if (is_ident("finally")) {
    next();
    node->third = parse_braced_block("finally block");
    if (!node->third) return nullptr;
  }
  if (node->items.empty() && !node->third) {
    error_at(node->pos, "'try' needs a 'catch' or 'finally' block");
  }
  return node;
}

NodePtr Parser::parse_braced_block(std::string_view what) {
  if (!is_op("{")) {
    error_here("expected '{' to start the " + std::string(what) + ", found " + describe(tok_));
    return nullptr;
  }
  Pos open = tok_.pos;
  next();
  int saved = paren_depth_;
  paren_depth_ = 0;
  NodePtr b = parse_statements_until_close(open, what);
  paren_depth_ = saved;
  return b;
}

NodePtr Parser::parse_switch() {
  auto node = make_node(NodeKind::Switch, tok_.pos);
  next();
  node->lhs = parse_condition("switch");
  if (!node->lhs) return nullptr;
  Pos open = tok_.pos;
  if (!expect_op("{", "to start the switch body")) return nullptr;
  int saved = paren_depth_;
  paren_depth_ = 0;
  while (!is_op("}") && tok_.kind != Tok::End) {
    if (tok_.kind == Tok::Semi) {
      next();
      continue;
    }
    auto kase = make_node(NodeKind::Case, tok_.pos);
    if (is_ident("case")) {
      next();
      ++paren_depth_;
      kase->lhs = parse_ternary();
      --paren_depth_;
      if (!kase->lhs) break;
    } else if (is_ident("default")) {
      next();
    } else {
      error_here("expected 'case' or 'default' in switch, found " + describe(tok_));
      break;
    }
    if (!expect_op(":", "after the case value")) break;
    while (!is_ident("case") && !is_ident("default") && !is_op("}") && tok_.kind != Tok::End) {
      if (tok_.kind == Tok::Semi) {
        next();
        continue;
      }
      NodePtr stmt = parse_statement();
      bool ok = stmt != nullptr;
      if (ok) kase->items.push_back(std::move(stmt));
      if (!ok || !at_statement_end()) {
        if (ok) error_here(unexpected_after_statement());
        recover_statement();
      }
    }
    node->items.push_back(std::move(kase));
  }
  paren_depth_ = saved;
  if (!expect_close("}", open)) return nullptr;
  return node;
}

NodePtr Parser::parse_import_or_package(NodeKind kind) {
  auto node = make_node(kind, tok_.pos);
  next();
  if (is_ident("static")) next();
  std::string name;
  while (tok_.kind == Tok::Ident || is_op("*")) {
    name += tok_.value;
    next();
    if (!is_op(".") || newline_before_) break;
    name += '.';
    next();
  }
  if (name.empty()) {
    error_here("expected a name after '" +
               std::string(kind == NodeKind::Import ? "import" : "package") + "'");
    return nullptr;
  }
  if (is_ident("as") && !newline_before_) {
    next();
    if (tok_.kind == Tok::Ident) next();
  }
  node->text = name;
  return node;
}

NodePtr Parser::parse_annotation() {
  auto node = make_node(NodeKind::Annotation, tok_.pos);
  next();  // '@'
  std::string name;
  if (!parse_type(name)) {
    error_here("expected an annotation name after '@'");
    return nullptr;
  }
  node->text = name;
  if (is_op("(") && !newline_before_) parse_call_args(*node, ")");
  // `@Library('x') _` annotates the placeholder `_`; otherwise the next statement.
  if (tok_.kind == Tok::End || is_op("}")) return node;
  NodePtr target = parse_statement();
  if (!target) return nullptr;
  node->lhs = std::move(target);
  return node;
}

// Classes: fields, methods and constructors are parsed as members; the
// bodies of interfaces, enums and traits are skipped with balanced braces.
NodePtr Parser::parse_class() {
  auto node = make_node(NodeKind::ClassDef, tok_.pos);
  bool plain = is_ident("class");
  next();
  if (tok_.kind != Tok::Ident) {
    error_here("expected a class name");
    return nullptr;
  }
  node->text = tok_.value;
  next();
  while (!is_op("{") && tok_.kind != Tok::End && tok_.kind != Tok::Error) {
    if (is_ident("extends")) {
      next();
      std::string super;
      if (parse_type(super)) node->type_name = super;
      continue;
    }
    next();
  }
  if (!is_op("{")) {
    error_here("expected '{' to start the class body");
    return nullptr;
  }
  Pos open = tok_.pos;
  if (plain) {
    next();
    int saved = paren_depth_;
    paren_depth_ = 0;
    while (!is_op("}") && tok_.kind != Tok::End) {
      if (tok_.kind == Tok::Semi || tok_.kind == Tok::Newline) {
        next();
        continue;
      }
      size_t errors = diags_.error_count();
      NodePtr member = parse_member(node->text);
      if (member) node->items.push_back(std::move(member));
      if (diags_.error_count() != errors) recover_statement();
    }
    paren_depth_ = saved;
    if (!expect_close("}", open)) return nullptr;
    return node;
  }
  int depth = 0;
  do {
    if (tok_.kind == Tok::Error) {
      error_here(tok_.value);
      return nullptr;
    }
    if (is_op("{")) ++depth;
    if (is_op("}")) --depth;
    next();
  } while (depth > 0 && tok_.kind != Tok::End);
  if (depth > 0) {
    error_at(open, "class body is not closed with '}'");
    return nullptr;
  }
  return node;
}

// A class member: a field, a method, a constructor (`Name(args) { }`) or a
// static initialiser block (skipped).
NodePtr Parser::parse_member(const std::string& class_name) {
  bool is_static = false;
  while (is_op("@")) {
    next();
    std::string ignored;
    parse_type(ignored);
    if (is_op("(")) {
      Node args;
      parse_call_args(args, ")");
    }
  }
  Cursor c = save();
  while (tok_.kind == Tok::Ident && is_modifier(tok_.value)) {
    if (tok_.value == "static") is_static = true;
    next();
  }
  if (is_ident(class_name)) {
    Cursor at_name = save();
    Pos pos = tok_.pos;
    next();
    if (is_op("(")) {
      NodePtr ctor = parse_method_rest(pos, class_name, "<init>");
      return ctor;
    }
    restore(at_name);
  }
  if (is_op("{")) {
    parse_braced_block("static initialiser");
    return nullptr;
  }
  restore(c);
  NodePtr member = try_parse_declaration();
  if (!member) {
    error_here("expected a field, method or constructor in the class body, found " +
               describe(tok_));
    return nullptr;
  }
  member->is_static = is_static;
  for (auto& more : member->items) {
    if (member->kind == NodeKind::VarDecl && more) more->is_static = is_static;
  }
  return member;
}

bool Parser::parse_type(std::string& out) {
  if (tok_.kind != Tok::Ident) return false;
  out = tok_.value;
  next();
  while (is_op(".") && !newline_before_) {
    Cursor c = save();
    next();
    if (tok_.kind != Tok::Ident) {
      restore(c);
      break;
    }
    out += "." + tok_.value;
    next();
  }
  if (is_op("<") && !newline_before_) {
    int depth = 0;
    do {
      if (is_op("<")) ++depth;
      if (is_op(">")) --depth;
      if (is_op(">>")) depth -= 2;
      if (is_op(">>>")) depth -= 3;
      if (tok_.kind != Tok::Ident && tok_.kind != Tok::Op) return false;
      out += tok_.value;
      next();
    } while (depth > 0 && tok_.kind != Tok::End);
  }
  while (is_op("[") && !newline_before_) {
    Cursor c = save();
    next();
    if (!is_op("]")) {
      restore(c);
      break;
    }
    next();
    out += "[]";
  }
  return true;
}

// `def x = 1`, `String s`, `final List<String> xs = []`, `def (a, b) = f()`,
// and method definitions `def name(args) { }` / `void name() { }`. Returns
// null (without consuming anything meaningful) when the statement is not one.
NodePtr Parser::try_parse_declaration() {
  Pos pos = tok_.pos;
  bool has_def = false;
  bool has_modifier = false;
  while (tok_.kind == Tok::Ident && (is_modifier(tok_.value) || tok_.value == "def")) {
    if (tok_.value == "def") has_def = true;
    has_modifier = true;
    next();
  }
  std::string type;
  if (has_def && is_op("(")) {
    // Multiple assignment: def (a, b) = [1, 2]
    Pos open = tok_.pos;
    next();
    auto decl = make_node(NodeKind::VarDecl, pos);
    while (tok_.kind == Tok::Ident) {
      std::string name = tok_.value;
      next();
      if (tok_.kind == Tok::Ident) {
        name = tok_.value;
        next();
      }
      decl->params.push_back(name);
      if (!accept_op(",")) break;
    }
    if (!expect_close(")", open)) return nullptr;
    decl->text = decl->params.empty() ? "" : decl->params.front();
    if (accept_op("=")) {
      decl->lhs = paren_depth_ == 0 ? parse_command_expression() : parse_expression();
      if (!decl->lhs) return nullptr;
    }
    return decl;
  }
  if (tok_.kind != Tok::Ident) {
    if (has_modifier) error_here("expected a name after 'def', found " + describe(tok_));
    return nullptr;
  }
  std::string first = tok_.value;
  bool typed = is_primitive(first) || std::isupper(static_cast<unsigned char>(first[0]));
  Cursor before_type = save();
  if (!parse_type(type)) return nullptr;
  std::string name;
  if (tok_.kind == Tok::Ident && !newline_before_ &&
      (typed || has_modifier || type.find('<') != std::string::npos)) {
    name = tok_.value;
    next();
  } else if (has_modifier) {
    // `def x = ...`: what we read as a type was the name.
    restore(before_type);
    name = tok_.value;
    next();
    type.clear();
  } else {
    return nullptr;
  }
  if (is_op("(") && !newline_before_) return parse_method_rest(pos, name, type);
  if (!has_modifier && !is_op("=") && !is_op(",") && !at_statement_end()) return nullptr;
  if (is_reserved_word(name)) {
    // Groovy refuses these as names (`def package = 'x'`): so does Gantry.
    error_at(pos, "unexpected token: " + name + " ('" + name +
                      "' is a reserved word and cannot name a variable)");
    return nullptr;
  }
  auto decl = make_node(NodeKind::VarDecl, pos, name);
  decl->type_name = type;
  if (accept_op("=")) {
    decl->lhs = paren_depth_ == 0 ? parse_command_expression() : parse_expression();
    if (!decl->lhs) return nullptr;
  }
  // `def a = 1, b = 2`: the further declarations are the first's items.
  while (is_op(",") && !newline_before_) {
    next();
    if (tok_.kind != Tok::Ident) break;
    auto more = make_node(NodeKind::VarDecl, tok_.pos, tok_.value);
    more->type_name = type;
    next();
    if (accept_op("=")) {
      more->lhs = parse_expression();
      if (!more->lhs) return nullptr;
    }
    decl->items.push_back(std::move(more));
  }
  return decl;
}

NodePtr Parser::parse_method_rest(Pos pos, std::string name, std::string type) {
  auto method = make_node(NodeKind::MethodDef, pos, std::move(name));
  method->type_name = std::move(type);
  Pos open = tok_.pos;
  next();  // '('
  ++paren_depth_;
  while (!is_op(")") && tok_.kind != Tok::End) {
    std::string ptype;
    if (!parse_type(ptype)) {
      --paren_depth_;
      error_here("expected a parameter name, found " + describe(tok_));
      return nullptr;
    }
    std::string pname = ptype;
    if (is_op("..") && !newline_before_) {  // `String... args`: varargs
      next();
      accept_op(".");
      method->spread = true;
    }
    bool typed = false;
    if (tok_.kind == Tok::Ident) {
      pname = tok_.value;
      typed = true;
      next();
    }
    method->params.push_back(pname);
    // named[i].name: parameter i's declared type ("" for def or none).
    method->named.push_back(NamedArg{typed && ptype != "def" ? ptype : "", tok_.pos, nullptr});
    // items[i]: parameter i's default value, or null.
    if (accept_op("=")) {
      NodePtr def = parse_expression();
      if (!def) {
        --paren_depth_;
        return nullptr;
      }
      method->items.push_back(std::move(def));
    } else {
      method->items.push_back(nullptr);
    }
    if (!accept_op(",")) break;
  }
  --paren_depth_;
  if (!expect_close(")", open)) return nullptr;
  if (is_ident("throws")) {
    next();
    std::string t;
    while (parse_type(t) && accept_op(",")) {
    }
  }
  method->rhs = parse_braced_block("method body");
  return method->rhs ? std::move(method) : nullptr;
}

}  // namespace gantry::pipelines
