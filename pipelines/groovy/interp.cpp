// The Interpreter's API, scopes and statements.
#include <algorithm>
#include <utility>

#include "gantry/pipelines/groovy_parser.hpp"
#include "interp.hpp"

namespace gantry::pipelines::groovy {

namespace {

std::string simple_name(std::string_view type) {
  size_t dot = type.rfind('.');
  return std::string(dot == std::string_view::npos ? type : type.substr(dot + 1));
}

// The exception classes scripts meet, each with its superclass.
const std::vector<std::pair<std::string_view, std::string_view>>& exception_parents() {
  static const std::vector<std::pair<std::string_view, std::string_view>> kParents = {
      {"Exception", "Throwable"},
      {"Error", "Throwable"},
      {"AssertionError", "Error"},
      {"PowerAssertionError", "AssertionError"},
      {"StackOverflowError", "Error"},
      {"RuntimeException", "Exception"},
      {"IOException", "Exception"},
      {"AbortException", "IOException"},
      {"InterruptedException", "Exception"},
      {"FlowInterruptedException", "InterruptedException"},
      {"IllegalArgumentException", "RuntimeException"},
      {"NumberFormatException", "IllegalArgumentException"},
      {"IllegalStateException", "RuntimeException"},
      {"NullPointerException", "RuntimeException"},
      {"ArithmeticException", "RuntimeException"},
      {"IndexOutOfBoundsException", "RuntimeException"},
      {"ArrayIndexOutOfBoundsException", "IndexOutOfBoundsException"},
      {"StringIndexOutOfBoundsException", "IndexOutOfBoundsException"},
      {"UnsupportedOperationException", "RuntimeException"},
      {"ClassCastException", "RuntimeException"},
      {"NoSuchElementException", "RuntimeException"},
      {"ConcurrentModificationException", "RuntimeException"},
      {"GroovyRuntimeException", "RuntimeException"},
      {"GroovyCastException", "ClassCastException"},
      {"MissingPropertyException", "GroovyRuntimeException"},
      {"MissingMethodException", "GroovyRuntimeException"},
      {"JsonException", "GroovyRuntimeException"},
      {"RejectedAccessException", "SecurityException"},
      {"SecurityException", "RuntimeException"},
  };
  return kParents;
}

bool is_number_type(std::string_view t) {
  return t == "int" || t == "Integer" || t == "long" || t == "Long" || t == "short" ||
         t == "Short" || t == "byte" || t == "Byte";
}

}  // namespace

// Whether exception type `type` (simple or qualified) is `wanted` or extends it.
bool exception_is(const Interpreter::Impl& impl, std::string_view type, std::string_view wanted) {
  std::string t = simple_name(type);
  std::string w = simple_name(wanted);
  for (int guard = 0; guard < 20 && !t.empty(); ++guard) {
    if (t == w) return true;
    std::string parent;
    auto cls = impl.classes.find(t);
    if (cls != impl.classes.end()) {
      parent = simple_name(cls->second->super_name);
    } else {
      for (const auto& [k, p] : exception_parents()) {
        if (k == t) parent = std::string(p);
      }
    }
    t = parent;
  }
  return false;
}

// ---- Interpreter

Interpreter::Interpreter(Host& host, std::string script_class, Limits limits)
    : host_(host), limits_(limits), impl_(std::make_unique<Impl>(*this)) {
  impl_->script_class = std::move(script_class);
}

Interpreter::~Interpreter() {
  impl_->release();
}

void Interpreter::Impl::release() {
  std::vector<std::shared_ptr<Scope>> alive;
  for (const auto& w : scopes_made) {
    if (auto s = w.lock()) alive.push_back(std::move(s));
  }
  alive.push_back(top);
  for (auto& s : alive) {
    // Moved out first: destroying a value may free other scopes of this list.
    auto vars = std::move(s->vars);
    s->vars.clear();
    s->parent.reset();
  }
  alive.clear();
  auto bound = std::move(binding->mutable_entries());
  binding->clear();
  for (auto& [name, cls] : classes) {
    auto statics = std::move(cls->statics->mutable_entries());
    cls->statics->clear();
  }
  for (auto& [name, g] : globals) {
    if (g.type() == Type::Object) {
      auto fields = std::move(g.as_object().fields->mutable_entries());
      g.as_object().fields->clear();
    }
  }
  globals.clear();
  pipeline_scope.reset();
  pipeline_self = Value();
  script_self_cache = Value();
  self = Value();
  delegate = Value();
  ret = Value();
}

void Interpreter::load(std::shared_ptr<const Node> file) {
  if (!file) return;
  impl_->register_file(*file);
  impl_->files.push_back(std::move(file));
}

void Interpreter::load_global(const std::string& name, std::shared_ptr<const Node> file) {
  if (!file) return;
  auto info = std::make_unique<ClassInfo>();
  info->name = name;
  info->node = file.get();
  info->script = true;
  for (const auto& stmt : file->items) {
    if (!stmt) continue;
    const Node& s = *stmt;
    if (s.kind == NodeKind::MethodDef) info->methods.push_back(&s);
    if (s.kind == NodeKind::ClassDef) impl_->register_class(s);
    bool field = s.kind == NodeKind::Annotation &&
                 (s.text == "Field" || s.text == "groovy.transform.Field") && s.lhs &&
                 s.lhs->kind == NodeKind::VarDecl;
    if (field) info->fields.push_back(s.lhs.get());
  }
  impl_->globals.erase(name);
  impl_->global_classes[name] = std::move(info);
  impl_->files.insert(impl_->files.begin(), std::move(file));
}

void Interpreter::load_classes(std::shared_ptr<const Node> file) {
  if (!file) return;
  for (const auto& stmt : file->items) {
    if (stmt && stmt->kind == NodeKind::ClassDef) impl_->register_class(*stmt);
  }
  Node none(NodeKind::Block, Pos{});
  impl_->register_file(none);  // links the superclasses
  impl_->files.insert(impl_->files.begin(), std::move(file));
}

bool Interpreter::has_global(const std::string& name) const {
  return impl_->global_classes.count(name) != 0;
}

bool Interpreter::template_captured() const {
  return impl_->pipeline_scope != nullptr;
}

bool Interpreter::Impl::global_value(const std::string& name, Value& out, bool& found) {
  auto cls = global_classes.find(name);
  found = cls != global_classes.end();
  if (!found) return true;
  Value& g = globals[name];
  if (g.type() == Type::Object) {
    out = g;
    return true;
  }
  auto obj = std::make_shared<Object>();
  obj->cls = cls->second.get();
  obj->fields = std::make_shared<Map>();
  Value made = Value::of(obj);
  g = made;  // before the initialisers: they may name the global itself
  auto saved_scope = scope;
  Value saved_self = self;
  const ClassInfo* saved_class = self_class;
  scope = make_scope();
  scope->parent = top;
  self = made;
  self_class = obj->cls;
  bool ok = true;
  for (const Node* f : obj->cls->fields) {
    Value v;
    if (f->lhs && !(ok = eval(*f->lhs, v))) break;
    if (!(ok = coerce(f->type_name, v))) break;
    obj->fields->put(Value::string(f->text), std::move(v));
  }
  scope = saved_scope;
  self = saved_self;
  self_class = saved_class;
  if (!ok) {
    globals.erase(name);
    return false;
  }
  out = made;
  return true;
}

bool Interpreter::run_top_level(const std::function<bool(const Node&)>& skip) {
  if (impl_->files.empty()) return true;
  const Node& file = *impl_->files.back();
  Impl& im = *impl_;
  if (!im.init_statics()) return false;
  im.scope = im.top;
  for (const auto& stmt : file.items) {
    if (!stmt || (skip && skip(*stmt))) continue;
    if (!im.exec(*stmt)) {
      if (im.signal == Signal::Return) {  // a script's `return` ends it
        im.signal = Signal::None;
        return true;
      }
      if (im.signal != Signal::None) {
        im.signal = Signal::None;
        return raise("groovy.lang.GroovyRuntimeException", "break or continue outside a loop");
      }
      return false;
    }
  }
  return true;
}

bool Interpreter::run_statement(const Node& stmt) {
  Impl& im = *impl_;
  if (!im.init_statics()) return false;
  im.scope = im.top;
  if (im.exec(stmt)) return true;
  if (im.signal != Signal::None) {
    im.signal = Signal::None;
    return im.in.thrown_.is_null() ? true : false;
  }
  return false;
}

bool Interpreter::has_method(const std::string& name) const {
  return impl_->methods.count(name) != 0 || impl_->global_classes.count(name) != 0;
}

bool Interpreter::call_method(const std::string& name, std::vector<Value> args, Value& out) {
  auto it = impl_->methods.find(name);
  if (it == impl_->methods.end() && impl_->global_classes.count(name) != 0) {
    if (!impl_->init_statics()) return false;
    Value g;
    bool found = false;
    if (!impl_->global_value(name, g, found)) return false;
    return impl_->invoke(g, "call", args, out);
  }
  if (it == impl_->methods.end()) {
    return raise("groovy.lang.MissingMethodException",
                 "No signature of method: " + impl_->script_class + "." + name + "()");
  }
  if (!impl_->init_statics()) return false;
  return impl_->call_script_method(it->second, name, args, out);
}

bool Interpreter::run_block(const Node& code, Value* result) {
  Impl& im = *impl_;
  if (!im.init_statics()) return false;
  auto saved = im.scope;
  Value saved_self = im.self;
  const ClassInfo* saved_class = im.self_class;
  im.scope = im.make_scope();
  im.scope->parent = im.pipeline_scope ? im.pipeline_scope : im.top;
  if (im.pipeline_scope) {
    im.self = im.pipeline_self;
    im.self_class = im.pipeline_class;
  }
  bool ok = true;
  if (code.kind == NodeKind::Closure || code.kind == NodeKind::Block) {
    ok = im.exec_items(code.items);
  } else {
    ok = im.exec(code);
  }
  im.scope = saved;
  im.self = saved_self;
  im.self_class = saved_class;
  if (!ok && im.signal == Signal::Return) {
    im.signal = Signal::None;
    if (result != nullptr) *result = im.ret;
    return true;
  }
  if (!ok && im.signal != Signal::None) {
    im.signal = Signal::None;
    return raise("groovy.lang.GroovyRuntimeException", "break or continue outside a loop");
  }
  return ok;
}

bool Interpreter::evaluate(const Node& expr, Value& out) {
  Impl& im = *impl_;
  auto saved = im.scope;
  Value saved_self = im.self;
  const ClassInfo* saved_class = im.self_class;
  im.scope = im.top;
  if (im.pipeline_scope) {
    im.scope = im.pipeline_scope;
    im.self = im.pipeline_self;
    im.self_class = im.pipeline_class;
  }
  bool ok = im.eval(expr, out);
  im.scope = saved;
  im.self = saved_self;
  im.self_class = saved_class;
  return ok;
}

bool Interpreter::call(const Value& callable, std::vector<Value> args, Value& out) {
  return impl_->call_value(callable, std::move(args), out);
}

Interpreter::Context Interpreter::save_context() const {
  const Impl& im = *impl_;
  return Context{im.scope,      im.self,           im.delegate, im.ret, thrown_,
                 im.self_class, im.current_method, im.depth,    pos_};
}

void Interpreter::restore_context(const Context& c) {
  Impl& im = *impl_;
  im.scope = c.scope;
  im.self = c.self;
  im.delegate = c.delegate;
  im.ret = c.ret;
  thrown_ = c.thrown;
  im.self_class = c.self_class;
  im.current_method = c.current_method;
  im.depth = c.depth;
  pos_ = c.pos;
}

std::string Interpreter::error_message() const {
  if (thrown_.type() != Type::Exception) return to_string(thrown_);
  const Exception& e = thrown_.as_exception();
  std::string text = e.has_message ? e.type + ": " + e.message : e.type;
  if (e.pos.line == 0) return text;
  return std::to_string(e.pos.line) + ":" + std::to_string(e.pos.col) + ": " + text;
}

void Interpreter::clear_error() {
  thrown_ = Value();
}

bool Interpreter::raise(std::string type, std::string message, bool uncatchable) {
  auto e = std::make_shared<Exception>();
  e->type = std::move(type);
  e->message = std::move(message);
  e->pos = pos_;
  e->uncatchable = uncatchable;
  thrown_ = Value::of(std::move(e));
  return false;
}

bool Interpreter::raise(Value exception) {
  if (exception.type() == Type::Exception && exception.as_exception().pos.line == 0) {
    exception.as_exception().pos = pos_;
  }
  thrown_ = std::move(exception);
  return false;
}

std::vector<std::pair<std::string, Value>> Interpreter::variables() const {
  std::vector<std::pair<std::string, Value>> out = impl_->top->vars;
  for (const auto& [k, v] : impl_->binding->entries()) {
    out.emplace_back(to_string(k), v);
  }
  return out;
}

void Interpreter::set_variable(const std::string& name, Value value) {
  if (Value* v = impl_->top->find(name)) {
    *v = std::move(value);
    return;
  }
  impl_->binding->put(Value::string(name), std::move(value));
}

std::optional<Value> Interpreter::variable(const std::string& name) const {
  if (Value* v = impl_->top->find(name)) return *v;
  if (const Value* v = impl_->binding->find(Value::string(name))) return *v;
  return std::nullopt;
}

// ---- registration

void Interpreter::Impl::register_file(const Node& file) {
  for (const auto& stmt : file.items) {
    if (!stmt) continue;
    const Node* s = stmt.get();
    while (s->kind == NodeKind::Annotation && s->lhs) s = s->lhs.get();
    if (s->kind == NodeKind::MethodDef) methods[s->text].push_back(s);
    if (s->kind == NodeKind::ClassDef) register_class(*s);
  }
  for (auto& [name, info] : classes) {
    if (!info->super_name.empty()) {
      auto it = classes.find(simple_name(info->super_name));
      if (it != classes.end() && it->second.get() != info.get()) info->super = it->second.get();
    }
  }
}

void Interpreter::Impl::register_class(const Node& cls) {
  auto info = std::make_unique<ClassInfo>();
  info->name = cls.text;
  info->super_name = cls.type_name;
  info->node = &cls;
  for (const auto& m : cls.items) {
    if (!m) continue;
    if (m->kind == NodeKind::VarDecl) {
      (m->is_static ? info->static_fields : info->fields).push_back(m.get());
      for (const auto& more : m->items) {
        if (more) (m->is_static ? info->static_fields : info->fields).push_back(more.get());
      }
    } else if (m->kind == NodeKind::MethodDef) {
      (m->type_name == "<init>" ? info->constructors : info->methods).push_back(m.get());
    }
  }
  classes[cls.text] = std::move(info);
}

// ---- statements

bool Interpreter::Impl::tick(const Node& n) {
  in.pos_ = n.pos;
  if (++in.ops_ > in.limits_.max_operations) {
    return in.raise("gantry.LimitExceeded",
                    "the script ran more than " + std::to_string(in.limits_.max_operations) +
                        " operations, Gantry's limit per job",
                    true);
  }
  if ((in.ops_ & 4095) == 0 && host.interrupted()) {
    return in.raise("org.jenkinsci.plugins.workflow.steps.FlowInterruptedException",
                    "the job was stopped", true);
  }
  return true;
}

bool Interpreter::Impl::exec_items(const std::vector<NodePtr>& items) {
  for (const auto& s : items) {
    if (s && !exec(*s)) return false;
  }
  return true;
}

bool Interpreter::Impl::exec_block(const Node& block) {
  auto saved = scope;
  scope = make_scope();
  scope->parent = saved;
  bool ok = block.kind == NodeKind::Block ? exec_items(block.items) : exec(block);
  scope = saved;
  return ok;
}

bool Interpreter::Impl::exec(const Node& n) {
  if (!tick(n)) return false;
  Value v;
  switch (n.kind) {
    case NodeKind::ExprStmt:
      return !n.lhs || eval(*n.lhs, v);
    case NodeKind::VarDecl:
      return declare(n);
    case NodeKind::If: {
      if (!n.lhs || !eval(*n.lhs, v)) return n.lhs == nullptr;
      in.pos_ = n.pos;
      if (truthy(v)) return !n.rhs || exec_block(*n.rhs);
      return !n.third || exec_block(*n.third);
    }
    case NodeKind::While: {
      std::string label = std::exchange(pending_label, {});
      while (true) {
        if (!tick(n)) return false;
        if (!n.lhs || !eval(*n.lhs, v)) return false;
        if (!truthy(v)) return true;
        if (n.rhs && !exec_block(*n.rhs)) {
          bool is_break = false;
          if (!loop_signal(label, is_break)) return false;
          if (is_break) return true;
        }
      }
    }
    case NodeKind::For:
      return exec_for(n);
    case NodeKind::Try:
      return exec_try(n);
    case NodeKind::Switch:
      return exec_switch(n);
    case NodeKind::Return:
      ret = Value();
      if (n.lhs && !eval(*n.lhs, ret)) return false;
      signal = Signal::Return;
      return false;
    case NodeKind::Throw: {
      if (!n.lhs || !eval(*n.lhs, v)) return false;
      in.pos_ = n.pos;
      if (v.type() == Type::Exception) {
        v.as_exception().pos = n.pos;
        return in.raise(v);
      }
      if (v.is_null()) return in.raise("java.lang.NullPointerException", "");
      return in.raise("org.codehaus.groovy.runtime.typehandling.GroovyCastException",
                      "Cannot cast object '" + to_string(v) + "' with class '" + class_name(v) +
                          "' to class 'java.lang.Throwable'");
    }
    case NodeKind::Break:
      signal = Signal::Break;
      signal_label = n.text;
      return false;
    case NodeKind::Continue:
      signal = Signal::Continue;
      signal_label = n.text;
      return false;
    case NodeKind::Block:
      return exec_block(n);
    case NodeKind::MethodDef:
    case NodeKind::ClassDef:
    case NodeKind::Import:
    case NodeKind::Package:
      return true;
    case NodeKind::Annotation: {
      if (!n.lhs) return true;
      if (n.text == "Field" || n.text == "groovy.transform.Field") {
        // A script field: visible to the script's methods too (the binding).
        if (n.lhs->kind != NodeKind::VarDecl) return exec(*n.lhs);
        Value init;
        if (n.lhs->lhs && !eval(*n.lhs->lhs, init)) return false;
        if (!coerce(n.lhs->type_name, init)) return false;
        binding->put(Value::string(n.lhs->text), init);
        return true;
      }
      return exec(*n.lhs);
    }
    case NodeKind::Label: {
      if (!n.lhs) return true;
      pending_label = n.text;
      bool ok = exec(*n.lhs);
      pending_label.clear();
      if (!ok && signal == Signal::Break &&
          signal_label == n.text) {  // break out of a labelled block
        signal = Signal::None;
        signal_label.clear();
        return true;
      }
      return ok;
    }
    case NodeKind::Case:
    case NodeKind::Catch:
      return true;
    default:
      // An expression written as a statement (a closure body's last value).
      return eval(n, v);
  }
}

// A declaration's value without an initialiser: 0 or false for primitives.
Value default_value(const std::string& type) {
  if (type == "long") return Value::long_(0);
  if (type == "int" || type == "short" || type == "byte") return Value::integer(0);
  if (type == "boolean") return Value::boolean(false);
  if (type == "double" || type == "float") return Value::double_(0);
  return Value();
}

bool Interpreter::Impl::declare(const Node& decl) {
  Value v;
  if (!decl.params.empty()) {
    // def (a, b) = [1, 2]
    if (decl.lhs && !eval(*decl.lhs, v)) return false;
    std::vector<Value> items;
    if (!v.is_null() && !iterate(in, v, items)) return false;
    for (size_t i = 0; i < decl.params.size(); ++i) {
      scope->define(decl.params[i], i < items.size() ? items[i] : Value());
    }
    return true;
  }
  if (decl.lhs) {
    if (!eval(*decl.lhs, v)) return false;
  } else {
    v = default_value(decl.type_name);
  }
  in.pos_ = decl.pos;
  if (!coerce(decl.type_name, v)) return false;
  scope->define(decl.text, std::move(v));
  for (const auto& more : decl.items) {
    if (more && more->kind == NodeKind::VarDecl && !declare(*more)) return false;
  }
  return true;
}

bool Interpreter::Impl::coerce(const std::string& type, Value& v) {
  if (type.empty() || type == "def" || type == "var" || type == "Object" || type == "final" ||
      type == "static") {
    return true;
  }
  std::string t = simple_name(type);
  if (size_t lt = t.find('<'); lt != std::string::npos) t.resize(lt);
  auto fail = [&]() {
    return in.raise("org.codehaus.groovy.runtime.typehandling.GroovyCastException",
                    "Cannot cast object '" + to_string(v) + "' with class '" + class_name(v) +
                        "' to class '" + type + "'");
  };
  if (t == "String") {
    if (!v.is_null() && (!v.is_string() || v.is_gstring())) v = Value::string(to_string(v));
    return true;
  }
  if (t == "GString" || t == "CharSequence") {
    if (!v.is_null() && !v.is_string()) v = Value::string(to_string(v));
    return true;
  }
  if (v.is_null()) {
    if (t == "int" || t == "long" || t == "double" || t == "float" || t == "short" || t == "byte" ||
        t == "char") {
      return in.raise("org.codehaus.groovy.runtime.typehandling.GroovyCastException",
                      "Cannot cast object 'null' with class 'null' to class '" + t +
                          "'. Try 'java.lang." + cap(t == "int" ? "integer" : t) + "' instead");
    }
    if (t == "boolean") v = Value::boolean(false);
    return true;
  }
  if (t == "boolean" || t == "Boolean") {
    if (t == "Boolean" && v.type() != Type::Bool) return fail();
    v = Value::boolean(truthy(v));
    return true;
  }
  if (is_number_type(t)) {
    if (!v.is_number()) return fail();
    int64_t i = v.is_integral() ? v.as_int() : static_cast<int64_t>(v.to_double());
    v = (t == "long" || t == "Long") ? Value::long_(i) : Value::integer(static_cast<int32_t>(i));
    return true;
  }
  if (t == "double" || t == "Double" || t == "float" || t == "Float") {
    if (!v.is_number()) return fail();
    v = Value::double_(v.to_double());
    return true;
  }
  if (t == "BigDecimal" || t == "Number") {
    if (!v.is_number()) return fail();
    if (t == "BigDecimal") v = Value::decimal(num::to_decimal(v));
    return true;
  }
  if (t == "List" || t == "ArrayList" || t == "Collection" || t == "Iterable") {
    if (v.type() == Type::Range) {
      std::vector<Value> items;
      if (!iterate(in, v, items)) return false;
      v = Value::list(std::move(items));
      return true;
    }
    return v.type() == Type::List ? true : fail();
  }
  if (t == "Map" || t == "LinkedHashMap" || t == "HashMap") {
    return v.type() == Type::Map ? true : fail();
  }
  if (t == "Closure") return v.type() == Type::Closure ? true : fail();
  return true;
}

bool Interpreter::Impl::instance_of(const Value& v, std::string_view type) const {
  std::string t = simple_name(type);
  if (t == "Object") return !v.is_null();
  switch (v.type()) {
    case Type::Null:
      return false;
    case Type::Bool:
      return t == "Boolean";
    case Type::Int:
      return t == "Integer" || t == "Number";
    case Type::Long:
      return t == "Long" || t == "Number";
    case Type::Decimal:
      return t == "BigDecimal" || t == "Number";
    case Type::Double:
      return t == "Double" || t == "Number";
    case Type::String:
      if (v.is_gstring()) return t == "GString" || t == "GStringImpl" || t == "CharSequence";
      return t == "String" || t == "CharSequence" || t == "Comparable";
    case Type::List:
      if (v.as_list().java_class != nullptr)
        return t == "Collection" || t == "Iterable" || t == "Set";
      return t == "List" || t == "ArrayList" || t == "Collection" || t == "Iterable";
    case Type::Range:
      return t == "Range" || t == "IntRange" || t == "List" || t == "Collection" || t == "Iterable";
    case Type::Map:
      return t == "Map" || t == "LinkedHashMap" || t == "HashMap";
    case Type::Closure:
      return t == "Closure";
    case Type::Exception:
      return exception_is(*this, v.as_exception().type, t);
    case Type::Object:
      for (const ClassInfo* c = v.as_object().cls; c != nullptr; c = c->super) {
        if (c->name == t) return true;
      }
      return false;
    case Type::Matcher:
      return t == "Matcher";
    case Type::Class:
      return t == "Class";
    case Type::Native:
      return simple_name(v.as_native().type_name()) == t;
  }
  return false;
}

bool Interpreter::Impl::exec_for(const Node& n) {
  auto saved = scope;
  scope = make_scope();
  scope->parent = saved;
  auto done = [&](bool ok) {
    scope = saved;
    return ok;
  };
  std::string label = std::exchange(pending_label, {});
  // Runs the body once; returns 1 to go on, 0 to stop normally, -1 abruptly.
  auto body = [&]() -> int {
    if (!n.rhs || exec_block(*n.rhs)) return 1;
    bool is_break = false;
    if (!loop_signal(label, is_break)) return -1;
    return is_break ? 0 : 1;
  };
  if (!n.text.empty()) {
    Value iterable;
    if (!n.lhs || !eval(*n.lhs, iterable)) return done(false);
    if (iterable.is_null()) return done(true);  // Groovy iterates null as nothing
    if (iterable.type() == Type::Range) {
      Range r = iterable.as_range();
      for (int64_t i = 0; i < r.size(); ++i) {
        if (!tick(n)) return done(false);
        scope->define(n.text, Value::whole(r.at(i)));
        int k = body();
        if (k <= 0) return done(k == 0);
      }
      return done(true);
    }
    std::vector<Value> items;
    if (!iterate(in, iterable, items)) return done(false);
    for (auto& item : items) {
      if (!tick(n)) return done(false);
      scope->define(n.text, std::move(item));
      int k = body();
      if (k <= 0) return done(k == 0);
    }
    return done(true);
  }
  if (!n.items.empty() && n.items[0]) {
    const Node& init = *n.items[0];
    Value ignored;
    if (!(init.kind == NodeKind::VarDecl ? declare(init) : eval(init, ignored))) {
      return done(false);
    }
  }
  while (true) {
    if (!tick(n)) return done(false);
    if (n.lhs) {
      Value c;
      if (!eval(*n.lhs, c)) return done(false);
      if (!truthy(c)) return done(true);
    }
    int k = body();
    if (k <= 0) return done(k == 0);
    for (size_t i = 1; i < n.items.size(); ++i) {
      Value ignored;
      if (n.items[i] && !eval(*n.items[i], ignored)) return done(false);
    }
  }
}

bool Interpreter::Impl::loop_signal(const std::string& label, bool& is_break) {
  if (signal != Signal::Break && signal != Signal::Continue) return false;
  if (!signal_label.empty() && signal_label != label) return false;  // an outer loop's
  is_break = signal == Signal::Break;
  signal = Signal::None;
  signal_label.clear();
  return true;
}

bool Interpreter::Impl::exec_try(const Node& n, Value* value) {
  // With `value`, the try (or catch) block's last statement gives the value,
  // as when a try is a closure's or method's last statement.
  auto run = [&](const Node& block) {
    if (value == nullptr) return exec_block(block);
    auto saved = scope;
    scope = make_scope();
    scope->parent = saved;
    bool r = exec_body(block.items, *value);
    scope = saved;
    return r;
  };
  bool ok = !n.rhs || run(*n.rhs);
  if (!ok && signal == Signal::None && in.thrown_.type() == Type::Exception &&
      !in.thrown_.as_exception().uncatchable) {
    Value ex = in.thrown_;
    for (const auto& c : n.items) {
      if (!c || c->kind != NodeKind::Catch) continue;
      bool match = c->type_name.empty() && c->text.empty();
      std::string types = c->type_name.empty() ? "Exception" : c->type_name;
      size_t start = 0;
      while (!match && start <= types.size()) {
        size_t bar = types.find('|', start);
        std::string one = types.substr(start, bar == std::string::npos ? bar : bar - start);
        if (exception_is(*this, ex.as_exception().type, one)) match = true;
        if (bar == std::string::npos) break;
        start = bar + 1;
      }
      if (!match) continue;
      in.clear_error();
      auto saved = scope;
      scope = make_scope();
      scope->parent = saved;
      if (!c->text.empty()) scope->define(c->text, ex);
      ok = !c->rhs || run(*c->rhs);
      scope = saved;
      break;
    }
  }
  if (n.third) {
    Signal pending_signal = signal;
    Value pending_ret = ret;
    Value pending_thrown = in.thrown_;
    signal = Signal::None;
    in.clear_error();
    if (!exec_block(*n.third)) return false;
    signal = pending_signal;
    ret = pending_ret;
    in.thrown_ = pending_thrown;
  }
  return ok;
}

bool Interpreter::Impl::case_matches(const Value& kase, const Value& subject, bool& match) {
  switch (kase.type()) {
    case Type::Class:
      match = instance_of(subject, kase.as_string());
      return true;
    case Type::List:
    case Type::Range:
      return is_in(subject, kase, match);
    case Type::Closure:
      return predicate(kase, {subject}, match);
    case Type::Native:
      if (kase.as_native().type_name() == "java.util.regex.Pattern") {
        return regex_match(subject, Value::string(kase.as_native().to_string()), match);
      }
      break;
    default:
      break;
  }
  match = equals(kase, subject);
  return true;
}

bool Interpreter::Impl::exec_switch(const Node& n) {
  Value subject;
  if (!n.lhs || !eval(*n.lhs, subject)) return false;
  size_t start = n.items.size();
  size_t fallback = n.items.size();
  for (size_t i = 0; i < n.items.size(); ++i) {
    const Node& c = *n.items[i];
    if (!c.lhs) {
      if (fallback == n.items.size()) fallback = i;
      continue;
    }
    Value kase;
    if (!eval(*c.lhs, kase)) return false;
    bool match = false;
    if (!case_matches(kase, subject, match)) return false;
    if (match) {
      start = i;
      break;
    }
  }
  // Groovy compiles `default` as the last case wherever it is written: a
  // match falls through the cases after it, then into the default.
  std::vector<size_t> order;
  for (size_t i = 0; i < n.items.size(); ++i) {
    if (i != fallback) order.push_back(i);
  }
  if (fallback < n.items.size()) order.push_back(fallback);
  size_t first = order.size();
  size_t target = start == n.items.size() ? fallback : start;
  for (size_t k = 0; k < order.size(); ++k) {
    if (order[k] == target) first = k;
  }
  auto saved = scope;
  scope = make_scope();
  scope->parent = saved;
  bool ok = true;
  for (size_t k = first; k < order.size() && ok; ++k) {
    ok = exec_items(n.items[order[k]]->items);
  }
  scope = saved;
  if (!ok && signal == Signal::Break && signal_label.empty()) {
    signal = Signal::None;
    return true;
  }
  return ok;
}

// ---- run_program: the conformance tests' entry point

namespace {

class PrintHost : public Host {
 public:
  bool has_step(std::string_view) const override { return false; }
  bool step(Interpreter& in, const StepCall& call, Value&) override {
    return in.raise("java.lang.UnsupportedOperationException", "no step " + call.name);
  }
  void print(std::string_view text) override { out.append(text); }
  std::optional<Value> global(std::string_view) override { return std::nullopt; }
  std::string out;
};

}  // namespace

std::string run_program(std::string_view source, std::string_view script_class) {
  Diagnostics diags;
  std::shared_ptr<const Node> file = parse_groovy(source, diags);
  if (diags.has_errors()) {
    std::string first;
    for (const auto& d : diags.all()) {
      if (d.severity == Severity::Error) {
        first = d.message;
        break;
      }
    }
    return "Compile error " + first + "\n";
  }
  PrintHost host;
  Interpreter in(host, std::string(script_class));
  in.load(file);
  if (!in.run_top_level()) {
    const Value& e = in.error();
    host.out += "Caught: " + to_string(e) + "\n";
  }
  return host.out;
}

}  // namespace gantry::pipelines::groovy
