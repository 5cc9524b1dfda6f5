// Values, maps, numbers with Groovy's promotion rules, and how values print.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "interp.hpp"

namespace gantry::pipelines::groovy {

// ---- Value

Value Value::boolean(bool b) {
  Value v;
  v.type_ = Type::Bool;
  v.b_ = b;
  return v;
}
Value Value::integer(int32_t i) {
  Value v;
  v.type_ = Type::Int;
  v.i_ = i;
  return v;
}
Value Value::long_(int64_t i) {
  Value v;
  v.type_ = Type::Long;
  v.i_ = i;
  return v;
}
Value Value::whole(int64_t i) {
  if (i >= std::numeric_limits<int32_t>::min() && i <= std::numeric_limits<int32_t>::max()) {
    return integer(static_cast<int32_t>(i));
  }
  return long_(i);
}
Value Value::decimal(Decimal d) {
  Value v;
  v.type_ = Type::Decimal;
  v.i_ = d.unscaled;
  v.scale_ = d.scale;
  return v;
}
Value Value::double_(double d) {
  Value v;
  v.type_ = Type::Double;
  v.d_ = d;
  return v;
}
Value Value::string(std::string s) {
  Value v;
  v.type_ = Type::String;
  v.s_ = std::move(s);
  return v;
}
Value Value::gstring(std::string s) {
  Value v = string(std::move(s));
  v.gstring_ = true;
  return v;
}
Value Value::list(std::vector<Value> items) {
  auto l = std::make_shared<List>();
  l->items = std::move(items);
  return of(std::move(l));
}
Value Value::map() {
  return of(std::make_shared<Map>());
}

#define GANTRY_VALUE_OF(T, K)                   \
  Value Value::of(std::shared_ptr<T> p) {       \
    Value v;                                    \
    v.type_ = Type::K;                          \
    v.ref_ = std::static_pointer_cast<void>(p); \
    return v;                                   \
  }
GANTRY_VALUE_OF(List, List)
GANTRY_VALUE_OF(Map, Map)
GANTRY_VALUE_OF(Range, Range)
GANTRY_VALUE_OF(Closure, Closure)
GANTRY_VALUE_OF(Object, Object)
GANTRY_VALUE_OF(Exception, Exception)
GANTRY_VALUE_OF(NativeObject, Native)
GANTRY_VALUE_OF(Matcher, Matcher)
#undef GANTRY_VALUE_OF

Value Value::class_ref(std::string name) {
  Value v;
  v.type_ = Type::Class;
  v.s_ = std::move(name);
  return v;
}

double Value::to_double() const {
  switch (type_) {
    case Type::Int:
    case Type::Long:
      return static_cast<double>(i_);
    case Type::Double:
      return d_;
    case Type::Decimal:
      return static_cast<double>(i_) * std::pow(10.0, -scale_);
    default:
      return 0;
  }
}

Value from_subset(const pipelines::Value& v) {
  if (v.is_null()) return Value();
  if (v.is_bool()) return Value::boolean(std::get<bool>(v.data));
  if (v.is_int()) return Value::whole(std::get<int64_t>(v.data));
  if (v.is_double()) return Value::double_(std::get<double>(v.data));
  return Value::string(std::get<std::string>(v.data));
}

pipelines::Value to_subset(const Value& v) {
  switch (v.type()) {
    case Type::Null:
      return pipelines::Value();
    case Type::Bool:
      return pipelines::Value(v.as_bool());
    case Type::Int:
    case Type::Long:
      return pipelines::Value(v.as_int());
    case Type::Double:
    case Type::Decimal:
      return pipelines::Value(v.to_double());
    default:
      return pipelines::Value(to_string(v));
  }
}

bool NativeObject::set(Interpreter&, std::string_view, const Value&, bool& found) {
  found = false;
  return true;
}
bool NativeObject::call(Interpreter&, std::string_view, std::vector<Value>&, Value&, bool& found) {
  found = false;
  return true;
}

// ---- Map

std::string key_text(const Value& v) {
  switch (v.type()) {
    case Type::Null:
      return "n";
    case Type::Bool:
      return v.as_bool() ? "b1" : "b0";
    case Type::Int:
      return "i" + std::to_string(v.as_int());
    case Type::Long:
      return "l" + std::to_string(v.as_int());
    case Type::String:
      return (v.is_gstring() ? "g" : "s") + v.as_string();
    case Type::Decimal:
      return "d" + std::to_string(v.as_decimal().unscaled) + "e" +
             std::to_string(v.as_decimal().scale);
    case Type::Double:
      return "f" + num::double_string(v.as_double());
    default:
      return "r" + std::to_string(reinterpret_cast<uintptr_t>(v.ref().get())) + inspect(v);
  }
}

const Value* Map::find(const Value& key) const {
  auto it = index_.find(key_text(key));
  return it == index_.end() ? nullptr : &entries_[it->second].second;
}
Value* Map::find(const Value& key) {
  auto it = index_.find(key_text(key));
  return it == index_.end() ? nullptr : &entries_[it->second].second;
}
void Map::put(const Value& key, Value value) {
  std::string k = key_text(key);
  auto it = index_.find(k);
  if (it != index_.end()) {
    entries_[it->second].second = std::move(value);
    return;
  }
  index_.emplace(std::move(k), entries_.size());
  entries_.emplace_back(key, std::move(value));
  if (sorted) {
    std::stable_sort(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
      return to_string(a.first) < to_string(b.first);
    });
    reindex();
  }
}
bool Map::remove(const Value& key) {
  auto it = index_.find(key_text(key));
  if (it == index_.end()) return false;
  entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(it->second));
  reindex();
  return true;
}
void Map::clear() {
  entries_.clear();
  index_.clear();
}
void Map::reindex() {
  index_.clear();
  for (size_t i = 0; i < entries_.size(); ++i) index_[key_text(entries_[i].first)] = i;
}

// ---- numbers

namespace num {
namespace {

int digits(i128 v) {
  if (v < 0) v = -v;
  int n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

i128 pow10(int n) {
  i128 r = 1;
  for (int i = 0; i < n; ++i) r *= 10;
  return r;
}

constexpr i128 kMax = std::numeric_limits<int64_t>::max();

bool fits(i128 v) {
  return v <= kMax && v >= -kMax;
}

bool make(Interpreter& in, i128 unscaled, int scale, Value& out) {
  // Drop digits that only make the number longer than 64 bits allow, as long
  // as they are trailing zeros of the fraction.
  while (!fits(unscaled) && scale > 0 && unscaled % 10 == 0) {
    unscaled /= 10;
    --scale;
  }
  if (!fits(unscaled)) {
    return in.raise("java.lang.ArithmeticException",
                    "BigDecimal result has more than 18 digits, which Gantry does not support");
  }
  out = Value::decimal(Decimal{static_cast<int64_t>(unscaled), scale});
  return true;
}

// Aligns two decimals to one scale.
bool align(const Decimal& a, const Decimal& b, i128& x, i128& y, int& scale) {
  scale = std::max(a.scale, b.scale);
  if (scale - a.scale > 30 || scale - b.scale > 30) return false;
  x = static_cast<i128>(a.unscaled) * pow10(scale - a.scale);
  y = static_cast<i128>(b.unscaled) * pow10(scale - b.scale);
  return true;
}

enum class Kind { Int, Long, Decimal, Double, None };

Kind kind_of(const Value& v) {
  switch (v.type()) {
    case Type::Int:
      return Kind::Int;
    case Type::Long:
      return Kind::Long;
    case Type::Decimal:
      return Kind::Decimal;
    case Type::Double:
      return Kind::Double;
    default:
      return Kind::None;
  }
}

Kind widest(const Value& a, const Value& b) {
  return static_cast<Kind>(std::max(static_cast<int>(kind_of(a)), static_cast<int>(kind_of(b))));
}

Value wrap_int(Kind k, i128 v) {
  if (k == Kind::Int) return Value::integer(static_cast<int32_t>(static_cast<uint32_t>(v)));
  return Value::long_(static_cast<int64_t>(static_cast<uint64_t>(v)));
}

bool overflow_error(Interpreter& in) {
  return in.raise("java.lang.ArithmeticException", "BigDecimal out of the range Gantry supports");
}

}  // namespace

Decimal to_decimal(const Value& v) {
  switch (v.type()) {
    case Type::Int:
    case Type::Long:
      return Decimal{v.as_int(), 0};
    case Type::Decimal:
      return v.as_decimal();
    case Type::Double: {
      Decimal d;
      parse_decimal(double_string(v.as_double()), d);
      return d;
    }
    default:
      return Decimal{};
  }
}

bool parse_decimal(std::string_view text, Decimal& out) {
  i128 unscaled = 0;
  int scale = 0;
  bool neg = false;
  size_t i = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) neg = text[i++] == '-';
  bool point = false;
  bool any = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.') {
      if (point) return false;
      point = true;
      continue;
    }
    if (c == 'e' || c == 'E') break;
    if (c < '0' || c > '9') return false;
    any = true;
    unscaled = unscaled * 10 + (c - '0');
    if (unscaled > kMax) return false;
    if (point) ++scale;
  }
  if (!any) return false;
  if (i < text.size()) {
    int exp = 0;
    auto r = std::from_chars(text.data() + i + 1 + (text[i + 1] == '+' ? 1 : 0),
                             text.data() + text.size(), exp);
    if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return false;
    scale -= exp;
  }
  out = Decimal{static_cast<int64_t>(neg ? -unscaled : unscaled), scale};
  return true;
}

std::string decimal_string(const Decimal& d) {
  // java.math.BigDecimal.toString().
  bool neg = d.unscaled < 0;
  std::string coeff = std::to_string(d.unscaled);
  if (neg) coeff.erase(0, 1);
  long adjusted = -static_cast<long>(d.scale) + static_cast<long>(coeff.size()) - 1;
  std::string out = neg ? "-" : "";
  if (d.scale >= 0 && adjusted >= -6) {
    if (d.scale == 0) return out + coeff;
    if (static_cast<long>(coeff.size()) > d.scale) {
      size_t point = coeff.size() - static_cast<size_t>(d.scale);
      return out + coeff.substr(0, point) + "." + coeff.substr(point);
    }
    return out + "0." + std::string(static_cast<size_t>(d.scale) - coeff.size(), '0') + coeff;
  }
  out += coeff.substr(0, 1);
  if (coeff.size() > 1) out += "." + coeff.substr(1);
  out += "E";
  out += adjusted >= 0 ? "+" : "";
  out += std::to_string(adjusted);
  return out;
}

std::string double_string(double d) {
  // java.lang.Double.toString(): the shortest digits that read back, plain
  // between 10^-3 and 10^7, else computerized scientific notation.
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, r.ptr);  // "1.2345e+02"
  size_t e = sci.find('e');
  std::string mant = sci.substr(0, e);
  int exp = std::stoi(sci.substr(e + 1));
  bool neg = mant[0] == '-';
  if (neg) mant.erase(0, 1);
  std::string digs;
  for (char c : mant) {
    if (c != '.') digs += c;
  }
  std::string out = neg ? "-" : "";
  if (std::fabs(d) >= 1e-3 && std::fabs(d) < 1e7) {
    if (exp >= 0) {
      std::string ip = digs.substr(0, std::min(digs.size(), static_cast<size_t>(exp) + 1));
      while (static_cast<int>(ip.size()) < exp + 1) ip += '0';
      std::string fp = digs.size() > static_cast<size_t>(exp) + 1 ? digs.substr(exp + 1) : "0";
      return out + ip + "." + fp;
    }
    return out + "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digs;
  }
  out += digs.substr(0, 1) + "." + (digs.size() > 1 ? digs.substr(1) : "0");
  return out + "E" + std::to_string(exp);
}

bool add(Interpreter& in, const Value& a, const Value& b, Value& out) {
  Kind k = widest(a, b);
  if (k == Kind::Double) {
    out = Value::double_(a.to_double() + b.to_double());
  } else if (k == Kind::Decimal) {
    i128 x = 0;
    i128 y = 0;
    int s = 0;
    if (!align(to_decimal(a), to_decimal(b), x, y, s)) return overflow_error(in);
    return make(in, x + y, s, out);
  } else {
    out = wrap_int(k, static_cast<i128>(a.as_int()) + b.as_int());
  }
  return true;
}

bool sub(Interpreter& in, const Value& a, const Value& b, Value& out) {
  Kind k = widest(a, b);
  if (k == Kind::Double) {
    out = Value::double_(a.to_double() - b.to_double());
  } else if (k == Kind::Decimal) {
    i128 x = 0;
    i128 y = 0;
    int s = 0;
    if (!align(to_decimal(a), to_decimal(b), x, y, s)) return overflow_error(in);
    return make(in, x - y, s, out);
  } else {
    out = wrap_int(k, static_cast<i128>(a.as_int()) - b.as_int());
  }
  return true;
}

bool mul(Interpreter& in, const Value& a, const Value& b, Value& out) {
  Kind k = widest(a, b);
  if (k == Kind::Double) {
    out = Value::double_(a.to_double() * b.to_double());
  } else if (k == Kind::Decimal) {
    Decimal x = to_decimal(a);
    Decimal y = to_decimal(b);
    return make(in, static_cast<i128>(x.unscaled) * y.unscaled, x.scale + y.scale, out);
  } else {
    out = wrap_int(k, static_cast<i128>(a.as_int()) * b.as_int());
  }
  return true;
}

bool div(Interpreter& in, const Value& a, const Value& b, Value& out) {
  Kind k = widest(a, b);
  if (k == Kind::Double) {
    out = Value::double_(a.to_double() / b.to_double());
    return true;
  }
  Decimal x = to_decimal(a);
  Decimal y = to_decimal(b);
  if (y.unscaled == 0) return in.raise("java.lang.ArithmeticException", "Division by zero");
  if (x.unscaled == 0) return make(in, 0, std::max(0, x.scale - y.scale), out);
  // Exact when the quotient terminates: BigDecimal.divide(BigDecimal).
  int preferred = x.scale - y.scale;
  for (int extra = 0; extra <= 18; ++extra) {
    i128 n = static_cast<i128>(x.unscaled) * pow10(extra);
    if (n % y.unscaled == 0) {
      i128 q = n / y.unscaled;
      int scale = preferred + extra;
      return make(in, q, scale, out);
    }
  }
  // Not terminating: Groovy divides to max(precision) + 10 digits, then keeps
  // at most 10 decimals (BigDecimalMath.divideImpl), rounding half up.
  int precision = std::max(digits(x.unscaled), digits(y.unscaled)) + 10;
  // q = x/y * 10^shift with `precision` significant digits.
  i128 xa = x.unscaled < 0 ? -static_cast<i128>(x.unscaled) : x.unscaled;
  i128 ya = y.unscaled < 0 ? -static_cast<i128>(y.unscaled) : y.unscaled;
  bool neg = (x.unscaled < 0) != (y.unscaled < 0);
  // Leading digit position of xa/ya.
  int lead = digits(xa) - digits(ya);
  bool below = lead >= 0 ? xa < ya * pow10(lead) : xa * pow10(-lead) < ya;
  if (below) --lead;
  int shift = precision - 1 - lead;
  if (shift > 36 || shift < -36) return overflow_error(in);
  i128 num = shift >= 0 ? xa * pow10(shift) : xa;
  i128 den = shift >= 0 ? ya : ya * pow10(-shift);
  i128 q = num / den;
  i128 rem = num % den;
  if (rem * 2 >= den) ++q;
  int scale = preferred + shift;
  int target = std::max({scale, x.scale, y.scale});
  target = std::min(target, 10);
  if (target < scale) {
    i128 p = pow10(scale - target);
    i128 r = q % p;
    q /= p;
    if (r * 2 >= p) ++q;
    scale = target;
  }
  return make(in, neg ? -q : q, scale, out);
}

bool intdiv(Interpreter& in, const Value& a, const Value& b, Value& out) {
  if (!a.is_integral() || !b.is_integral()) {
    const Value& bad = !a.is_integral() ? a : b;
    return in.raise("java.lang.UnsupportedOperationException",
                    "Cannot use intdiv() on this number type: " + class_name(bad) +
                        " with value: " + to_string(bad));
  }
  if (b.as_int() == 0) return in.raise("java.lang.ArithmeticException", "/ by zero");
  out = wrap_int(widest(a, b), static_cast<i128>(a.as_int()) / b.as_int());
  return true;
}

bool mod(Interpreter& in, const Value& a, const Value& b, Value& out) {
  Kind k = widest(a, b);
  if (k == Kind::Double) {
    out = Value::double_(std::fmod(a.to_double(), b.to_double()));
    return true;
  }
  if (k == Kind::Decimal) {
    return in.raise("java.lang.UnsupportedOperationException",
                    "Cannot use mod() on this number type: java.math.BigDecimal with value: " +
                        to_string(kind_of(a) == Kind::Decimal ? a : b));
  }
  if (b.as_int() == 0) return in.raise("java.lang.ArithmeticException", "/ by zero");
  out = wrap_int(k, static_cast<i128>(a.as_int()) % b.as_int());
  return true;
}

bool power(Interpreter& in, const Value& a, const Value& b, Value& out) {
  // Integer/Long ** non-negative Integer: exact, an Integer when it fits (Long
  // for a Long base); BigDecimal ** non-negative Integer: BigDecimal.pow.
  // Anything else goes through Math.pow and comes back as an Integer or Long
  // when the result is whole (DefaultGroovyMethods.power(Number, Number)).
  if (b.type() == Type::Int && b.as_int() >= 0) {
    int64_t e = b.as_int();
    if (a.type() == Type::Decimal) {
      Value acc = Value::decimal(Decimal{1, 0});
      for (int64_t i = 0; i < e; ++i) {
        if (!mul(in, acc, a, acc)) return false;
      }
      out = acc;
      return true;
    }
    if (a.is_integral()) {
      i128 r = 1;
      i128 base = a.as_int();
      for (int64_t i = 0; i < e && r != 0 && !(r == 1 && (base == 1 || base == 0)); ++i) {
        r *= base;
        if (r > kMax || r < -kMax) {
          return in.raise("java.lang.ArithmeticException",
                          "the power is larger than a Long, which Gantry does not support");
        }
      }
      if (base == 0 && e > 0) r = 0;
      bool fits_int =
          r <= std::numeric_limits<int32_t>::max() && r >= std::numeric_limits<int32_t>::min();
      out = a.type() == Type::Int && fits_int ? Value::integer(static_cast<int32_t>(r))
                                              : Value::long_(static_cast<int64_t>(r));
      return true;
    }
  }
  double r = std::pow(a.to_double(), b.to_double());
  if (std::isfinite(r) && r == std::floor(r) && std::fabs(r) <= 9.2e18) {
    out = Value::whole(static_cast<int64_t>(r));
  } else {
    out = Value::double_(r);
  }
  return true;
}

bool negate(Interpreter& in, const Value& a, Value& out) {
  switch (a.type()) {
    case Type::Int:
      out = Value::integer(static_cast<int32_t>(-static_cast<uint32_t>(a.as_int())));
      return true;
    case Type::Long:
      out = Value::long_(static_cast<int64_t>(-static_cast<uint64_t>(a.as_int())));
      return true;
    case Type::Decimal:
      out = Value::decimal(Decimal{-a.as_decimal().unscaled, a.as_decimal().scale});
      return true;
    case Type::Double:
      out = Value::double_(-a.as_double());
      return true;
    default:
      return in.raise("groovy.lang.MissingMethodException",
                      "No signature of method: " + class_name(a) +
                          ".negative() is applicable for argument types: () values: []");
  }
}

int compare(const Value& a, const Value& b) {
  Kind k = widest(a, b);
  if (k == Kind::Double) {
    double x = a.to_double();
    double y = b.to_double();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (k == Kind::Decimal) {
    i128 x = 0;
    i128 y = 0;
    int s = 0;
    if (!align(to_decimal(a), to_decimal(b), x, y, s)) {
      double dx = a.to_double();
      double dy = b.to_double();
      return dx < dy ? -1 : (dx > dy ? 1 : 0);
    }
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  return a.as_int() < b.as_int() ? -1 : (a.as_int() > b.as_int() ? 1 : 0);
}

}  // namespace num

// ---- equality and order

namespace {

// Two maps with the same keys, their values equal by `eq`.
bool same_entries(const Map& x, const Map& y, bool (*eq)(const Value&, const Value&)) {
  if (x.size() != y.size()) return false;
  for (const auto& [k, v] : x.entries()) {
    const Value* w = y.find(k);
    if (w == nullptr || !eq(v, *w)) return false;
  }
  return true;
}

}  // namespace

bool equals(const Value& a, const Value& b) {
  if (a.is_null() || b.is_null()) return a.is_null() && b.is_null();
  if (a.is_number() && b.is_number()) return num::compare(a, b) == 0;
  if (a.type() == Type::String && b.type() == Type::String) return a.as_string() == b.as_string();
  if (a.type() == Type::Bool && b.type() == Type::Bool) return a.as_bool() == b.as_bool();
  auto listish = [](const Value& v) { return v.type() == Type::List || v.type() == Type::Range; };
  if (listish(a) && listish(b)) {
    auto item = [](const Value& v, int64_t i) {
      return v.type() == Type::List ? v.as_list().items[static_cast<size_t>(i)]
                                    : Value::integer(static_cast<int32_t>(v.as_range().at(i)));
    };
    int64_t n = a.type() == Type::List ? static_cast<int64_t>(a.as_list().items.size())
                                       : a.as_range().size();
    int64_t m = b.type() == Type::List ? static_cast<int64_t>(b.as_list().items.size())
                                       : b.as_range().size();
    if (n != m) return false;
    for (int64_t i = 0; i < n; ++i) {
      if (!equals(item(a, i), item(b, i))) return false;
    }
    return true;
  }
  if (a.type() == Type::Map && b.type() == Type::Map)
    return same_entries(a.as_map(), b.as_map(), equals);
  if (a.type() == Type::Class && b.type() == Type::Class) return a.as_string() == b.as_string();
  if (a.type() != b.type()) return false;
  return a.same_ref(b);
}

bool java_equals(const Value& a, const Value& b) {
  if (a.is_number() || b.is_number()) {
    if (a.type() != b.type()) return false;
    if (a.type() == Type::Decimal) {
      return a.as_decimal().unscaled == b.as_decimal().unscaled &&
             a.as_decimal().scale == b.as_decimal().scale;
    }
    return num::compare(a, b) == 0;
  }
  if (a.type() == Type::List && b.type() == Type::List) {
    const auto& x = a.as_list().items;
    const auto& y = b.as_list().items;
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (!java_equals(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.type() == Type::Map && b.type() == Type::Map) {
    return same_entries(a.as_map(), b.as_map(), java_equals);
  }
  if (a.is_string() && b.is_string() && a.is_gstring() != b.is_gstring()) return false;
  return equals(a, b);
}

bool compare(Interpreter& in, const Value& a, const Value& b, int& out) {
  if (a.is_null() || b.is_null()) {
    out = a.is_null() ? (b.is_null() ? 0 : -1) : 1;
    return true;
  }
  if (a.is_number() && b.is_number()) {
    out = num::compare(a, b);
    return true;
  }
  if (a.is_string() && b.is_string()) {
    int c = a.as_string().compare(b.as_string());
    // Java's compareTo gives the difference; Groovy's <=> normalises to -1/0/1.
    out = c < 0 ? -1 : (c > 0 ? 1 : 0);
    return true;
  }
  if (a.type() == Type::Bool && b.type() == Type::Bool) {
    out = static_cast<int>(a.as_bool()) - static_cast<int>(b.as_bool());
    return true;
  }
  // A one-character string is a char next to a number: compared by its code.
  if ((a.is_number() && b.is_string()) || (a.is_string() && b.is_number())) {
    const Value& s = a.is_string() ? a : b;
    if (s.as_string().size() != 1) {
      return in.raise("java.lang.ClassCastException",
                      "java.lang.String cannot be cast to java.lang.Number");
    }
    Value code = Value::integer(static_cast<unsigned char>(s.as_string()[0]));
    out = a.is_string() ? num::compare(code, b) : num::compare(a, code);
    return true;
  }
  return in.raise("groovy.lang.GroovyRuntimeException",
                  "Cannot compare " + class_name(a) + " with value '" + to_string(a) + "' and " +
                      class_name(b) + " with value '" + to_string(b) + "'");
}

bool truthy(const Value& v) {
  switch (v.type()) {
    case Type::Null:
      return false;
    case Type::Bool:
      return v.as_bool();
    case Type::Int:
    case Type::Long:
      return v.as_int() != 0;
    case Type::Decimal:
      return v.as_decimal().unscaled != 0;
    case Type::Double:
      return v.as_double() != 0;
    case Type::String:
      return !v.as_string().empty();
    case Type::List:
      return !v.as_list().items.empty();
    case Type::Map:
      return v.as_map().size() != 0;
    case Type::Range:
      return v.as_range().size() != 0;
    case Type::Matcher: {
      // asBoolean() of a Matcher is find() from the start.
      return !v.as_matcher().matches.empty();
    }
    default:
      return true;
  }
}

std::string cap(std::string_view s) {
  std::string out(s);
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

// ---- printing

namespace {

std::string render(const Value& v, bool quoted, int depth);

std::string render_items(const std::vector<Value>& items, bool quoted, int depth) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += render(items[i], quoted, depth + 1);
  }
  return out + "]";
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\'':
      case '\\':
        out += '\\';
        out += c;
        break;
      default:
        out += c;
    }
  }
  return out + "'";
}

std::string render(const Value& v, bool quoted, int depth) {
  if (depth > 50) return "...";
  switch (v.type()) {
    case Type::Null:
      return "null";
    case Type::Bool:
      return v.as_bool() ? "true" : "false";
    case Type::Int:
    case Type::Long:
      return std::to_string(v.as_int());
    case Type::Decimal:
      return num::decimal_string(v.as_decimal());
    case Type::Double:
      return num::double_string(v.as_double());
    case Type::String:
      return quoted && !v.is_gstring() ? quote(v.as_string()) : v.as_string();
    case Type::List:
      return render_items(v.as_list().items, quoted, depth);
    case Type::Range: {
      const Range& r = v.as_range();
      if (quoted) {
        if (r.empty) return std::to_string(r.from) + "..<" + std::to_string(r.from);
        if (r.exclusive) {
          return std::to_string(r.from) + "..<" + std::to_string(r.reverse() ? r.to - 1 : r.to + 1);
        }
        return std::to_string(r.from) + ".." + std::to_string(r.to);
      }
      std::string out = "[";
      for (int64_t i = 0; i < r.size() && i < 100000; ++i) {
        if (i > 0) out += ", ";
        out += std::to_string(r.at(i));
      }
      return out + "]";
    }
    case Type::Map: {
      const Map& m = v.as_map();
      if (m.size() == 0) return "[:]";
      std::string out = "[";
      bool first = true;
      for (const auto& [k, val] : m.entries()) {
        if (!first) out += ", ";
        first = false;
        out += render(k, quoted, depth + 1) + ":" + render(val, quoted, depth + 1);
      }
      return out + "]";
    }
    case Type::Exception: {
      const Exception& e = v.as_exception();
      return e.has_message ? e.type + ": " + e.message : e.type;
    }
    case Type::Closure:
      return "Closure";
    case Type::Object: {
      const Object& o = v.as_object();
      return (o.cls != nullptr ? o.cls->name : std::string("Object")) + "@gantry";
    }
    case Type::Native:
      return v.as_native().to_string();
    case Type::Class:
      return "class " + v.as_string();
    case Type::Matcher:
      return "java.util.regex.Matcher";
  }
  return "";
}

}  // namespace

std::string to_string(const Value& v) {
  return render(v, false, 0);
}
std::string inspect(const Value& v) {
  return render(v, true, 0);
}

std::string class_name(const Value& v) {
  switch (v.type()) {
    case Type::Null:
      return "null";
    case Type::Bool:
      return "java.lang.Boolean";
    case Type::Int:
      return "java.lang.Integer";
    case Type::Long:
      return "java.lang.Long";
    case Type::Decimal:
      return "java.math.BigDecimal";
    case Type::Double:
      return "java.lang.Double";
    case Type::String:
      return v.is_gstring() ? "org.codehaus.groovy.runtime.GStringImpl" : "java.lang.String";
    case Type::List:
      return v.as_list().java_class != nullptr ? v.as_list().java_class : "java.util.ArrayList";
    case Type::Map:
      return "java.util.LinkedHashMap";
    case Type::Range:
      return "groovy.lang.IntRange";
    case Type::Closure:
      return "groovy.lang.Closure";
    case Type::Object:
      return v.as_object().cls != nullptr ? v.as_object().cls->name : "java.lang.Object";
    case Type::Exception:
      return v.as_exception().type;
    case Type::Native:
      return v.as_native().type_name();
    case Type::Class:
      return "java.lang.Class";
    case Type::Matcher:
      return "java.util.regex.Matcher";
  }
  return "java.lang.Object";
}

}  // namespace gantry::pipelines::groovy
