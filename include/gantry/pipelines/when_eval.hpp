#pragma once
// Decides a stage's `when` block at run time, with Jenkins' semantics:
// branch/tag patterns are Ant-style globs by default (comparator EQUALS or
// REGEXP on request), `environment` compares an env value, `equals` compares
// two evaluated expressions with Groovy's ==, `expression` runs the subset of
// expression.hpp, and not/allOf/anyOf combine.
//
// Change conditions look at WhenContext::changes, the commits of the run's
// range; with none (a first build, a manual run) they are false, as in
// Jenkins, which warns "empty changelog".
// - `changeset 'GLOB'` is true when a changed path of any commit matches:
//   an Ant glob (glob_match) by default, compared without case unless
//   `caseSensitive: true`; `comparator: 'REGEXP'` matches the whole path,
//   'EQUALS' compares it (both also without case by default). Backslashes
//   in paths, and in globs, count as '/', as in Jenkins.
// - `changelog 'REGEX'` is true when a commit message matches. Jenkins
//   (ChangeLogConditional) tries two whole-text matches (Matcher.matches())
//   per commit: the pattern as given against the title (the first line),
//   and "(?m)(?s)^[^\r\n]*?" + pattern + "[^\r\n]*?$", not grouped, against
//   the full message, where MULTILINE lets ^ and $ match at line ends and
//   DOTALL lets '.' match them. The git plugin ends every line of that
//   message, the last too, with "\n", and Gantry does the same. So
//   '.*\[ci skip\].*' finds the text on any line, '.*^Fixes #\d+$.*' needs
//   a whole line, and a bare '\[ci skip\]' only matches a title that is
//   exactly "[ci skip]". Gantry runs the same two matches with std::regex
//   ECMAScript (multiline; '.' outside classes rewritten to [\s\S]).
//   Differences from java.util.regex: ECMAScript syntax, so no inline flags
//   like (?i), possessive quantifiers, lookbehind, \A or \z (the parser
//   rejects such literal patterns); no back-references (the polynomial
//   matcher refuses them); only \n and \r end lines. Messages are cut at
//   kMaxChangeMessage bytes. An invalid or too complex pattern, or too much
//   text to match it against, is an evaluation error: the stage fails with
//   the message.
// - `changeRequest` is false: Gantry does not build change requests.
//
// Pure functions; no I/O. Regular expressions (REGEXP comparators too) run
// on libstdc++'s polynomial, breadth-first matcher: the stack does not grow
// with the text and no pattern backtracks exponentially.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "gantry/pipelines/expression.hpp"
#include "gantry/pipelines/model.hpp"

namespace gantry::pipelines {

struct WhenContext {
  EvalContext eval;  // env (BRANCH_NAME, TAG_NAME, ...) and params
  std::string branch;
  std::string tag;
  std::string trigger;  // "api", "push", "cron", "retry of N", ...
  bool restarted = false;

  struct ChangeEntry {
    std::string message;  // the full commit message: title, blank line, body
    std::string author;
    std::vector<std::string> paths;  // changed paths, relative to the repository root
  };
  std::vector<ChangeEntry> changes;  // the commits of the run's range, any order
};

inline constexpr size_t kMaxChangeMessage = size_t{64} * 1024;

struct WhenOutcome {
  bool run = false;
  std::string reason;  // why skipped: "when condition branch 'main' is false"; or the error
  bool error = false;  // an expression could not be evaluated: the stage fails
};

WhenOutcome evaluate_when(const WhenBlock& when, const WhenContext& ctx);

// Ant's SelectorUtils.matchPath, as Jenkins' `branch` and `changeset` use
// it: pattern and text are split at '/' (empty segments dropped, a leading
// '/' kept as a root segment); a `**` segment matches zero or more segments,
// and within a segment `*` matches any characters and `?` one. Without
// `case_sensitive`, ASCII letters compare without case.
bool glob_match(std::string_view pattern, std::string_view text, bool case_sensitive = true);

}  // namespace gantry::pipelines
