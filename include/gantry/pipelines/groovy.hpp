#pragma once
// Gantry's Groovy interpreter (SPEC §4 "Groovy"): runs the Groovy that
// Jenkinsfiles hold (script { } blocks, environment values, when
// expressions, helper methods and variables outside `pipeline { }`) with
// Groovy 2.4's meaning, as Jenkins does.
//
// A tree walker over the parser's syntax tree (ast.hpp). Values are dynamic
// (Value); lists, maps and closures are shared by reference as in Groovy.
// Whatever the interpreter cannot do itself goes to a Host: steps (`sh`,
// `echo`, `dir { }`...), println, and the globals `env`, `params`,
// `currentBuild`. Tests use a host that only prints (run_program()).
//
// It is a sandbox: no Java class beyond an allow-list (docs/groovy.md), no
// reflection, no I/O except through the host's steps, and bounded: operations
// per interpreter, call depth, string and collection sizes. Exceeding a limit
// is an error no `catch` can stop. Never throws on input: a failure is a
// Groovy exception in flight (`false` from the calls below, then error()).
//
// Not responsible for parsing (groovy_parser.hpp) or for what steps do.
// Single-threaded: one interpreter per thread; Values must not be shared
// between threads (their reference counts are not the problem, their
// contents are).

#include <any>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gantry/pipelines/ast.hpp"
#include "gantry/pipelines/expression.hpp"

namespace gantry::pipelines::groovy {

class Interpreter;
struct Scope;

// A BigDecimal: unscaled * 10^-scale. Gantry keeps the unscaled value in 64
// bits; arithmetic that needs more is an ArithmeticException.
struct Decimal {
  int64_t unscaled = 0;
  int32_t scale = 0;
};

enum class Type : uint8_t {
  Null,
  Bool,
  Int,      // java.lang.Integer (32-bit, wraps as Java does)
  Long,     // java.lang.Long
  Decimal,  // java.math.BigDecimal
  Double,   // java.lang.Double
  String,   // String and GString
  List,     // java.util.ArrayList
  Map,      // java.util.LinkedHashMap
  Range,    // groovy.lang.IntRange
  Closure,
  Object,     // an instance of a class defined in Groovy
  Exception,  // a Throwable
  Native,     // an object of the host's (env, params, currentBuild) or a built-in class
  Class,      // a class used as a value (Math, Integer, a script class)
  Matcher,    // java.util.regex.Matcher (`=~`)
};

class Value;
struct List;
class Map;
struct Range;
struct Closure;
struct Object;
struct Exception;
struct Matcher;
class NativeObject;

class Value {
 public:
  Value() = default;
  Value(std::nullptr_t) {}
  static Value boolean(bool b);
  static Value integer(int32_t i);
  static Value long_(int64_t i);
  // An Integer when it fits, else a Long (a literal's type).
  static Value whole(int64_t i);
  static Value decimal(Decimal d);
  static Value double_(double d);
  static Value string(std::string s);
  // A GString's value: a String everywhere but for Java's equals(), hash keys,
  // instanceof and inspect(), where Groovy tells them apart.
  static Value gstring(std::string s);
  static Value list(std::vector<Value> items = {});
  static Value map();
  static Value of(std::shared_ptr<List> l);
  static Value of(std::shared_ptr<Map> m);
  static Value of(std::shared_ptr<Range> r);
  static Value of(std::shared_ptr<Closure> c);
  static Value of(std::shared_ptr<Object> o);
  static Value of(std::shared_ptr<Exception> e);
  static Value of(std::shared_ptr<NativeObject> n);
  static Value of(std::shared_ptr<Matcher> m);
  static Value class_ref(std::string name);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_string() const { return type_ == Type::String; }
  bool is_gstring() const { return type_ == Type::String && gstring_; }
  bool is_number() const {
    return type_ == Type::Int || type_ == Type::Long || type_ == Type::Decimal ||
           type_ == Type::Double;
  }
  bool is_integral() const { return type_ == Type::Int || type_ == Type::Long; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return i_; }  // Int and Long
  double as_double() const { return d_; }
  Decimal as_decimal() const { return Decimal{i_, scale_}; }
  const std::string& as_string() const { return s_; }  // String; Class: its name
  List& as_list() const { return *static_cast<List*>(ref_.get()); }
  Map& as_map() const { return *static_cast<Map*>(ref_.get()); }
  Range& as_range() const { return *static_cast<Range*>(ref_.get()); }
  Closure& as_closure() const { return *static_cast<Closure*>(ref_.get()); }
  Object& as_object() const { return *static_cast<Object*>(ref_.get()); }
  Exception& as_exception() const { return *static_cast<Exception*>(ref_.get()); }
  NativeObject& as_native() const { return *static_cast<NativeObject*>(ref_.get()); }
  Matcher& as_matcher() const { return *static_cast<Matcher*>(ref_.get()); }
  std::shared_ptr<void> ref() const { return ref_; }
  bool same_ref(const Value& o) const { return ref_ && ref_ == o.ref_; }

  // Any number as a double (for Math and comparisons with doubles).
  double to_double() const;

 private:
  Type type_ = Type::Null;
  union {
    bool b_;
    int64_t i_ = 0;  // Int, Long, and a Decimal's unscaled value
    double d_;
  };
  int32_t scale_ = 0;  // a Decimal's scale
  bool gstring_ = false;
  std::string s_;
  std::shared_ptr<void> ref_;
};

struct List {
  std::vector<Value> items;
  // Not an ArrayList but another Java collection (a map's keySet() or
  // values()): its class name. Such a collection is no List.
  const char* java_class = nullptr;
};

// A LinkedHashMap: insertion order, keys compared as Groovy's `==` does for
// the types maps are keyed by (strings, numbers, booleans, null).
class Map {
 public:
  const Value* find(const Value& key) const;
  Value* find(const Value& key);
  void put(const Value& key, Value value);
  bool remove(const Value& key);
  void clear();
  size_t size() const { return entries_.size(); }
  const std::vector<std::pair<Value, Value>>& entries() const { return entries_; }
  std::vector<std::pair<Value, Value>>& mutable_entries() { return entries_; }
  // After changing entries() in place (sort, removeAll): rebuilds the index.
  void reindex();
  // withDefault { key -> value }: what a missing key reads (and stores).
  Value defaults;
  // A TreeMap: entries kept in key order.
  bool sorted = false;

 private:
  std::vector<std::pair<Value, Value>> entries_;
  std::unordered_map<std::string, size_t> index_;
};

// An IntRange: `from..to` (to may be below from: a reverse range) or empty.
struct Range {
  int64_t from = 0;
  int64_t to = 0;
  bool empty = false;
  bool exclusive = false;  // written `from..<to` (how it prints)
  bool reverse() const { return to < from; }
  int64_t size() const { return empty ? 0 : (reverse() ? from - to : to - from) + 1; }
  int64_t at(int64_t i) const { return reverse() ? from - i : from + i; }
};

struct Closure {
  const Node* node = nullptr;  // a Closure node; null for a method pointer
  std::shared_ptr<Scope> scope;
  std::vector<Value> curried;
  std::vector<Value> rcurried;
  std::vector<Value> ncurried;
  std::vector<Value> composed;  // `f >> g`: each called with the previous one's result
  size_t ncurry_at = 0;
  std::string method;  // `this.&name` / `obj.&name`: the method's name
  Value self;          // the object a method pointer or a class's closure belongs to
  Value delegate;
};

struct ClassInfo;

struct Object {
  const ClassInfo* cls = nullptr;
  std::shared_ptr<Map> fields;
};

struct Exception {
  std::string type;     // "java.lang.RuntimeException"
  std::string message;  // null message: empty and has_message false
  bool has_message = true;
  Pos pos;                   // where it was thrown
  bool uncatchable = false;  // a sandbox limit or a job-level stop: `catch` cannot stop it
  Value cause;
  std::shared_ptr<Map> fields;  // a script's exception class: its fields
  std::any host_data;           // the host's own record of a failed step
};

struct Matcher {
  std::vector<std::vector<Value>>
      matches;              // each: the whole match, then the groups (null unmatched)
  bool whole = false;       // the pattern matched the whole text
  std::vector<Value> full;  // the groups of that whole-text match
  size_t found = 0;         // find() calls that succeeded
  bool use_full = false;    // matches() succeeded last: group() reads `full`
  size_t groups = 0;        // groupCount()
};

// Objects of the host (env, params, currentBuild, scm) and built-in helper
// classes. Each returns false after raising an exception on `in`.
class NativeObject {
 public:
  virtual ~NativeObject() = default;
  virtual std::string type_name() const = 0;
  // Reads a property; `found` false: no such property (MissingPropertyException).
  virtual bool get(Interpreter& in, std::string_view name, Value& out, bool& found) = 0;
  virtual bool set(Interpreter& in, std::string_view name, const Value& value, bool& found);
  virtual bool call(Interpreter& in, std::string_view method, std::vector<Value>& args, Value& out,
                    bool& found);
  virtual std::string to_string() const { return type_name(); }
};

// A step (or any unknown plain call) as the host receives it.
struct StepCall {
  std::string name;
  Pos pos;
  std::vector<Value> args;                           // positional, a trailing closure last
  std::vector<std::pair<std::string, Value>> named;  // `name: value` arguments in order
  bool has_closure = false;                          // the last of args is a trailing closure
};

class Host {
 public:
  virtual ~Host() = default;
  virtual bool has_step(std::string_view name) const = 0;
  // Runs a step. Returns false after raising on `in` (a failed step throws,
  // as in Jenkins: hudson.AbortException, catchable unless the job stopped).
  virtual bool step(Interpreter& in, const StepCall& call, Value& out) = 0;
  virtual void print(std::string_view text) = 0;
  // A global the script did not define: env, params, currentBuild, scm, and
  // (in Jenkins) the environment's variables by bare name.
  virtual std::optional<Value> global(std::string_view name) = 0;
  // Checked between operations: true to stop (cancel, timeout).
  virtual bool interrupted() { return false; }
};

struct Limits {
  uint64_t max_operations = 200'000'000;
  int max_call_depth = 150;
  size_t max_string = size_t{16} * 1024 * 1024;
  size_t max_collection = 1'000'000;
};

// A class defined in the script or a library's src/.
struct ClassInfo {
  std::string name;
  std::string super_name;
  const Node* node = nullptr;
  std::vector<const Node*> fields;  // VarDecl
  std::vector<const Node*> static_fields;
  std::vector<const Node*> methods;  // MethodDef
  std::vector<const Node*> constructors;
  std::shared_ptr<Map> statics = std::make_shared<Map>();
  const ClassInfo* super = nullptr;
  // A shared library's vars/NAME.groovy: one object per interpreter (the
  // global NAME) whose methods may call steps and other globals, as a
  // Jenkins script does.
  bool script = false;
};

class Interpreter {
 public:
  // `script_class` names the script in messages ("WorkflowScript" in Jenkins).
  Interpreter(Host& host, std::string script_class, Limits limits = {});
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  // Registers the methods, classes and @Field declarations of a parsed file
  // (or a library's vars/ file, with `name` the global it becomes) and keeps
  // it alive. Runs nothing.
  void load(std::shared_ptr<const Node> file);

  // Shared libraries (libraries.hpp): vars/NAME.groovy becomes the global
  // NAME, an object whose methods are the file's (`NAME(...)` calls its
  // `call`), with its @Field variables; a src/ file's classes become known
  // (by simple name). Run nothing.
  void load_global(const std::string& name, std::shared_ptr<const Node> file);
  void load_classes(std::shared_ptr<const Node> file);
  bool has_global(const std::string& name) const;
  // A `pipeline { }` reached inside a library global (a pipeline template in
  // vars/) is not run: its closure's scope is kept, and run_block and
  // evaluate work in it from then on (the template's parameters and locals
  // are what the stages see). True once that happened.
  bool template_captured() const;

  // Runs the loaded file's top-level statements, those for which `skip` is
  // false (Gantry skips `pipeline { }` and `@Library`).
  bool run_top_level(const std::function<bool(const Node&)>& skip = {});
  // Runs one top-level statement of the loaded file (the caller walks them,
  // so one that fails need not stop the others).
  bool run_statement(const Node& stmt);
  // A method the loaded files define (def name(...) { }), or a library global.
  bool has_method(const std::string& name) const;
  // Calls such a method (the overload that fits `args`), or a global's `call`.
  bool call_method(const std::string& name, std::vector<Value> args, Value& out);
  // Runs a closure's or block's statements as a closure of the script (a
  // `script { }` body): it sees the top-level variables.
  bool run_block(const Node& closure_or_block, Value* result = nullptr);
  // Evaluates one expression in the script's top-level scope.
  bool evaluate(const Node& expr, Value& out);
  // Calls a closure (or method pointer) with arguments.
  bool call(const Value& callable, std::vector<Value> args, Value& out);

  // One thread of execution's state: where it is (scope, `this`, delegate,
  // call depth, position) and the exception in flight. Scripted `parallel`
  // runs its branches on threads that take turns with the interpreter: a
  // thread saves its context when it lets go (a step waiting on a process)
  // and restores it when it takes the interpreter back.
  struct Context {
    std::shared_ptr<Scope> scope;
    Value self, delegate, ret, thrown;
    const ClassInfo* self_class = nullptr;
    const Node* current_method = nullptr;
    int depth = 0;
    Pos pos;
  };
  Context save_context() const;
  void restore_context(const Context& c);

  // The exception in flight after a false return.
  const Value& error() const { return thrown_; }
  std::string error_message() const;  // "LINE:COL: Type: message" or "Type: message"
  void clear_error();

  // For hosts and native objects: raises an exception (returns false so a
  // caller can `return in.raise(...)`).
  bool raise(std::string type, std::string message, bool uncatchable = false);
  bool raise(Value exception);
  Pos position() const { return pos_; }  // the node being evaluated

  // The script's variables: top-level `def` locals and the binding (assigned
  // without def), as one view; set_variable writes the binding.
  std::vector<std::pair<std::string, Value>> variables() const;
  void set_variable(const std::string& name, Value value);
  std::optional<Value> variable(const std::string& name) const;

  Host& host() { return host_; }
  const Limits& limits() const { return limits_; }
  uint64_t operations() const { return ops_; }

  // Internal machinery, used by the evaluator's files (pipelines/groovy/).
  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  friend struct Impl;
  Host& host_;
  Limits limits_;
  std::unique_ptr<Impl> impl_;
  Value thrown_;
  Pos pos_;
  uint64_t ops_ = 0;
};

// Values of the expression subset (expression.hpp), which steps and the
// controller's evaluations speak, to and from Groovy's: strings, numbers,
// booleans and null; any other Groovy value becomes its text.
Value from_subset(const pipelines::Value& v);
pipelines::Value to_subset(const Value& v);

// Whether a script may name this JDK/Groovy class (the sandbox's allow-list,
// simple or qualified name), exception classes included.
bool is_allowed_class(std::string_view name);

// Groovy's toString() of a value as println prints it, and inspect().
std::string to_string(const Value& v);
std::string inspect(const Value& v);
// The Java class name of a value ("java.lang.Integer").
std::string class_name(const Value& v);
// Groovy truth.
bool truthy(const Value& v);

// Script variables as JSON, to carry them from one job's interpreter to the
// next (on another agent, after a restart): {"name": value, ...}. Plain values
// only (null, booleans, numbers with their Groovy class, strings, lists,
// maps); a variable holding anything else (a closure, an object) is left out.
// Returns "" when the text would exceed `max_bytes`.
std::string encode_variables(const std::vector<std::pair<std::string, Value>>& vars,
                             size_t max_bytes);
// The reverse; false on text that is not such JSON (nothing is set then).
bool decode_variables(std::string_view json, std::vector<std::pair<std::string, Value>>& out);
// One value in that form, "" for one that cannot travel (for comparing).
std::string encode_value(const Value& v);

// Runs a whole program with a host that has no steps and collects what it
// prints; an uncaught exception appends "Caught: Type: message\n", as the
// `groovy` command does. For the conformance tests against Groovy itself.
std::string run_program(std::string_view source, std::string_view script_class = "Script1");

// Appends `s` as a JSON string literal (quotes, escapes, \u00XX for control bytes).
void json_quote(const std::string& s, std::string& out);

}  // namespace gantry::pipelines::groovy
