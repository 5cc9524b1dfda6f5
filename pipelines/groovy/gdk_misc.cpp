// Numbers' methods, methods every value has, and the JDK/Groovy classes a
// script may use (the sandbox's allow-list: docs/groovy.md).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <limits>
#include <random>

#include "interp.hpp"

namespace gantry::pipelines::groovy {

namespace {

// A class a script may name, with its Java name.
const std::vector<std::pair<std::string_view, std::string_view>>& known_classes() {
  static const std::vector<std::pair<std::string_view, std::string_view>> kClasses = {
      {"Object", "java.lang.Object"},
      {"String", "java.lang.String"},
      {"GString", "groovy.lang.GString"},
      {"CharSequence", "java.lang.CharSequence"},
      {"Integer", "java.lang.Integer"},
      {"Long", "java.lang.Long"},
      {"Short", "java.lang.Short"},
      {"Byte", "java.lang.Byte"},
      {"Double", "java.lang.Double"},
      {"Float", "java.lang.Float"},
      {"Boolean", "java.lang.Boolean"},
      {"Character", "java.lang.Character"},
      {"Number", "java.lang.Number"},
      {"BigDecimal", "java.math.BigDecimal"},
      {"BigInteger", "java.math.BigInteger"},
      {"RoundingMode", "java.math.RoundingMode"},
      {"Math", "java.lang.Math"},
      {"System", "java.lang.System"},
      {"Thread", "java.lang.Thread"},
      {"Comparable", "java.lang.Comparable"},
      {"Iterable", "java.lang.Iterable"},
      {"List", "java.util.List"},
      {"ArrayList", "java.util.ArrayList"},
      {"LinkedList", "java.util.LinkedList"},
      {"Collection", "java.util.Collection"},
      {"Collections", "java.util.Collections"},
      {"Arrays", "java.util.Arrays"},
      {"Objects", "java.util.Objects"},
      {"Map", "java.util.Map"},
      {"HashMap", "java.util.HashMap"},
      {"LinkedHashMap", "java.util.LinkedHashMap"},
      {"TreeMap", "java.util.TreeMap"},
      {"Set", "java.util.Set"},
      {"HashSet", "java.util.HashSet"},
      {"LinkedHashSet", "java.util.LinkedHashSet"},
      {"UUID", "java.util.UUID"},
      {"Date", "java.util.Date"},
      {"SimpleDateFormat", "java.text.SimpleDateFormat"},
      {"Closure", "groovy.lang.Closure"},
      {"Range", "groovy.lang.Range"},
      {"IntRange", "groovy.lang.IntRange"},
      {"StringBuilder", "java.lang.StringBuilder"},
      {"StringBuffer", "java.lang.StringBuffer"},
      {"Pattern", "java.util.regex.Pattern"},
      {"Matcher", "java.util.regex.Matcher"},
      {"URLEncoder", "java.net.URLEncoder"},
      {"URLDecoder", "java.net.URLDecoder"},
      {"JsonOutput", "groovy.json.JsonOutput"},
      {"JsonSlurper", "groovy.json.JsonSlurper"},
      {"JsonSlurperClassic", "groovy.json.JsonSlurperClassic"},
      {"Throwable", "java.lang.Throwable"},
      {"Exception", "java.lang.Exception"},
      {"Error", "java.lang.Error"},
      {"RuntimeException", "java.lang.RuntimeException"},
      {"IllegalArgumentException", "java.lang.IllegalArgumentException"},
      {"IllegalStateException", "java.lang.IllegalStateException"},
      {"NullPointerException", "java.lang.NullPointerException"},
      {"NumberFormatException", "java.lang.NumberFormatException"},
      {"ArithmeticException", "java.lang.ArithmeticException"},
      {"IndexOutOfBoundsException", "java.lang.IndexOutOfBoundsException"},
      {"ArrayIndexOutOfBoundsException", "java.lang.ArrayIndexOutOfBoundsException"},
      {"StringIndexOutOfBoundsException", "java.lang.StringIndexOutOfBoundsException"},
      {"UnsupportedOperationException", "java.lang.UnsupportedOperationException"},
      {"ClassCastException", "java.lang.ClassCastException"},
      {"InterruptedException", "java.lang.InterruptedException"},
      {"AssertionError", "java.lang.AssertionError"},
      {"IOException", "java.io.IOException"},
      {"NoSuchElementException", "java.util.NoSuchElementException"},
      {"AbortException", "hudson.AbortException"},
      {"FlowInterruptedException", "org.jenkinsci.plugins.workflow.steps.FlowInterruptedException"},
      {"GroovyRuntimeException", "groovy.lang.GroovyRuntimeException"},
      {"MissingPropertyException", "groovy.lang.MissingPropertyException"},
      {"MissingMethodException", "groovy.lang.MissingMethodException"},
      {"File", "java.io.File"},
  };
  return kClasses;
}

std::string java_name(std::string_view simple) {
  for (const auto& [s, j] : known_classes()) {
    if (s == simple) return std::string(j);
  }
  return std::string(simple);
}

bool is_exception_class(std::string_view name) {
  return name.ends_with("Exception") || name.ends_with("Error") || name == "Throwable";
}

// StringBuilder / StringBuffer.
class BuilderObject : public NativeObject {
 public:
  explicit BuilderObject(std::string type) : type_(std::move(type)) {}
  std::string type_name() const override { return type_; }
  bool get(Interpreter&, std::string_view name, Value& out, bool& found) override {
    found = name == "length";
    if (found) out = Value::integer(static_cast<int32_t>(text_.size()));
    return true;
  }
  bool call(Interpreter& in, std::string_view method, std::vector<Value>& args, Value& out,
            bool& found) override {
    found = true;
    if ((method == "append" || method == "leftShift") && args.size() == 1) {
      text_ += groovy::to_string(args[0]);
      if (text_.size() > in.limits().max_string) {
        return in.raise("gantry.LimitExceeded", "a StringBuilder grew over Gantry's limit", true);
      }
      out = Value::of(std::static_pointer_cast<NativeObject>(self_.lock()));
      return true;
    }
    if (method == "toString") {
      out = Value::string(text_);
      return true;
    }
    if (method == "length" || method == "size") {
      out = Value::integer(static_cast<int32_t>(text_.size()));
      return true;
    }
    if (method == "reverse") {
      std::reverse(text_.begin(), text_.end());
      out = Value::of(std::static_pointer_cast<NativeObject>(self_.lock()));
      return true;
    }
    if (method == "setLength" && args.size() == 1 && args[0].is_integral()) {
      text_.resize(static_cast<size_t>(std::max<int64_t>(0, args[0].as_int())));
      return true;
    }
    if (method == "insert" && args.size() == 2 && args[0].is_integral()) {
      size_t at = static_cast<size_t>(
          std::clamp<int64_t>(args[0].as_int(), 0, static_cast<int64_t>(text_.size())));
      text_.insert(at, groovy::to_string(args[1]));
      out = Value::of(std::static_pointer_cast<NativeObject>(self_.lock()));
      return true;
    }
    found = false;
    return true;
  }
  std::string to_string() const override { return text_; }
  static Value make(std::string type, std::string initial) {
    auto b = std::make_shared<BuilderObject>(std::move(type));
    b->text_ = std::move(initial);
    b->self_ = b;
    return Value::of(std::static_pointer_cast<NativeObject>(b));
  }

 private:
  std::string type_;
  std::string text_;
  std::weak_ptr<BuilderObject> self_;
};

class SlurperObject : public NativeObject {
 public:
  explicit SlurperObject(std::string type) : type_(std::move(type)) {}
  std::string type_name() const override { return type_; }
  bool get(Interpreter&, std::string_view, Value&, bool& found) override {
    found = false;
    return true;
  }
  bool call(Interpreter& in, std::string_view method, std::vector<Value>& args, Value& out,
            bool& found) override {
    found = method == "parseText" && args.size() == 1;
    if (!found) return true;
    if (args[0].is_null()) {
      return in.raise("java.lang.IllegalArgumentException", "Text must not be null or empty");
    }
    return in.impl().json_parse(groovy::to_string(args[0]), out);
  }

 private:
  std::string type_;
};

// java.text.SimpleDateFormat's letters, in UTC (agents' clocks are compared in UTC).
std::string format_date(int64_t ms, const std::string& pattern) {
  static const char* kMonths[] = {"January",   "February", "March",    "April",
                                  "May",       "June",     "July",     "August",
                                  "September", "October",  "November", "December"};
  static const char* kDays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                "Thursday", "Friday", "Saturday"};
  time_t secs = static_cast<time_t>(ms / 1000 - (ms % 1000 < 0 ? 1 : 0));
  int millis = static_cast<int>(((ms % 1000) + 1000) % 1000);
  struct tm t {};
  gmtime_r(&secs, &t);
  std::string out;
  for (size_t i = 0; i < pattern.size();) {
    char c = pattern[i];
    if (c == '\'') {
      size_t end = pattern.find('\'', i + 1);
      if (end == i + 1) {
        out += '\'';
        i += 2;
        continue;
      }
      out += pattern.substr(i + 1, end == std::string::npos ? std::string::npos : end - i - 1);
      i = end == std::string::npos ? pattern.size() : end + 1;
      continue;
    }
    if (!std::isalpha(static_cast<unsigned char>(c))) {
      out += c;
      ++i;
      continue;
    }
    size_t n = 1;
    while (i + n < pattern.size() && pattern[i + n] == c) ++n;
    auto num = [&](int v, size_t width) {
      std::string s = std::to_string(v);
      while (s.size() < width) s.insert(s.begin(), '0');
      out += s;
    };
    switch (c) {
      case 'y':
        if (n == 2) {
          num((t.tm_year + 1900) % 100, 2);
        } else {
          num(t.tm_year + 1900, n);
        }
        break;
      case 'M':
        if (n >= 4) {
          out += kMonths[t.tm_mon];
        } else if (n == 3) {
          out += std::string(kMonths[t.tm_mon]).substr(0, 3);
        } else {
          num(t.tm_mon + 1, n);
        }
        break;
      case 'd':
        num(t.tm_mday, n);
        break;
      case 'H':
        num(t.tm_hour, n);
        break;
      case 'h':
        num(t.tm_hour % 12 == 0 ? 12 : t.tm_hour % 12, n);
        break;
      case 'm':
        num(t.tm_min, n);
        break;
      case 's':
        num(t.tm_sec, n);
        break;
      case 'S':
        num(millis, n);
        break;
      case 'D':
        num(t.tm_yday + 1, n);
        break;
      case 'E':
        out += n >= 4 ? std::string(kDays[t.tm_wday]) : std::string(kDays[t.tm_wday]).substr(0, 3);
        break;
      case 'a':
        out += t.tm_hour < 12 ? "AM" : "PM";
        break;
      case 'z':
        out += "UTC";
        break;
      case 'Z':
        out += "+0000";
        break;
      case 'X':
        out += "Z";
        break;
      default:
        out += std::string(n, c);
        break;
    }
    i += n;
  }
  return out;
}

// java.util.Date and java.text.SimpleDateFormat, in UTC.
class DateObject : public NativeObject {
 public:
  explicit DateObject(int64_t ms) : ms_(ms) {}
  std::string type_name() const override { return "java.util.Date"; }
  bool get(Interpreter&, std::string_view name, Value& out, bool& found) override {
    found = name == "time";
    if (found) out = Value::long_(ms_);
    return true;
  }
  bool call(Interpreter&, std::string_view method, std::vector<Value>& args, Value& out,
            bool& found) override {
    found = true;
    if (method == "getTime") {
      out = Value::long_(ms_);
    } else if (method == "format" && !args.empty()) {
      out = Value::string(format_date(ms_, groovy::to_string(args[0])));
    } else if ((method == "plus" || method == "minus") && args.size() == 1 &&
               args[0].is_integral()) {
      int64_t days = args[0].as_int() * (method == "plus" ? 1 : -1);
      out = Value::of(std::static_pointer_cast<NativeObject>(
          std::make_shared<DateObject>(ms_ + days * 86'400'000)));
    } else if ((method == "before" || method == "after" || method == "compareTo") &&
               args.size() == 1 && args[0].type() == Type::Native) {
      auto* other = dynamic_cast<DateObject*>(&args[0].as_native());
      if (other == nullptr) {
        found = false;
        return true;
      }
      int c = ms_ < other->ms_ ? -1 : (ms_ > other->ms_ ? 1 : 0);
      out = method == "compareTo" ? Value::integer(c)
                                  : Value::boolean(method == "before" ? c < 0 : c > 0);
    } else {
      found = false;
    }
    return true;
  }
  std::string to_string() const override {
    return format_date(ms_, "EEE MMM dd HH:mm:ss zzz yyyy");
  }
  int64_t millis() const { return ms_; }

 private:
  int64_t ms_;
};

class DateFormatObject : public NativeObject {
 public:
  explicit DateFormatObject(std::string pattern) : pattern_(std::move(pattern)) {}
  std::string type_name() const override { return "java.text.SimpleDateFormat"; }
  bool get(Interpreter&, std::string_view, Value&, bool& found) override {
    found = false;
    return true;
  }
  bool call(Interpreter&, std::string_view method, std::vector<Value>& args, Value& out,
            bool& found) override {
    found = true;
    if (method == "format" && args.size() == 1) {
      int64_t ms = args[0].is_integral() ? args[0].as_int() : 0;
      if (args[0].type() == Type::Native) {
        if (auto* d = dynamic_cast<DateObject*>(&args[0].as_native())) ms = d->millis();
      }
      out = Value::string(format_date(ms, pattern_));
    } else if (method == "setTimeZone" || method == "setLenient") {
      out = Value();  // Gantry formats in UTC
    } else {
      found = false;
    }
    return true;
  }

 private:
  std::string pattern_;
};

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '.' || c == '-' || c == '*' || c == '_') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string url_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

bool is_allowed_class(std::string_view name) {
  for (const auto& [s, j] : known_classes()) {
    if (s == name || j == name) return s != "File";
  }
  return is_exception_class(name) && name.find('.') == std::string_view::npos;
}

bool Interpreter::Impl::is_class_name(const std::string& name) const {
  if (classes.count(name) != 0) return true;
  if (name.find('.') != std::string::npos && classes.count(canonical_class(name)) != 0) return true;
  for (const auto& [s, j] : known_classes()) {
    if (s == name || j == name) return true;
  }
  return false;
}

std::string Interpreter::Impl::canonical_class(const std::string& name) const {
  size_t dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

bool Interpreter::Impl::init_statics() {
  if (statics_ready) return true;
  statics_ready = true;
  auto saved_scope = scope;
  const ClassInfo* saved_class = self_class;
  bool ok = true;
  for (auto& [name, info] : classes) {
    scope = make_scope();
    self_class = info.get();
    for (const Node* f : info->static_fields) {
      Value v;
      if (f->lhs && !(ok = eval(*f->lhs, v))) break;
      if (!(ok = coerce(f->type_name, v))) break;
      info->statics->put(Value::string(f->text), std::move(v));
    }
    if (!ok) break;
  }
  scope = saved_scope;
  self_class = saved_class;
  return ok;
}

bool Interpreter::Impl::number_method(const Value& recv, const std::string& name,
                                      std::vector<Value>& args, Value& out, bool& found) {
  found = true;
  size_t n = args.size();
  if (name == "intValue" || name == "toInteger" || name == "asInteger") {
    out = Value::integer(static_cast<int32_t>(
        recv.is_integral() ? recv.as_int() : static_cast<int64_t>(recv.to_double())));
    return true;
  }
  if (name == "longValue" || name == "toLong") {
    out = Value::long_(recv.is_integral() ? recv.as_int() : static_cast<int64_t>(recv.to_double()));
    return true;
  }
  if (name == "doubleValue" || name == "toDouble" || name == "floatValue" || name == "toFloat") {
    out = Value::double_(recv.to_double());
    return true;
  }
  if (name == "toBigDecimal") {
    out = Value::decimal(num::to_decimal(recv));
    return true;
  }
  if (name == "toBigInteger") {  // Gantry's integers stop at a Long
    out = Value::long_(recv.is_integral() ? recv.as_int() : static_cast<int64_t>(recv.to_double()));
    return true;
  }
  if (name == "abs") {
    int c = num::compare(recv, Value::integer(0));
    if (c < 0) return num::negate(in, recv, out);
    out = recv;
    return true;
  }
  if (n == 1 &&
      (name == "plus" || name == "minus" || name == "multiply" || name == "div" || name == "mod" ||
       name == "power" || name == "intdiv") &&
      args[0].is_number()) {
    const Value& b = args[0];
    if (name == "plus") return num::add(in, recv, b, out);
    if (name == "minus") return num::sub(in, recv, b, out);
    if (name == "multiply") return num::mul(in, recv, b, out);
    if (name == "div") return num::div(in, recv, b, out);
    if (name == "mod") return num::mod(in, recv, b, out);
    if (name == "power") return num::power(in, recv, b, out);
    return num::intdiv(in, recv, b, out);
  }
  if (name == "compareTo" && n == 1) {
    int c = 0;
    if (!compare(in, recv, args[0], c)) return false;
    out = Value::integer(c);
    return true;
  }
  if (name == "times" && n == 1 && recv.is_integral()) {
    for (int64_t i = 0; i < recv.as_int(); ++i) {
      Value ignored;
      if (!call_value(args[0], {Value::whole(i)}, ignored)) return false;
    }
    out = Value();
    return true;
  }
  if ((name == "upto" || name == "downto") && n == 2 && recv.is_integral() &&
      args[0].is_integral()) {
    int64_t from = recv.as_int();
    int64_t to = args[0].as_int();
    if (name == "upto") {
      for (int64_t i = from; i <= to; ++i) {
        Value ignored;
        if (!call_value(args[1], {Value::whole(i)}, ignored)) return false;
      }
    } else {
      for (int64_t i = from; i >= to; --i) {
        Value ignored;
        if (!call_value(args[1], {Value::whole(i)}, ignored)) return false;
      }
    }
    out = Value();
    return true;
  }
  if (name == "step" && n == 3 && recv.is_integral() && args[0].is_integral() &&
      args[1].is_integral() && args[1].as_int() != 0) {
    int64_t step = args[1].as_int();
    for (int64_t i = recv.as_int(); step > 0 ? i < args[0].as_int() : i > args[0].as_int();
         i += step) {
      Value ignored;
      if (!call_value(args[2], {Value::whole(i)}, ignored)) return false;
    }
    return true;
  }
  if (name == "round" && n <= 1) {
    if (n == 0) {
      double r = std::floor(recv.to_double() + 0.5);
      out = recv.type() == Type::Double ? Value::long_(static_cast<int64_t>(r))
                                        : Value::integer(static_cast<int32_t>(r));
      if (recv.is_integral()) out = recv;
      return true;
    }
    int64_t places = args[0].is_integral() ? args[0].as_int() : 0;
    double scale = std::pow(10.0, static_cast<double>(places));
    double r = std::floor(recv.to_double() * scale + 0.5) / scale;
    if (recv.type() == Type::Decimal) {
      Decimal d = num::to_decimal(Value::double_(r));
      out = Value::decimal(d);
    } else {
      out = Value::double_(r);
    }
    return true;
  }
  if ((name == "next" || name == "previous") && n == 0) {
    return name == "next" ? num::add(in, recv, Value::integer(1), out)
                          : num::sub(in, recv, Value::integer(1), out);
  }
  if (recv.type() == Type::Decimal) {
    const Decimal& d = recv.as_decimal();
    if (name == "scale") {
      out = Value::integer(d.scale);
      return true;
    }
    if (name == "toPlainString") {
      std::string s = num::decimal_string(d.scale < 0 ? Decimal{d.unscaled, d.scale} : d);
      if (d.scale < 0) {
        s = std::to_string(d.unscaled) + std::string(static_cast<size_t>(-d.scale), '0');
      }
      out = Value::string(s);
      return true;
    }
    if (name == "stripTrailingZeros") {
      Decimal r = d;
      while (r.unscaled != 0 && r.unscaled % 10 == 0) {
        r.unscaled /= 10;
        --r.scale;
      }
      if (r.unscaled == 0) r.scale = 0;
      out = Value::decimal(r);
      return true;
    }
    if (name == "setScale" && n >= 1 && args[0].is_integral()) {
      int target = static_cast<int>(args[0].as_int());
      i128 u = d.unscaled;
      int scale = d.scale;
      while (scale < target) {
        u *= 10;
        ++scale;
        if (u > std::numeric_limits<int64_t>::max() || u < -std::numeric_limits<int64_t>::max()) {
          return in.raise("java.lang.ArithmeticException", "BigDecimal out of range");
        }
      }
      bool half_up = n >= 2 && args[1].is_integral() && args[1].as_int() == 4;
      while (scale > target) {
        i128 r = u % 10;
        u /= 10;
        --scale;
        if (scale == target && half_up && (r >= 5 || r <= -5)) u += u < 0 ? -1 : 1;
        if (scale == target && !half_up && n < 2 && r != 0) {
          return in.raise("java.lang.ArithmeticException", "Rounding necessary");
        }
      }
      out = Value::decimal(Decimal{static_cast<int64_t>(u), scale});
      return true;
    }
  }
  found = false;
  return true;
}

bool Interpreter::Impl::object_method(const Value& recv, const std::string& name,
                                      std::vector<Value>& args, Value& out, bool& found) {
  found = true;
  size_t n = args.size();
  if (name == "toString" && n == 0) {
    out = Value::string(to_string(recv));
    return true;
  }
  if (name == "inspect" && n == 0) {
    out = Value::string(inspect(recv));
    return true;
  }
  if (name == "equals" && n == 1) {
    out = Value::boolean(java_equals(recv, args[0]));
    return true;
  }
  if (name == "is" && n == 1) {
    out = Value::boolean(recv.ref() ? recv.same_ref(args[0]) : equals(recv, args[0]));
    return true;
  }
  if (name == "getClass" && n == 0) {
    out = Value::class_ref(class_name(recv));
    return true;
  }
  if (name == "asBoolean" && n == 0) {
    out = Value::boolean(truthy(recv));
    return true;
  }
  if (name == "hashCode" && n == 0 && recv.is_string()) {
    int32_t h = 0;
    for (unsigned char c : recv.as_string())
      h = static_cast<int32_t>(31u * static_cast<uint32_t>(h) + c);
    out = Value::integer(h);
    return true;
  }
  if ((name == "with" || name == "tap") && n == 1 && args[0].type() == Type::Closure) {
    auto c = std::make_shared<Closure>(args[0].as_closure());
    c->delegate = recv;
    Value r;
    if (!call_closure(*c, {recv}, r)) return false;
    out = name == "with" ? r : recv;
    return true;
  }
  if (name == "identity" && n == 1) return call_value(args[0], {recv}, out);
  if (name == "isCase" && n == 1) {
    bool r = false;
    if (!case_matches(recv, args[0], r)) return false;
    out = Value::boolean(r);
    return true;
  }
  if (name == "asType" && n == 1 && args[0].type() == Type::Class) {
    std::string t = args[0].as_string();
    if (t == "String") {
      out = recv.is_null() ? Value() : Value::string(to_string(recv));
      return true;
    }
    if (recv.is_null()) {
      out = Value();
      return true;
    }
    if (t == "Integer" || t == "int" || t == "Long" || t == "long" || t == "BigDecimal" ||
        t == "Double" || t == "double" || t == "Float" || t == "float" || t == "Number") {
      Value v = recv;
      if (recv.is_string()) {
        std::vector<Value> none;
        std::string m = t == "Integer" || t == "int"         ? "toInteger"
                        : t == "Long" || t == "long"         ? "toLong"
                        : t == "BigDecimal" || t == "Number" ? "toBigDecimal"
                                                             : "toDouble";
        bool f = false;
        return string_method(recv.as_string(), m, none, out, f);
      }
      if (!recv.is_number()) {
        return in.raise("org.codehaus.groovy.runtime.typehandling.GroovyCastException",
                        "Cannot cast object '" + to_string(recv) + "' with class '" +
                            class_name(recv) + "' to class '" + java_name(t) + "'");
      }
      if (!coerce(t, v)) return false;
      out = v;
      return true;
    }
    if (t == "Boolean" || t == "boolean") {
      out = Value::boolean(truthy(recv));
      return true;
    }
    if (t == "List" || t == "ArrayList" || t == "Collection" || t == "Set" || t == "HashSet" ||
        t == "LinkedHashSet" || t.ends_with("[]")) {
      std::vector<Value> items;
      if (!iterate(in, recv, items)) return false;
      if (t.find("Set") != std::string::npos) {
        std::vector<Value> u;
        for (const auto& x : items) {
          bool dup = false;
          for (const auto& y : u) dup = dup || equals(x, y);
          if (!dup) u.push_back(x);
        }
        items = std::move(u);
      }
      out = Value::list(std::move(items));
      return true;
    }
    if (t == "Map" || t == "LinkedHashMap" || t == "HashMap") {
      if (recv.type() != Type::Map) {
        return in.raise("org.codehaus.groovy.runtime.typehandling.GroovyCastException",
                        "Cannot cast object '" + to_string(recv) + "' with class '" +
                            class_name(recv) + "' to class '" + java_name(t) + "'");
      }
      out = recv;
      return true;
    }
    if (classes.count(t) != 0 && recv.type() == Type::Map) {
      std::vector<Value> a{recv};
      std::vector<std::pair<std::string, Value>> none;
      return construct(t, a, none, out);
    }
    out = recv;
    return true;
  }
  if (name == "getMetaClass" || name == "invokeMethod" || name == "getProperties" ||
      name == "setProperty" || name == "getProperty" || name == "respondsTo" ||
      name == "hasProperty") {
    return in.raise("java.lang.SecurityException",
                    "Gantry's sandbox does not allow reflection (" + name + ")");
  }
  found = false;
  return true;
}

bool Interpreter::Impl::static_property(const std::string& cls, const std::string& name, Value& out,
                                        bool& found) {
  found = true;
  auto it = classes.find(cls);
  if (it != classes.end()) {
    for (const ClassInfo* c = it->second.get(); c != nullptr; c = c->super) {
      if (const Value* v = c->statics->find(Value::string(name))) {
        out = *v;
        return true;
      }
    }
  }
  if (name == "name" || name == "simpleName" || name == "canonicalName") {
    std::string full =
        cls.find('.') != std::string::npos || it != classes.end() ? cls : java_name(cls);
    out = Value::string(name == "simpleName" ? canonical_class(full) : full);
    return true;
  }
  if (cls == "Integer" && (name == "MAX_VALUE" || name == "MIN_VALUE")) {
    out = Value::integer(name == "MAX_VALUE" ? std::numeric_limits<int32_t>::max()
                                             : std::numeric_limits<int32_t>::min());
    return true;
  }
  if (cls == "Long" && (name == "MAX_VALUE" || name == "MIN_VALUE")) {
    out = Value::long_(name == "MAX_VALUE" ? std::numeric_limits<int64_t>::max()
                                           : std::numeric_limits<int64_t>::min());
    return true;
  }
  if (cls == "Math" && (name == "PI" || name == "E")) {
    out = Value::double_(name == "PI" ? M_PI : M_E);
    return true;
  }
  if (cls == "Closure") {
    static const std::vector<std::pair<std::string_view, int>> kStrategies = {{"OWNER_FIRST", 0},
                                                                              {"DELEGATE_FIRST", 1},
                                                                              {"OWNER_ONLY", 2},
                                                                              {"DELEGATE_ONLY", 3},
                                                                              {"TO_SELF", 4}};
    for (const auto& [k, v] : kStrategies) {
      if (k == name) {
        out = Value::integer(v);
        return true;
      }
    }
  }
  if ((cls == "BigDecimal" || cls == "RoundingMode") &&
      (name == "ROUND_HALF_UP" || name == "HALF_UP" || name == "ROUND_DOWN" || name == "DOWN" ||
       name == "ROUND_UP" || name == "UP" || name == "ROUND_HALF_EVEN" || name == "HALF_EVEN" ||
       name == "ROUND_FLOOR" || name == "FLOOR" || name == "ROUND_CEILING" || name == "CEILING" ||
       name == "ROUND_HALF_DOWN" || name == "HALF_DOWN")) {
    std::string mode = name.starts_with("ROUND_") ? name.substr(6) : name;
    static const std::vector<std::pair<std::string_view, int>> kModes = {
        {"UP", 0},      {"DOWN", 1},      {"CEILING", 2},  {"FLOOR", 3},
        {"HALF_UP", 4}, {"HALF_DOWN", 5}, {"HALF_EVEN", 6}};
    for (const auto& [k, v] : kModes) {
      if (k == mode) out = Value::integer(v);
    }
    return true;
  }
  if (cls == "BigDecimal" && (name == "ZERO" || name == "ONE" || name == "TEN")) {
    out = Value::decimal(Decimal{name == "ZERO" ? 0 : (name == "ONE" ? 1 : 10), 0});
    return true;
  }
  if (cls == "Boolean" && (name == "TRUE" || name == "FALSE")) {
    out = Value::boolean(name == "TRUE");
    return true;
  }
  found = false;
  return true;
}

bool Interpreter::Impl::static_method(const std::string& cls, const std::string& name,
                                      std::vector<Value>& args, Value& out, bool& found) {
  found = true;
  size_t n = args.size();
  auto num_arg = [&](size_t i) { return i < n && args[i].is_number(); };
  if (name == "<init>") {
    if (is_exception_class(cls)) {
      std::optional<std::string> message;
      Value cause;
      if (n >= 1 && args[0].type() == Type::Exception) {
        cause = args[0];
        message = to_string(args[0]);
      } else if (n >= 1 && !args[0].is_null()) {
        message = to_string(args[0]);
      }
      if (n >= 2 && args[1].type() == Type::Exception) cause = args[1];
      out = make_exception(java_name(cls), message, cause);
      return true;
    }
    if (cls == "ArrayList" || cls == "LinkedList" || cls == "HashSet" || cls == "LinkedHashSet" ||
        cls == "TreeSet") {
      std::vector<Value> items;
      if (n == 1 && !args[0].is_integral() && !iterate(in, args[0], items)) return false;
      out = Value::list(std::move(items));
      return true;
    }
    if (cls == "HashMap" || cls == "LinkedHashMap" || cls == "TreeMap") {
      auto m = std::make_shared<Map>();
      if (n == 1 && args[0].type() == Type::Map) {
        auto entries = args[0].as_map().entries();
        for (const auto& [k, v] : entries) m->put(k, v);
      }
      if (cls == "TreeMap") {
        m->sorted = true;
        m->put(Value::string(""), Value());  // sorts what is there
        m->remove(Value::string(""));
      }
      out = Value::of(std::move(m));
      return true;
    }
    if (cls == "StringBuilder" || cls == "StringBuffer") {
      out = BuilderObject::make(java_name(cls),
                                n == 1 && !args[0].is_integral() ? to_string(args[0]) : "");
      return true;
    }
    if (cls == "JsonSlurper" || cls == "JsonSlurperClassic") {
      out = Value::of(
          std::static_pointer_cast<NativeObject>(std::make_shared<SlurperObject>(java_name(cls))));
      return true;
    }
    if (cls == "String") {
      out = Value::string(n == 1 ? to_string(args[0]) : "");
      return true;
    }
    if (cls == "BigDecimal" && n == 1 && args[0].is_string()) {
      Decimal d;
      std::string t = args[0].as_string();
      if (!num::parse_decimal(t, d)) {
        return in.raise("java.lang.NumberFormatException",
                        "Character array is missing \"exponent\" mark 'e' or 'E'.");
      }
      out = Value::decimal(d);
      return true;
    }
    if (cls == "Integer" || cls == "Long" || cls == "BigDecimal") {
      if (n != 1) {
        found = false;
        return true;
      }
      std::vector<Value> a{Value::class_ref(cls)};
      return object_method(args[0], "asType", a, out, found);
    }
    if (cls == "Date") {
      int64_t ms = n == 1 && args[0].is_integral()
                       ? args[0].as_int()
                       : std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
      out = Value::of(std::static_pointer_cast<NativeObject>(std::make_shared<DateObject>(ms)));
      return true;
    }
    if (cls == "SimpleDateFormat" && n >= 1) {
      out = Value::of(std::static_pointer_cast<NativeObject>(
          std::make_shared<DateFormatObject>(to_string(args[0]))));
      return true;
    }
    if (cls == "File") {
      return in.raise("java.lang.SecurityException",
                      "Gantry's sandbox does not allow new java.io.File: use readFile, "
                      "writeFile and fileExists");
    }
    found = false;
    return true;
  }
  if (cls == "Math") {
    if ((name == "max" || name == "min") && num_arg(0) && num_arg(1)) {
      int c = num::compare(args[0], args[1]);
      out = (name == "max") == (c >= 0) ? args[0] : args[1];
      return true;
    }
    if (name == "abs" && num_arg(0)) return number_method(args[0], "abs", args, out, found);
    if (num_arg(0)) {
      double x = args[0].to_double();
      if (name == "sqrt")
        out = Value::double_(std::sqrt(x));
      else if (name == "floor")
        out = Value::double_(std::floor(x));
      else if (name == "ceil")
        out = Value::double_(std::ceil(x));
      else if (name == "round")
        out = Value::long_(static_cast<int64_t>(std::floor(x + 0.5)));
      else if (name == "log")
        out = Value::double_(std::log(x));
      else if (name == "log10")
        out = Value::double_(std::log10(x));
      else if (name == "exp")
        out = Value::double_(std::exp(x));
      else if (name == "signum")
        out = Value::double_(x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0));
      else if (name == "pow" && num_arg(1))
        out = Value::double_(std::pow(x, args[1].to_double()));
      else
        found = false;
      if (found && name == "round" && args[0].type() != Type::Double) {
        out = Value::integer(static_cast<int32_t>(std::floor(x + 0.5)));
      }
      return true;
    }
    if (name == "random") {
      std::random_device rd;
      out = Value::double_(std::uniform_real_distribution<double>(0, 1)(rd));
      return true;
    }
  }
  if ((cls == "Integer" || cls == "Long") &&
      (name == "parseInt" || name == "parseLong" || name == "valueOf") && n >= 1) {
    if (args[0].is_integral()) {
      out = cls == "Long" ? Value::long_(args[0].as_int())
                          : Value::integer(static_cast<int32_t>(args[0].as_int()));
      return true;
    }
    if (args[0].is_null()) {
      return in.raise("java.lang.NumberFormatException", "Cannot parse null string");
    }
    std::string s = to_string(args[0]);
    int base = n >= 2 && args[1].is_integral() ? static_cast<int>(args[1].as_int()) : 10;
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(s.c_str(), &end, base);
    bool ok = !s.empty() && end == s.c_str() + s.size() && errno == 0 &&
              !std::isspace(static_cast<unsigned char>(s[0]));
    if (ok && cls == "Integer" && (v > INT32_MAX || v < INT32_MIN)) ok = false;
    if (!ok) {
      return in.raise("java.lang.NumberFormatException",
                      s.empty() ? std::string(cls == "Integer" ? "For input string: \"\"" : "")
                                : "For input string: \"" + s + "\"" +
                                      (base != 10 ? " under radix " + std::to_string(base) : ""));
    }
    out = cls == "Long" ? Value::long_(v) : Value::integer(static_cast<int32_t>(v));
    return true;
  }
  if ((cls == "Integer" || cls == "Long") && name == "toString" && n >= 1) {
    if (n == 2 && args[0].is_integral() && args[1].is_integral() && args[1].as_int() >= 2 &&
        args[1].as_int() <= 36) {
      int64_t v = args[0].as_int();
      uint64_t u = v < 0 ? static_cast<uint64_t>(-(v + 1)) + 1 : static_cast<uint64_t>(v);
      auto base = static_cast<uint64_t>(args[1].as_int());
      std::string s;
      do {
        s.insert(s.begin(), "0123456789abcdefghijklmnopqrstuvwxyz"[u % base]);
        u /= base;
      } while (u != 0);
      out = Value::string((v < 0 ? "-" : "") + s);
      return true;
    }
    out = Value::string(to_string(args[0]));
    return true;
  }
  if (cls == "BigDecimal" && name == "valueOf" && n >= 1 && args[0].is_number()) {
    if (args[0].type() == Type::Double) {
      Decimal d;
      num::parse_decimal(num::double_string(args[0].as_double()), d);
      out = Value::decimal(d);
    } else if (n == 2 && args[1].is_integral()) {
      out = Value::decimal(Decimal{args[0].as_int(), static_cast<int32_t>(args[1].as_int())});
    } else {
      out = Value::decimal(num::to_decimal(args[0]));
    }
    return true;
  }
  if ((cls == "Integer" || cls == "Long") &&
      (name == "toHexString" || name == "toBinaryString" || name == "toOctalString") && n == 1 &&
      args[0].is_integral()) {
    uint64_t u = cls == "Integer" ? static_cast<uint32_t>(args[0].as_int())
                                  : static_cast<uint64_t>(args[0].as_int());
    int base = name == "toHexString" ? 16 : (name == "toBinaryString" ? 2 : 8);
    std::string s;
    do {
      s.insert(s.begin(), "0123456789abcdef"[u % static_cast<uint64_t>(base)]);
      u /= static_cast<uint64_t>(base);
    } while (u != 0);
    out = Value::string(s);
    return true;
  }
  if ((cls == "Double" || cls == "Float") &&
      (name == "parseDouble" || name == "valueOf" || name == "parseFloat") && n == 1) {
    std::string s = to_string(args[0]);
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size()) {
      return in.raise("java.lang.NumberFormatException", "For input string: \"" + s + "\"");
    }
    out = Value::double_(d);
    return true;
  }
  if (cls == "Boolean" && (name == "parseBoolean" || name == "valueOf") && n == 1) {
    std::string s = to_string(args[0]);
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out = Value::boolean(args[0].type() == Type::Bool ? args[0].as_bool() : s == "true");
    return true;
  }
  if (cls == "String") {
    if (name == "valueOf" && n == 1) {
      out = Value::string(to_string(args[0]));
      return true;
    }
    if (name == "format" && n >= 1) {
      std::string r;
      std::vector<Value> flat = args;
      if (n == 2 && args[1].type() == Type::List) {
        flat = {args[0]};
        for (const auto& v : args[1].as_list().items) flat.push_back(v);
      }
      if (!format(to_string(flat[0]), flat, 1, r)) return false;
      out = Value::string(std::move(r));
      return true;
    }
    if (name == "join" && n >= 2) {
      std::vector<Value> items;
      if (n == 2 && (args[1].type() == Type::List || args[1].type() == Type::Range)) {
        if (!iterate(in, args[1], items)) return false;
      } else {
        items.assign(args.begin() + 1, args.end());
      }
      std::string sep = to_string(args[0]);
      std::string r;
      for (size_t i = 0; i < items.size(); ++i) r += (i > 0 ? sep : "") + to_string(items[i]);
      out = Value::string(std::move(r));
      return true;
    }
  }
  if (cls == "Character" && n == 1) {
    std::string s = to_string(args[0]);
    unsigned char c = s.empty() ? 0 : static_cast<unsigned char>(s[0]);
    if (name == "isDigit")
      out = Value::boolean(std::isdigit(c) != 0);
    else if (name == "isLetter")
      out = Value::boolean(std::isalpha(c) != 0);
    else if (name == "isLetterOrDigit")
      out = Value::boolean(std::isalnum(c) != 0);
    else if (name == "isWhitespace")
      out = Value::boolean(std::isspace(c) != 0);
    else if (name == "isUpperCase")
      out = Value::boolean(std::isupper(c) != 0);
    else if (name == "isLowerCase")
      out = Value::boolean(std::islower(c) != 0);
    else if (name == "toUpperCase")
      out = Value::string(std::string(1, static_cast<char>(std::toupper(c))));
    else if (name == "toLowerCase")
      out = Value::string(std::string(1, static_cast<char>(std::tolower(c))));
    else
      found = false;
    return true;
  }
  if (cls == "JsonOutput") {
    if (name == "toJson" && n == 1) {
      std::string s;
      if (!json_out(args[0], false, s)) return false;
      out = Value::string(std::move(s));
      return true;
    }
    if (name == "prettyPrint" && n == 1) {
      std::string s;
      if (!json_pretty(to_string(args[0]), s)) return false;
      out = Value::string(std::move(s));
      return true;
    }
  }
  if ((cls == "URLEncoder" || cls == "URLDecoder") && n >= 1) {
    out = Value::string(cls == "URLEncoder" ? url_encode(to_string(args[0]))
                                            : url_decode(to_string(args[0])));
    return true;
  }
  if (cls == "Arrays" && name == "asList") {
    out = Value::list(args);
    return true;
  }
  if (cls == "Collections") {
    if ((name == "sort" || name == "reverse" || name == "shuffle") && n >= 1 &&
        args[0].type() == Type::List) {
      std::vector<Value> rest(args.begin() + 1, args.end());
      if (name == "shuffle") return true;
      Value ignored;
      return list_method(args[0], name == "sort" ? "sort" : "reverse",
                         name == "reverse" ? (rest = {Value::boolean(true)}) : rest, ignored,
                         found);
    }
    if ((name == "max" || name == "min") && n == 1) {
      std::vector<Value> none;
      return list_method(args[0], name, none, out, found);
    }
    if (name == "emptyList") {
      out = Value::list();
      return true;
    }
    if (name == "emptyMap") {
      out = Value::map();
      return true;
    }
    if ((name == "unmodifiableList" || name == "unmodifiableMap") && n == 1) {
      out = args[0];
      return true;
    }
  }
  if (cls == "Objects") {
    if (name == "equals" && n == 2) {
      out = Value::boolean(equals(args[0], args[1]));
      return true;
    }
    if ((name == "isNull" || name == "nonNull") && n == 1) {
      out = Value::boolean(args[0].is_null() == (name == "isNull"));
      return true;
    }
    if (name == "toString" && n >= 1) {
      out = Value::string(args[0].is_null() && n == 2 ? to_string(args[1]) : to_string(args[0]));
      return true;
    }
  }
  if (cls == "System") {
    if (name == "currentTimeMillis" || name == "nanoTime") {
      auto now = std::chrono::steady_clock::now().time_since_epoch();
      if (name == "currentTimeMillis") {
        out = Value::long_(std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count());
      } else {
        out = Value::long_(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
      }
      return true;
    }
    if (name == "lineSeparator") {
      out = Value::string("\n");
      return true;
    }
    return in.raise("java.lang.SecurityException",
                    "Gantry's sandbox does not allow System." + name +
                        (name == "getenv" ? ": read env.NAME instead" : ""));
  }
  if (cls == "UUID" && name == "randomUUID") {
    std::random_device rd;
    char buf[40];
    uint32_t a = rd();
    uint32_t b = rd();
    uint32_t c = rd();
    uint32_t d = rd();
    std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%04x%08x", a, b >> 16, b & 0xfff,
                  (c >> 16 & 0x3fff) | 0x8000, c & 0xffff, d);
    out = Value::string(buf);
    return true;
  }
  if (cls == "Thread" && name == "sleep") {
    return in.raise("java.lang.SecurityException",
                    "Gantry's sandbox does not allow Thread.sleep: use the sleep step");
  }
  found = false;
  return true;
}

}  // namespace gantry::pipelines::groovy
