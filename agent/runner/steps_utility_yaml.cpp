// readYaml/writeYaml's codec on yaml-cpp: YAML to Groovy values, with plain
// scalars typed as SnakeYAML (Jenkins) types them, and back.
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "steps_utility.hpp"

namespace gantry::agent::utility {

namespace groovy = pipelines::groovy;
using groovy::Type;
using groovy::Value;

namespace {

constexpr int kMaxDepth = 200;
constexpr size_t kMaxItems = 1'000'000;  // aliases can repeat a subtree many times

bool one_of(std::string_view s, std::initializer_list<std::string_view> words) {
  for (auto w : words) {
    if (s == w) return true;
  }
  return false;
}

// Digits (and YAML 1.1's `_` separators) in `base`; at least one digit.
bool parse_digits(std::string_view s, int base, int64_t& out) {
  bool any = false;
  uint64_t v = 0;
  for (char c : s) {
    if (c == '_') continue;
    int d = std::isdigit(static_cast<unsigned char>(c))
                ? c - '0'
                : (std::isxdigit(static_cast<unsigned char>(c))
                       ? std::tolower(static_cast<unsigned char>(c)) - 'a' + 10
                       : 99);
    if (d >= base) return false;
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
    if (v > static_cast<uint64_t>(INT64_MAX)) return false;
    any = true;
  }
  out = static_cast<int64_t>(v);
  return any;
}

bool resolve_int(std::string_view s, int64_t& out) {
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  bool ok = false;
  if (s.starts_with("0x")) {
    ok = parse_digits(s.substr(2), 16, out);
  } else if (s.starts_with("0b")) {
    ok = parse_digits(s.substr(2), 2, out);
  } else if (s.size() > 1 && s[0] == '0') {
    ok = parse_digits(s.substr(1), 8, out);
  } else {
    ok = parse_digits(s, 10, out);
  }
  if (ok && negative) out = -out;
  return ok;
}

// [-+]?(\.[0-9]+|[0-9_]+(\.[0-9_]*)?)([eE][-+]?[0-9]+)?, .inf, .nan
bool resolve_float(std::string_view s, double& out) {
  if (one_of(s, {".nan", ".NaN", ".NAN"})) {
    out = std::nan("");
    return true;
  }
  std::string_view body = s;
  bool negative = false;
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (one_of(body, {".inf", ".Inf", ".INF"})) {
    out = negative ? -HUGE_VAL : HUGE_VAL;
    return true;
  }
  std::string clean;
  size_t i = 0, digits = 0;
  auto is_digit = [&](size_t at) {
    return at < body.size() && std::isdigit(static_cast<unsigned char>(body[at]));
  };
  for (; i < body.size() && (is_digit(i) || body[i] == '_'); ++i) {
    if (body[i] != '_') {
      clean += body[i];
      ++digits;
    }
  }
  bool dot = i < body.size() && body[i] == '.';
  if (dot) {
    clean += '.';
    ++i;
    size_t frac = 0;
    for (; i < body.size() && (is_digit(i) || body[i] == '_'); ++i) {
      if (body[i] != '_') {
        clean += body[i];
        ++frac;
      }
    }
    if (digits == 0 && frac == 0) return false;
  } else if (digits == 0) {
    return false;
  }
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    clean += 'e';
    ++i;
    if (i < body.size() && (body[i] == '-' || body[i] == '+')) clean += body[i++];
    if (!is_digit(i)) return false;
    while (is_digit(i)) clean += body[i++];
  } else if (!dot) {
    return false;  // an integer
  }
  if (i != body.size()) return false;
  out = std::strtod(clean.c_str(), nullptr);
  if (negative) out = -out;
  return true;
}

// A plain scalar's value as YAML 1.1 (SnakeYAML) types it.
Value resolve_plain(const std::string& s) {
  if (s.empty() || one_of(s, {"~", "null", "Null", "NULL"})) return Value();
  if (one_of(s, {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"}))
    return Value::boolean(true);
  if (one_of(s, {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"}))
    return Value::boolean(false);
  int64_t i = 0;
  if (resolve_int(s, i)) return Value::whole(i);
  double d = 0;
  if (resolve_float(s, d)) return Value::double_(d);
  return Value::string(s);
}

class Reader {
 public:
  bool convert(const YAML::Node& n, Value& out, int depth) {
    if (depth > kMaxDepth) return fail("the document nests more than 200 deep");
    if (++items_ > kMaxItems) return fail("the document has more than a million values");
    switch (n.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        out = Value();
        return true;
      case YAML::NodeType::Scalar: {
        const std::string& tag = n.Tag();
        if (tag == "!" || tag == "tag:yaml.org,2002:str") {  // quoted, or !!str
          out = Value::string(n.Scalar());
        } else {
          out = resolve_plain(n.Scalar());
        }
        return true;
      }
      case YAML::NodeType::Sequence: {
        out = Value::list();
        for (const auto& item : n) {
          Value v;
          if (!convert(item, v, depth + 1)) return false;
          out.as_list().items.push_back(std::move(v));
        }
        return true;
      }
      case YAML::NodeType::Map: {
        out = Value::map();
        for (const auto& kv : n) {
          Value k, v;
          if (!convert(kv.first, k, depth + 1) || !convert(kv.second, v, depth + 1)) return false;
          if (k.type() == Type::List || k.type() == Type::Map)
            k = Value::string(groovy::to_string(k));
          out.as_map().put(k, std::move(v));
        }
        return true;
      }
    }
    return true;
  }

  std::string error;

 private:
  bool fail(std::string what) {
    error = std::move(what);
    return false;
  }
  size_t items_ = 0;
};

bool emit(YAML::Emitter& e, const Value& v, int depth, std::string& error) {
  if (depth > kMaxDepth) {
    error = "the value nests more than 200 deep";
    return false;
  }
  switch (v.type()) {
    case Type::Null:
      e << YAML::Null;
      return true;
    case Type::Bool:
      e << (v.as_bool() ? "true" : "false");
      return true;
    case Type::Int:
    case Type::Long:
    case Type::Decimal:
      e << groovy::to_string(v);
      return true;
    case Type::Double: {
      double d = v.as_double();
      e << (std::isnan(d)   ? std::string(".NaN")
            : std::isinf(d) ? std::string(d < 0 ? "-.inf" : ".inf")
                            : groovy::to_string(v));
      return true;
    }
    case Type::List:
      e << YAML::BeginSeq;
      for (const auto& item : v.as_list().items) {
        if (!emit(e, item, depth + 1, error)) return false;
      }
      e << YAML::EndSeq;
      return true;
    case Type::Range:
      e << YAML::BeginSeq;
      for (int64_t i = 0; i < v.as_range().size() && i < int64_t{kMaxItems}; ++i) {
        e << std::to_string(v.as_range().at(i));
      }
      e << YAML::EndSeq;
      return true;
    case Type::Map:
    case Type::Object: {
      const auto& entries =
          v.type() == Type::Map ? v.as_map().entries() : v.as_object().fields->entries();
      e << YAML::BeginMap;
      for (const auto& [k, val] : entries) {
        e << YAML::Key;
        if (!emit(e, k.is_string() ? k : Value::string(groovy::to_string(k)), depth + 1, error))
          return false;
        e << YAML::Value;
        if (!emit(e, val, depth + 1, error)) return false;
      }
      e << YAML::EndMap;
      return true;
    }
    default: {
      std::string s = groovy::to_string(v);
      // Quoted when read back plain it would not be this string.
      Value back = resolve_plain(s);
      if (!back.is_string() || s.find('\n') != std::string::npos) e << YAML::DoubleQuoted;
      e << s;
      return true;
    }
  }
}

}  // namespace

bool parse_yaml(std::string_view text, Value& out, std::string& error) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    error = "not valid YAML: line " + std::to_string(e.mark.line + 1) + ", column " +
            std::to_string(e.mark.column + 1) + ": " + e.msg;
    return false;
  }
  Reader r;
  std::vector<Value> values;
  try {
    for (const auto& d : docs) {
      Value v;
      if (!r.convert(d, v, 0)) {
        error = r.error;
        return false;
      }
      values.push_back(std::move(v));
    }
  } catch (const YAML::Exception& e) {
    error = "not valid YAML: " + e.msg;
    return false;
  }
  if (values.empty()) {
    out = Value();
  } else if (values.size() == 1) {
    out = values[0];
  } else {
    out = Value::list(std::move(values));
  }
  return true;
}

bool write_yaml(const std::vector<Value>& docs, std::string& out, std::string& error) {
  try {
    for (size_t i = 0; i < docs.size(); ++i) {
      YAML::Emitter e;
      if (!emit(e, docs[i], 0, error)) return false;
      if (!e.good()) {
        error = "cannot write YAML: " + e.GetLastError();
        return false;
      }
      if (i > 0) out += "---\n";
      out += e.c_str();
      out += '\n';
    }
  } catch (const YAML::Exception& e) {
    error = "cannot write YAML: " + e.msg;
    return false;
  }
  return true;
}

}  // namespace gantry::agent::utility
