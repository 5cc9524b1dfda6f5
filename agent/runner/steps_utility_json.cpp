// readJSON/writeJSON's codec: JSON text to Groovy values and back, keys in
// their order (Jenkins' json-lib keeps it, unlike JsonSlurper).
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "steps_utility.hpp"

namespace gantry::agent::utility {

namespace groovy = pipelines::groovy;
using groovy::Type;
using groovy::Value;

namespace {

constexpr size_t kMaxDepth = 200;
constexpr size_t kMaxItems = 1'000'000;

// Values from nlohmann's SAX events.
class Builder : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return add(Value()); }
  bool boolean(bool v) override { return add(Value::boolean(v)); }
  bool number_integer(number_integer_t v) override { return add(Value::whole(v)); }
  bool number_unsigned(number_unsigned_t v) override {
    if (v > static_cast<uint64_t>(INT64_MAX)) return add(Value::double_(static_cast<double>(v)));
    return add(Value::whole(static_cast<int64_t>(v)));
  }
  bool number_float(number_float_t v, const string_t&) override { return add(Value::double_(v)); }
  bool string(string_t& v) override { return add(Value::string(v)); }
  bool binary(binary_t&) override { return fail("binary values are not JSON"); }
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
    std::string what = e.what();
    size_t colon = what.find("parse error");
    return fail("not valid JSON at character " + std::to_string(pos) + " (" +
                (colon == std::string::npos ? what : what.substr(colon)) + ")");
  }

  Value result;
  std::string error;

 private:
  bool fail(std::string what) {
    if (error.empty()) error = std::move(what);
    return false;
  }
  bool add(Value v) {
    if (++items_ > kMaxItems) return fail("more than a million values");
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
    if (stack_.size() >= kMaxDepth) return fail("nested more than 200 deep");
    Value copy = v;
    if (!add(std::move(v))) return false;
    stack_.push_back(std::move(copy));
    return true;
  }

  size_t items_ = 0;
  std::vector<Value> stack_;
  std::string key_;
};

class Writer {
 public:
  Writer(int indent, std::string& out) : indent_(indent), out_(out) {}

  bool write(const Value& v, size_t depth) {
    if (depth > kMaxDepth) return fail("the value nests more than 200 deep");
    switch (v.type()) {
      case Type::Null:
        out_ += "null";
        return true;
      case Type::Bool:
      case Type::Int:
      case Type::Long:
      case Type::Decimal:
        out_ += groovy::to_string(v);
        return true;
      case Type::Double:
        if (!std::isfinite(v.as_double())) return fail("JSON has no NaN or Infinity");
        out_ += groovy::to_string(v);
        return true;
      case Type::List: {
        std::vector<const Value*> items;
        for (const auto& item : v.as_list().items) items.push_back(&item);
        return sequence(items, depth);
      }
      case Type::Range: {
        std::vector<Value> values;
        for (int64_t i = 0; i < v.as_range().size() && i < int64_t{kMaxItems}; ++i) {
          values.push_back(Value::whole(v.as_range().at(i)));
        }
        std::vector<const Value*> items;
        for (const auto& item : values) items.push_back(&item);
        return sequence(items, depth);
      }
      case Type::Map:
        return object(v.as_map().entries(), depth);
      case Type::Object:  // a bean: its properties
        return object(v.as_object().fields->entries(), depth);
      default:
        groovy::json_quote(groovy::to_string(v), out_);
        return true;
    }
  }

  std::string error;

 private:
  bool fail(std::string what) {
    error = std::move(what);
    return false;
  }
  void newline(size_t depth) {
    if (indent_ <= 0) return;
    out_ += '\n';
    out_.append(depth * static_cast<size_t>(indent_), ' ');
  }
  bool sequence(const std::vector<const Value*>& items, size_t depth) {
    out_ += '[';
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out_ += ',';
      newline(depth + 1);
      if (!write(*items[i], depth + 1)) return false;
    }
    if (!items.empty()) newline(depth);
    out_ += ']';
    return true;
  }
  bool object(const std::vector<std::pair<Value, Value>>& entries, size_t depth) {
    out_ += '{';
    bool first = true;
    for (const auto& [k, val] : entries) {
      if (!first) out_ += ',';
      first = false;
      newline(depth + 1);
      groovy::json_quote(groovy::to_string(k), out_);
      out_ += indent_ > 0 ? ": " : ":";
      if (!write(val, depth + 1)) return false;
    }
    if (!entries.empty()) newline(depth);
    out_ += '}';
    return true;
  }

  int indent_;
  std::string& out_;
};

}  // namespace

bool parse_json(std::string_view text, Value& out, std::string& error) {
  Builder b;
  if (!nlohmann::json::sax_parse(text, &b, nlohmann::json::input_format_t::json, false)) {
    error = b.error.empty() ? "not valid JSON" : b.error;
    return false;
  }
  out = b.result;
  return true;
}

bool write_json(const Value& v, int indent, std::string& out, std::string& error) {
  Value data = v;
  if (v.is_string() && !parse_json(v.as_string(), data, error)) {
    error = "json: the string is " + error;
    return false;
  }
  Writer w(indent, out);
  if (!w.write(data, 0)) {
    error = w.error;
    return false;
  }
  return true;
}

}  // namespace gantry::agent::utility
