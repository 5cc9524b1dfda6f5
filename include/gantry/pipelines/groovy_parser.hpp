#pragma once
// Parser for the Groovy subset declarative Jenkinsfiles are written in:
// statements (declarations, if/else, loops, try, switch, methods, classes
// parsed loosely), expressions with Groovy's precedence, paren-less command
// calls (`sh 'make'`, `stage('x') { ... }`), closures, lists and maps.
//
// Hand-written recursive descent, one function per production. Never throws
// on input: problems go to Diagnostics and the parser recovers at the next
// statement or block, so one run reports every syntax error of a file.
// Nesting is bounded (kMaxDepth) so hostile input cannot exhaust the stack.
// Not responsible for declarative meaning: see model_builder.hpp.

#include <string_view>

#include "gantry/pipelines/ast.hpp"
#include "gantry/pipelines/diagnostics.hpp"

namespace gantry::pipelines {

inline constexpr int kMaxDepth = 200;

// Parses a whole file. Returns a Block of the top-level statements (never null).
NodePtr parse_groovy(std::string_view source, Diagnostics& diags);

// Parses statements found elsewhere (a YAML `script:` value), with positions
// counted from `origin`.
NodePtr parse_groovy_at(std::string_view source, Pos origin, Diagnostics& diags);

// Parses one expression (a YAML `when: {expression: ...}` value). Returns null
// after reporting an error.
NodePtr parse_expression(std::string_view source, Pos origin, Diagnostics& diags);

// Turns text with Groovy double-quote interpolation (`"v${env.X}"`, without
// the quotes) into a String or GString node.
NodePtr parse_interpolated(std::string_view text, Pos origin, Diagnostics& diags);

}  // namespace gantry::pipelines
