// Calls: closures, script methods and classes, steps, and method dispatch on
// values.
#include <algorithm>

#include "interp.hpp"

namespace gantry::pipelines::groovy {

namespace {

std::string arg_types(const std::vector<Value>& args) {
  std::string out = "(";
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0) out += ", ";
    out += args[i].is_null() ? "null" : class_name(args[i]);
  }
  return out + ")";
}

std::string arg_values(const std::vector<Value>& args) {
  std::string out = "[";
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0) out += ", ";
    out += to_string(args[i]);
  }
  return out + "]";
}

class EntryObject : public NativeObject {
 public:
  EntryObject(Value k, Value v) : key_(std::move(k)), value_(std::move(v)) {}
  std::string type_name() const override { return "java.util.LinkedHashMap$Entry"; }
  bool get(Interpreter&, std::string_view name, Value& out, bool& found) override {
    found = name == "key" || name == "value";
    if (found) out = name == "key" ? key_ : value_;
    return true;
  }
  bool call(Interpreter&, std::string_view method, std::vector<Value>&, Value& out,
            bool& found) override {
    found = method == "getKey" || method == "getValue";
    if (found) out = method == "getKey" ? key_ : value_;
    return true;
  }
  std::string to_string() const override {
    return groovy::to_string(key_) + "=" + groovy::to_string(value_);
  }

 private:
  Value key_;
  Value value_;
};

}  // namespace

Value map_entry(const Value& key, const Value& value) {
  return Value::of(
      std::static_pointer_cast<NativeObject>(std::make_shared<EntryObject>(key, value)));
}

Value make_exception(std::string type, std::optional<std::string> message, Value cause) {
  auto e = std::make_shared<Exception>();
  e->type = std::move(type);
  e->has_message = message.has_value();
  if (message) e->message = std::move(*message);
  e->cause = std::move(cause);
  return Value::of(std::move(e));
}

bool iterate(Interpreter& in, const Value& v, std::vector<Value>& out) {
  switch (v.type()) {
    case Type::List:
      out = v.as_list().items;
      return true;
    case Type::Range: {
      const Range& r = v.as_range();
      if (static_cast<size_t>(r.size()) > in.limits().max_collection) {
        return in.raise("gantry.LimitExceeded",
                        "a range of " + std::to_string(r.size()) + " items is over Gantry's limit",
                        true);
      }
      out.clear();
      out.reserve(static_cast<size_t>(r.size()));
      for (int64_t i = 0; i < r.size(); ++i) out.push_back(Value::whole(r.at(i)));
      return true;
    }
    case Type::Map:
      out.clear();
      for (const auto& [k, val] : v.as_map().entries()) out.push_back(map_entry(k, val));
      return true;
    case Type::String:
      out.clear();
      for (char c : v.as_string()) out.push_back(Value::string(std::string(1, c)));
      return true;
    case Type::Null:
      out.clear();
      return true;
    case Type::Matcher: {
      out.clear();
      for (const auto& m : v.as_matcher().matches) {
        out.push_back(m.size() == 1 ? m[0] : Value::list(m));
      }
      return true;
    }
    default:
      out = {v};  // Groovy iterates any other object as itself
      return true;
  }
}

// ---- evaluation of calls

bool Interpreter::Impl::eval_args(const Node& call, std::vector<Value>& args,
                                  std::vector<std::pair<std::string, Value>>& named) {
  for (const auto& item : call.items) {
    if (!item) continue;  // an empty argument slot: `f(a, , b)`
    if (item->kind == NodeKind::Unary && item->text == "*" && item->lhs) {
      Value v;
      if (!eval(*item->lhs, v)) return false;
      std::vector<Value> spread;
      if (!iterate(in, v, spread)) return false;
      for (auto& s : spread) args.push_back(std::move(s));
      continue;
    }
    Value v;
    if (!eval(*item, v)) return false;
    args.push_back(std::move(v));
  }
  for (const auto& e : call.named) {
    Value v;
    if (e.value && !eval(*e.value, v)) return false;
    std::string key = e.name;
    if (e.key) {
      Value k;
      if (!eval(*e.key, k)) return false;
      key = to_string(k);
    }
    named.emplace_back(std::move(key), std::move(v));
  }
  if (call.block) {
    Value c;
    if (!eval(*call.block, c)) return false;
    args.push_back(std::move(c));
  }
  return true;
}

namespace {

// Named arguments become a map in front of the positional ones, as in Groovy.
void fold_named(std::vector<Value>& args, std::vector<std::pair<std::string, Value>>& named) {
  if (named.empty()) return;
  auto m = std::make_shared<Map>();
  for (auto& [k, v] : named) m->put(Value::string(k), std::move(v));
  args.insert(args.begin(), Value::of(std::move(m)));
  named.clear();
}

}  // namespace

// The script as a value (`this` at the top of a Jenkinsfile, handed to a
// library class as `steps`): its methods, the globals and the steps.
class ScriptSelf : public NativeObject {
 public:
  explicit ScriptSelf(Interpreter::Impl& im) : im_(im) {}
  std::string type_name() const override { return im_.script_class; }
  bool get(Interpreter& in, std::string_view name, Value& out, bool& found) override {
    found = true;
    Node ident(NodeKind::Ident, in.position(), std::string(name));
    Value saved_self = im_.self;
    const ClassInfo* saved_class = im_.self_class;
    im_.self = Value();
    im_.self_class = nullptr;
    bool ok = im_.eval_ident(ident, out);
    im_.self = saved_self;
    im_.self_class = saved_class;
    return ok;
  }
  bool call(Interpreter& in, std::string_view method, std::vector<Value>& args, Value& out,
            bool& found) override {
    found = true;
    static const Node kCall(NodeKind::Call, Pos{});
    std::vector<std::pair<std::string, Value>> named;
    bool closure_last = !args.empty() && args.back().type() == Type::Closure;
    (void)in;
    return im_.call_plain(kCall, std::string(method), args, named, closure_last, out);
  }

 private:
  Interpreter::Impl& im_;
};

Value Interpreter::Impl::script_self() {
  if (script_self_cache.is_null()) {
    script_self_cache =
        Value::of(std::static_pointer_cast<NativeObject>(std::make_shared<ScriptSelf>(*this)));
  }
  return script_self_cache;
}

bool Interpreter::Impl::eval_call(const Node& n, Value& out) {
  const std::string& name = n.text;
  std::vector<Value> args;
  std::vector<std::pair<std::string, Value>> named;
  if (!n.lhs) {
    if (!eval_args(n, args, named)) return false;
    in.pos_ = n.pos;
    return call_plain(n, name, args, named, n.block != nullptr, out);
  }
  // A static call on a class name: Math.max(1, 2), Integer.parseInt('4').
  if (n.lhs->kind == NodeKind::Ident && scope->find(n.lhs->text) == nullptr &&
      binding->find(Value::string(n.lhs->text)) == nullptr && is_class_name(n.lhs->text)) {
    if (!eval_args(n, args, named)) return false;
    fold_named(args, named);
    in.pos_ = n.pos;
    return invoke_static(canonical_class(n.lhs->text), name, args, out);
  }
  if (n.lhs->kind == NodeKind::Ident && n.lhs->text == "super" && self_class != nullptr) {
    if (!eval_args(n, args, named)) return false;
    fold_named(args, named);
    in.pos_ = n.pos;
    for (const ClassInfo* c = self_class->super; c != nullptr; c = c->super) {
      std::vector<const Node*> candidates;
      for (const Node* m : c->methods) {
        if (m->text == name) candidates.push_back(m);
      }
      if (const Node* best = pick_overload(candidates, args))
        return run_method(*best, args, self, c, out);
    }
    return missing_method(self, name, args);
  }
  if (n.lhs->kind == NodeKind::Ident && n.lhs->text == "this" && scope->find("this") == nullptr) {
    if (!eval_args(n, args, named)) return false;
    in.pos_ = n.pos;
    if (self.type() == Type::Object) {
      fold_named(args, named);
      return invoke(self, name, args, out);
    }
    return call_plain(n, name, args, named, n.block != nullptr, out);
  }
  std::string dynamic_name;
  if (n.third) {
    Value dyn;
    if (!eval(*n.third, dyn)) return false;
    dynamic_name = to_string(dyn);
  }
  const std::string& method = n.third ? dynamic_name : name;
  Value recv;
  if (!eval(*n.lhs, recv)) return false;
  if (recv.is_null() && n.safe) {
    out = Value();
    return true;
  }
  if (!eval_args(n, args, named)) return false;
  fold_named(args, named);
  in.pos_ = n.pos;
  if (n.spread) {
    std::vector<Value> items;
    if (!iterate(in, recv, items)) return false;
    auto l = std::make_shared<List>();
    for (const auto& item : items) {
      Value v;
      std::vector<Value> a = args;
      if (!item.is_null() && !invoke(item, method, a, v)) return false;
      l->items.push_back(std::move(v));
    }
    out = Value::of(std::move(l));
    return true;
  }
  return invoke(recv, method, args, out);
}

bool Interpreter::Impl::call_plain(const Node& n, const std::string& name, std::vector<Value>& args,
                                   std::vector<std::pair<std::string, Value>>& named,
                                   bool has_closure, Value& out) {
  // A variable holding a closure: c(1).
  if (Value* v = scope->find(name); v != nullptr && v->type() == Type::Closure) {
    fold_named(args, named);
    return call_closure(v->as_closure(), args, out);
  }
  // Methods of the class we are in, then the script's.
  for (const ClassInfo* c = self_class; c != nullptr; c = c->super) {
    for (const Node* m : c->methods) {
      if (m->text == name) {
        fold_named(args, named);
        if (self.type() == Type::Object) return invoke(self, name, args, out);
        return invoke_static(c->name, name, args, out);
      }
    }
  }
  auto it = methods.find(name);
  if (it != methods.end()) {
    fold_named(args, named);
    return call_script_method(it->second, name, args, out);
  }
  if (delegate.type() == Type::Map) {
    if (const Value* v = delegate.as_map().find(Value::string(name));
        v != nullptr && v->type() == Type::Closure) {
      fold_named(args, named);
      return call_closure(v->as_closure(), args, out);
    }
  } else if (delegate.type() == Type::Object || delegate.type() == Type::Native) {
    std::vector<Value> a = args;
    fold_named(a, named);
    Value saved_delegate = delegate;
    bool found_method = false;
    if (delegate.type() == Type::Object) {
      for (const ClassInfo* c = delegate.as_object().cls; c != nullptr && !found_method;
           c = c->super) {
        for (const Node* m : c->methods) found_method = found_method || m->text == name;
      }
    }
    if (found_method) return invoke(saved_delegate, name, a, out);
    if (saved_delegate.type() == Type::Native) {
      bool found = false;
      if (!saved_delegate.as_native().call(in, name, a, out, found)) return false;
      if (found) return true;
    }
  }
  if (Value* v = binding->find(Value::string(name)); v != nullptr && v->type() == Type::Closure) {
    fold_named(args, named);
    return call_closure(v->as_closure(), args, out);
  }
  // A library global: deploy(...) is deploy.call(...).
  if (global_classes.count(name) != 0) {
    Value g;
    bool found = false;
    if (!global_value(name, g, found)) return false;
    fold_named(args, named);
    in.pos_ = n.pos;
    return invoke(g, "call", args, out);
  }
  // A pipeline template (vars/): `pipeline { }` inside a global's method is
  // kept, not run; the stages run in its scope (template_captured()).
  if (name == "pipeline" && has_closure && self_class != nullptr && self_class->script &&
      !args.empty() && args.back().type() == Type::Closure && !pipeline_scope) {
    const Closure& c = args.back().as_closure();
    pipeline_scope = c.scope ? c.scope : top;
    pipeline_self = self;
    pipeline_class = self_class;
    out = Value();
    return true;
  }
  if (name == "super" && self.type() == Type::Exception) {  // super(message[, cause])
    Exception& e = self.as_exception();
    e.has_message = !args.empty() && !args[0].is_null();
    if (e.has_message) e.message = to_string(args[0]);
    if (args.size() > 1) e.cause = args[1];
    out = Value();
    return true;
  }
  if (name == "super" || name == "this") {  // another constructor: super(...) of a plain class
    out = Value();
    return true;
  }
  if (name == "println" || name == "print") {
    std::string text;
    if (!args.empty() && !text_of(args[0], text)) return false;
    if (name == "println") text += "\n";
    host.print(text);
    out = Value();
    return true;
  }
  if (name == "println_unused") {
    std::string text = args.empty() ? "" : to_string(args[0]);
    if (name == "println") text += "\n";
    host.print(text);
    out = Value();
    return true;
  }
  if ((name == "printf" || name == "sprintf") && !args.empty()) {
    std::string text;
    std::vector<Value> rest = args;
    if (rest.size() == 2 && rest[1].type() == Type::List) {
      std::vector<Value> flat{rest[0]};
      for (const auto& v : rest[1].as_list().items) flat.push_back(v);
      rest = flat;
    }
    if (!format(to_string(rest[0]), rest, 1, text)) return false;
    if (name == "printf") {
      host.print(text);
      out = Value();
    } else {
      out = Value::string(std::move(text));
    }
    return true;
  }
  if (name == "assert" && !args.empty()) {
    if (truthy(args[0])) return true;
    std::string expr = n.items.empty() || !n.items[0] ? "" : to_source(*n.items[0]);
    std::string message =
        args.size() > 1 ? to_string(args[1]) + ". Expression: " + expr : "assert " + expr;
    return in.raise(args.size() > 1 ? "java.lang.AssertionError"
                                    : "org.codehaus.groovy.runtime.powerassert.PowerAssertionError",
                    message);
  }
  if (host.has_step(name)) {
    StepCall call;
    call.name = name;
    call.pos = n.pos;
    call.args = args;
    call.named = named;
    call.has_closure = has_closure;
    return host.step(in, call, out);
  }
  fold_named(args, named);
  return in.raise(
      "groovy.lang.MissingMethodException",
      "No signature of method: " + (self_class != nullptr ? self_class->name : script_class) + "." +
          name + "() is applicable for argument types: " + arg_types(args) +
          " values: " + arg_values(args));
}

// Picks the overload that fits the arguments best: the right number (with
// defaults and varargs), each typed parameter an instance of its type; the
// more typed parameters match, the better. Null when none fits.
const Node* Interpreter::Impl::pick_overload(const std::vector<const Node*>& overloads,
                                             const std::vector<Value>& args) const {
  const Node* best = nullptr;
  int best_score = -1;
  for (const Node* m : overloads) {
    size_t required = 0;
    for (size_t i = 0; i < m->params.size(); ++i) {
      if (i >= m->items.size() || !m->items[i]) required = i + 1;
    }
    bool varargs = m->spread && !m->params.empty();
    if (varargs) required = std::min(required, m->params.size() - 1);
    if (args.size() < required || (!varargs && args.size() > m->params.size())) continue;
    int score = args.size() == m->params.size() ? 1 : 0;
    bool fits = true;
    for (size_t i = 0; i < args.size() && i < m->params.size() && fits; ++i) {
      const std::string& type = i < m->named.size() ? m->named[i].name : std::string();
      if (type.empty() || type == "Object" || type == "def") continue;
      if (varargs && i + 1 == m->params.size()) continue;
      if (args[i].is_null()) continue;
      std::string t = type;
      if (t == "int") t = "Integer";
      if (t == "long") t = "Long";
      if (t == "boolean") t = "Boolean";
      if (t == "double") t = "Double";
      if (instance_of(args[i], t)) {
        score += 2;
      } else if (t == "String" && args[i].is_gstring()) {
        score += 1;  // Groovy turns a GString into the String a method takes
      } else if ((t == "Long" || t == "Double" || t == "BigDecimal" || t == "Number") &&
                 args[i].is_number()) {
        score += 1;  // a number widens
      } else if (t == "GString" || t == "CharSequence") {
        fits = args[i].is_string();
      } else {
        fits = false;
      }
    }
    if (fits && score > best_score) {
      best = m;
      best_score = score;
    }
  }
  return best;
}

bool Interpreter::Impl::call_script_method(const std::vector<const Node*>& overloads,
                                           const std::string& name, std::vector<Value>& args,
                                           Value& out) {
  const Node* best = pick_overload(overloads, args);
  if (best == nullptr) {
    return in.raise("groovy.lang.MissingMethodException",
                    "No signature of method: " + script_class + "." + name +
                        "() is applicable for argument types: " + arg_types(args) +
                        " values: " + arg_values(args));
  }
  return run_method(*best, args, Value(), nullptr, out);
}

bool Interpreter::Impl::exec_body(const std::vector<NodePtr>& items, Value& out) {
  out = Value();
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i]) continue;
    const Node& s = *items[i];
    bool last = i + 1 == items.size();
    if (!last) {
      if (!exec(s)) return false;
      continue;
    }
    if (s.kind == NodeKind::ExprStmt) {
      if (!tick(s)) return false;
      return !s.lhs || eval(*s.lhs, out);
    }
    if (s.kind == NodeKind::If && s.lhs) {
      if (!tick(s)) return false;
      Value c;
      if (!eval(*s.lhs, c)) return false;
      const Node* branch = truthy(c) ? s.rhs.get() : s.third.get();
      if (branch == nullptr) return true;
      auto saved = scope;
      scope = make_scope();
      scope->parent = saved;
      bool ok = branch->kind == NodeKind::Block ? exec_body(branch->items, out)
                                                : exec_body_one(*branch, out);
      scope = saved;
      return ok;
    }
    if (s.kind == NodeKind::Try) {
      if (!tick(s)) return false;
      return exec_try(s, &out);
    }
    if (s.kind == NodeKind::Block) {
      auto saved = scope;
      scope = make_scope();
      scope->parent = saved;
      bool ok = exec_body(s.items, out);
      scope = saved;
      return ok;
    }
    if (s.kind != NodeKind::VarDecl && s.kind != NodeKind::For && s.kind != NodeKind::While &&
        s.kind != NodeKind::Try && s.kind != NodeKind::Switch && s.kind != NodeKind::Return &&
        s.kind != NodeKind::Throw && s.kind != NodeKind::Break && s.kind != NodeKind::Continue &&
        s.kind != NodeKind::Annotation && s.kind != NodeKind::MethodDef &&
        s.kind != NodeKind::ClassDef && s.kind != NodeKind::Label) {
      if (!tick(s)) return false;
      return eval(s, out);
    }
    return exec(s);
  }
  return true;
}

bool Interpreter::Impl::exec_body_one(const Node& s, Value& out) {
  if (s.kind == NodeKind::If) {
    std::vector<NodePtr> one;
    // exec_body wants a list; evaluate the else-if chain directly instead.
    if (!tick(s)) return false;
    Value c;
    if (!s.lhs || !eval(*s.lhs, c)) return false;
    const Node* branch = truthy(c) ? s.rhs.get() : s.third.get();
    if (branch == nullptr) return true;
    if (branch->kind == NodeKind::Block) return exec_body(branch->items, out);
    return exec_body_one(*branch, out);
  }
  if (s.kind == NodeKind::ExprStmt) return !s.lhs || eval(*s.lhs, out);
  return exec(s);
}

bool Interpreter::Impl::enter_call() {
  if (++depth <= in.limits_.max_call_depth) return true;
  --depth;
  return in.raise(
      "java.lang.StackOverflowError",
      "calls nest deeper than " + std::to_string(in.limits_.max_call_depth) + ", Gantry's limit",
      true);
}

bool Interpreter::Impl::run_method(const Node& def, std::vector<Value>& args, const Value& obj,
                                   const ClassInfo* cls, Value& out) {
  if (!enter_call()) return false;
  auto saved_scope = scope;
  Value saved_self = self;
  Value saved_delegate = delegate;
  const ClassInfo* saved_class = self_class;
  scope = make_scope();  // methods do not see the script's locals
  self = obj;
  self_class = cls;
  delegate = Value();
  bool ok = true;
  const Node* saved_method = current_method;
  current_method = &def;
  if (def.spread && !def.params.empty()) {
    // Varargs: the trailing arguments become one list (unless a list was passed).
    size_t fixed = def.params.size() - 1;
    if (!(args.size() == def.params.size() && args.back().type() == Type::List)) {
      std::vector<Value> rest;
      while (args.size() > fixed) {
        rest.insert(rest.begin(), args.back());
        args.pop_back();
      }
      args.push_back(Value::list(std::move(rest)));
    }
  }
  for (size_t i = 0; i < def.params.size() && ok; ++i) {
    Value v;
    if (i < args.size()) {
      v = args[i];
    } else if (i < def.items.size() && def.items[i]) {
      ok = eval(*def.items[i], v);
    }
    const std::string& type = i < def.named.size() ? def.named[i].name : std::string();
    bool is_varargs = def.spread && i + 1 == def.params.size();
    if (ok && !type.empty() && !is_varargs) ok = coerce(type, v);
    scope->define(def.params[i], std::move(v));
  }
  if (ok && args.size() > def.params.size()) {
    ok = in.raise("groovy.lang.MissingMethodException",
                  "No signature of method: " + (cls != nullptr ? cls->name : script_class) + "." +
                      def.text + "() is applicable for argument types: " + arg_types(args) +
                      " values: " + arg_values(args));
  }
  if (ok && def.rhs) ok = exec_body(def.rhs->items, out);
  if (!ok && signal == Signal::Return) {
    signal = Signal::None;
    out = ret;
    ok = true;
  } else if (!ok && signal != Signal::None) {
    signal = Signal::None;
    ok = in.raise("groovy.lang.GroovyRuntimeException", "break or continue outside a loop");
  }
  scope = saved_scope;
  self = saved_self;
  self_class = saved_class;
  delegate = saved_delegate;
  current_method = saved_method;
  --depth;
  if (ok && def.type_name == "void") out = Value();
  if (ok && !def.type_name.empty() && def.type_name != "def" && def.type_name != "void" &&
      def.type_name != "<init>") {
    ok = coerce(def.type_name, out);
  }
  return ok;
}

bool Interpreter::Impl::call_value(const Value& callable, std::vector<Value> args, Value& out) {
  if (callable.type() == Type::Closure)
    return call_closure(callable.as_closure(), std::move(args), out);
  if (callable.is_null()) {
    return in.raise("java.lang.NullPointerException", "Cannot invoke method call() on null object");
  }
  return invoke(callable, "call", args, out);
}

bool Interpreter::Impl::call_closure(const Closure& c, std::vector<Value> args, Value& out) {
  if (!c.curried.empty()) args.insert(args.begin(), c.curried.begin(), c.curried.end());
  if (!c.ncurried.empty()) {
    size_t at = std::min(c.ncurry_at, args.size());
    args.insert(args.begin() + static_cast<std::ptrdiff_t>(at), c.ncurried.begin(),
                c.ncurried.end());
  }
  if (!c.rcurried.empty()) args.insert(args.end(), c.rcurried.begin(), c.rcurried.end());
  if (!c.composed.empty()) {
    Value v;
    for (size_t i = 0; i < c.composed.size(); ++i) {
      if (!call_value(c.composed[i], i == 0 ? args : std::vector<Value>{v}, v)) return false;
    }
    out = v;
    return true;
  }
  if (!c.method.empty()) {
    if (c.self.is_null() || c.self.type() == Type::Class) {
      if (c.self.type() == Type::Class)
        return invoke_static(c.self.as_string(), c.method, args, out);
      std::vector<std::pair<std::string, Value>> none;
      Node call(NodeKind::Call, in.pos_, c.method);
      return call_plain(call, c.method, args, none, false, out);
    }
    return invoke(c.self, c.method, args, out);
  }
  if (c.node == nullptr) return true;
  if (!enter_call()) return false;
  const Node& node = *c.node;
  auto saved_scope = scope;
  Value saved_self = self;
  Value saved_delegate = delegate;
  scope = make_scope();
  scope->parent = c.scope;
  self = c.self;
  delegate = c.delegate;
  if (node.params.empty()) {
    if (!node.parens) scope->define("it", args.empty() ? Value() : args[0]);
  } else {
    if (node.params.size() > 1 && args.size() == 1 && args[0].type() == Type::List) {
      std::vector<Value> spread = args[0].as_list().items;
      args = std::move(spread);
    }
    bool ok_defaults = true;
    for (size_t i = 0; i < node.params.size(); ++i) {
      Value v = i < args.size() ? args[i] : Value();
      if (i >= args.size()) {
        for (const auto& d : node.named) {
          if (d.name == node.params[i] && d.value && ok_defaults) ok_defaults = eval(*d.value, v);
        }
      }
      scope->define(node.params[i], std::move(v));
    }
    if (!ok_defaults) {
      scope = saved_scope;
      self = saved_self;
      delegate = saved_delegate;
      --depth;
      return false;
    }
  }
  bool ok = exec_body(node.items, out);
  if (!ok && signal == Signal::Return) {
    signal = Signal::None;
    out = ret;
    ok = true;
  }
  scope = saved_scope;
  self = saved_self;
  delegate = saved_delegate;
  --depth;
  return ok;
}

bool Interpreter::Impl::text_of(const Value& v, std::string& out) {
  if (v.type() == Type::Object) {
    for (const ClassInfo* c = v.as_object().cls; c != nullptr; c = c->super) {
      for (const Node* m : c->methods) {
        if (m->text == "toString" && m->params.empty()) {
          Value r;
          std::vector<Value> none;
          if (!run_method(*m, none, v, c, r)) return false;
          out = to_string(r);
          return true;
        }
      }
    }
  }
  if (v.type() == Type::List) {
    out = "[";
    const auto& items = v.as_list().items;
    for (size_t i = 0; i < items.size(); ++i) {
      std::string one;
      if (!text_of(items[i], one)) return false;
      out += (i > 0 ? ", " : "") + one;
    }
    out += "]";
    return true;
  }
  out = to_string(v);
  return true;
}

bool Interpreter::Impl::map_default(const Value& map, const Value& key, Value& out) {
  Value maker = map.as_map().defaults;
  if (!call_value(maker, {key}, out)) return false;
  map.as_map().put(key, out);
  return true;
}

bool Interpreter::Impl::predicate(const Value& closure, std::vector<Value> args, bool& out) {
  Value v;
  if (!call_value(closure, std::move(args), v)) return false;
  out = truthy(v);
  return true;
}

bool Interpreter::Impl::missing_method(const Value& recv, const std::string& name,
                                       const std::vector<Value>& args) {
  if (recv.is_null()) {
    return in.raise("java.lang.NullPointerException",
                    "Cannot invoke method " + name + "() on null object");
  }
  return in.raise("groovy.lang.MissingMethodException",
                  "No signature of method: " + class_name(recv) + "." + name +
                      "() is applicable for argument types: " + arg_types(args) +
                      " values: " + arg_values(args));
}

bool Interpreter::Impl::invoke(const Value& recv, const std::string& name, std::vector<Value>& args,
                               Value& out) {
  bool found = false;
  bool ok = true;
  switch (recv.type()) {
    case Type::Null: {
      // NullObject: a few methods answer, iteration sees nothing.
      if (name == "toString" || name == "inspect") {
        out = Value::string("null");
        return true;
      }
      if ((name == "equals" || name == "is") && args.size() == 1) {
        out = Value::boolean(args[0].is_null());
        return true;
      }
      if (name == "asType" || name == "with") {
        out = Value();
        return true;
      }
      if (name == "asBoolean") {
        out = Value::boolean(false);
        return true;
      }
      if (name == "plus" && args.size() == 1 && args[0].is_string()) {
        out = Value::string("null" + args[0].as_string());
        return true;
      }
      static const char* kIterating[] = {"each",       "eachWithIndex", "collect", "findAll",
                                         "find",       "any",           "every",   "iterator",
                                         "findResult", "collectMany"};
      for (const char* m : kIterating) {
        if (name == m) {
          Value empty = Value::list();
          bool f = false;
          if (!list_method(empty, name, args, out, f)) return false;
          if (name == "each" || name == "eachWithIndex") out = Value();
          return true;
        }
      }
      return missing_method(recv, name, args);
    }
    case Type::String:
      if (name == "equals" && args.size() == 1) {
        out = Value::boolean(java_equals(recv, args[0]));
        return true;
      }
      ok = string_method(recv.as_string(), name, args, out, found);
      break;
    case Type::Int:
    case Type::Long:
    case Type::Decimal:
    case Type::Double:
      ok = number_method(recv, name, args, out, found);
      break;
    case Type::List:
    case Type::Range:
      ok = list_method(recv, name, args, out, found);
      break;
    case Type::Map:
      ok = map_method(recv, name, args, out, found);
      if (ok && !found) {
        if (const Value* v = recv.as_map().find(Value::string(name));
            v != nullptr && v->type() == Type::Closure) {
          return call_closure(v->as_closure(), args, out);
        }
      }
      break;
    case Type::Closure: {
      Closure& c = recv.as_closure();
      found = true;
      if (name == "call" || name == "doCall") return call_closure(c, args, out);
      if (name == "curry" || name == "rcurry" || name == "ncurry") {
        auto copy = std::make_shared<Closure>(c);
        if (name == "curry") {
          copy->curried.insert(copy->curried.end(), args.begin(), args.end());
        } else if (name == "rcurry") {
          copy->rcurried.insert(copy->rcurried.begin(), args.begin(), args.end());
        } else if (!args.empty() && args[0].is_integral()) {  // ncurry(n, values...)
          // Bound arguments at position n: kept as curried with a gap filled at call time.
          size_t at = static_cast<size_t>(std::max<int64_t>(0, args[0].as_int()));
          copy->ncurry_at = at;
          copy->ncurried.assign(args.begin() + 1, args.end());
        }
        out = Value::of(std::move(copy));
        return true;
      }
      if ((name == "rightShift" || name == "leftShift") && args.size() == 1 &&
          args[0].type() == Type::Closure) {
        auto composed = std::make_shared<Closure>();
        composed->composed = name == "rightShift" ? std::vector<Value>{recv, args[0]}
                                                  : std::vector<Value>{args[0], recv};
        out = Value::of(std::move(composed));
        return true;
      }
      if (name == "setDelegate" && args.size() == 1) {
        c.delegate = args[0];
        return true;
      }
      if (name == "setResolveStrategy" || name == "memoize" || name == "trampoline") {
        out = name == "setResolveStrategy" ? Value() : recv;
        return true;
      }
      if (name == "getMaximumNumberOfParameters") {
        out = Value::integer(c.node != nullptr
                                 ? static_cast<int32_t>(std::max<size_t>(c.node->params.size(), 1))
                                 : 1);
        return true;
      }
      found = false;
      break;
    }
    case Type::Object: {
      const Object& o = recv.as_object();
      for (const ClassInfo* c = o.cls; c != nullptr; c = c->super) {
        std::vector<const Node*> named_like;
        for (const Node* m : c->methods) {
          if (m->text == name) named_like.push_back(m);
        }
        if (const Node* best = pick_overload(named_like, args)) {
          return run_method(*best, args, recv, c, out);
        }
      }
      if (const Value* f = o.fields->find(Value::string(name));
          f != nullptr && f->type() == Type::Closure) {
        return call_closure(f->as_closure(), args, out);
      }
      // Groovy's generated accessors of properties: getName(), isReady(), setName(v).
      for (std::string_view prefix : {"get", "is", "set"}) {
        if (name.size() <= prefix.size() || !name.starts_with(prefix)) continue;
        std::string prop = name.substr(prefix.size());
        prop[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(prop[0])));
        Value* f = o.fields->find(Value::string(prop));
        if (f == nullptr) continue;
        if (prefix == "set" && args.size() == 1) {
          *f = args[0];
          out = Value();
          return true;
        }
        if (prefix != "set" && args.empty()) {
          out = *f;
          return true;
        }
      }
      bool own_method = false;  // by name, with other parameters: MissingMethod, not a step
      for (const ClassInfo* c = o.cls; c != nullptr && !own_method; c = c->super) {
        for (const Node* m : c->methods) own_method = own_method || m->text == name;
      }
      if (o.cls != nullptr && o.cls->script && name != "call" && !own_method) {
        // A library global's object is a script: steps and globals are its methods too
        // (`steps.sh(...)` with `steps` a vars/ script's `this`).
        static const Node kCall(NodeKind::Call, Pos{});
        std::vector<std::pair<std::string, Value>> no_named;
        bool closure_last = !args.empty() && args.back().type() == Type::Closure;
        return call_plain(kCall, name, args, no_named, closure_last, out);
      }
      break;
    }
    case Type::Exception: {
      const Exception& e = recv.as_exception();
      if (auto cls = classes.find(e.type); cls != classes.end()) {  // a script's exception class
        for (const ClassInfo* c = cls->second.get(); c != nullptr; c = c->super) {
          std::vector<const Node*> candidates;
          for (const Node* m : c->methods) {
            if (m->text == name) candidates.push_back(m);
          }
          if (const Node* best = pick_overload(candidates, args))
            return run_method(*best, args, recv, c, out);
        }
      }
      found = true;
      if (name == "getMessage" || name == "getLocalizedMessage") {
        out = e.has_message ? Value::string(e.message) : Value();
      } else if (name == "getCause") {
        out = e.cause;
      } else if (name == "getStackTrace") {
        out = Value::list();
      } else if (name == "printStackTrace") {
        out = Value();
      } else {
        found = false;
      }
      break;
    }
    case Type::Native:
      ok = recv.as_native().call(in, name, args, out, found);
      break;
    case Type::Class:
      return invoke_static(recv.as_string(), name, args, out);
    case Type::Matcher:
      ok = matcher_method(recv, name, args, out, found);
      if (ok && !found) {  // a Matcher iterates its matches like a list
        std::vector<Value> items;
        if (!iterate(in, recv, items)) return false;
        Value l = Value::list(std::move(items));
        ok = list_method(l, name, args, out, found);
      }
      break;
    default:
      break;
  }
  if (!ok || found) return ok;
  ok = object_method(recv, name, args, out, found);
  if (!ok || found) return ok;
  return missing_method(recv, name, args);
}

bool Interpreter::Impl::invoke_static(const std::string& cls, const std::string& name,
                                      std::vector<Value>& args, Value& out) {
  auto it = classes.find(cls);
  if (it != classes.end()) {
    for (const ClassInfo* c = it->second.get(); c != nullptr; c = c->super) {
      for (const Node* m : c->methods) {
        if (m->text == name && m->is_static) return run_method(*m, args, Value(), c, out);
      }
    }
    if (name == "newInstance") {
      std::vector<std::pair<std::string, Value>> none;
      return construct(cls, args, none, out);
    }
    return in.raise("groovy.lang.MissingMethodException",
                    "No signature of method: static " + cls + "." + name +
                        "() is applicable for argument types: " + arg_types(args) +
                        " values: " + arg_values(args));
  }
  bool found = false;
  if (!static_method(cls, name, args, out, found)) return false;
  if (found) return true;
  return in.raise("groovy.lang.MissingMethodException",
                  "No signature of method: static " + cls + "." + name +
                      "() is applicable for argument types: " + arg_types(args) +
                      " values: " + arg_values(args));
}

bool Interpreter::Impl::construct(const std::string& name, std::vector<Value>& args,
                                  std::vector<std::pair<std::string, Value>>& named, Value& out) {
  auto it = classes.find(name);
  if (it == classes.end() && name.find('.') != std::string::npos) {
    it = classes.find(canonical_class(name));  // a library class by its qualified name
  }
  if (it == classes.end()) {
    fold_named(args, named);
    bool found = false;
    if (!static_method(canonical_class(name), "<init>", args, out, found)) return false;
    if (found) return true;
    return in.raise("java.lang.SecurityException",
                    "Gantry's sandbox does not allow new " + name +
                        " (see docs/groovy.md for the classes a script may use)");
  }
  const ClassInfo* cls = it->second.get();
  // A class extending an exception makes an exception of its own type.
  if (!cls->super_name.empty() && exception_is(*this, cls->super_name, "Throwable")) {
    fold_named(args, named);
    const Node* ctor = nullptr;
    for (const Node* c : cls->constructors) {
      if (c->params.size() == args.size()) ctor = c;
    }
    std::optional<std::string> message;
    if (ctor == nullptr && !args.empty() && !args[0].is_null()) message = to_string(args[0]);
    out =
        make_exception(cls->name, message, ctor == nullptr && args.size() > 1 ? args[1] : Value());
    Exception& e = out.as_exception();
    e.fields = std::make_shared<Map>();
    for (const Node* f : cls->fields) {
      Value v = default_value(f->type_name);
      if (f->lhs && !eval(*f->lhs, v)) return false;
      e.fields->put(Value::string(f->text), v);
    }
    if (ctor != nullptr) {
      Value ignored;
      if (!run_method(*ctor, args, out, cls, ignored)) return false;
    }
    return true;
  }
  if (++depth > in.limits_.max_call_depth) {
    --depth;
    return in.raise("java.lang.StackOverflowError", "constructors nest too deep", true);
  }
  auto obj = std::make_shared<Object>();
  obj->cls = cls;
  obj->fields = std::make_shared<Map>();
  Value self_value = Value::of(obj);
  // Fields, the superclass's first, with their initialisers run as the object.
  std::vector<const ClassInfo*> chain;
  for (const ClassInfo* c = cls; c != nullptr; c = c->super) chain.insert(chain.begin(), c);
  auto saved_scope = scope;
  Value saved_self = self;
  const ClassInfo* saved_class = self_class;
  bool ok = true;
  for (const ClassInfo* c : chain) {
    scope = make_scope();
    self = self_value;
    self_class = c;
    for (const Node* f : c->fields) {
      Value v = default_value(f->type_name);
      if (f->lhs && !(ok = eval(*f->lhs, v))) break;
      if (!(ok = coerce(f->type_name, v))) break;
      obj->fields->put(Value::string(f->text), std::move(v));
    }
    if (!ok) break;
  }
  scope = saved_scope;
  self = saved_self;
  self_class = saved_class;
  --depth;
  if (!ok) return false;
  // A constructor by arity, else Groovy's map constructor.
  const Node* ctor = nullptr;
  for (const Node* c : cls->constructors) {
    if (c->params.size() == args.size() + (named.empty() ? 0 : 1)) ctor = c;
  }
  if (ctor != nullptr) {
    fold_named(args, named);
    Value ignored;
    if (!run_method(*ctor, args, self_value, cls, ignored)) return false;
    out = self_value;
    return true;
  }
  if (args.size() == 1 && args[0].type() == Type::Map && named.empty()) {
    for (const auto& [k, v] : args[0].as_map().entries()) named.emplace_back(to_string(k), v);
    args.clear();
  }
  if (!args.empty()) {
    return in.raise("groovy.lang.GroovyRuntimeException",
                    "Could not find matching constructor for: " + cls->name + arg_types(args));
  }
  for (const auto& [k, v] : named) {
    if (!set_property(self_value, k, v)) return false;
  }
  out = self_value;
  return true;
}

}  // namespace gantry::pipelines::groovy
