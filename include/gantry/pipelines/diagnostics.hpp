#pragma once
// Diagnostics for pipeline files: errors and warnings at a line and column,
// collected rather than thrown, so that every problem in a file is reported.
// Rendering follows compilers (and Ninja):
//
//   Jenkinsfile:12:9: error: Unknown stage section "banana"
//           banana {
//           ^
//
// Not responsible for deciding what is an error; the parser and the model
// builder report into a Diagnostics. Plain values, not thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "gantry/pipelines/ast.hpp"

namespace gantry::pipelines {

enum class Severity { Error, Warning };

struct Diagnostic {
  Severity severity = Severity::Error;
  Pos pos;
  std::string message;
};

class Diagnostics {
 public:
  // Stops recording (but keeps counting) past this many, so a pathological file
  // cannot make the report unbounded.
  static constexpr size_t kMaxRecorded = 1000;

  void error(Pos pos, std::string message);
  void warning(Pos pos, std::string message);

  const std::vector<Diagnostic>& all() const { return items_; }
  size_t error_count() const { return errors_; }
  size_t warning_count() const { return warnings_; }
  bool has_errors() const { return errors_ > 0; }

  // Sorted by position (stable), duplicates at the same position removed.
  void sort();

 private:
  void add(Severity severity, Pos pos, std::string message);
  std::vector<Diagnostic> items_;
  size_t errors_ = 0;
  size_t warnings_ = 0;
};

// "FILE:LINE:COL: error: MESSAGE\n<source line>\n<caret>\n".
std::string render(const Diagnostic& d, std::string_view file, std::string_view source);
std::string render_all(const Diagnostics& d, std::string_view file, std::string_view source);

}  // namespace gantry::pipelines
