#pragma once
// Private: the interpreter's machinery behind groovy.hpp. One Impl per
// Interpreter; the evaluator is split by concern:
//   values.cpp      Value, Map, numbers (BigDecimal), toString/inspect, ==, <=>
//   interp.cpp      Interpreter API, scopes, statements, script methods, classes
//   expr.cpp        expressions, operators, assignment, properties
//   calls.cpp       calls: closures, script methods, steps, method dispatch
//   gdk_string.cpp  String/GString methods and regular expressions
//   gdk_list.cpp    List, Map and Range methods (closures: each, collect, ...)
//   gdk_misc.cpp    numbers, Math, Integer, String.format, classes allowed
//   groovy_json.cpp JsonOutput and JsonSlurper
//
// Abrupt completion is a value, not a C++ exception: every eval/exec returns
// false when a Groovy exception is in flight (Interpreter::thrown_), and
// statements report return/break/continue through `signal`.

#include <algorithm>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gantry/pipelines/groovy.hpp"

namespace gantry::pipelines::groovy {

// 128-bit intermediates for BigDecimal and overflow checks (GCC and Clang).
__extension__ typedef __int128 i128;

struct Scope {
  std::vector<std::pair<std::string, Value>> vars;
  std::shared_ptr<Scope> parent;

  Value* find(std::string_view name) {
    for (Scope* s = this; s != nullptr; s = s->parent.get()) {
      for (auto& [k, v] : s->vars) {
        if (k == name) return &v;
      }
    }
    return nullptr;
  }
  void define(std::string name, Value v) {
    for (auto& [k, old] : vars) {
      if (k == name) {
        old = std::move(v);
        return;
      }
    }
    vars.emplace_back(std::move(name), std::move(v));
  }
};

enum class Signal { None, Return, Break, Continue };

// ---- values.cpp: numbers and comparisons
namespace num {
// Arithmetic with Groovy's promotion (Integer < Long < BigDecimal < Double).
// Returns false after raising (overflowing BigDecimal, division by zero).
bool add(Interpreter& in, const Value& a, const Value& b, Value& out);
bool sub(Interpreter& in, const Value& a, const Value& b, Value& out);
bool mul(Interpreter& in, const Value& a, const Value& b, Value& out);
bool div(Interpreter& in, const Value& a, const Value& b, Value& out);
bool mod(Interpreter& in, const Value& a, const Value& b, Value& out);
bool intdiv(Interpreter& in, const Value& a, const Value& b, Value& out);
bool power(Interpreter& in, const Value& a, const Value& b, Value& out);
bool negate(Interpreter& in, const Value& a, Value& out);
// -1, 0, 1 by numeric value.
int compare(const Value& a, const Value& b);
Decimal to_decimal(const Value& v);
std::string decimal_string(const Decimal& d);
std::string double_string(double d);
// Parses Groovy's number text ("42", "1.5", "1e3") into an Integer, Long or BigDecimal.
bool parse_decimal(std::string_view text, Decimal& out);
}  // namespace num

// Groovy's ==. `in` raises nothing; compares lists, maps and ranges by content.
bool equals(const Value& a, const Value& b);
// Java's equals(): numbers only of the same class (1 != 1L, 1.0 != 1.00), as
// List.contains and map keys see them.
bool java_equals(const Value& a, const Value& b);
// <=>: sets `out` to -1/0/1; false (with a raise) when the values do not compare.
bool compare(Interpreter& in, const Value& a, const Value& b, int& out);
// A hashable text for map keys (equal keys give equal texts).
std::string key_text(const Value& v);
// Items of anything iterable (list, range, map entries as maps, string chars);
// false (with a raise) for what is not.
bool iterate(Interpreter& in, const Value& v, std::vector<Value>& out);
// A Map.Entry (iterating a map): key, value, toString "k=v".
Value map_entry(const Value& key, const Value& value);
// Whether exception type `type` is `wanted` or a subclass (simple or qualified names).
bool exception_is(const Interpreter::Impl& impl, std::string_view type, std::string_view wanted);
// Builds an exception value.
Value make_exception(std::string type, std::optional<std::string> message, Value cause = {});
std::string cap(std::string_view s);  // "name" -> "Name"
// A declaration's value without an initialiser (0/false for primitives).
Value default_value(const std::string& type);

struct Interpreter::Impl {
  explicit Impl(Interpreter& in_) : in(in_), host(in_.host_) {}

  Interpreter& in;
  Host& host;
  std::string script_class;
  std::vector<std::shared_ptr<const Node>> files;
  std::unordered_map<std::string, std::vector<const Node*>> methods;
  std::unordered_map<std::string, std::unique_ptr<ClassInfo>> classes;
  std::shared_ptr<Scope> top = std::make_shared<Scope>();
  // Every scope made, weakly: a closure stored in the scope it captured is a
  // reference cycle, broken when the interpreter goes (release()).
  std::vector<std::weak_ptr<Scope>> scopes_made;
  size_t scopes_pruned_at = 1024;
  std::shared_ptr<Scope> make_scope() {
    auto s = std::make_shared<Scope>();
    if (scopes_made.size() >= scopes_pruned_at) {
      std::erase_if(scopes_made, [](const std::weak_ptr<Scope>& w) { return w.expired(); });
      scopes_pruned_at = std::max<size_t>(1024, scopes_made.size() * 2);
    }
    scopes_made.push_back(s);
    return s;
  }
  // Empties every scope, the binding and the classes' statics, so that the
  // cycles among closures, scopes and containers free their memory.
  void release();
  std::shared_ptr<Map> binding = std::make_shared<Map>();
  // Library globals (vars/): their classes, and each one's object once used.
  std::unordered_map<std::string, std::unique_ptr<ClassInfo>> global_classes;
  std::unordered_map<std::string, Value> globals;
  // A pipeline template's `pipeline { }` closure scope (template_captured()).
  std::shared_ptr<Scope> pipeline_scope;
  Value pipeline_self;
  const ClassInfo* pipeline_class = nullptr;
  // The global's object (made, its @Field variables set, on first use);
  // false after raising; `found` false when there is no such global.
  bool global_value(const std::string& name, Value& out, bool& found);
  // The script itself as a value (`this` outside any class): its methods,
  // the globals and the steps, through NativeObject calls.
  Value script_self();
  Value script_self_cache;
  std::shared_ptr<Scope> scope = top;
  Value self;      // inside a class's method: the instance
  Value delegate;  // inside a closure with a delegate (a Map or an object)
  const ClassInfo* self_class = nullptr;
  int depth = 0;
  Signal signal = Signal::None;
  std::string signal_label;   // break/continue LABEL
  std::string pending_label;  // the label of the loop about to start
  Value ret;
  const Node* current_method = nullptr;  // the method running (getters do not call themselves)

  // ---- interp.cpp
  bool tick(const Node& n);
  bool exec(const Node& n);
  bool exec_items(const std::vector<NodePtr>& items);
  bool exec_block(const Node& block);  // a new scope
  bool exec_try(const Node& n, Value* value = nullptr);
  bool exec_for(const Node& n);
  bool exec_switch(const Node& n);
  bool declare(const Node& decl);
  bool case_matches(const Value& kase, const Value& subject, bool& match);
  void register_file(const Node& file);
  void register_class(const Node& cls);
  bool coerce(const std::string& type, Value& v);
  bool instance_of(const Value& v, std::string_view type) const;

  // ---- expr.cpp
  bool eval(const Node& n, Value& out);
  bool eval_gstring(const Node& n, Value& out);
  bool eval_binary(const Node& n, Value& out);
  bool binary_op(const std::string& op, const Value& a, const Value& b, Value& out);
  bool eval_unary(const Node& n, Value& out);
  bool eval_assign(const Node& n, Value& out);
  bool assign_to(const Node& target, const Value& v);
  bool eval_ident(const Node& n, Value& out);
  bool eval_property(const Node& n, Value& out);
  bool get_property(const Value& obj, const std::string& name, Value& out, bool safe);
  bool set_property(const Value& obj, const std::string& name, const Value& v);
  bool get_index(const Value& obj, const Value& idx, Value& out);
  bool set_index(const Value& obj, const Value& idx, const Value& v);
  bool eval_list(const Node& n, Value& out);
  bool eval_map(const Node& n, Value& out);
  bool make_range(const Value& from, const Value& to, bool exclusive, Value& out);
  bool regex_find(const Value& text, const Value& pattern, Value& out);
  bool regex_match(const Value& text, const Value& pattern, bool& out);
  bool is_in(const Value& item, const Value& container, bool& out);
  bool check_size(size_t n);

  // ---- calls.cpp
  bool eval_call(const Node& n, Value& out);
  bool eval_args(const Node& call, std::vector<Value>& args,
                 std::vector<std::pair<std::string, Value>>& named);
  bool call_plain(const Node& n, const std::string& name, std::vector<Value>& args,
                  std::vector<std::pair<std::string, Value>>& named, bool has_closure, Value& out);
  bool call_value(const Value& callable, std::vector<Value> args, Value& out);
  // One call deeper; false (a StackOverflowError raised) past Limits::max_call_depth.
  bool enter_call();
  bool call_closure(const Closure& c, std::vector<Value> args, Value& out);
  // Runs statements where the last one's value is the result (closures and
  // methods return it without `return`).
  bool exec_body(const std::vector<NodePtr>& items, Value& out);
  bool exec_body_one(const Node& s, Value& out);
  // Static fields of the script's classes, initialised before the first run.
  bool init_statics();
  bool statics_ready = false;
  const Node* pick_overload(const std::vector<const Node*>& overloads,
                            const std::vector<Value>& args) const;
  bool call_script_method(const std::vector<const Node*>& overloads, const std::string& name,
                          std::vector<Value>& args, Value& out);
  bool run_method(const Node& def, std::vector<Value>& args, const Value& self,
                  const ClassInfo* cls, Value& out);
  bool invoke(const Value& recv, const std::string& name, std::vector<Value>& args, Value& out);
  bool invoke_static(const std::string& cls, const std::string& name, std::vector<Value>& args,
                     Value& out);
  bool construct(const std::string& cls, std::vector<Value>& args,
                 std::vector<std::pair<std::string, Value>>& named, Value& out);
  bool missing_method(const Value& recv, const std::string& name, const std::vector<Value>& args);
  // A closure's result as a boolean (findAll, any, every...).
  bool predicate(const Value& closure, std::vector<Value> args, bool& out);
  // A withDefault map's value for a missing key (stored as Groovy does).
  bool map_default(const Value& map, const Value& key, Value& out);
  // Whether a loop labelled `label` ends a break/continue in flight (consumes it).
  bool loop_signal(const std::string& label, bool& is_break);

  // ---- gdk_*.cpp: `found` false when the type has no such method.
  bool string_method(const std::string& s, const std::string& name, std::vector<Value>& args,
                     Value& out, bool& found);
  bool list_method(const Value& recv, const std::string& name, std::vector<Value>& args, Value& out,
                   bool& found);
  bool map_method(const Value& recv, const std::string& name, std::vector<Value>& args, Value& out,
                  bool& found);
  bool number_method(const Value& recv, const std::string& name, std::vector<Value>& args,
                     Value& out, bool& found);
  bool object_method(const Value& recv, const std::string& name, std::vector<Value>& args,
                     Value& out, bool& found);  // any value: toString, equals, getClass...
  bool matcher_method(const Value& recv, const std::string& name, std::vector<Value>& args,
                      Value& out, bool& found);
  bool static_method(const std::string& cls, const std::string& name, std::vector<Value>& args,
                     Value& out, bool& found);
  bool static_property(const std::string& cls, const std::string& name, Value& out, bool& found);
  bool format(const std::string& fmt, const std::vector<Value>& args, size_t first,
              std::string& out);
  bool compile_regex(const std::string& pattern, std::regex& out);
  // groovy_json.cpp
  bool json_out(const Value& v, bool pretty, std::string& out);
  bool json_parse(const std::string& text, Value& out);
  bool json_pretty(const std::string& text, std::string& out);

  // toString() as println and GStrings see it: a script class's own toString()
  // runs; everything else as to_string().
  bool text_of(const Value& v, std::string& out);

  // Known classes: allow-listed JDK/Groovy ones and the script's own.
  bool is_class_name(const std::string& name) const;
  std::string canonical_class(const std::string& name) const;
};

}  // namespace gantry::pipelines::groovy
