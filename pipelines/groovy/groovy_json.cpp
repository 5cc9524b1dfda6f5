// groovy.json: JsonOutput.toJson/prettyPrint and JsonSlurper.parseText, with
// Groovy's number types (integers as Integer/Long, decimals as BigDecimal).
#include <nlohmann/json.hpp>

#include "interp.hpp"

namespace gantry::pipelines::groovy {

namespace {

constexpr int kMaxJsonDepth = 200;

// Builds Values from nlohmann's SAX events, keeping each number's text.
class Builder : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit Builder(size_t max_items) : max_items_(max_items) {}
  bool null() override { return add(Value()); }
  bool boolean(bool v) override { return add(Value::boolean(v)); }
  bool number_integer(number_integer_t v) override { return add(Value::whole(v)); }
  bool number_unsigned(number_unsigned_t v) override {
    if (v > static_cast<uint64_t>(INT64_MAX)) return fail("a number larger than a Long");
    return add(Value::whole(static_cast<int64_t>(v)));
  }
  bool number_float(number_float_t v, const string_t& text) override {
    Decimal d;
    if (num::parse_decimal(text, d)) return add(Value::decimal(d));
    return add(Value::double_(v));
  }
  bool string(string_t& v) override { return add(Value::string(v)); }
  bool binary(binary_t&) override { return fail("binary values"); }
  bool start_object(std::size_t) override { return open(Value::map()); }
  bool key(string_t& k) override {
    key_ = k;
    return true;
  }
  bool end_object() override {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override { return open(Value::list()); }
  bool end_array() override {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t pos, const std::string&,
                   const nlohmann::detail::exception& e) override {
    error_ = "Unable to parse JSON at character " + std::to_string(pos) + ": " + e.what();
    return false;
  }

  Value result;
  std::string error_;

 private:
  bool fail(const std::string& what) {
    error_ = "Gantry's JsonSlurper does not support " + what;
    return false;
  }
  bool add(Value v) {
    if (++items_ > max_items_) return fail("documents this large");
    if (stack_.empty()) {
      result = std::move(v);
      return true;
    }
    Value& top = stack_.back();
    if (top.type() == Type::Map) {
      top.as_map().put(Value::string(key_), std::move(v));
    } else {
      top.as_list().items.push_back(std::move(v));
    }
    return true;
  }
  bool open(Value v) {
    if (stack_.size() >= kMaxJsonDepth) return fail("nesting this deep");
    Value copy = v;
    if (!add(std::move(v))) return false;
    stack_.push_back(std::move(copy));
    return true;
  }

  size_t max_items_;
  size_t items_ = 0;
  std::vector<Value> stack_;
  std::string key_;
};

void sort_keys(Value& v, int depth) {
  if (depth > kMaxJsonDepth) return;
  if (v.type() == Type::List) {
    for (auto& item : v.as_list().items) sort_keys(item, depth + 1);
  } else if (v.type() == Type::Map) {
    auto& entries = v.as_map().mutable_entries();
    std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
      return a.first.as_string() < b.first.as_string();
    });
    for (auto& [k, val] : entries) sort_keys(val, depth + 1);
    v.as_map().reindex();
  }
}

}  // namespace

void json_quote(const std::string& s, std::string& out) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

bool Interpreter::Impl::json_out(const Value& v, bool pretty, std::string& out) {
  std::function<bool(const Value&, int)> write = [&](const Value& x, int depth) -> bool {
    if (depth > kMaxJsonDepth) return in.raise("gantry.LimitExceeded", "JSON nests too deep", true);
    if (!check_size(out.size())) return false;
    switch (x.type()) {
      case Type::Null:
        out += "null";
        return true;
      case Type::Bool:
      case Type::Int:
      case Type::Long:
      case Type::Decimal:
      case Type::Double:
        out += to_string(x);
        return true;
      case Type::String:
        json_quote(x.as_string(), out);
        return true;
      case Type::List:
      case Type::Range: {
        std::vector<Value> items;
        if (!iterate(in, x, items)) return false;
        out += '[';
        for (size_t i = 0; i < items.size(); ++i) {
          if (i > 0) out += ',';
          if (!write(items[i], depth + 1)) return false;
        }
        out += ']';
        return true;
      }
      case Type::Map: {
        out += '{';
        bool first = true;
        for (const auto& [k, val] : x.as_map().entries()) {
          if (!first) out += ',';
          first = false;
          json_quote(to_string(k), out);
          out += ':';
          if (!write(val, depth + 1)) return false;
        }
        out += '}';
        return true;
      }
      case Type::Object: {
        // A bean: its properties, sorted by name as Groovy's JsonOutput lists them.
        auto fields = x.as_object().fields->entries();
        std::sort(fields.begin(), fields.end(), [](const auto& a, const auto& b) {
          return to_string(a.first) < to_string(b.first);
        });
        out += '{';
        bool first = true;
        for (const auto& [k, val] : fields) {
          if (!first) out += ',';
          first = false;
          json_quote(to_string(k), out);
          out += ':';
          if (!write(val, depth + 1)) return false;
        }
        out += '}';
        return true;
      }
      default:
        json_quote(to_string(x), out);
        return true;
    }
  };
  if (!write(v, 0)) return false;
  if (pretty) {
    std::string raw = std::move(out);
    out.clear();
    return json_pretty(raw, out);
  }
  return true;
}

bool Interpreter::Impl::json_parse(const std::string& text, Value& out) {
  Builder b(in.limits_.max_collection);
  bool ok = nlohmann::json::sax_parse(text, &b, nlohmann::json::input_format_t::json, false);
  if (!ok) {
    return in.raise("groovy.json.JsonException",
                    b.error_.empty() ? "Unable to parse JSON" : b.error_);
  }
  out = b.result;
  sort_keys(out, 0);  // JsonSlurper's maps list their keys in order
  return true;
}

// JsonOutput.prettyPrint: four spaces a level, "key": value, empty [] and {} kept short.
bool Interpreter::Impl::json_pretty(const std::string& text, std::string& out) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        out += c;
        break;
      case '{':
      case '[': {
        ++depth;
        out += c;
        out += '\n';
        out += std::string(static_cast<size_t>(depth) * 4, ' ');
        break;
      }
      case '}':
      case ']':
        --depth;
        out += '\n';
        out += std::string(static_cast<size_t>(std::max(depth, 0)) * 4, ' ');
        out += c;
        break;
      case ',':
        out += ",\n";
        out += std::string(static_cast<size_t>(depth) * 4, ' ');
        break;
      case ':':
        out += ": ";
        break;
      default:
        if (!std::isspace(static_cast<unsigned char>(c))) out += c;
    }
    if (!check_size(out.size())) return false;
  }
  return true;
}

namespace {

using Json = nlohmann::json;

// Integers are JSON numbers, a Long {"L": "n"}, a BigDecimal {"D": "1.5"}, a
// Double {"F": 1.5}, a map {"M": [[key, value], ...]} (keys of any type, in
// order); false for what cannot travel.
bool to_json(const Value& v, Json& out, int depth) {
  if (depth > kMaxJsonDepth) return false;
  switch (v.type()) {
    case Type::Null:
      out = nullptr;
      return true;
    case Type::Bool:
      out = v.as_bool();
      return true;
    case Type::Int:
      out = v.as_int();
      return true;
    case Type::Long:
      out = Json{{"L", std::to_string(v.as_int())}};
      return true;
    case Type::Decimal:
      out = Json{{"D", num::decimal_string(v.as_decimal())}};
      return true;
    case Type::Double:
      out = Json{{"F", v.as_double()}};
      return true;
    case Type::String:
      out = v.as_string();
      return true;
    case Type::List:
    case Type::Range: {
      out = Json::array();
      if (v.type() == Type::Range) {
        const Range& r = v.as_range();
        for (int64_t i = 0; i < r.size() && i < 1'000'000; ++i) out.push_back(r.at(i));
        return true;
      }
      for (const auto& item : v.as_list().items) {
        Json j;
        if (!to_json(item, j, depth + 1)) return false;
        out.push_back(std::move(j));
      }
      return true;
    }
    case Type::Map: {
      Json pairs = Json::array();
      for (const auto& [k, val] : v.as_map().entries()) {
        Json jk;
        Json jv;
        if (!to_json(k, jk, depth + 1) || !to_json(val, jv, depth + 1)) return false;
        pairs.push_back(Json::array({std::move(jk), std::move(jv)}));
      }
      out = Json{{"M", std::move(pairs)}};
      return true;
    }
    default:
      return false;
  }
}

bool from_json(const Json& j, Value& out, int depth) {
  if (depth > kMaxJsonDepth) return false;
  if (j.is_null()) {
    out = Value();
  } else if (j.is_boolean()) {
    out = Value::boolean(j.get<bool>());
  } else if (j.is_number_integer()) {
    out = Value::whole(j.get<int64_t>());
  } else if (j.is_string()) {
    out = Value::string(j.get<std::string>());
  } else if (j.is_array()) {
    auto l = std::make_shared<List>();
    for (const auto& item : j) {
      Value v;
      if (!from_json(item, v, depth + 1)) return false;
      l->items.push_back(std::move(v));
    }
    out = Value::of(std::move(l));
  } else if (j.is_object() && j.size() == 1) {
    auto [key, val] = *j.items().begin();
    if (key == "L" && val.is_string()) {
      out = Value::long_(std::stoll(val.get<std::string>()));
    } else if (key == "D" && val.is_string()) {
      Decimal d;
      if (!num::parse_decimal(val.get<std::string>(), d)) return false;
      out = Value::decimal(d);
    } else if (key == "F" && val.is_number()) {
      out = Value::double_(val.get<double>());
    } else if (key == "M" && val.is_array()) {
      auto m = std::make_shared<Map>();
      for (const auto& pair : val) {
        if (!pair.is_array() || pair.size() != 2) return false;
        Value k;
        Value v;
        if (!from_json(pair[0], k, depth + 1) || !from_json(pair[1], v, depth + 1)) return false;
        m->put(k, std::move(v));
      }
      out = Value::of(std::move(m));
    } else {
      return false;
    }
  } else {
    return false;
  }
  return true;
}

}  // namespace

std::string encode_value(const Value& v) {
  Json j;
  if (!to_json(v, j, 0)) return "";
  return j.dump();
}

std::string encode_variables(const std::vector<std::pair<std::string, Value>>& vars,
                             size_t max_bytes) {
  Json out = Json::object();
  for (const auto& [name, v] : vars) {
    Json j;
    if (to_json(v, j, 0)) out[name] = std::move(j);
  }
  std::string text = out.dump();
  return text.size() > max_bytes ? "" : text;
}

bool decode_variables(std::string_view json, std::vector<std::pair<std::string, Value>>& out) {
  Json j = Json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return false;
  std::vector<std::pair<std::string, Value>> vars;
  for (const auto& [name, val] : j.items()) {
    Value v;
    try {
      if (!from_json(val, v, 0)) return false;
    } catch (const std::exception&) {
      return false;
    }
    vars.emplace_back(name, std::move(v));
  }
  out = std::move(vars);
  return true;
}

}  // namespace gantry::pipelines::groovy
