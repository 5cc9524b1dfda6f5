#pragma once
// The expression subset Gantry runs from Jenkinsfiles (SPEC §4): literals,
// env.NAME, params.NAME, currentBuild.result, bare names, ==, !=, =~, ==~, &&,
// ||, !, parentheses, GStrings, `return` and if/else; inside `script { }` also
// step calls and `currentBuild.result = '...'`.
//
// Two halves. check_subset() walks a tree from the Groovy parser and reports
// every construct outside the subset, once, at its position (a warning for
// `gantry lint`, an error when the code is about to run). evaluate() and
// evaluate_condition() compute a value with Groovy's semantics for the subset;
// they never throw on input: whatever they cannot run (including a bad regular
// expression) comes back as an EvalError at a line and column.
//
// Not responsible for running steps: a script block's steps are executed by
// the stage runner, which uses these functions for their arguments and
// conditions. Not responsible for parsing (groovy_parser.hpp).
//
// Evaluation is bounded: nesting deeper than kMaxEvalDepth, and regular
// expressions that are too long, too complex or matched against too much text
// (the kMaxRegex* limits) are errors, and regexes run on libstdc++'s
// polynomial-time matcher, so hostile input cannot exhaust the stack or hang
// the caller. Plain values and pure functions, no I/O; safe to
// call from several threads on distinct or const data.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "gantry/pipelines/ast.hpp"
#include "gantry/pipelines/diagnostics.hpp"

namespace gantry::pipelines {

inline constexpr int kMaxEvalDepth = 200;
inline constexpr size_t kMaxRegexPattern = 1000;
inline constexpr size_t kMaxRegexInput = size_t{16} * 1024;
// Bounds on a pattern's automaton (counting {n,m} repetitions) and on that
// size times the length of the text, which is what matching costs.
inline constexpr size_t kMaxRegexWeight = 5000;
inline constexpr size_t kMaxRegexWork = 2'000'000;

// An upper bound on the size of a pattern's automaton, in atoms (a group
// counts its contents, a {n,m} quantifier multiplies what it repeats by m);
// matching costs about this times the length of the text. Also used by the
// `when` conditions that take regular expressions.
size_t regex_weight(std::string_view pattern);

// A Groovy value of the subset: null, boolean, integer, floating point or string.
struct Value {
  std::variant<std::monostate, bool, int64_t, double, std::string> data;

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool b) : data(b) {}
  template <typename T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) Value(T i)
      : data(static_cast<int64_t>(i)) {}
  Value(double d) : data(d) {}
  Value(std::string s) : data(std::move(s)) {}
  Value(std::string_view s) : data(std::string(s)) {}
  Value(const char* s) : data(std::string(s)) {}

  bool is_null() const { return std::holds_alternative<std::monostate>(data); }
  bool is_bool() const { return std::holds_alternative<bool>(data); }
  bool is_int() const { return std::holds_alternative<int64_t>(data); }
  bool is_double() const { return std::holds_alternative<double>(data); }
  bool is_number() const { return is_int() || is_double(); }
  bool is_string() const { return std::holds_alternative<std::string>(data); }

  // Groovy truth: null, false, 0, 0.0 and "" are false; everything else is true
  // (so the string "false" is true, as in Jenkins).
  bool truthy() const;

  // As Groovy prints it: "null", "true", "42", "1.5", "1.0E10", the string itself.
  std::string to_string() const;

  // Structural equality (same type and value), for tests. Groovy's `==` is
  // groovy_equals().
  friend bool operator==(const Value&, const Value&) = default;
};

// Groovy's `==`: null equals only null; numbers compare by value across int
// and double; a number and a string are equal when the string is the number's
// text ('42' == 42); otherwise values of different types are unequal.
bool groovy_equals(const Value& a, const Value& b);

// What an expression can read while a run is in progress.
struct EvalContext {
  std::map<std::string, std::string> env;
  std::map<std::string, Value> params;
  // "SUCCESS", "UNSTABLE", "FAILURE", "ABORTED", "NOT_BUILT", or "" while no
  // result is set (currentBuild.result is then null and currentResult SUCCESS).
  std::string current_result;
  // The controller evaluating `environment` values away from the stage's agent: a variable it
  // does not have (PATH, HOME, WORKSPACE...) becomes a marker (agent_env_marker) that the agent
  // replaces with its own value, as Jenkins evaluates `environment` on the agent.
  bool defer_unknown_env = false;
  // Where a Groovy interpreter is at hand (the agent running a job), it
  // evaluates instead: all of Groovy, not the subset.
  std::function<std::variant<Value, struct EvalError>(const Node&)> evaluator;
};

// The marker for variable `name` read as env.NAME (`bare` false: null when the agent lacks it
// too) or as a bare NAME ("" then). expand_agent_env() replaces every marker in `text` from
// `env`.
std::string agent_env_marker(std::string_view name, bool bare);
std::string expand_agent_env(std::string_view text, const std::map<std::string, std::string>& env);

struct EvalError {
  Pos pos;
  std::string message;
};

using EvalResult = std::variant<Value, EvalError>;

// Evaluates one expression. Bare names read env first, then params; an
// unknown name is an error. env.X and params.X are null when X is unset.
EvalResult evaluate(const Node& expr, const EvalContext& ctx);

// Evaluates the body of `when { expression { ... } }`: a Closure (or Block) of
// statements run in order, where `return x` returns x and otherwise the value
// of the last statement is the result (an if/else yields its branch's value),
// or a lone expression. Returns a bool Value, by Groovy truth.
EvalResult evaluate_condition(const Node& closure_or_expr, const EvalContext& ctx);

// Lint reports constructs outside the subset as warnings; Run as errors.
enum class CheckMode { Lint, Run };

// Expression: an expression, a GString, or a when-expression closure (no
// steps). Script: a `script { }` closure (pass the closure, or the step call
// holding it), where statements may also be step calls and
// `currentBuild.result = '...'`.
enum class CodeKind { Expression, Script };

// Reports each construct outside the subset once, at its position, without
// descending into it. Returns the number of problems reported.
size_t check_subset(const Node& node, Diagnostics& diags, CheckMode mode,
                    CodeKind kind = CodeKind::Expression);

// The steps of SPEC §4 (sh, echo, error, ..., script).
bool is_known_step(std::string_view name);

// Names a construct outside the subset for messages, with a short rendering
// of it: "arithmetic (a + 1)", "method calls on objects (readJSON(...).version)".
std::string describe_construct(const Node& node);

// Where a diagnostic about a construct points: the operator of a binary or
// conditional expression, else where the construct starts (the receiver of
// `a.b().c`, the target of an assignment).
Pos construct_pos(const Node& node);

}  // namespace gantry::pipelines
