// Expression productions of the Groovy parser, lowest precedence first.
#include <array>
#include <cctype>

#include "parser.hpp"

namespace gantry::pipelines {
namespace {

// Binary operator levels, lowest first. `as`, `in` and `instanceof` are words.
const std::array<std::vector<std::string_view>, 10> kLevels = {{
    {"||"},
    {"&&"},
    {"|"},
    {"^"},
    {"&"},
    {"==", "!=", "<=>", "===", "!==", "=~", "==~"},
    {"<", "<=", ">", ">=", "in", "!in", "instanceof", "!instanceof", "as"},
    {"<<", ">>", ">>>", "..", "..<"},
    {"+", "-"},
    {"*", "/", "%"},
}};

bool is_assign_op(const Token& t) {
  if (t.kind != Tok::Op) return false;
  static constexpr std::string_view kOps[] = {
      "=", "+=", "-=", "*=", "/=", "%=", "**=", "<<=", ">>=", ">>>=", "&=", "|=", "^="};
  for (auto op : kOps) {
    if (t.value == op) return true;
  }
  return false;
}

bool is_word_op(std::string_view w) {
  return w == "in" || w == "instanceof" || w == "as";
}

}  // namespace

int binary_operator_level(std::string_view op) {
  for (size_t level = 0; level < kLevels.size(); ++level) {
    for (auto candidate : kLevels[level]) {
      if (candidate == op) return static_cast<int>(level);
    }
  }
  return -1;
}

NodePtr Parser::parse_expression() {
  return parse_assignment();
}

// Parses the rest of an expression whose leftmost operand is already built
// (statement level: `foo.bar = 1`, `x == y`).
NodePtr Parser::continue_expression(NodePtr leftmost) {
  pending_ = std::move(leftmost);
  return parse_expression();
}

NodePtr Parser::parse_assignment() {
  NodePtr lhs = parse_ternary();
  if (!lhs) return nullptr;
  if (is_assign_op(tok_) && !(newline_before_ && paren_depth_ == 0)) {
    auto node = make_node(NodeKind::Assign, tok_.pos, tok_.value);
    next();
    node->lhs = std::move(lhs);
    if (!enter(node->pos)) return nullptr;
    // `X = readFile 'v'`: a paren-less call on the right at statement level.
    node->rhs = paren_depth_ == 0 ? parse_command_expression() : parse_assignment();
    leave();
    if (!node->rhs) return nullptr;
    return node;
  }
  return lhs;
}

NodePtr Parser::parse_ternary() {
  NodePtr cond = parse_binary(0);
  if (!cond) return nullptr;
  if (continues_line() && is_op("?:")) {
    auto node = make_node(NodeKind::Ternary, tok_.pos, "?:");
    next();
    node->lhs = std::move(cond);
    if (!enter(node->pos)) return nullptr;
    node->third = parse_ternary();
    leave();
    return node->third ? std::move(node) : nullptr;
  }
  if (continues_line() && is_op("?")) {
    auto node = make_node(NodeKind::Ternary, tok_.pos, "?");
    next();
    node->lhs = std::move(cond);
    if (!enter(node->pos)) return nullptr;
    node->rhs = parse_ternary();
    if (!node->rhs || !expect_op(":", "in a ?: expression")) {
      leave();
      return nullptr;
    }
    node->third = parse_ternary();
    leave();
    return node->third ? std::move(node) : nullptr;
  }
  return cond;
}

// Precedence climbing: one frame per operator actually present, instead of
// one per precedence level for every operand (that cost ten frames for each
// nested expression, and overflowed the stack under ASan on deep nesting).
NodePtr Parser::parse_binary(int min_level) {
  NodePtr lhs = parse_unary();
  ChainDepth chain(*this);
  while (lhs && continues_line()) {
    int level = static_cast<int>(tok_.binary_level);  // -1 when not a binary operator
    // `>>` and `>>>` are lexed as single '>' (for generics): join them here.
    int shifts = 0;
    if (is_op(">") && lexer_.raw_next() == '>') shifts = lexer_.raw_next(1) == '>' ? 2 : 1;
    if (shifts > 0) level = binary_operator_level("<<");
    if (level < min_level) break;  // also ends at non-operators (-1)
    if (!chain.grow(tok_.pos)) return nullptr;
    std::string_view op;
    for (auto candidate : kLevels[level]) {
      if (same_text(tok_.value, candidate)) op = candidate;
    }
    if (shifts > 0) op = shifts == 2 ? ">>>" : ">>";
    Pos pos = tok_.pos;
    for (int i = 0; i < shifts; ++i) next();
    next();
    if (!enter(pos)) return nullptr;
    if (op == "as" || op == "instanceof" || op == "!instanceof") {
      std::string type;
      if (!parse_type(type)) {
        error_here("expected a type after '" + std::string(op) + "'");
        leave();
        return nullptr;
      }
      auto node = make_node(op == "as" ? NodeKind::Cast : NodeKind::Binary, pos,
                            op == "as" ? type : std::string(op));
      node->lhs = std::move(lhs);
      if (op != "as") node->rhs = make_node(NodeKind::Ident, pos, type);
      lhs = std::move(node);
      leave();
      continue;
    }
    NodePtr rhs = parse_binary(level + 1);
    leave();
    if (!rhs) return nullptr;
    auto node = make_node(NodeKind::Binary, pos, std::string(op));
    node->lhs = std::move(lhs);
    node->rhs = std::move(rhs);
    lhs = std::move(node);
  }
  return lhs;
}

NodePtr Parser::parse_unary() {
  if (!pending_ && tok_.kind == Tok::Op &&
      (tok_.value == "!" || tok_.value == "-" || tok_.value == "+" || tok_.value == "~" ||
       tok_.value == "++" || tok_.value == "--")) {
    auto node = make_node(NodeKind::Unary, tok_.pos, tok_.value);
    next();
    if (!enter(node->pos)) return nullptr;
    // -9223372036854775808 fits in int64 although its digits alone do not.
    negated_literal_ = node->text == "-" && tok_.kind == Tok::Int;
    node->lhs = parse_unary();
    leave();
    if (!node->lhs) return nullptr;
    // Fold a negative number literal so "-1" is one Int node.
    if (node->text == "-" &&
        (node->lhs->kind == NodeKind::Int || node->lhs->kind == NodeKind::Float) &&
        !node->lhs->grouped) {
      node->lhs->text.insert(0, "-");
      node->lhs->pos = node->pos;
      return std::move(node->lhs);
    }
    return node;
  }
  return parse_power();
}

NodePtr Parser::parse_power() {
  NodePtr base = parse_primary();
  if (!base) return nullptr;
  base = parse_postfix(std::move(base), false);
  if (base && continues_line() && is_op("**")) {
    auto node = make_node(NodeKind::Binary, tok_.pos, "**");
    next();
    if (!enter(node->pos)) return nullptr;
    node->lhs = std::move(base);
    node->rhs = parse_unary();
    leave();
    return node->rhs ? std::move(node) : nullptr;
  }
  return base;
}

// Member access, indexing, calls and trailing closures. At statement level
// (`allow_command`) a name followed by arguments is a paren-less call:
// `sh 'make'`, `agent any`, `environment name: 'X', value: 'y'`.
NodePtr Parser::parse_postfix(NodePtr base, bool allow_command) {
  ChainDepth chain(*this);
  while (base) {
    if (!chain.grow(tok_.pos)) return nullptr;
    bool same_line = !newline_before_ || paren_depth_ > 0;
    if (tok_.kind == Tok::Op && (tok_.value == "." || tok_.value == "?." || tok_.value == "*.")) {
      std::string op = tok_.value;
      next();
      if (tok_.kind != Tok::Ident && tok_.kind != Tok::String && tok_.kind != Tok::GString) {
        error_here("expected a name after '" + op + "'");
        return nullptr;
      }
      Pos pos = tok_.pos;
      std::string name = tok_.kind == Tok::GString ? "<dynamic>" : tok_.value;
      // obj."${name}": the name is computed; the node's `third` holds it.
      NodePtr dynamic = tok_.kind == Tok::GString ? parse_string_parts(tok_) : nullptr;
      next();
      if (is_op("(") && !newline_before_) {
        auto call = make_node(NodeKind::Call, pos, name);
        call->lhs = std::move(base);
        call->safe = op == "?.";
        call->spread = op == "*.";
        call->parens = true;
        call->third = std::move(dynamic);
        parse_call_args(*call, ")");
        base = std::move(call);
        continue;
      }
      if (is_op("{") && !newline_before_) {
        auto call = make_node(NodeKind::Call, pos, name);
        call->lhs = std::move(base);
        call->safe = op == "?.";
        base = std::move(call);
        continue;  // the closure is attached below
      }
      auto prop = make_node(NodeKind::Property, pos, name);
      prop->lhs = std::move(base);
      prop->safe = op == "?.";
      prop->spread = op == "*.";
      prop->third = std::move(dynamic);
      base = std::move(prop);
      continue;
    }
    if (is_op(".&") || is_op("::")) {
      next();
      if (tok_.kind != Tok::Ident) {
        error_here("expected a method name");
        return nullptr;
      }
      auto ref = make_node(NodeKind::MethodRef, tok_.pos, tok_.value);
      ref->lhs = std::move(base);
      next();
      base = std::move(ref);
      continue;
    }
    if (!same_line) break;
    if (is_op("[") || is_op("?[")) {
      auto index = make_node(NodeKind::Index, tok_.pos);
      Pos open = tok_.pos;
      next();
      ++paren_depth_;
      index->lhs = std::move(base);
      index->rhs = parse_expression();
      if (index->rhs && is_op(",")) {
        // list[0, 2] / list[1, 3..4]: several indexes, a list of them.
        auto many = make_node(NodeKind::List, index->rhs->pos);
        many->items.push_back(std::move(index->rhs));
        while (accept_op(",")) {
          NodePtr more = parse_expression();
          if (!more) return nullptr;
          many->items.push_back(std::move(more));
        }
        index->rhs = std::move(many);
      }
      --paren_depth_;
      if (!index->rhs || !expect_close("]", open)) return nullptr;
      base = std::move(index);
      continue;
    }
    if (is_op("(")) {
      NodePtr call;
      if (base->kind == NodeKind::Ident && !base->parens) {
        call = make_node(NodeKind::Call, base->pos, base->text);
      } else if (base->kind == NodeKind::Call && !base->parens && base->items.empty() &&
                 base->named.empty() && !base->block) {
        call = std::move(base);  // `foo.bar(...)` continued
      } else {
        call = make_node(NodeKind::Call, tok_.pos, "call");
        call->lhs = std::move(base);
      }
      call->parens = true;
      parse_call_args(*call, ")");
      base = std::move(call);
      continue;
    }
    if (is_op("{") && (base->kind == NodeKind::Ident || base->kind == NodeKind::Call) &&
        !base->grouped) {
      if (base->kind == NodeKind::Ident) {
        base = make_node(NodeKind::Call, base->pos, base->text);
      }
      if (base->block) {
        // A second trailing closure: keep it as a positional argument.
        base->items.push_back(std::move(base->block));
      }
      base->block = parse_closure();
      if (!base->block) return nullptr;
      continue;
    }
    if (is_op("++") || is_op("--")) {
      auto node = make_node(NodeKind::Unary, tok_.pos, tok_.value);
      node->postfix = true;
      node->lhs = std::move(base);
      next();
      base = std::move(node);
      continue;
    }
    if (allow_command && (base->kind == NodeKind::Ident || base->kind == NodeKind::Property) &&
        !base->grouped && starts_command_arg()) {
      auto call = make_node(NodeKind::Call, base->pos, base->text);
      if (base->kind == NodeKind::Property) call->lhs = std::move(base->lhs);
      if (!parse_command_args(*call)) return nullptr;
      base = std::move(call);
      allow_command = false;
      continue;
    }
    break;
  }
  return base;
}

bool Parser::starts_command_arg() const {
  if (newline_before_ && paren_depth_ == 0) return false;
  switch (tok_.kind) {
    case Tok::String:
    case Tok::GString:
    case Tok::Int:
    case Tok::Float:
    case Tok::Dollar:
    case Tok::Error:  // `sh 'unterminated`: report the lexer's message as the argument's
      return true;
    case Tok::Ident:
      return !is_word_op(tok_.value);
    case Tok::Op:
      return tok_.value == "[" || tok_.value == "!";
    default:
      return false;
  }
}

bool Parser::at_named_arg() {
  if (tok_.kind != Tok::Ident && tok_.kind != Tok::String && tok_.kind != Tok::Int) return false;
  // `name:` has the colon right after the token on the same line; looking at
  // the source avoids re-lexing (this runs for every argument).
  return lexer_.next_char_on_line() == ':' && lexer_.char_after_next_on_line() != ':';
}

NodePtr Parser::parse_arg_value() {
  if (!enter(tok_.pos)) return nullptr;
  if (is_op("*") && paren_depth_ > 0) {  // f(*list), [*a, *b]: spread
    auto spread = make_node(NodeKind::Unary, tok_.pos, "*");
    next();
    spread->lhs = parse_expression();
    leave();
    return spread->lhs ? std::move(spread) : nullptr;
  }
  NodePtr v = parse_expression();
  leave();
  return v;
}

bool Parser::parse_command_args(Node& call) {
  while (true) {
    if (at_named_arg()) {
      NamedArg arg{tok_.value, tok_.pos, nullptr};
      next();  // name
      next();  // ':'
      arg.value = parse_arg_value();
      if (!arg.value) return false;
      call.named.push_back(std::move(arg));
    } else {
      NodePtr v = parse_arg_value();
      if (!v) return false;
      call.items.push_back(std::move(v));
    }
    if (!is_op(",") || (newline_before_ && paren_depth_ == 0)) break;
    next();
  }
  return true;
}

void Parser::parse_call_args(Node& call, std::string_view close) {
  Pos open = tok_.pos;
  next();  // '('
  ++paren_depth_;
  while (!is_op(close) && tok_.kind != Tok::End) {
    if (is_op(",") && (!call.items.empty() || !call.named.empty())) {
      next();  // an empty argument slot, `f(a, , b)`: Groovy 2 accepts it
      continue;
    }
    if (at_named_arg()) {
      NamedArg arg{tok_.value, tok_.pos, nullptr};
      next();
      next();
      arg.value = parse_arg_value();
      if (!arg.value) break;
      call.named.push_back(std::move(arg));
    } else {
      NodePtr v = parse_arg_value();
      if (!v) break;
      call.items.push_back(std::move(v));
    }
    if (!accept_op(",")) break;
  }
  --paren_depth_;
  expect_close(close, open);
}

NodePtr Parser::parse_primary() {
  if (pending_) return std::move(pending_);
  Token& t = tok_;
  switch (t.kind) {
    case Tok::Int: {
      auto node = make_node(NodeKind::Int, t.pos, t.value);
      node->big = t.big;
      bool int64_min = negated_literal_ && t.value == "9223372036854775808";
      negated_literal_ = false;
      if (int64_min) node->big = false;
      if (t.suffix != 0) node->type_name = std::string(1, t.suffix);
      if (node->big) {
        error_here("integer " + t.value +
                   " is too big: the maximum is 9223372036854775807 (use a string)");
      }
      next();
      return node;
    }
    case Tok::Float: {
      auto node = make_node(NodeKind::Float, t.pos, t.value);
      if (t.suffix != 0) node->type_name = std::string(1, t.suffix);
      next();
      return node;
    }
    case Tok::String:
    case Tok::GString: {
      Token str = std::move(tok_);
      next();
      return parse_string_parts(str);
    }
    case Tok::Dollar: {
      // A bare ${...}: Groovy reads it as `$({...})`; keep it so the model
      // builder can say "add quotes".
      auto node = make_node(NodeKind::Dollar, t.pos, "$");
      next();
      Pos open = tok_.pos;
      next();  // '{'
      if (is_op("}")) {
        next();
        return node;
      }
      node->lhs = parse_expression();
      if (!node->lhs || !expect_close("}", open)) return nullptr;
      return node;
    }
    case Tok::Ident: {
      if (t.value == "true" || t.value == "false") {
        auto node = make_node(NodeKind::Bool, t.pos, t.value);
        next();
        return node;
      }
      if (t.value == "null") {
        auto node = make_node(NodeKind::Null, t.pos, "null");
        next();
        return node;
      }
      if (t.value == "new") return parse_new();
      auto node = make_node(NodeKind::Ident, t.pos, t.value);
      next();
      return node;
    }
    case Tok::Op:
      if (t.value == "(") {
        Pos open = t.pos;
        // A cast `(Type) value`?
        Cursor c = save();
        next();
        std::string type;
        if (tok_.kind == Tok::Ident && parse_type(type) && is_op(")") &&
            (std::isupper(static_cast<unsigned char>(type[0])) || type == "int" || type == "long" ||
             type == "boolean" || type == "double" || type == "char" || type == "float" ||
             type == "short" || type == "byte")) {
          next();
          if (tok_.kind == Tok::Ident || tok_.kind == Tok::String || tok_.kind == Tok::GString ||
              tok_.kind == Tok::Int || tok_.kind == Tok::Float || is_op("(") || is_op("[")) {
            auto cast = make_node(NodeKind::Cast, open, type);
            if (!enter(open)) return nullptr;
            cast->lhs = parse_unary();
            leave();
            return cast->lhs ? std::move(cast) : nullptr;
          }
        }
        restore(c);
        next();
        ++paren_depth_;
        if (!enter(open)) return nullptr;
        NodePtr inner = parse_expression();
        leave();
        --paren_depth_;
        if (!inner || !expect_close(")", open)) return nullptr;
        inner->grouped = true;
        return inner;
      }
      if (t.value == "[") return parse_list_or_map();
      if (t.value == "{") return parse_closure();
      break;
    case Tok::Error:
      error_here(t.value);
      return nullptr;
    default:
      break;
  }
  error_here("unexpected " + describe(tok_));
  return nullptr;
}

NodePtr Parser::parse_new() {
  Pos pos = tok_.pos;
  next();  // 'new'
  std::string type;
  if (!parse_type(type)) {
    error_here("expected a class name after 'new'");
    return nullptr;
  }
  auto node = make_node(NodeKind::New, pos, type);
  if (is_op("(")) {
    parse_call_args(*node, ")");
  } else if (is_op("[")) {
    // new String[3] / new int[] {..}: array creation, kept as a New node.
    Pos open = tok_.pos;
    next();
    ++paren_depth_;
    if (!is_op("]")) node->items.push_back(parse_expression());
    --paren_depth_;
    if (!expect_close("]", open)) return nullptr;
  }
  if (is_op("{") && !newline_before_) {
    // Anonymous class or array initialiser: parsed as a closure body.
    node->block = parse_closure();
  }
  return node;
}

NodePtr Parser::parse_list_or_map() {
  Pos open = tok_.pos;
  next();  // '['
  ++paren_depth_;
  if (is_op(":")) {
    next();
    --paren_depth_;
    if (!expect_close("]", open)) return nullptr;
    return make_node(NodeKind::Map, open);
  }
  NodePtr list = make_node(NodeKind::List, open);
  bool is_map = false;
  bool first = true;
  while (!is_op("]") && tok_.kind != Tok::End) {
    if ((first || is_map) && at_named_arg()) {
      is_map = true;
      NamedArg entry{tok_.value, tok_.pos, nullptr};
      if (tok_.kind == Tok::Int) entry.key = make_node(NodeKind::Int, tok_.pos, tok_.value);
      next();
      next();
      entry.value = parse_arg_value();
      if (!entry.value) break;
      list->named.push_back(std::move(entry));
    } else {
      NodePtr v = parse_arg_value();
      if (!v) break;
      if (is_op(":")) {
        // A computed key: (expr): value or "${x}": value.
        is_map = true;
        next();
        NamedArg entry{to_source(*v), v->pos, nullptr};
        entry.key = std::move(v);
        entry.value = parse_arg_value();
        if (!entry.value) break;
        list->named.push_back(std::move(entry));
      } else {
        list->items.push_back(std::move(v));
      }
    }
    first = false;
    if (!accept_op(",")) break;
  }
  --paren_depth_;
  if (!expect_close("]", open)) return nullptr;
  if (is_map) {
    list->kind = NodeKind::Map;
    if (!list->items.empty())
      error_at(list->items.front()->pos, "cannot mix list elements and map entries");
  }
  return list;
}

NodePtr Parser::parse_closure() {
  Pos open = tok_.pos;
  if (!enter(open)) return nullptr;
  next();  // '{'
  auto closure = make_node(NodeKind::Closure, open);
  // Parameters: `{ a, b -> ... }`, `{ String a -> ... }`, `{ -> ... }` (parens: no
  // parameters at all, not even `it`).
  if (is_op("->")) {
    closure->parens = true;
    next();
  } else if (tok_.kind == Tok::Ident && lexer_.rest_of_line_contains("->")) {
    // Only then can this be a parameter list; skip the backtracking otherwise.
    Cursor c = save();
    std::vector<std::string> params;
    std::vector<NamedArg> defaults;
    bool ok = false;
    while (tok_.kind == Tok::Ident) {
      std::string first = tok_.value;
      Pos ppos = tok_.pos;
      next();
      if (tok_.kind == Tok::Ident) {  // typed parameter
        first = tok_.value;
        next();
      }
      params.push_back(first);
      if (is_op("=")) {  // a default value: `{ a, b = 10 -> }`
        next();
        ++paren_depth_;
        NodePtr def = parse_ternary();
        --paren_depth_;
        if (!def) break;
        defaults.push_back(NamedArg{first, ppos, std::move(def)});
      }
      if (is_op("->")) {
        ok = true;
        break;
      }
      if (!is_op(",")) break;
      next();
    }
    if (ok) {
      next();
      closure->params = std::move(params);
      closure->named = std::move(defaults);
    } else {
      restore(c);
    }
  }
  int saved = paren_depth_;
  paren_depth_ = 0;
  NodePtr body = parse_statements_until_close(open, "closure");
  paren_depth_ = saved;
  leave();
  if (!body) return nullptr;
  closure->items = std::move(body->items);
  return closure;
}

NodePtr Parser::parse_string_parts(Token& str) {
  if (str.kind == Tok::String) return make_node(NodeKind::String, str.pos, std::move(str.value));
  auto node = make_node(NodeKind::GString, str.pos);
  for (StrPart& part : str.parts) {
    if (!part.is_expr) {
      node->items.push_back(make_node(NodeKind::String, str.pos, std::move(part.text)));
      continue;
    }
    if (depth_ + 1 > kMaxDepth) {
      enter(part.pos);
      return nullptr;
    }
    Parser sub(part.text, part.pos, diags_, depth_ + 1);
    NodePtr expr;
    std::string_view trimmed = part.text;
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front()))) {
      trimmed.remove_prefix(1);
    }
    if (part.braced && trimmed.starts_with("->")) {
      // "${-> x}": a closure called each time the string is made.
      std::string text = "{" + part.text + "}";
      Parser lazy(text, part.pos, diags_, depth_ + 1);
      expr = lazy.parse_single_expression();
      if (!expr) return nullptr;
      node->items.push_back(std::move(expr));
      continue;
    }
    if (!part.braced) {
      expr = sub.parse_single_expression();
    } else {
      // ${a; b} holds statements; its value is the last one's.
      size_t errors = diags_.error_count();
      NodePtr block = sub.parse_file();
      if (diags_.error_count() != errors) return nullptr;
      if (block->items.size() == 1 && block->items[0]->kind == NodeKind::ExprStmt) {
        expr = std::move(block->items[0]->lhs);
      } else if (!block->items.empty()) {
        expr = make_node(NodeKind::Closure, part.pos);
        expr->items = std::move(block->items);
      } else {
        error_at(part.pos, "empty ${} in string");
      }
    }
    if (!expr) return nullptr;
    node->items.push_back(std::move(expr));
  }
  return node;
}

}  // namespace gantry::pipelines
