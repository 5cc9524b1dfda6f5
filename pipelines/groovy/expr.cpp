// Expressions: literals, names, operators, assignment, properties, indexing.
#include <limits>

#include "interp.hpp"

namespace gantry::pipelines::groovy {

namespace {

bool is_string_like(const Value& v) {
  return v.is_string();
}

bool parse_int_literal(const std::string& text, int64_t& out) {
  std::string t = text;
  bool neg = !t.empty() && t[0] == '-';
  if (neg) t.erase(0, 1);
  int base = 10;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    base = 16;
    t.erase(0, 2);
  } else if (t.size() > 2 && t[0] == '0' && (t[1] == 'b' || t[1] == 'B')) {
    base = 2;
    t.erase(0, 2);
  } else if (t.size() > 1 && t[0] == '0') {
    base = 8;  // Java's octal literals
  }
  i128 v = 0;
  for (char c : t) {
    int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10);
    if (d < 0 || d >= base) return false;
    v = v * base + d;
    if (v > static_cast<i128>(std::numeric_limits<int64_t>::max()) + 1) return false;
  }
  if (neg) v = -v;
  if (v > std::numeric_limits<int64_t>::max()) return false;
  out = static_cast<int64_t>(v);
  return true;
}

// A Pattern from `~/re/` (the host's Native mechanism keeps the type small).
class PatternObject : public NativeObject {
 public:
  explicit PatternObject(std::string p) : pattern_(std::move(p)) {}
  std::string type_name() const override { return "java.util.regex.Pattern"; }
  bool get(Interpreter&, std::string_view, Value&, bool& found) override {
    found = false;
    return true;
  }
  bool call(Interpreter& in, std::string_view method, std::vector<Value>& args, Value& out,
            bool& found) override {
    found = true;
    if (method == "pattern" || method == "toString") {
      out = Value::string(pattern_);
      return true;
    }
    if (method == "matcher" && args.size() == 1) {
      return in.impl().regex_find(args[0], Value::string(pattern_), out);
    }
    found = false;
    return true;
  }
  std::string to_string() const override { return pattern_; }

 private:
  std::string pattern_;
};

}  // namespace

bool Interpreter::Impl::check_size(size_t n) {
  if (n > in.limits_.max_string) {
    return in.raise("gantry.LimitExceeded",
                    "a value of " + std::to_string(n) +
                        " bytes or items is over Gantry's limit of " +
                        std::to_string(in.limits_.max_string),
                    true);
  }
  return true;
}

bool Interpreter::Impl::eval(const Node& n, Value& out) {
  if (!tick(n)) return false;
  switch (n.kind) {
    case NodeKind::Null:
      out = Value();
      return true;
    case NodeKind::Bool:
      out = Value::boolean(n.text == "true");
      return true;
    case NodeKind::Int: {
      int64_t v = 0;
      if (n.big || !parse_int_literal(n.text, v)) {
        return in.raise("java.lang.NumberFormatException",
                        "the number " + n.text + " is larger than Gantry supports");
      }
      const std::string& suffix = n.type_name;
      if (suffix == "L") {
        out = Value::long_(v);
      } else if (suffix == "D" || suffix == "F") {
        out = Value::double_(static_cast<double>(v));
      } else if (suffix == "G") {
        out = v > INT32_MAX || v < INT32_MIN ? Value::long_(v)
                                             : Value::integer(static_cast<int32_t>(v));
      } else {
        out = Value::whole(v);
      }
      return true;
    }
    case NodeKind::Float: {
      Decimal d;
      if (n.type_name == "D" || n.type_name == "F") {
        out = Value::double_(std::strtod(n.text.c_str(), nullptr));
      } else if (num::parse_decimal(n.text, d)) {
        out = Value::decimal(d);
      } else {
        out = Value::double_(std::strtod(n.text.c_str(), nullptr));
      }
      return true;
    }
    case NodeKind::String:
      out = Value::string(n.text);
      return true;
    case NodeKind::GString:
      return eval_gstring(n, out);
    case NodeKind::List:
      return eval_list(n, out);
    case NodeKind::Map:
      return eval_map(n, out);
    case NodeKind::Ident:
      return eval_ident(n, out);
    case NodeKind::Property:
      return eval_property(n, out);
    case NodeKind::Index: {
      Value obj;
      Value idx;
      if (!n.lhs || !eval(*n.lhs, obj)) return false;
      if (obj.is_null() && n.safe) {
        out = Value();
        return true;
      }
      if (!n.rhs || !eval(*n.rhs, idx)) return false;
      in.pos_ = n.pos;
      return get_index(obj, idx, out);
    }
    case NodeKind::Call:
      return eval_call(n, out);
    case NodeKind::New: {
      std::vector<Value> args;
      std::vector<std::pair<std::string, Value>> named;
      if (!eval_args(n, args, named)) return false;
      in.pos_ = n.pos;
      return construct(n.text, args, named, out);
    }
    case NodeKind::Closure: {
      auto c = std::make_shared<Closure>();
      c->node = &n;
      c->scope = scope;
      c->self = self;
      out = Value::of(std::move(c));
      return true;
    }
    case NodeKind::Unary:
      return eval_unary(n, out);
    case NodeKind::Binary:
      return eval_binary(n, out);
    case NodeKind::Ternary: {
      Value c;
      if (!n.lhs || !eval(*n.lhs, c)) return false;
      if (!n.rhs) {  // Elvis
        if (truthy(c)) {
          out = c;
          return true;
        }
        return !n.third || eval(*n.third, out);
      }
      const Node* branch = truthy(c) ? n.rhs.get() : n.third.get();
      out = Value();
      return branch == nullptr || eval(*branch, out);
    }
    case NodeKind::Assign:
      return eval_assign(n, out);
    case NodeKind::Cast: {
      Value v;
      if (!n.lhs || !eval(*n.lhs, v)) return false;
      in.pos_ = n.pos;
      std::vector<Value> args{Value::class_ref(n.text)};
      return invoke(v, "asType", args, out);
    }
    case NodeKind::MethodRef: {
      auto c = std::make_shared<Closure>();
      c->method = n.text;
      if (n.lhs && !(n.lhs->kind == NodeKind::Ident && n.lhs->text == "this")) {
        if (!eval(*n.lhs, c->self)) return false;
      } else {
        c->self = self;
      }
      out = Value::of(std::move(c));
      return true;
    }
    case NodeKind::Dollar:
      return !n.lhs || eval(*n.lhs, out);
    default:
      return in.raise("gantry.Unsupported",
                      std::string("Gantry cannot evaluate a ") + kind_name(n.kind) + " here", true);
  }
}

bool Interpreter::Impl::eval_gstring(const Node& n, Value& out) {
  std::string s;
  for (const auto& part : n.items) {
    if (!part) continue;
    if (part->kind == NodeKind::String) {
      s += part->text;
      continue;
    }
    Value v;
    if (part->kind == NodeKind::Closure) {
      // "${a; b}" or "${-> x}": the statements' last value.
      auto c = std::make_shared<Closure>();
      c->node = part.get();
      c->scope = scope;
      c->self = self;
      if (!call_closure(*c, {}, v)) return false;
    } else if (!eval(*part, v)) {
      return false;
    }
    std::string text;
    if (!text_of(v, text)) return false;
    s += text;
    if (!check_size(s.size())) return false;
  }
  out = Value::gstring(std::move(s));
  return true;
}

bool Interpreter::Impl::eval_list(const Node& n, Value& out) {
  auto l = std::make_shared<List>();
  l->items.reserve(n.items.size());
  for (const auto& item : n.items) {
    if (!item) continue;
    if (item->kind == NodeKind::Unary && item->text == "*" && item->lhs) {  // [*xs]
      Value v;
      if (!eval(*item->lhs, v)) return false;
      std::vector<Value> spread;
      if (!iterate(in, v, spread)) return false;
      for (auto& s : spread) l->items.push_back(std::move(s));
      continue;
    }
    Value v;
    if (!eval(*item, v)) return false;
    l->items.push_back(std::move(v));
  }
  out = Value::of(std::move(l));
  return true;
}

bool Interpreter::Impl::eval_map(const Node& n, Value& out) {
  auto m = std::make_shared<Map>();
  for (const auto& e : n.named) {
    Value key = Value::string(e.name);
    if (e.key && !eval(*e.key, key)) return false;
    Value v;
    if (e.value && !eval(*e.value, v)) return false;
    if (e.name == "*" && v.type() == Type::Map) {  // [*: other]
      for (const auto& [k, val] : v.as_map().entries()) m->put(k, val);
      continue;
    }
    m->put(key, std::move(v));
  }
  out = Value::of(std::move(m));
  return true;
}

bool Interpreter::Impl::eval_ident(const Node& n, Value& out) {
  const std::string& name = n.text;
  if (Value* v = scope->find(name)) {
    out = *v;
    return true;
  }
  if (name == "this") {
    out = self.is_null() && self_class == nullptr ? script_self() : self;
    return true;
  }
  if (delegate.type() == Type::Map) {
    if (const Value* v = delegate.as_map().find(Value::string(name))) {
      out = *v;
      return true;
    }
  } else if (delegate.type() == Type::Object || delegate.type() == Type::Native) {
    bool has = delegate.type() == Type::Native;
    if (delegate.type() == Type::Object) {
      has = delegate.as_object().fields->find(Value::string(name)) != nullptr;
    }
    if (has) {
      Value d = delegate;
      return get_property(d, name, out, false);
    }
  }
  if (self.type() == Type::Object) {
    if (Value* f = self.as_object().fields->find(Value::string(name))) {
      out = *f;
      return true;
    }
    for (const ClassInfo* c = self_class; c != nullptr; c = c->super) {
      if (Value* s = c->statics->find(Value::string(name))) {
        out = *s;
        return true;
      }
    }
  } else if (self_class != nullptr) {  // a static method
    for (const ClassInfo* c = self_class; c != nullptr; c = c->super) {
      if (Value* s = c->statics->find(Value::string(name))) {
        out = *s;
        return true;
      }
    }
  }
  if (Value* v = binding->find(Value::string(name))) {
    out = *v;
    return true;
  }
  if (global_classes.count(name) != 0) {
    bool found = false;
    return global_value(name, out, found);
  }
  if (is_class_name(name)) {
    out = Value::class_ref(canonical_class(name));
    return true;
  }
  if (auto g = host.global(name)) {
    out = std::move(*g);
    return true;
  }
  in.pos_ = n.pos;
  return in.raise("groovy.lang.MissingPropertyException",
                  "No such property: " + name +
                      " for class: " + (self_class != nullptr ? self_class->name : script_class));
}

bool Interpreter::Impl::eval_property(const Node& n, Value& out) {
  Value obj;
  if (!n.lhs || !eval(*n.lhs, obj)) return false;
  in.pos_ = n.pos;
  if (obj.is_null() && n.safe) {
    out = Value();
    return true;
  }
  std::string name = n.text;
  if (n.third) {
    Value dyn;
    if (!eval(*n.third, dyn)) return false;
    name = to_string(dyn);
  }
  if (n.spread) {
    std::vector<Value> items;
    if (obj.is_null()) {
      out = Value();
      return true;
    }
    if (!iterate(in, obj, items)) return false;
    auto l = std::make_shared<List>();
    for (const auto& item : items) {
      Value v;
      if (!item.is_null() && !get_property(item, name, v, false)) return false;
      l->items.push_back(std::move(v));
    }
    out = Value::of(std::move(l));
    return true;
  }
  return get_property(obj, name, out, n.safe);
}

bool Interpreter::Impl::get_property(const Value& obj, const std::string& name, Value& out,
                                     bool safe) {
  auto missing = [&]() {
    return in.raise("groovy.lang.MissingPropertyException",
                    "No such property: " + name + " for class: " + class_name(obj));
  };
  // A getter: obj.getName() / obj.isName().
  auto getter = [&](bool& found) {
    std::vector<Value> none;
    found = false;
    for (const std::string& m : {"get" + cap(name), "is" + cap(name)}) {
      bool ok = true;
      switch (obj.type()) {
        case Type::String:
          ok = string_method(obj.as_string(), m, none, out, found);
          break;
        case Type::List:
        case Type::Range:
          ok = list_method(obj, m, none, out, found);
          break;
        case Type::Int:
        case Type::Long:
        case Type::Decimal:
        case Type::Double:
          ok = number_method(obj, m, none, out, found);
          break;
        case Type::Matcher:
          ok = matcher_method(obj, m, none, out, found);
          break;
        default:
          break;
      }
      if (!ok || found) return ok;
      ok = object_method(obj, m, none, out, found);
      if (!ok || found) return ok;
    }
    return true;
  };
  bool found = false;
  switch (obj.type()) {
    case Type::Null:
      if (safe) {
        out = Value();
        return true;
      }
      return in.raise("java.lang.NullPointerException",
                      "Cannot get property '" + name + "' on null object");
    case Type::Map: {
      Map& m = obj.as_map();
      const Value* v = m.find(Value::string(name));
      if (v == nullptr && m.defaults.type() == Type::Closure)
        return map_default(obj, Value::string(name), out);
      out = v != nullptr ? *v : Value();
      return true;
    }
    case Type::Exception: {
      const Exception& e = obj.as_exception();
      if (e.fields) {
        if (const Value* f = e.fields->find(Value::string(name))) {
          out = *f;
          return true;
        }
      }
      if ((name == "property" && e.type == "groovy.lang.MissingPropertyException") ||
          (name == "method" && e.type == "groovy.lang.MissingMethodException")) {
        // The missing name, from the message Gantry wrote.
        std::string_view msg = e.message;
        size_t from = name == "property" ? msg.find(": ") + 2 : msg.find(": ") + 2;
        size_t to = name == "property" ? msg.find(" for class") : msg.find("()");
        std::string what(msg.substr(from, to == std::string_view::npos ? 0 : to - from));
        if (name == "method") what = what.substr(what.rfind('.') + 1);
        out = Value::string(what);
        return true;
      }
      if (name == "message" || name == "localizedMessage") {
        out = e.has_message ? Value::string(e.message) : Value();
      } else if (name == "cause") {
        out = e.cause;
      } else if (name == "class") {
        out = Value::class_ref(e.type);
      } else if (name == "stackTrace") {
        out = Value::list();
      } else {
        return missing();
      }
      return true;
    }
    case Type::Closure: {
      Closure& c = obj.as_closure();
      if (name == "delegate") {
        out = c.delegate;
      } else if (name == "owner" || name == "thisObject") {
        out = c.self;
      } else if (name == "maximumNumberOfParameters") {
        size_t count = c.node == nullptr ? 1 : c.node->params.size();
        if (c.node != nullptr && count == 0 && !c.node->parens) count = 1;  // `it`
        out = Value::integer(static_cast<int32_t>(count));
      } else if (name == "resolveStrategy") {
        out = Value::integer(0);
      } else if (name == "class") {
        out = Value::class_ref("groovy.lang.Closure");
      } else {
        return missing();
      }
      return true;
    }
    case Type::List:
    case Type::Range: {
      if (!getter(found)) return false;
      if (found) return true;
      if (name == "length") {  // an array's length (arrays are lists here)
        out = Value::integer(static_cast<int32_t>(
            obj.type() == Type::List ? obj.as_list().items.size() : obj.as_range().size()));
        return true;
      }
      std::vector<Value> items;
      if (!iterate(in, obj, items)) return false;
      auto l = std::make_shared<List>();
      for (const auto& item : items) {
        Value v;
        if (!get_property(item, name, v, false)) return false;
        l->items.push_back(std::move(v));
      }
      out = Value::of(std::move(l));
      return true;
    }
    case Type::Object: {
      const Object& o = obj.as_object();
      std::vector<Value> no_args;
      for (const ClassInfo* c = o.cls; c != nullptr; c = c->super) {
        for (const Node* m : c->methods) {
          if ((m->text == "get" + cap(name) || m->text == "is" + cap(name)) && m->params.empty() &&
              !(self.same_ref(obj) && m == current_method)) {
            return run_method(*m, no_args, obj, c, out);
          }
        }
      }
      if (const Value* v = o.fields->find(Value::string(name))) {
        out = *v;
        return true;
      }
      for (const ClassInfo* c = o.cls; c != nullptr; c = c->super) {
        if (Value* s = c->statics->find(Value::string(name))) {
          out = *s;
          return true;
        }
      }
      std::vector<Value> none;
      for (const ClassInfo* c = o.cls; c != nullptr; c = c->super) {
        for (const Node* m : c->methods) {
          if ((m->text == "get" + cap(name) || m->text == "is" + cap(name)) && m->params.empty()) {
            return run_method(*m, none, obj, c, out);
          }
        }
      }
      if (name == "class") {
        out = Value::class_ref(o.cls != nullptr ? o.cls->name : "Object");
        return true;
      }
      if (o.cls != nullptr && o.cls->script) {  // a vars/ script sees env, params, globals
        Node ident(NodeKind::Ident, in.pos_, name);
        Value saved_self = self;
        const ClassInfo* saved_class = self_class;
        self = Value();
        self_class = nullptr;
        bool ok = eval_ident(ident, out);
        self = saved_self;
        self_class = saved_class;
        return ok;
      }
      return missing();
    }
    case Type::Native: {
      if (!obj.as_native().get(in, name, out, found)) return false;
      if (found) return true;
      if (!getter(found)) return false;
      return found ? true : missing();
    }
    case Type::Class:
      if (!static_property(obj.as_string(), name, out, found)) return false;
      if (found) return true;
      return in.raise("groovy.lang.MissingPropertyException",
                      "No such property: " + name + " for class: " + obj.as_string());
    default:
      if (!getter(found)) return false;
      return found ? true : missing();
  }
}

bool Interpreter::Impl::set_property(const Value& obj, const std::string& name, const Value& v) {
  bool found = false;
  switch (obj.type()) {
    case Type::Null:
      return in.raise("java.lang.NullPointerException",
                      "Cannot set property '" + name + "' on null object");
    case Type::Map:
      obj.as_map().put(Value::string(name), v);
      return true;
    case Type::Object: {
      Object& o = obj.as_object();
      for (const ClassInfo* c = o.cls; c != nullptr; c = c->super) {
        for (const Node* m : c->methods) {
          if (m->text == "set" + cap(name) && m->params.size() == 1 &&
              !(self.same_ref(obj) && m == current_method)) {
            std::vector<Value> a{v};
            Value ignored;
            return run_method(*m, a, obj, c, ignored);
          }
        }
      }
      if (Value* f = o.fields->find(Value::string(name))) {
        *f = v;
        return true;
      }
      for (const ClassInfo* c = o.cls; c != nullptr; c = c->super) {
        if (Value* s = c->statics->find(Value::string(name))) {
          *s = v;
          return true;
        }
      }
      break;
    }
    case Type::Native:
      if (!obj.as_native().set(in, name, v, found)) return false;
      if (found) return true;
      break;
    case Type::Class: {
      auto it = classes.find(obj.as_string());
      if (it != classes.end()) {
        it->second->statics->put(Value::string(name), v);
        return true;
      }
      break;
    }
    case Type::Exception:
      if (obj.as_exception().fields) {
        obj.as_exception().fields->put(Value::string(name), v);
        return true;
      }
      break;
    case Type::Closure:
      if (name == "delegate") {
        obj.as_closure().delegate = v;
        return true;
      }
      if (name == "resolveStrategy") return true;
      break;
    case Type::List: {
      // Spread assignment: every element's property.
      for (const auto& item : obj.as_list().items) {
        if (!set_property(item, name, v)) return false;
      }
      return true;
    }
    default:
      break;
  }
  return in.raise("groovy.lang.MissingPropertyException",
                  "No such property: " + name + " for class: " + class_name(obj));
}

namespace {

// Java's index rules for getAt: negative counts from the end.
bool normalise(int64_t& i, int64_t size) {
  if (i < 0) i += size;
  return i >= 0 && i < size;
}

}  // namespace

bool Interpreter::Impl::get_index(const Value& obj, const Value& idx, Value& out) {
  switch (obj.type()) {
    case Type::Null:
      return in.raise("java.lang.NullPointerException",
                      "Cannot invoke method getAt() on null object");
    case Type::Map: {
      // Subscripts look a GString key up as a String.
      Value key = idx.is_gstring() ? Value::string(idx.as_string()) : idx;
      const Value* v = obj.as_map().find(key);
      if (v == nullptr && obj.as_map().defaults.type() == Type::Closure)
        return map_default(obj, key, out);
      out = v != nullptr ? *v : Value();
      return true;
    }
    case Type::Native:
    case Type::Object:
      if (idx.is_string()) return get_property(obj, idx.as_string(), out, false);
      break;
    case Type::Matcher: {
      Matcher& m = obj.as_matcher();
      if (!idx.is_integral()) break;
      int64_t i = idx.as_int();
      if (!normalise(i, static_cast<int64_t>(m.matches.size()))) {
        return in.raise("java.lang.IndexOutOfBoundsException",
                        "index is out of range " +
                            std::to_string(-static_cast<int64_t>(m.matches.size())) + ".." +
                            std::to_string(static_cast<int64_t>(m.matches.size()) - 1) +
                            " (index = " + std::to_string(idx.as_int()) + ")");
      }
      const auto& groups = m.matches[static_cast<size_t>(i)];
      out = groups.size() == 1 ? groups[0] : Value::list(groups);
      return true;
    }
    default:
      break;
  }
  std::vector<Value> none;
  std::vector<Value> args{idx};
  return invoke(obj, "getAt", args, out);
}

bool Interpreter::Impl::set_index(const Value& obj, const Value& idx, const Value& v) {
  switch (obj.type()) {
    case Type::Null:
      return in.raise("java.lang.NullPointerException",
                      "Cannot invoke method putAt() on null object");
    case Type::Map:
      obj.as_map().put(idx.is_gstring() ? Value::string(idx.as_string()) : idx, v);
      return true;
    case Type::List: {
      if (!idx.is_integral()) break;
      auto& items = obj.as_list().items;
      int64_t i = idx.as_int();
      if (i < 0) i += static_cast<int64_t>(items.size());
      if (i < 0) {
        return in.raise("java.lang.IndexOutOfBoundsException",
                        "Negative array index [" + std::to_string(idx.as_int()) +
                            "] too large for array size " + std::to_string(items.size()));
      }
      if (static_cast<size_t>(i) >= items.size()) {
        if (!check_size(static_cast<size_t>(i) + 1)) return false;
        items.resize(static_cast<size_t>(i) + 1);
      }
      items[static_cast<size_t>(i)] = v;
      return true;
    }
    case Type::Native:
    case Type::Object:
      if (idx.is_string()) return set_property(obj, idx.as_string(), v);
      break;
    default:
      break;
  }
  return in.raise("groovy.lang.MissingMethodException",
                  "No signature of method: " + class_name(obj) +
                      ".putAt() is applicable for argument types: (" + class_name(idx) + ", " +
                      class_name(v) + ")");
}

bool Interpreter::Impl::eval_unary(const Node& n, Value& out) {
  const std::string& op = n.text;
  if (!n.lhs) return true;
  if (op == "++" || op == "--") {
    Value old;
    if (!eval(*n.lhs, old)) return false;
    in.pos_ = n.pos;
    Value next;
    if (old.is_number()) {
      if (!(op == "++" ? num::add(in, old, Value::integer(1), next)
                       : num::sub(in, old, Value::integer(1), next))) {
        return false;
      }
    } else if (old.is_null()) {
      return in.raise("java.lang.NullPointerException", std::string("Cannot invoke method ") +
                                                            (op == "++" ? "next" : "previous") +
                                                            "() on null object");
    } else {
      std::vector<Value> none;
      if (!invoke(old, op == "++" ? "next" : "previous", none, next)) return false;
    }
    if (!assign_to(*n.lhs, next)) return false;
    out = n.postfix ? old : next;
    return true;
  }
  Value v;
  if (!eval(*n.lhs, v)) return false;
  in.pos_ = n.pos;
  if (op == "!") {
    out = Value::boolean(!truthy(v));
    return true;
  }
  if (op == "-") return num::negate(in, v, out);
  if (op == "+") {
    out = v;
    return true;
  }
  if (op == "~") {
    if (v.is_string()) {
      out = Value::of(
          std::static_pointer_cast<NativeObject>(std::make_shared<PatternObject>(v.as_string())));
      return true;
    }
    if (v.is_integral()) {
      out = v.type() == Type::Int ? Value::integer(static_cast<int32_t>(~v.as_int()))
                                  : Value::long_(~v.as_int());
      return true;
    }
  }
  return in.raise("gantry.Unsupported", "Gantry cannot apply unary " + op + " to " + class_name(v));
}

bool Interpreter::Impl::eval_binary(const Node& n, Value& out) {
  const std::string& op = n.text;
  if (!n.lhs || !n.rhs) return true;
  Value a;
  if (!eval(*n.lhs, a)) return false;
  if (op == "&&" || op == "||") {
    bool t = truthy(a);
    if ((op == "&&" && !t) || (op == "||" && t)) {
      out = Value::boolean(t);
      return true;
    }
    Value b;
    if (!eval(*n.rhs, b)) return false;
    out = Value::boolean(truthy(b));
    return true;
  }
  if (op == "instanceof" || op == "!instanceof") {
    std::string type = n.rhs->kind == NodeKind::Ident ? n.rhs->text : to_source(*n.rhs);
    bool r = instance_of(a, type);
    out = Value::boolean(op == "instanceof" ? r : !r);
    return true;
  }
  Value b;
  if (!eval(*n.rhs, b)) return false;
  in.pos_ = n.pos;
  return binary_op(op, a, b, out);
}

bool Interpreter::Impl::binary_op(const std::string& op, const Value& a, const Value& b,
                                  Value& out) {
  bool both_numbers = a.is_number() && b.is_number();
  if (op == "==" || op == "!=") {
    bool eq = equals(a, b);
    if (a.type() == Type::Object && !b.is_null()) {  // a class's own equals()
      eq = a.same_ref(b);
      for (const ClassInfo* c = a.as_object().cls; c != nullptr && !eq; c = c->super) {
        for (const Node* m : c->methods) {
          if (m->text == "equals" && m->params.size() == 1) {
            std::vector<Value> arg{b};
            Value r;
            if (!run_method(*m, arg, a, c, r)) return false;
            eq = truthy(r);
            break;
          }
        }
      }
    }
    out = Value::boolean(op == "==" ? eq : !eq);
    return true;
  }
  if (op == "<" || op == "<=" || op == ">" || op == ">=" || op == "<=>") {
    int c = 0;
    if (!compare(in, a, b, c)) return false;
    if (op == "<=>") {
      out = Value::integer(c);
    } else {
      bool r = op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0;
      out = Value::boolean(r);
    }
    return true;
  }
  if (op == "+") {
    if (both_numbers) return num::add(in, a, b, out);
    if (is_string_like(a)) {
      std::string tail;
      if (!text_of(b, tail)) return false;
      std::string s = a.as_string() + tail;
      if (!check_size(s.size())) return false;
      out = Value::string(std::move(s));
      return true;
    }
    if ((a.is_null() || a.is_number()) && b.is_string()) {
      out = Value::string(to_string(a) + b.as_string());
      return true;
    }
  }
  if (op == "-" && both_numbers) return num::sub(in, a, b, out);
  if (op == "*" && both_numbers) return num::mul(in, a, b, out);
  if (op == "/" && both_numbers) return num::div(in, a, b, out);
  if (op == "%" && both_numbers) return num::mod(in, a, b, out);
  if (op == "**" && both_numbers) return num::power(in, a, b, out);
  if (op == "=~") return regex_find(a, b, out);
  if (op == "==~") {
    bool m = false;
    if (!regex_match(a, b, m)) return false;
    out = Value::boolean(m);
    return true;
  }
  if (op == "in") {
    bool r = false;
    if (!is_in(a, b, r)) return false;
    out = Value::boolean(r);
    return true;
  }
  if (op == ".." || op == "..<") return make_range(a, b, op == "..<", out);
  if ((op == "&" || op == "|" || op == "^") && a.type() == Type::Bool && b.type() == Type::Bool) {
    bool x = a.as_bool();
    bool y = b.as_bool();
    out = Value::boolean(op == "&" ? (x && y) : op == "|" ? (x || y) : (x != y));
    return true;
  }
  if ((op == "&" || op == "|" || op == "^" || op == "<<" || op == ">>" || op == ">>>") &&
      a.is_integral() && b.is_integral()) {
    int64_t x = a.as_int();
    int64_t y = b.as_int();
    bool wide = a.type() == Type::Long;
    int64_t r = 0;
    if (op == "&") r = x & y;
    if (op == "|") r = x | y;
    if (op == "^") r = x ^ y;
    if (op == "<<")
      r = wide ? static_cast<int64_t>(static_cast<uint64_t>(x) << (y & 63))
               : static_cast<int32_t>(static_cast<uint32_t>(x) << (y & 31));
    if (op == ">>") r = wide ? x >> (y & 63) : static_cast<int32_t>(x) >> (y & 31);
    if (op == ">>>")
      r = wide ? static_cast<int64_t>(static_cast<uint64_t>(x) >> (y & 63))
               : static_cast<int32_t>(static_cast<uint32_t>(x) >> (y & 31));
    out =
        wide || b.type() == Type::Long ? Value::long_(r) : Value::integer(static_cast<int32_t>(r));
    return true;
  }
  // Everything else is a method: plus, minus, multiply, leftShift...
  static const std::vector<std::pair<std::string_view, std::string_view>> kMethods = {
      {"+", "plus"}, {"-", "minus"},  {"*", "multiply"},   {"/", "div"},
      {"%", "mod"},  {"**", "power"}, {"<<", "leftShift"}, {">>", "rightShift"},
      {"&", "and"},  {"|", "or"},     {"^", "xor"},
  };
  for (const auto& [sym, method] : kMethods) {
    if (sym == op) {
      if (a.is_null()) {
        return in.raise("java.lang.NullPointerException",
                        "Cannot invoke method " + std::string(method) + "() on null object");
      }
      std::vector<Value> args{b};
      return invoke(a, std::string(method), args, out);
    }
  }
  return in.raise("gantry.Unsupported", "Gantry does not support the operator " + op, true);
}

bool Interpreter::Impl::make_range(const Value& from, const Value& to, bool exclusive, Value& out) {
  if (from.is_integral() && to.is_integral()) {
    auto r = std::make_shared<Range>();
    r->from = from.as_int();
    r->to = to.as_int();
    if (exclusive) {
      r->exclusive = true;
      if (r->from == r->to) {
        r->empty = true;
      } else {
        r->to += r->to > r->from ? -1 : 1;
      }
    }
    out = Value::of(std::move(r));
    return true;
  }
  if (from.is_string() && to.is_string() && from.as_string().size() == 1 &&
      to.as_string().size() == 1) {
    unsigned char x = static_cast<unsigned char>(from.as_string()[0]);
    unsigned char y = static_cast<unsigned char>(to.as_string()[0]);
    auto l = std::make_shared<List>();
    int step = x <= y ? 1 : -1;
    for (int c = x;; c += step) {
      if (exclusive && c == y) break;
      l->items.push_back(Value::string(std::string(1, static_cast<char>(c))));
      if (c == y) break;
    }
    out = Value::of(std::move(l));
    return true;
  }
  return in.raise("gantry.Unsupported",
                  "Gantry supports ranges of integers and of single "
                  "characters, not " +
                      class_name(from) + ".." + class_name(to));
}

bool Interpreter::Impl::is_in(const Value& item, const Value& container, bool& out) {
  switch (container.type()) {
    case Type::Null:
      out = item.is_null();  // null.isCase(null)
      return true;
    case Type::List:
      out = false;
      for (const auto& v : container.as_list().items) {
        if (java_equals(v, item)) {
          out = true;
          break;
        }
      }
      return true;
    case Type::Range: {
      const Range& r = container.as_range();
      out = false;
      if (item.is_number() && !r.empty) {
        int64_t lo = std::min(r.from, r.to);
        int64_t hi = std::max(r.from, r.to);
        out =
            num::compare(item, Value::long_(lo)) >= 0 && num::compare(item, Value::long_(hi)) <= 0;
        if (out && !item.is_integral()) out = false;
      }
      return true;
    }
    case Type::Map: {
      // Map.isCase: the truth of the value at that key.
      const Value* v = container.as_map().find(item);
      out = v != nullptr && truthy(*v);
      return true;
    }
    case Type::String:
      // String.isCase: equality of the texts.
      out = !item.is_null() && to_string(item) == container.as_string();
      return true;
    case Type::Class:
      out = instance_of(item, container.as_string());
      return true;
    case Type::Closure:
      return predicate(container, {item}, out);
    default:
      out = equals(item, container);
      return true;
  }
}

bool Interpreter::Impl::eval_assign(const Node& n, Value& out) {
  if (!n.lhs || !n.rhs) return true;
  const std::string& op = n.text;
  if (op == "=") {
    if (n.lhs->kind == NodeKind::List) {  // (a, b) = [1, 2] parsed as a list target
      Value v;
      if (!eval(*n.rhs, v)) return false;
      std::vector<Value> items;
      if (!iterate(in, v, items)) return false;
      for (size_t i = 0; i < n.lhs->items.size(); ++i) {
        if (!assign_to(*n.lhs->items[i], i < items.size() ? items[i] : Value())) return false;
      }
      out = v;
      return true;
    }
    if (!eval(*n.rhs, out)) return false;
    in.pos_ = n.pos;
    return assign_to(*n.lhs, out);
  }
  Value current;
  if (!eval(*n.lhs, current)) return false;
  if (op == "?=") {
    if (truthy(current)) {
      out = current;
      return true;
    }
    if (!eval(*n.rhs, out)) return false;
    return assign_to(*n.lhs, out);
  }
  Value rhs;
  if (!eval(*n.rhs, rhs)) return false;
  in.pos_ = n.pos;
  std::string bop = op.substr(0, op.size() - 1);
  if (!binary_op(bop, current, rhs, out)) return false;
  return assign_to(*n.lhs, out);
}

bool Interpreter::Impl::assign_to(const Node& target, const Value& v) {
  switch (target.kind) {
    case NodeKind::Ident: {
      if (Value* slot = scope->find(target.text)) {
        *slot = v;
        return true;
      }
      if (self.type() == Type::Object) {
        if (Value* f = self.as_object().fields->find(Value::string(target.text))) {
          *f = v;
          return true;
        }
      }
      for (const ClassInfo* c = self_class; c != nullptr; c = c->super) {
        if (Value* s = c->statics->find(Value::string(target.text))) {
          *s = v;
          return true;
        }
      }
      if (delegate.type() == Type::Map) {  // a configuration closure: `name = 'x'`
        delegate.as_map().put(Value::string(target.text), v);
        return true;
      }
      if (delegate.type() == Type::Object &&
          delegate.as_object().fields->find(Value::string(target.text)) != nullptr) {
        Value d = delegate;
        return set_property(d, target.text, v);
      }
      // An undeclared name: the script's binding (shared by its methods).
      binding->put(Value::string(target.text), v);
      return true;
    }
    case NodeKind::Property: {
      Value obj;
      if (!target.lhs || !eval(*target.lhs, obj)) return false;
      in.pos_ = target.pos;
      if (obj.is_null() && target.safe) return true;
      std::string name = target.text;
      if (target.third) {
        Value dyn;
        if (!eval(*target.third, dyn)) return false;
        name = to_string(dyn);
      }
      return set_property(obj, name, v);
    }
    case NodeKind::Index: {
      Value obj;
      Value idx;
      if (!target.lhs || !eval(*target.lhs, obj)) return false;
      if (!target.rhs || !eval(*target.rhs, idx)) return false;
      in.pos_ = target.pos;
      return set_index(obj, idx, v);
    }
    default:
      return in.raise("gantry.Unsupported", "cannot assign to " + to_source(target), true);
  }
}

}  // namespace gantry::pipelines::groovy
