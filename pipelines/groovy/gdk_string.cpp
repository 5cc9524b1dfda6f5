// String methods (Java's and the GDK's), regular expressions and String.format.
#include <algorithm>
#include <cmath>

#include "gantry/pipelines/expression.hpp"
#include "interp.hpp"

// GCC 12 with -fsanitize=address reports false -Wmaybe-uninitialized inside
// libstdc++'s regex automaton.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace gantry::pipelines::groovy {

namespace {

// Bounds on regular expressions: the pattern's automaton size times the text
// is what libstdc++'s polynomial matcher costs.
constexpr size_t kMaxRegexText = size_t{4} * 1024 * 1024;
constexpr size_t kMaxRegexWork = 200'000'000;

// The non-empty runs of `s` between characters of `delims` (StringTokenizer).
Value tokens(const std::string& s, std::string_view delims) {
  std::vector<Value> parts;
  std::string cur;
  for (char c : s) {
    if (delims.find(c) != std::string_view::npos) {
      if (!cur.empty()) parts.push_back(Value::string(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) parts.push_back(Value::string(cur));
  return Value::list(std::move(parts));
}

std::string java_trim(const std::string& s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && static_cast<unsigned char>(s[b]) <= ' ') ++b;
  while (e > b && static_cast<unsigned char>(s[e - 1]) <= ' ') --e;
  return s.substr(b, e - b);
}

bool parse_long(const std::string& text, int64_t& out) {
  if (text.empty()) return false;
  size_t i = (text[0] == '-' || text[0] == '+') ? 1 : 0;
  if (i == text.size()) return false;
  i128 v = 0;
  for (; i < text.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
    v = v * 10 + (text[i] - '0');
    if (v > static_cast<i128>(INT64_MAX) + 1) return false;
  }
  if (text[0] == '-') v = -v;
  if (v > INT64_MAX) return false;
  out = static_cast<int64_t>(v);
  return true;
}

bool number_format(Interpreter& in, const std::string& s) {
  return in.raise("java.lang.NumberFormatException", "For input string: \"" + s + "\"");
}

int64_t arg_int(const std::vector<Value>& args, size_t i, int64_t fallback) {
  return i < args.size() && args[i].is_integral() ? args[i].as_int() : fallback;
}

std::string pad(const std::string& fill, size_t n) {
  std::string out;
  if (fill.empty()) return out;
  while (out.size() < n) out += fill;
  out.resize(n);
  return out;
}

bool index_error(Interpreter& in, int64_t i) {
  return in.raise("java.lang.StringIndexOutOfBoundsException",
                  "String index out of range: " + std::to_string(i));
}

// Java's replacement text ($1, \$) in ECMAScript's format ($1, $$, $&).
std::string replacement_format(const std::string& r) {
  std::string out;
  for (size_t i = 0; i < r.size(); ++i) {
    if (r[i] == '\\' && i + 1 < r.size()) {
      char c = r[++i];
      if (c == '$') {
        out += "$$";
      } else {
        out += c;
      }
    } else if (r[i] == '$' && i + 1 < r.size() && r[i + 1] == '0') {
      out += "$&";
      ++i;
    } else {
      out += r[i];
    }
  }
  return out;
}

}  // namespace

bool Interpreter::Impl::compile_regex(const std::string& pattern, std::regex& out) {
  size_t weight = pattern.size() > kMaxRegexPattern ? SIZE_MAX : regex_weight(pattern);
  if (weight > kMaxRegexWeight) {
    return in.raise("java.util.regex.PatternSyntaxException",
                    "the regular expression is too long or too complex for Gantry: " + pattern);
  }
  auto flags = std::regex::ECMAScript;
#ifdef __GLIBCXX__
  flags |= std::regex_constants::__polynomial;
#endif
  std::string body = pattern;
  // Java's inline flags at the start, and named groups, in ECMAScript's terms.
  while (body.size() >= 4 && body[0] == '(' && body[1] == '?' && body[3] == ')' &&
         std::string_view("imsx").find(body[2]) != std::string_view::npos) {
    if (body[2] == 'i') flags |= std::regex::icase;
    if (body[2] == 'm') flags |= std::regex::multiline;
    body.erase(0, 4);
  }
  for (size_t p = body.find("(?<"); p != std::string::npos; p = body.find("(?<", p)) {
    size_t close = body.find('>', p);
    if (close == std::string::npos || body[p + 3] == '=' || body[p + 3] == '!') break;
    body.erase(p + 1, close - p);
  }
  for (std::string_view anchor : {"\\A", "\\z", "\\Z"}) {
    for (size_t p = body.find(anchor); p != std::string::npos; p = body.find(anchor, p)) {
      body.replace(p, 2, anchor == "\\A" ? "^" : "$");
    }
  }
  try {
    out.assign(body, flags);
  } catch (const std::regex_error& e) {
    bool backref = e.code() == std::regex_constants::error_complexity;
    return in.raise(
        "java.util.regex.PatternSyntaxException",
        (backref ? std::string("back-references are not supported") : std::string(e.what())) +
            " in the regular expression " + pattern);
  }
  return true;
}

namespace {

bool text_ok(Interpreter& in, const std::string& pattern, const std::string& text) {
  size_t weight = regex_weight(pattern);
  if (text.size() > kMaxRegexText || weight * (text.size() + 1) > kMaxRegexWork) {
    return in.raise(
        "gantry.LimitExceeded",
        "text of " + std::to_string(text.size()) + " bytes is too long to match against " + pattern,
        true);
  }
  return true;
}

std::vector<Value> groups_of(const std::smatch& m) {
  std::vector<Value> g;
  for (size_t i = 0; i < m.size(); ++i) {
    g.push_back(m[i].matched ? Value::string(m[i].str()) : Value());
  }
  return g;
}

}  // namespace

bool Interpreter::Impl::regex_find(const Value& text, const Value& pattern, Value& out) {
  std::string p =
      pattern.type() == Type::Native ? pattern.as_native().to_string() : to_string(pattern);
  std::string s = to_string(text);
  std::regex re;
  if (!compile_regex(p, re) || !text_ok(in, p, s)) return false;
  auto m = std::make_shared<Matcher>();
  m->groups = re.mark_count();
  for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator(); ++it) {
    m->matches.push_back(groups_of(*it));
    if (!tick(Node(NodeKind::Null, in.pos_))) return false;
  }
  std::smatch whole;
  if (std::regex_match(s, whole, re)) {
    m->whole = true;
    m->full = groups_of(whole);
  }
  out = Value::of(std::move(m));
  return true;
}

bool Interpreter::Impl::regex_match(const Value& text, const Value& pattern, bool& out) {
  if (text.is_null()) {
    out = false;
    return true;
  }
  std::string p =
      pattern.type() == Type::Native ? pattern.as_native().to_string() : to_string(pattern);
  std::string s = to_string(text);
  std::regex re;
  if (!compile_regex(p, re) || !text_ok(in, p, s)) return false;
  out = std::regex_match(s, re);
  return true;
}

bool Interpreter::Impl::matcher_method(const Value& recv, const std::string& name,
                                       std::vector<Value>& args, Value& out, bool& found) {
  Matcher& m = recv.as_matcher();
  found = true;
  if (name == "matches") {
    m.use_full = m.whole;
    out = Value::boolean(m.whole);
  } else if (name == "find") {
    m.use_full = false;
    bool ok = m.found < m.matches.size();
    if (ok) ++m.found;
    out = Value::boolean(ok);
  } else if (name == "group") {
    const std::vector<Value>* g = nullptr;
    if (m.use_full) g = &m.full;
    if (!m.use_full && m.found > 0) g = &m.matches[m.found - 1];
    if (g == nullptr) return in.raise("java.lang.IllegalStateException", "No match found");
    int64_t i = arg_int(args, 0, 0);
    if (i < 0 || static_cast<size_t>(i) >= g->size()) {
      return in.raise("java.lang.IndexOutOfBoundsException", "No group " + std::to_string(i));
    }
    out = (*g)[static_cast<size_t>(i)];
  } else if (name == "groupCount") {
    out = Value::integer(static_cast<int32_t>(m.groups));
  } else if (name == "getCount" || name == "size") {
    out = Value::integer(static_cast<int32_t>(m.matches.size()));
  } else if (name == "hasGroup") {
    out = Value::boolean(m.groups > 0);
  } else if (name == "reset") {
    m.found = 0;
    m.use_full = false;
    out = recv;
  } else if (name == "asBoolean") {
    out = Value::boolean(!m.matches.empty());
  } else {
    found = false;
  }
  return true;
}

bool Interpreter::Impl::string_method(const std::string& s, const std::string& name,
                                      std::vector<Value>& args, Value& out, bool& found) {
  found = true;
  size_t n = args.size();
  auto str = [&](std::string v) {
    if (!check_size(v.size())) return false;
    out = Value::string(std::move(v));
    return true;
  };
  if (name == "trim") return str(java_trim(s));
  if (name == "strip") return str(java_trim(s));
  if (name == "size" || name == "length") {
    out = Value::integer(static_cast<int32_t>(s.size()));
    return true;
  }
  if (name == "isEmpty") {
    out = Value::boolean(s.empty());
    return true;
  }
  if (name == "isBlank") {
    out = Value::boolean(java_trim(s).empty());
    return true;
  }
  if (name == "toUpperCase" || name == "toLowerCase") {
    std::string r = s;
    for (char& c : r) {
      c = static_cast<char>(name == "toUpperCase" ? std::toupper(static_cast<unsigned char>(c))
                                                  : std::tolower(static_cast<unsigned char>(c)));
    }
    return str(std::move(r));
  }
  if ((name == "contains" || name == "startsWith" || name == "endsWith") && n >= 1) {
    std::string x = to_string(args[0]);
    bool r = name == "contains"     ? s.find(x) != std::string::npos
             : name == "startsWith" ? s.starts_with(x)
                                    : s.ends_with(x);
    out = Value::boolean(r);
    return true;
  }
  if ((name == "indexOf" || name == "lastIndexOf") && n >= 1) {
    std::string x = to_string(args[0]);
    size_t r = 0;
    if (name == "indexOf") {
      size_t from = static_cast<size_t>(std::max<int64_t>(0, arg_int(args, 1, 0)));
      r = from > s.size() ? std::string::npos : s.find(x, from);
    } else {
      r = n >= 2 ? s.rfind(x, static_cast<size_t>(std::max<int64_t>(0, arg_int(args, 1, 0))))
                 : s.rfind(x);
    }
    out = Value::integer(r == std::string::npos ? -1 : static_cast<int32_t>(r));
    return true;
  }
  if (name == "substring" && n >= 1) {
    int64_t b = arg_int(args, 0, 0);
    int64_t e = n >= 2 ? arg_int(args, 1, 0) : static_cast<int64_t>(s.size());
    if (b < 0 || e > static_cast<int64_t>(s.size()) || b > e) {
      return in.raise("java.lang.StringIndexOutOfBoundsException",
                      "begin " + std::to_string(b) + ", end " + std::to_string(e) + ", length " +
                          std::to_string(s.size()));
    }
    return str(s.substr(static_cast<size_t>(b), static_cast<size_t>(e - b)));
  }
  if (name == "charAt" && n == 1) {
    int64_t i = arg_int(args, 0, 0);
    if (i < 0 || i >= static_cast<int64_t>(s.size())) return index_error(in, i);
    return str(std::string(1, s[static_cast<size_t>(i)]));
  }
  if (name == "getAt" && n == 1) {
    if (args[0].is_integral()) {
      int64_t i = args[0].as_int();
      int64_t k = i < 0 ? i + static_cast<int64_t>(s.size()) : i;
      if (k < 0 || k >= static_cast<int64_t>(s.size())) return index_error(in, i);
      return str(std::string(1, s[static_cast<size_t>(k)]));
    }
    if (args[0].type() == Type::List) {  // s[0, 2..3]
      std::string r;
      for (const auto& idx : args[0].as_list().items) {
        Value part;
        std::vector<Value> a{idx};
        if (!string_method(s, "getAt", a, part, found)) return false;
        r += to_string(part);
      }
      return str(std::move(r));
    }
    if (args[0].type() == Type::Range) {
      const Range& r = args[0].as_range();
      int64_t size = static_cast<int64_t>(s.size());
      if (r.empty) return str("");
      int64_t a = r.from < 0 ? r.from + size : r.from;
      int64_t b = r.to < 0 ? r.to + size : r.to;
      bool rev = a > b;
      int64_t lo = std::min(a, b);
      int64_t hi = std::max(a, b);
      if (lo < 0 || hi >= size) return index_error(in, lo < 0 ? lo : hi);
      std::string sub = s.substr(static_cast<size_t>(lo), static_cast<size_t>(hi - lo + 1));
      if (rev) std::reverse(sub.begin(), sub.end());
      return str(std::move(sub));
    }
  }
  if (name == "replace" && n == 2) {
    std::string from = to_string(args[0]);
    std::string to = to_string(args[1]);
    std::string r;
    if (from.empty()) {
      for (char c : s) r += to + c;
      r += to;
      return str(std::move(r));
    }
    size_t pos = 0;
    while (true) {
      size_t hit = s.find(from, pos);
      if (hit == std::string::npos) break;
      r.append(s, pos, hit - pos);
      r += to;
      pos = hit + from.size();
      if (!check_size(r.size())) return false;
    }
    r.append(s, pos);
    return str(std::move(r));
  }
  if ((name == "replaceAll" || name == "replaceFirst") && n == 2) {
    std::string p =
        args[0].type() == Type::Native ? args[0].as_native().to_string() : to_string(args[0]);
    std::regex re;
    if (!compile_regex(p, re) || !text_ok(in, p, s)) return false;
    if (args[1].type() == Type::Closure) {
      std::string r;
      auto last = s.cbegin();
      for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator();
           ++it) {
        r.append(last, s.cbegin() + it->position());
        std::vector<Value> g = groups_of(*it);
        Value v;
        std::vector<Value> call_args;
        if (g.size() == 1) {
          call_args.push_back(g[0]);
        } else {
          call_args.push_back(Value::list(g));
        }
        if (!call_value(args[1], call_args, v)) return false;
        r += to_string(v);
        last = s.cbegin() + it->position() + it->length();
        if (name == "replaceFirst") break;
      }
      r.append(last, s.cend());
      return str(std::move(r));
    }
    auto flags = std::regex_constants::format_default;
    if (name == "replaceFirst") flags |= std::regex_constants::format_first_only;
    return str(std::regex_replace(s, re, replacement_format(to_string(args[1])), flags));
  }
  if (name == "split") {
    if (n == 0) {  // the GDK's split(): on whitespace, as tokenize() does
      out = tokens(s, " \t\n\r\f\v");
      return true;
    }
    std::string p = to_string(args[0]);
    int64_t limit = arg_int(args, 1, 0);
    std::vector<std::string> parts;
    // Java's fast path: a single character that is not a regex metacharacter.
    std::regex re;
    if (!compile_regex(p, re) || !text_ok(in, p, s)) return false;
    size_t last = 0;
    for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator();
         ++it) {
      if (limit > 0 && static_cast<int64_t>(parts.size()) == limit - 1) break;
      size_t pos = static_cast<size_t>(it->position());
      size_t len = static_cast<size_t>(it->length());
      if (len == 0 && pos == 0) continue;  // no leading empty string for a zero-width match
      if (len == 0 && pos >= s.size()) break;
      parts.push_back(s.substr(last, pos - last));
      last = pos + len;
    }
    parts.push_back(s.substr(last));
    if (s.empty()) parts = {""};
    if (limit == 0) {
      while (parts.size() > 1 && parts.back().empty()) parts.pop_back();
      if (parts.size() == 1 && parts[0].empty() && !s.empty()) parts.clear();
    }
    std::vector<Value> items;
    for (auto& part : parts) items.push_back(Value::string(std::move(part)));
    out = Value::list(std::move(items));
    return true;
  }
  if (name == "tokenize") {
    out = tokens(s, n >= 1 ? to_string(args[0]) : " \t\n\r\f");
    return true;
  }
  if (name == "toInteger" || name == "toLong" || name == "asInteger") {
    int64_t v = 0;
    std::string t = java_trim(s);
    if (!parse_long(t, v)) return number_format(in, t);
    if (name != "toLong" && (v > INT32_MAX || v < INT32_MIN)) return number_format(in, t);
    out = name == "toLong" ? Value::long_(v) : Value::integer(static_cast<int32_t>(v));
    return true;
  }
  if (name == "isInteger" || name == "isLong") {
    int64_t v = 0;
    bool ok = parse_long(java_trim(s), v);
    if (name == "isInteger" && (v > INT32_MAX || v < INT32_MIN)) ok = false;
    out = Value::boolean(ok);
    return true;
  }
  if (name == "toBigDecimal" || name == "isNumber" || name == "isBigDecimal" ||
      name == "toDouble" || name == "isDouble" || name == "toFloat") {
    std::string t = java_trim(s);
    Decimal d;
    bool ok = num::parse_decimal(t, d);
    char* end = nullptr;
    double dv = std::strtod(t.c_str(), &end);
    bool dok = !t.empty() && end == t.c_str() + t.size();
    if (name.starts_with("is")) {
      out = Value::boolean(name == "isDouble" ? dok : ok);
      return true;
    }
    if (name == "toBigDecimal") {
      if (!ok) return number_format(in, t);
      out = Value::decimal(d);
    } else {
      if (!dok) return number_format(in, t);
      out = Value::double_(dv);
    }
    return true;
  }
  if (name == "toBoolean") {
    std::string t = java_trim(s);
    for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out = Value::boolean(t == "true" || t == "y" || t == "1");
    return true;
  }
  if ((name == "padLeft" || name == "padRight" || name == "center") && n >= 1) {
    int64_t width = arg_int(args, 0, 0);
    std::string fill = n >= 2 ? to_string(args[1]) : " ";
    if (!check_size(static_cast<size_t>(std::max<int64_t>(width, 0)))) return false;
    if (width <= static_cast<int64_t>(s.size())) return str(s);
    size_t missing = static_cast<size_t>(width) - s.size();
    if (name == "padLeft") return str(pad(fill, missing) + s);
    if (name == "padRight") return str(s + pad(fill, missing));
    size_t left = missing / 2;
    return str(pad(fill, left) + s + pad(fill, missing - left));
  }
  if ((name == "multiply" || name == "repeat") && n == 1 && args[0].is_integral()) {
    int64_t times = args[0].as_int();
    if (times < 0) {
      return in.raise("java.lang.IllegalArgumentException",
                      "multiply() should be called with a number of 0 or greater not: " +
                          std::to_string(times));
    }
    if (!check_size(s.size() * static_cast<size_t>(times))) return false;
    std::string r;
    for (int64_t i = 0; i < times; ++i) r += s;
    return str(std::move(r));
  }
  if (name == "plus" && n == 1) return str(s + to_string(args[0]));
  if ((name == "concat" || name == "leftShift") && n == 1) return str(s + to_string(args[0]));
  if (name == "minus" && n == 1) {
    std::string x = to_string(args[0]);
    size_t hit = s.find(x);
    if (hit == std::string::npos || x.empty()) return str(s);
    return str(s.substr(0, hit) + s.substr(hit + x.size()));
  }
  if (name == "reverse") return str(std::string(s.rbegin(), s.rend()));
  if (name == "capitalize") return str(cap(s));
  if (name == "uncapitalize") {
    std::string r = s;
    if (!r.empty()) r[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(r[0])));
    return str(std::move(r));
  }
  if ((name == "take" || name == "drop") && n == 1) {
    int64_t k = std::clamp<int64_t>(arg_int(args, 0, 0), 0, static_cast<int64_t>(s.size()));
    return str(name == "take" ? s.substr(0, static_cast<size_t>(k))
                              : s.substr(static_cast<size_t>(k)));
  }
  if (name == "readLines" || name == "lines" || name == "eachLine") {
    std::vector<Value> lines;
    size_t pos = 0;
    while (pos < s.size()) {
      size_t nl = s.find('\n', pos);
      std::string line = s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(Value::string(std::move(line)));
      if (nl == std::string::npos) break;
      pos = nl + 1;
    }
    if (name == "eachLine" && n >= 1) {
      bool numbered = args.back().type() == Type::Closure &&
                      args.back().as_closure().node != nullptr &&
                      args.back().as_closure().node->params.size() == 2;
      int32_t first_line =
          n >= 2 && args[0].is_integral() ? static_cast<int32_t>(args[0].as_int()) : 0;
      for (size_t i = 0; i < lines.size(); ++i) {
        Value ignored;
        std::vector<Value> a{lines[i]};
        if (numbered) a.push_back(Value::integer(first_line + static_cast<int32_t>(i)));
        if (!call_value(args.back(), a, ignored)) return false;
      }
      out = Value();
      return true;
    }
    out = Value::list(std::move(lines));
    return true;
  }
  if (name == "eachMatch" && n == 2) {
    Value matcher;
    if (!regex_find(Value::string(s), args[0], matcher)) return false;
    for (const auto& g : matcher.as_matcher().matches) {
      Value ignored;
      if (!call_value(args[1], g.size() == 1 ? std::vector<Value>{g[0]} : g, ignored)) return false;
    }
    out = Value::string(s);
    return true;
  }
  if (name == "matches" && n == 1) {
    bool m = false;
    if (!regex_match(Value::string(s), args[0], m)) return false;
    out = Value::boolean(m);
    return true;
  }
  if ((name == "find" || name == "findAll") && n >= 1 && args[0].type() != Type::Closure) {
    Value matcher;
    if (!regex_find(Value::string(s), args[0], matcher)) return false;
    Matcher& m = matcher.as_matcher();
    auto pick = [&](const std::vector<Value>& g, Value& v) {
      if (n >= 2) return call_value(args[1], g.size() == 1 ? std::vector<Value>{g[0]} : g, v);
      v = g.size() == 1 ? g[0] : Value::list(g);
      if (name == "find" || g.size() == 1) v = g[0];
      return true;
    };
    if (name == "find") {
      if (m.matches.empty()) {
        out = Value();
        return true;
      }
      return pick(m.matches[0], out);
    }
    std::vector<Value> all;
    for (const auto& g : m.matches) {
      Value v;
      if (!pick(g, v)) return false;
      all.push_back(std::move(v));
    }
    out = Value::list(std::move(all));
    return true;
  }
  if ((name == "equals" || name == "equalsIgnoreCase" || name == "contentEquals") && n == 1) {
    if (!args[0].is_string()) {
      out = Value::boolean(false);
      return true;
    }
    std::string a = s;
    std::string b = args[0].as_string();
    if (name == "equalsIgnoreCase") {
      for (char& c : a) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      for (char& c : b) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    out = Value::boolean(a == b);
    return true;
  }
  if ((name == "compareTo" || name == "compareToIgnoreCase") && n == 1) {
    std::string a = s;
    std::string b = to_string(args[0]);
    if (name == "compareToIgnoreCase") {
      for (char& c : a) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      for (char& c : b) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    // Java: the difference of the first differing chars, else of the lengths.
    size_t i = 0;
    while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
    int r = (i < a.size() && i < b.size())
                ? static_cast<unsigned char>(a[i]) - static_cast<unsigned char>(b[i])
                : static_cast<int>(a.size()) - static_cast<int>(b.size());
    out = Value::integer(r);
    return true;
  }
  if (name == "count" && n == 1 && !args[0].is_null()) {
    std::string x = to_string(args[0]);
    int32_t c = 0;
    if (!x.empty()) {
      for (size_t p = s.find(x); p != std::string::npos; p = s.find(x, p + 1)) ++c;
    }
    out = Value::integer(c);
    return true;
  }
  if (name == "toList" || name == "toCharArray" || name == "chars") {
    std::vector<Value> chars;
    for (char c : s) chars.push_back(Value::string(std::string(1, c)));
    out = Value::list(std::move(chars));
    return true;
  }
  if (name == "stripIndent" || name == "stripMargin") {
    std::vector<std::string> lines;
    size_t pos = 0;
    while (true) {
      size_t nl = s.find('\n', pos);
      lines.push_back(s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
      if (nl == std::string::npos) break;
      pos = nl + 1;
    }
    std::string margin = name == "stripMargin" ? (n >= 1 ? to_string(args[0]) : "|") : "";
    size_t indent = std::string::npos;
    if (name == "stripIndent") {
      for (const auto& l : lines) {
        size_t k = 0;
        while (k < l.size() && (l[k] == ' ' || l[k] == '\t')) ++k;
        if (k < l.size()) indent = std::min(indent, k);
      }
      if (indent == std::string::npos) indent = 0;
    }
    std::string r;
    for (size_t i = 0; i < lines.size(); ++i) {
      std::string l = lines[i];
      if (name == "stripIndent") {
        l = l.size() >= indent ? l.substr(indent) : java_trim(l);
      } else {
        size_t k = 0;
        while (k < l.size() && (l[k] == ' ' || l[k] == '\t')) ++k;
        if (l.compare(k, margin.size(), margin) == 0) l = l.substr(k + margin.size());
      }
      if (i > 0) r += "\n";
      r += l;
    }
    return str(std::move(r));
  }
  static const char* kCharMethods[] = {
      "each",      "eachWithIndex",  "collect",   "any",       "every",
      "findAll",   "find",           "inject",    "groupBy",   "countBy",
      "sum",       "toSet",          "unique",    "sort",      "max",
      "min",       "collectEntries", "takeWhile", "dropWhile", "findIndexOf",
      "withIndex", "reverseEach",    "grep"};
  for (const char* m : kCharMethods) {
    if (name != m || (n == 0 && name != "toSet" && name != "unique" && name != "sort" &&
                      name != "max" && name != "min" && name != "sum" && name != "withIndex")) {
      continue;
    }
    // A String iterates its characters (one-character strings here).
    std::vector<Value> chars;
    for (char c : s) chars.push_back(Value::string(std::string(1, c)));
    Value l = Value::list(std::move(chars));
    bool ok = list_method(l, name, args, out, found);
    if (ok && found && (name == "each" || name == "eachWithIndex" || name == "reverseEach")) {
      out = Value::string(s);
    }
    if (ok && found && (name == "takeWhile" || name == "dropWhile") && out.type() == Type::List) {
      std::string joined;
      for (const auto& v : out.as_list().items) joined += to_string(v);
      out = Value::string(joined);
    }
    return ok;
  }
  if (name == "next" || name == "previous") {
    std::string r = s;
    if (r.empty()) return str("\x01");
    r.back() = static_cast<char>(r.back() + (name == "next" ? 1 : -1));
    return str(std::move(r));
  }
  if (name == "execute") {
    return in.raise("java.lang.SecurityException",
                    "Gantry's sandbox does not allow String.execute(): run commands with sh");
  }
  if (name == "format" && n >= 1) {
    std::string r;
    if (!format(s, args, 0, r)) return false;
    return str(std::move(r));
  }
  found = false;
  return true;
}

// java.util.Formatter for the conversions scripts use: %s %d %f %e %x %o %c %b %n %%,
// with flags (-, 0, +, space, ','), width, precision and argument indexes (%1$s).
bool Interpreter::Impl::format(const std::string& fmt, const std::vector<Value>& args, size_t first,
                               std::string& out) {
  size_t next = first;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char c = fmt[i];
    if (c != '%') {
      out += c;
      continue;
    }
    size_t j = i + 1;
    size_t index = 0;
    size_t start = j;
    while (j < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[j]))) ++j;
    if (j < fmt.size() && fmt[j] == '$' && j > start) {
      index = std::stoul(fmt.substr(start, j - start));
      ++j;
    } else {
      j = start;
    }
    std::string flags;
    while (j < fmt.size() && std::string_view("-0+ ,#").find(fmt[j]) != std::string_view::npos) {
      flags += fmt[j++];
    }
    int width = 0;
    while (j < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[j]))) {
      width = width * 10 + (fmt[j++] - '0');
      if (width > 10000) return in.raise("java.util.IllegalFormatWidthException", "too wide");
    }
    int precision = -1;
    if (j < fmt.size() && fmt[j] == '.') {
      precision = 0;
      ++j;
      while (j < fmt.size() && std::isdigit(static_cast<unsigned char>(fmt[j]))) {
        precision = precision * 10 + (fmt[j++] - '0');
        if (precision > 1000)
          return in.raise("java.util.IllegalFormatPrecisionException", "too precise");
      }
    }
    if (j >= fmt.size()) {
      return in.raise("java.util.UnknownFormatConversionException", "Conversion = '%'");
    }
    char conv = fmt[j];
    i = j;
    if (conv == '%') {
      out += '%';
      continue;
    }
    if (conv == 'n') {
      out += '\n';
      continue;
    }
    size_t at = index > 0 ? first + index - 1 : next++;
    if (at >= args.size()) {
      return in.raise("java.util.MissingFormatArgumentException",
                      std::string("Format specifier '%") + conv + "'");
    }
    const Value& v = args[at];
    std::string text;
    char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(conv)));
    auto bad = [&]() {
      return in.raise("java.util.IllegalFormatConversionException",
                      std::string(1, conv) + " != " + class_name(v));
    };
    auto group = [&](std::string digits) {
      if (flags.find(',') == std::string::npos) return digits;
      size_t point = digits.find('.');
      std::string ip = digits.substr(0, point);
      std::string rest = point == std::string::npos ? "" : digits.substr(point);
      bool neg = !ip.empty() && ip[0] == '-';
      if (neg) ip.erase(0, 1);
      std::string g;
      for (size_t k = 0; k < ip.size(); ++k) {
        if (k > 0 && (ip.size() - k) % 3 == 0) g += ',';
        g += ip[k];
      }
      return (neg ? "-" : "") + g + rest;
    };
    if (lower == 's') {
      text = to_string(v);
      if (precision >= 0 && static_cast<size_t>(precision) < text.size())
        text.resize(static_cast<size_t>(precision));
    } else if (lower == 'b') {
      text = v.is_null() ? "false"
                         : (v.type() == Type::Bool ? (v.as_bool() ? "true" : "false") : "true");
    } else if (lower == 'c') {
      text = v.is_integral() ? std::string(1, static_cast<char>(v.as_int())) : to_string(v);
    } else if (conv == 'd') {
      if (v.is_null()) {
        text = "null";
      } else if (!v.is_integral()) {
        return bad();
      } else {
        text = group(std::to_string(v.as_int()));
        if (flags.find('+') != std::string::npos && v.as_int() >= 0) text = "+" + text;
        if (flags.find(' ') != std::string::npos && v.as_int() >= 0) text = " " + text;
      }
    } else if (lower == 'x' || conv == 'o') {
      if (!v.is_integral()) return bad();
      char buf[32];
      uint64_t u = v.type() == Type::Int ? static_cast<uint32_t>(v.as_int())
                                         : static_cast<uint64_t>(v.as_int());
      std::snprintf(buf, sizeof buf, conv == 'o' ? "%llo" : (conv == 'X' ? "%llX" : "%llx"),
                    static_cast<unsigned long long>(u));
      text = buf;
    } else if (lower == 'f' || lower == 'e' || lower == 'g') {
      if (!v.is_number()) return bad();
      int p = precision < 0 ? 6 : precision;
      char buf[512];
      std::string spec = std::string("%.") + std::to_string(p) + conv;
      if (v.type() == Type::Decimal && lower == 'f') {
        // Exact rounding of a BigDecimal, half up as Java's Formatter does.
        Decimal d = v.as_decimal();
        i128 u = d.unscaled;
        int scale = d.scale;
        while (scale > p) {
          i128 r = u % 10;
          u /= 10;
          --scale;
          if (scale == p && (r >= 5 || r <= -5)) u += u < 0 || (u == 0 && r < 0) ? -1 : 1;
        }
        while (scale < p) {
          u *= 10;
          ++scale;
        }
        text = num::decimal_string(Decimal{static_cast<int64_t>(u), scale});
        if (p == 0 && text.find('.') != std::string::npos) text.resize(text.find('.'));
      } else {
        std::snprintf(buf, sizeof buf, spec.c_str(), v.to_double());
        text = buf;
        if (lower == 'e') {
          // C prints e+05, Java e+05 too: same.
        }
      }
      text = group(text);
      if (flags.find('+') != std::string::npos && v.to_double() >= 0) text = "+" + text;
    } else {
      return in.raise("java.util.UnknownFormatConversionException",
                      std::string("Conversion = '") + conv + "'");
    }
    if (std::isupper(static_cast<unsigned char>(conv)) && conv != 'X') {
      for (char& ch : text) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    }
    if (static_cast<int>(text.size()) < width) {
      size_t fill = static_cast<size_t>(width) - text.size();
      if (flags.find('-') != std::string::npos) {
        text += std::string(fill, ' ');
      } else if (flags.find('0') != std::string::npos && lower != 's') {
        size_t sign = (!text.empty() && (text[0] == '-' || text[0] == '+')) ? 1 : 0;
        text.insert(sign, std::string(fill, '0'));
      } else {
        text.insert(0, std::string(fill, ' '));
      }
    }
    out += text;
    if (!check_size(out.size())) return false;
  }
  return true;
}

}  // namespace gantry::pipelines::groovy
