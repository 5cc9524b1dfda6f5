// Values of the expression subset and their evaluation with Groovy semantics.
#include "gantry/pipelines/expression.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
// GCC 12 with -fsanitize=address reports false -Wmaybe-uninitialized inside
// libstdc++'s regex automaton (std::function moves in _NFA::_M_insert_*).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <regex>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#include <system_error>
#include <vector>

namespace gantry::pipelines {
namespace {

// Java's Double.toString: plain notation in [1e-3, 1e7), else "1.5E10".
std::string double_to_string(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  if (ec != std::errc()) return "NaN";
  std::string_view s(buf, static_cast<size_t>(end - buf));  // "-1.2345e+06"
  std::string sign;
  if (s.front() == '-') {
    sign = "-";
    s.remove_prefix(1);
  }
  size_t e = s.find('e');
  std::string digits;
  for (char c : s.substr(0, e)) {
    if (c != '.') digits += c;
  }
  int exp = 0;
  std::string_view exp_text = s.substr(e + 1);
  if (exp_text.front() == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp);
  double magnitude = std::fabs(d);
  if (magnitude >= 1e-3 && magnitude < 1e7) {
    if (exp < 0) return sign + "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
    size_t int_len = static_cast<size_t>(exp) + 1;
    if (digits.size() <= int_len) {
      return sign + digits + std::string(int_len - digits.size(), '0') + ".0";
    }
    return sign + digits.substr(0, int_len) + "." + digits.substr(int_len);
  }
  std::string frac = digits.size() > 1 ? digits.substr(1) : "0";
  return sign + digits.substr(0, 1) + "." + frac + "E" + std::to_string(exp);
}

bool parse_int(std::string_view t, int64_t& out) {
  bool negative = !t.empty() && t.front() == '-';
  if (negative) t.remove_prefix(1);
  int base = 10;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    base = 16;
    t.remove_prefix(2);
  } else if (t.size() > 1 && t[0] == '0') {
    base = 8;  // Groovy follows Java: 017 is 15
  }
  uint64_t u = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), u, base);
  if (ec != std::errc() || end != t.data() + t.size()) return false;
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (u > kMax + (negative ? 1 : 0)) return false;
  out = negative ? static_cast<int64_t>(0 - u) : static_cast<int64_t>(u);
  return true;
}

bool is_ident(const Node* n, std::string_view name) {
  return n != nullptr && n->kind == NodeKind::Ident && n->text == name;
}

std::string shown(const std::string& pattern) {
  return "/" + (pattern.size() > 60 ? pattern.substr(0, 57) + "..." : pattern) + "/";
}

// `=~` finds the pattern anywhere; `==~` matches the whole text. Both run as a
// whole-text match (find wraps the pattern in [\s\S]*), so the matcher makes
// one pass instead of starting again at every offset.
EvalResult match_regex(const Node& n, const Value& subject, const Value& pattern, bool full) {
  // Groovy: a null operand never matches.
  if (subject.is_null() || pattern.is_null()) return Value(false);
  std::string text = subject.to_string();
  std::string source = pattern.to_string();
  size_t weight = source.size() > kMaxRegexPattern ? SIZE_MAX : regex_weight(source);
  if (weight > kMaxRegexWeight) {
    return EvalError{n.rhs->pos, "regular expression " + shown(source) +
                                     " is too long or too complex for Gantry"};
  }
  if (text.size() > kMaxRegexInput || weight * (text.size() + 1) > kMaxRegexWork) {
    return EvalError{construct_pos(*n.lhs), "text of " + std::to_string(text.size()) +
                                                " bytes is too long to match against " +
                                                shown(source)};
  }
  auto flags = std::regex::ECMAScript | std::regex::nosubs;
#ifdef __GLIBCXX__
  // libstdc++'s breadth-first matcher: time linear in the text, no recursion
  // per character, no exponential backtracking. Rejects back-references.
  flags |= std::regex_constants::__polynomial;
#endif
  std::string_view body = source;
  if (body.starts_with("(?i)")) {  // Java's case-insensitive flag, common in Jenkinsfiles
    flags |= std::regex::icase;
    body.remove_prefix(4);
  }
  try {
    // Compiled alone first so that a pattern like "a)(b" cannot pair with the
    // wrapper's parentheses.
    std::regex re(body.begin(), body.end(), flags);
    if (!full) re.assign("[\\s\\S]*(?:" + std::string(body) + ")[\\s\\S]*", flags);
    return Value(std::regex_match(text, re));
  } catch (const std::regex_error& e) {
    bool backref = e.code() == std::regex_constants::error_complexity;
    return EvalError{n.rhs->pos, "invalid regular expression " + shown(source) + ": " +
                                     (backref ? "back-references are not supported" : e.what())};
  }
}

class Evaluator {
 public:
  explicit Evaluator(const EvalContext& ctx) : ctx_(ctx) {}

  EvalResult eval(const Node& n) {
    if (depth_ >= kMaxEvalDepth) return too_deep(n);
    ++depth_;
    EvalResult r = eval_node(n);
    --depth_;
    return r;
  }

  // Runs one statement; sets `returned` on `return`.
  EvalResult statement(const Node& s, bool& returned) {
    if (depth_ >= kMaxEvalDepth) return too_deep(s);
    ++depth_;
    EvalResult r = statement_node(s, returned);
    --depth_;
    return r;
  }

  // Runs statements in order: the value of the last one, or of a `return`.
  EvalResult block(const std::vector<NodePtr>& items, bool& returned) {
    Value last;
    for (const auto& s : items) {
      if (!s) continue;
      EvalResult r = statement(*s, returned);
      if (returned || std::holds_alternative<EvalError>(r)) return r;
      last = std::get<Value>(std::move(r));
    }
    return last;
  }

 private:
  static EvalError too_deep(const Node& n) {
    return EvalError{n.pos, "expression nested too deeply (more than " +
                                std::to_string(kMaxEvalDepth) + " levels)"};
  }

  static EvalError unsupported(const Node& n) {
    return EvalError{construct_pos(n),
                     "cannot evaluate " + describe_construct(n) + ": not supported by Gantry"};
  }

  EvalResult statement_node(const Node& s, bool& returned) {
    switch (s.kind) {
      case NodeKind::ExprStmt:
        if (!s.lhs) return Value();
        return eval(*s.lhs);
      case NodeKind::Return: {
        EvalResult r = s.lhs ? eval(*s.lhs) : EvalResult(Value());
        returned = true;
        return r;
      }
      case NodeKind::If: {
        if (!s.lhs) return unsupported(s);
        EvalResult cond = eval(*s.lhs);
        if (std::holds_alternative<EvalError>(cond)) return cond;
        const Node* branch = std::get<Value>(cond).truthy() ? s.rhs.get() : s.third.get();
        if (!branch) return Value();
        if (branch->kind == NodeKind::Block) return block(branch->items, returned);
        return statement(*branch, returned);
      }
      default:
        return unsupported(s);
    }
  }

  EvalResult eval_node(const Node& n) {
    switch (n.kind) {
      case NodeKind::Null:
        return Value();
      case NodeKind::Bool:
        return Value(n.text == "true");
      case NodeKind::Int: {
        int64_t v = 0;
        if (n.big || !parse_int(n.text, v)) {
          return EvalError{n.pos, "integer " + n.text + " is out of range"};
        }
        return Value(v);
      }
      case NodeKind::Float: {
        double v = 0;
        auto [end, ec] = std::from_chars(n.text.data(), n.text.data() + n.text.size(), v);
        if (ec != std::errc() || end != n.text.data() + n.text.size()) {
          return EvalError{n.pos, "number " + n.text + " is out of range"};
        }
        return Value(v);
      }
      case NodeKind::String:
        return Value(n.text);
      case NodeKind::GString:
        return gstring(n);
      case NodeKind::Ident:
        return name(n);
      case NodeKind::Property:
        return property(n);
      case NodeKind::Unary: {
        if (n.text != "!" || !n.lhs) return unsupported(n);
        EvalResult r = eval(*n.lhs);
        if (std::holds_alternative<EvalError>(r)) return r;
        return Value(!std::get<Value>(r).truthy());
      }
      case NodeKind::Binary:
        return binary(n);
      default:
        return unsupported(n);
    }
  }

  EvalResult gstring(const Node& n) {
    std::string out;
    for (const auto& part : n.items) {
      if (!part) continue;
      EvalResult r;
      if (part->kind == NodeKind::Closure) {
        bool returned = false;  // a `return` inside ${...} ends only that closure
        r = block(part->items, returned);
      } else {
        r = eval(*part);
      }
      if (std::holds_alternative<EvalError>(r)) return r;
      out += std::get<Value>(r).to_string();
    }
    return Value(std::move(out));
  }

  EvalResult name(const Node& n) {
    if (n.text == "env" || n.text == "params" || n.text == "currentBuild") return unsupported(n);
    if (auto it = ctx_.env.find(n.text); it != ctx_.env.end()) return Value(it->second);
    if (auto it = ctx_.params.find(n.text); it != ctx_.params.end()) return it->second;
    if (ctx_.defer_unknown_env) return Value(agent_env_marker(n.text, true));
    return EvalError{n.pos, "unknown variable " + n.text};
  }

  EvalResult property(const Node& n) {
    if (n.spread || !n.lhs) return unsupported(n);
    if (is_ident(n.lhs.get(), "env") && n.text != "<dynamic>") {
      auto it = ctx_.env.find(n.text);
      if (it == ctx_.env.end() && ctx_.defer_unknown_env)
        return Value(agent_env_marker(n.text, false));
      return it == ctx_.env.end() ? Value() : Value(it->second);
    }
    if (is_ident(n.lhs.get(), "params") && n.text != "<dynamic>") {
      auto it = ctx_.params.find(n.text);
      return it == ctx_.params.end() ? Value() : it->second;
    }
    if (is_ident(n.lhs.get(), "currentBuild")) {
      if (n.text == "result") {
        return ctx_.current_result.empty() ? Value() : Value(ctx_.current_result);
      }
      if (n.text == "currentResult") {
        return Value(ctx_.current_result.empty() ? "SUCCESS" : ctx_.current_result);
      }
    }
    return unsupported(n);
  }

  EvalResult binary(const Node& n) {
    const std::string& op = n.text;
    bool known = op == "&&" || op == "||" || op == "==" || op == "!=" || op == "=~" || op == "==~";
    if (!known || !n.lhs || !n.rhs) return unsupported(n);
    EvalResult left = eval(*n.lhs);
    if (std::holds_alternative<EvalError>(left)) return left;
    const Value& a = std::get<Value>(left);
    if (op == "&&" && !a.truthy()) return Value(false);
    if (op == "||" && a.truthy()) return Value(true);
    EvalResult right = eval(*n.rhs);
    if (std::holds_alternative<EvalError>(right)) return right;
    const Value& b = std::get<Value>(right);
    if (op == "&&" || op == "||") return Value(b.truthy());
    if (op == "==") return Value(groovy_equals(a, b));
    if (op == "!=") return Value(!groovy_equals(a, b));
    return match_regex(n, a, b, op == "==~");
  }

  const EvalContext& ctx_;
  int depth_ = 0;
};

}  // namespace

// Reads the digits at the start of `s`, saturating at `cap`.
static size_t leading_count(std::string_view s, size_t cap) {
  size_t v = 0;
  for (size_t i = 0; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) {
    v = std::min(v * 10 + static_cast<size_t>(s[i] - '0'), cap);
  }
  return v;
}

// An upper bound on the size of a pattern's automaton, in atoms: a group
// counts its contents and a {n,m} quantifier multiplies what it repeats by m.
// Matching costs about this times the length of the text.
size_t regex_weight(std::string_view p) {
  constexpr size_t kCap = size_t{1} << 40;
  std::vector<size_t> groups{0};  // running size of each open group
  size_t last = 0;                // size of the previous atom
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    size_t added = 1;
    if (c == '(') {
      groups.push_back(0);
      added = 0;
    } else if (c == ')' && groups.size() > 1) {
      added = std::min(groups.back() + 2, kCap);
      groups.pop_back();
    } else if (c == '{' && i + 1 < p.size() && std::isdigit(static_cast<unsigned char>(p[i + 1]))) {
      size_t close = std::min(p.find('}', i), p.size());
      std::string_view counts = p.substr(i + 1, close - i - 1);
      size_t comma = counts.find(',');
      size_t n = leading_count(counts, kCap);
      size_t m =
          comma == std::string_view::npos ? 0 : leading_count(counts.substr(comma + 1), kCap);
      size_t times = std::max({n + (comma != std::string_view::npos), m, size_t{1}});
      added = last != 0 && times > kCap / last ? kCap : last * (times - 1);
      i = close;
    } else if (c == '\\') {
      ++i;
    } else if (c == '[') {  // a class is one atom: skip to its closing bracket
      size_t j = i + 1;
      if (j < p.size() && p[j] == '^') ++j;
      if (j < p.size() && p[j] == ']') ++j;
      while (j < p.size() && p[j] != ']') j += p[j] == '\\' ? 2 : 1;
      i = j;
    }
    last = c == '{' ? std::min(last + added, kCap) : added;
    groups.back() = std::min(groups.back() + added, kCap);
  }
  size_t total = 0;
  for (size_t g : groups) total = std::min(total + g, kCap);
  return total;
}

bool Value::truthy() const {
  if (is_bool()) return std::get<bool>(data);
  if (is_int()) return std::get<int64_t>(data) != 0;
  if (is_double()) return std::get<double>(data) != 0;
  if (is_string()) return !std::get<std::string>(data).empty();
  return false;
}

std::string Value::to_string() const {
  if (is_bool()) return std::get<bool>(data) ? "true" : "false";
  if (is_int()) return std::to_string(std::get<int64_t>(data));
  if (is_double()) return double_to_string(std::get<double>(data));
  if (is_string()) return std::get<std::string>(data);
  return "null";
}

bool groovy_equals(const Value& a, const Value& b) {
  if (a.is_null() || b.is_null()) return a.is_null() && b.is_null();
  if (a.is_int() && b.is_int()) return std::get<int64_t>(a.data) == std::get<int64_t>(b.data);
  if (a.is_number() && b.is_number()) {
    auto as_double = [](const Value& v) {
      return v.is_int() ? static_cast<double>(std::get<int64_t>(v.data)) : std::get<double>(v.data);
    };
    return as_double(a) == as_double(b);
  }
  if ((a.is_number() && b.is_string()) || (a.is_string() && b.is_number())) {
    return a.to_string() == b.to_string();
  }
  return a.data == b.data;  // same type (bool, string) compares by value; else unequal
}

EvalResult evaluate(const Node& expr, const EvalContext& ctx) {
  if (ctx.evaluator) return ctx.evaluator(expr);
  return Evaluator(ctx).eval(expr);
}

EvalResult evaluate_condition(const Node& closure_or_expr, const EvalContext& ctx) {
  if (ctx.evaluator) {
    EvalResult r = ctx.evaluator(closure_or_expr);
    if (auto* v = std::get_if<Value>(&r)) return Value(v->truthy());
    return r;
  }
  Evaluator evaluator(ctx);
  EvalResult r;
  bool returned = false;
  if (closure_or_expr.kind == NodeKind::Closure || closure_or_expr.kind == NodeKind::Block) {
    r = evaluator.block(closure_or_expr.items, returned);
  } else if (closure_or_expr.kind >= NodeKind::ExprStmt) {
    r = evaluator.statement(closure_or_expr, returned);
  } else {
    r = evaluator.eval(closure_or_expr);
  }
  if (std::holds_alternative<EvalError>(r)) return r;
  return Value(std::get<Value>(r).truthy());
}

namespace {
constexpr char kMarkerEdge = '\x1f';  // the unit separator: no pipeline's text has a use for it
}  // namespace

std::string agent_env_marker(std::string_view name, bool bare) {
  std::string out(1, kMarkerEdge);
  out += bare ? 'b' : 'e';
  out += name;
  out += kMarkerEdge;
  return out;
}

std::string expand_agent_env(std::string_view text, const std::map<std::string, std::string>& env) {
  std::string out;
  size_t at = 0;
  while (at < text.size()) {
    const size_t open = text.find(kMarkerEdge, at);
    const size_t close = open == std::string_view::npos ? open : text.find(kMarkerEdge, open + 1);
    if (close == std::string_view::npos || close - open < 3) {
      out += text.substr(at);
      break;
    }
    out += text.substr(at, open - at);
    const bool bare = text[open + 1] == 'b';
    const std::string name(text.substr(open + 2, close - open - 2));
    auto it = env.find(name);
    out += it != env.end() ? it->second : bare ? std::string() : std::string("null");
    at = close + 1;
  }
  return out;
}

}  // namespace gantry::pipelines
