#include "gantry/pipelines/label_expr.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

namespace gantry::pipelines {
namespace {

using Op = LabelExpr::Op;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool is_bare_char(char c) {
  return !is_space(c) && c != '&' && c != '|' && c != '!' && c != '(' && c != ')' && c != '"' &&
         c != '<' && c != '>';
}

// Binding strength, loosest first; labels bind tightest.
int precedence(Op op) {
  switch (op) {
    case Op::Iff:
      return 1;
    case Op::Implies:
      return 2;
    case Op::Or:
      return 3;
    case Op::And:
      return 4;
    case Op::Not:
      return 5;
    case Op::Label:
      return 6;
  }
  return 6;
}

std::string_view spelling(Op op) {
  switch (op) {
    case Op::Iff:
      return "<->";
    case Op::Implies:
      return "->";
    case Op::Or:
      return "||";
    case Op::And:
      return "&&";
    case Op::Not:
      return "!";
    case Op::Label:
      return "";
  }
  return "";
}

std::string quote(const std::string& label) {
  std::string out = "\"";
  for (char c : label) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

std::string quote_if_needed(const std::string& label) {
  bool bare = !label.empty() && std::all_of(label.begin(), label.end(), is_bare_char);
  return bare ? label : quote(label);
}

enum class Tok { End, Label, Not, And, Or, Implies, Iff, LParen, RParen };

struct Token {
  Tok kind = Tok::End;
  size_t offset = 0;
  std::string text;  // the label for Tok::Label, else the spelling
};

// A parsed subtree and its depth (a label is depth 1).
struct Node {
  LabelExpr expr;
  int depth = 1;
};

// Recursive descent, one function per precedence level; `nesting_` counts the
// open parentheses and `!` on the current path so recursion stays bounded.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  LabelExprResult parse() {
    if (!advance()) return *error_;
    std::optional<Node> node = parse_level(0);
    if (!node) return *error_;
    if (token_.kind != Tok::End) {
      if (token_.kind == Tok::RParen)
        fail(token_.offset, "unexpected \")\" without a matching \"(\"");
      else
        fail(token_.offset, "unexpected " + describe(token_) +
                                "; expected an operator (&&, ||, ->, <->) or the end");
      return *error_;
    }
    return std::move(node->expr);
  }

 private:
  std::nullopt_t fail(size_t offset, std::string message) {
    if (!error_) error_ = LabelExprError{offset, std::move(message)};
    return std::nullopt;
  }

  bool reject(size_t offset, std::string message) {
    fail(offset, std::move(message));
    return false;
  }

  static std::string describe(const Token& t) {
    if (t.kind == Tok::End) return "the end of the expression";
    if (t.kind == Tok::Label) return "label " + quote(t.text);
    return "\"" + t.text + "\"";
  }

  bool advance() {
    size_t& p = pos_;
    while (p < text_.size() && is_space(text_[p])) ++p;
    token_ = Token{Tok::End, p, {}};
    if (p == text_.size()) return true;
    auto op = [&](Tok kind, size_t len) {
      token_ = Token{kind, p, std::string(text_.substr(p, len))};
      p += len;
      return true;
    };
    std::string_view rest = text_.substr(p);
    switch (rest[0]) {
      case '(':
        return op(Tok::LParen, 1);
      case ')':
        return op(Tok::RParen, 1);
      case '!':
        return op(Tok::Not, 1);
      case '&':
        if (rest.substr(0, 2) == "&&") return op(Tok::And, 2);
        return reject(p, "unexpected \"&\"; did you mean \"&&\"?");
      case '|':
        if (rest.substr(0, 2) == "||") return op(Tok::Or, 2);
        return reject(p, "unexpected \"|\"; did you mean \"||\"?");
      case '<':
        if (rest.substr(0, 3) == "<->") return op(Tok::Iff, 3);
        return reject(p, "unexpected \"<\"; did you mean \"<->\"?");
      case '>':
        return reject(p, "unexpected \">\"; did you mean \"->\"?");
      case '"':
        return quoted_label();
      default:
        break;
    }
    if (rest.substr(0, 2) == "->") return op(Tok::Implies, 2);
    size_t end = p;
    while (end < text_.size() && is_bare_char(text_[end]) && text_.substr(end, 2) != "->") {
      ++end;
    }
    token_ = Token{Tok::Label, p, std::string(text_.substr(p, end - p))};
    p = end;
    return true;
  }

  bool quoted_label() {
    size_t start = pos_;
    std::string label;
    for (size_t p = start + 1; p < text_.size(); ++p) {
      char c = text_[p];
      if (c == '"') {
        if (label.empty()) return reject(start, "a quoted label cannot be empty");
        token_ = Token{Tok::Label, start, std::move(label)};
        pos_ = p + 1;
        return true;
      }
      if (c == '\\' && p + 1 < text_.size()) c = text_[++p];
      label += c;
    }
    return reject(start, "unterminated quoted label; add a closing \"");
  }

  // Binary operators, loosest first.
  static constexpr std::array<Op, 4> kLevels = {Op::Iff, Op::Implies, Op::Or, Op::And};

  static Op op_of(Tok kind) {
    switch (kind) {
      case Tok::Iff:
        return Op::Iff;
      case Tok::Implies:
        return Op::Implies;
      case Tok::Or:
        return Op::Or;
      case Tok::And:
        return Op::And;
      default:
        return Op::Label;
    }
  }

  // Parses operands joined by the operator of kLevels[level] or tighter ones.
  std::optional<Node> parse_level(size_t level) {
    if (level == kLevels.size()) return parse_unary();
    std::optional<Node> lhs = parse_level(level + 1);
    while (lhs && op_of(token_.kind) == kLevels[level]) {
      size_t at = token_.offset;
      if (!advance()) return std::nullopt;
      std::optional<Node> rhs = parse_level(level + 1);
      if (!rhs) return std::nullopt;
      lhs = combine(kLevels[level], std::move(*lhs), std::move(*rhs));
      if (lhs->depth > kMaxLabelExprDepth) return too_deep(at);
    }
    return lhs;
  }

  // And/Or absorb operands of their own kind, so `a || b || c` is one node.
  // A chain grows its left operand in place, keeping long chains linear.
  static Node combine(Op op, Node lhs, Node rhs) {
    const bool flat = op == Op::And || op == Op::Or;
    Node out;
    if (flat && lhs.expr.op == op) {
      out = std::move(lhs);
    } else {
      out = Node{LabelExpr{op, {}, {}}, lhs.depth + 1};
      out.expr.operands.push_back(std::move(lhs.expr));
    }
    if (flat && rhs.expr.op == op) {
      for (LabelExpr& e : rhs.expr.operands) out.expr.operands.push_back(std::move(e));
      out.depth = std::max(out.depth, rhs.depth);
    } else {
      out.expr.operands.push_back(std::move(rhs.expr));
      out.depth = std::max(out.depth, rhs.depth + 1);
    }
    return out;
  }

  std::nullopt_t too_deep(size_t at) {
    return fail(
        at, "expression nests more than " + std::to_string(kMaxLabelExprDepth) + " levels deep");
  }

  std::optional<Node> parse_unary() {
    if (token_.kind != Tok::Not) return parse_primary();
    size_t at = token_.offset;
    if (++nesting_ > kMaxLabelExprDepth) return too_deep(at);
    if (!advance()) return std::nullopt;
    std::optional<Node> operand = parse_unary();
    --nesting_;
    if (!operand) return std::nullopt;
    Node out{LabelExpr{Op::Not, {}, {}}, operand->depth + 1};
    out.expr.operands.push_back(std::move(operand->expr));
    if (out.depth > kMaxLabelExprDepth) return too_deep(at);
    return out;
  }

  std::optional<Node> parse_primary() {
    if (token_.kind == Tok::Label) {
      Node out{LabelExpr{Op::Label, std::move(token_.text), {}}, 1};
      if (!advance()) return std::nullopt;
      return out;
    }
    if (token_.kind != Tok::LParen) {
      return fail(token_.offset, "expected a label, got " + describe(token_));
    }
    size_t open = token_.offset;
    if (++nesting_ > kMaxLabelExprDepth) return too_deep(open);
    if (!advance()) return std::nullopt;
    std::optional<Node> inner = parse_level(0);
    --nesting_;
    if (!inner) return std::nullopt;
    if (token_.kind != Tok::RParen) {
      return fail(token_.offset, "expected \")\" to close the \"(\" at offset " +
                                     std::to_string(open) + ", got " + describe(token_));
    }
    if (!advance()) return std::nullopt;
    return inner;
  }

  std::string_view text_;
  size_t pos_ = 0;
  Token token_;
  int nesting_ = 0;
  std::optional<LabelExprError> error_;
};

}  // namespace

bool LabelExpr::matches(const std::set<std::string>& labels) const {
  switch (op) {
    case Op::Label:
      return labels.count(label) > 0;
    case Op::Not:
      return !operands[0].matches(labels);
    case Op::And:
      return std::all_of(operands.begin(), operands.end(),
                         [&](const LabelExpr& e) { return e.matches(labels); });
    case Op::Or:
      return std::any_of(operands.begin(), operands.end(),
                         [&](const LabelExpr& e) { return e.matches(labels); });
    case Op::Implies:
      return !operands[0].matches(labels) || operands[1].matches(labels);
    case Op::Iff:
      return operands[0].matches(labels) == operands[1].matches(labels);
  }
  return false;
}

std::string LabelExpr::to_string() const {
  if (op == Op::Label) return quote_if_needed(label);
  const int mine = precedence(op);
  // `right` operands of a left-grouping operator need parentheses at equal
  // precedence too, or they would regroup to the left when parsed back.
  auto operand = [&](const LabelExpr& e, bool right) {
    int theirs = precedence(e.op);
    bool parens = theirs < mine || (right && theirs == mine);
    return parens ? "(" + e.to_string() + ")" : e.to_string();
  };
  if (op == Op::Not) return "!" + operand(operands[0], false);
  std::string out;
  for (size_t i = 0; i < operands.size(); ++i) {
    if (i > 0) out += " " + std::string(spelling(op)) + " ";
    out += operand(operands[i], i > 0);
  }
  return out;
}

LabelExprResult parse_label_expr(std::string_view text) {
  return Parser(text).parse();
}

}  // namespace gantry::pipelines
