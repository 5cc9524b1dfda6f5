#pragma once
// The syntax tree of the Groovy subset that declarative pipelines are written
// in. The Jenkinsfile parser produces it; the YAML front end synthesises the
// same nodes, so one validator (model_builder) turns either into the model.
//
// One node type with a kind and a few generic slots keeps the tree cheap to
// build and easy to walk; the meaning of each slot per kind is listed below.
// Not responsible for: knowing what a pipeline means (see model_builder.hpp).
// Plain values, no threads, no I/O.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace gantry::pipelines {

// 1-based line and column (column counts bytes) in the source file.
struct Pos {
  uint32_t line = 0;
  uint32_t col = 0;
  friend bool operator==(const Pos&, const Pos&) = default;
};

enum class NodeKind : uint8_t {
  // ---- expressions
  Null,       //
  Bool,       // text: "true" / "false"
  Int,        // text: digits as written (no suffix); flag `big` when it overflows int64
  Float,      // text as written
  String,     // text: the decoded value (single-quoted, triple-single, or a GString without ${})
  GString,    // items: parts, each a String node (literal text) or an expression (${...}/$name)
  List,       // items: elements
  Map,        // named: entries (key name, value); keys that are not plain names keep their text
  Ident,      // text: the name
  Property,   // lhs: object; text: property name; safe: `?.`; spread: `*.`
  Index,      // lhs: object; rhs: index expression
  Call,       // text: method name; lhs: receiver (null for a plain call); items: positional
              // args; named: named args; block: trailing closure; parens: written with ()
  New,        // text: class name; items/named: constructor arguments
  Closure,    // params: parameter names; items: statements
  Unary,      // text: operator ("!", "-", "+", "~", "++", "--"); lhs: operand; postfix flag
  Binary,     // text: operator; lhs, rhs
  Ternary,    // lhs: condition; rhs: then; third: else. Elvis `a ?: b` has no rhs.
  Assign,     // text: operator ("=", "+=", ...); lhs: target; rhs: value
  Cast,       // text: type name; lhs: value (`x as T` and `(T) x`)
  MethodRef,  // lhs: object; text: method (`obj.&name`)
  Dollar,     // a bare `${...}` outside a string; lhs: the expression
  // ---- statements
  ExprStmt,    // lhs: the expression
  VarDecl,     // text: variable name; lhs: initial value (may be null); type_name: declared type
  If,          // lhs: condition; rhs: then (Block); third: else (Block or If), may be null
  While,       // lhs: condition; rhs: body
  For,         // text: loop variable for `for (x in y)`, lhs: iterable or condition; rhs: body;
               // items: classic for init (or null) then update statements
  Try,         // rhs: body; items: catch blocks (Catch); third: finally block
  Catch,       // text: variable; type_name: exception type; rhs: body
  Switch,      // lhs: subject; items: Case nodes
  Case,        // lhs: value (null for default); items: statements
  Return,      // lhs: value (may be null)
  Throw,       // lhs: value
  Break,       //
  Continue,    //
  Block,       // items: statements
  MethodDef,   // text: name; params: parameter names; rhs: body (Block)
  ClassDef,    // text: name; type_name: superclass; items: members (VarDecl fields, MethodDef
               // methods, constructors as MethodDef with type_name "<init>"; `is_static` marks
               // static ones). Interfaces, enums and traits are skipped (no items).
  Import,      // text: the imported name
  Package,     // text: the package name
  Annotation,  // text: annotation name; items/named: arguments; lhs: the annotated statement
  Label,       // text: label name; lhs: the labelled statement
};

struct Node;
using NodePtr = std::unique_ptr<Node>;

struct NamedArg {
  std::string name;
  Pos pos;
  NodePtr value;
  // A map entry's key when it is not a plain name or string: `(expr):`, a
  // GString, a number (`name` then holds its source text).
  NodePtr key = nullptr;
};

struct Node {
  NodeKind kind = NodeKind::Null;
  Pos pos;
  std::string text;
  std::string type_name;
  NodePtr lhs;
  NodePtr rhs;
  NodePtr third;
  NodePtr block;
  std::vector<NodePtr> items;
  std::vector<NamedArg> named;
  std::vector<std::string> params;
  bool parens = false;     // Call: written with ()
  bool grouped = false;    // an expression wrapped in ()
  bool safe = false;       // Property: `?.`
  bool spread = false;     // Property: `*.`
  bool postfix = false;    // Unary: `x++`
  bool big = false;        // Int: does not fit in int64
  bool is_static = false;  // a class member declared `static`

  Node() = default;
  Node(NodeKind k, Pos p) : kind(k), pos(p) {}
  Node(NodeKind k, Pos p, std::string t) : kind(k), pos(p), text(std::move(t)) {}
};

inline NodePtr make_node(NodeKind kind, Pos pos, std::string text = {}) {
  return std::make_unique<Node>(kind, pos, std::move(text));
}

// Deep copy.
NodePtr clone(const Node& node);

// Short Groovy-like rendering of an expression, for messages and `gantry plan`
// ("env.BRANCH == 'main'"). Statements render as a summary.
std::string to_source(const Node& node);

const char* kind_name(NodeKind kind);

}  // namespace gantry::pipelines
