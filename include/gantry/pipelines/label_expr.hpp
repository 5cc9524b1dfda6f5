#pragma once
// Agent label expressions, as in Jenkins' `agent { label 'linux && !arm' }`:
// parsing one into a small tree, printing it back in a normal form, and
// testing it against the labels of an agent.
//
// Operators, loosest first: `<->` (iff), `->` (implies), `||`, `&&`, then the
// prefix `!`; parentheses group. Binary operators group to the left. A label
// is either bare (any run of characters other than whitespace and
// `& | ! ( ) " < >`, stopping before `->`) or double-quoted (`"my label"`,
// with `\"` and `\\` as escapes). Chains of `&&` or of `||` are kept as one
// node with many operands, so long lists of alternatives stay shallow.
//
// Not responsible for what "no label" means: an empty expression is a parse
// error and callers handle the absent label before parsing. Not responsible
// for knowing which agents or labels exist.
//
// Parsing is bounded: trees deeper than kMaxLabelExprDepth are refused, so
// hostile input cannot exhaust the stack here or in matches()/to_string().
// Plain values, no I/O; const use from several threads is safe.

#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace gantry::pipelines {

inline constexpr int kMaxLabelExprDepth = 100;

struct LabelExprError {
  size_t offset = 0;  // byte offset inside the expression, for a caret
  std::string message;
};

struct LabelExpr {
  enum class Op { Label, Not, And, Or, Implies, Iff };

  Op op = Op::Label;
  std::string label;                // Op::Label only
  std::vector<LabelExpr> operands;  // Not: 1; Implies, Iff: 2; And, Or: 2 or more

  bool matches(const std::set<std::string>& labels) const;

  // Normal form: one space around binary operators, parentheses only where
  // precedence needs them, labels quoted only when they must be. For a tree
  // from parse_label_expr, parsing the result gives back an equal tree.
  std::string to_string() const;

  friend bool operator==(const LabelExpr&, const LabelExpr&) = default;
};

using LabelExprResult = std::variant<LabelExpr, LabelExprError>;

LabelExprResult parse_label_expr(std::string_view text);

}  // namespace gantry::pipelines
