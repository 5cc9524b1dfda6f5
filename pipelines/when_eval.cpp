// `when` conditions at run time; see when_eval.hpp for the Jenkins semantics.
#include "gantry/pipelines/when_eval.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
// GCC 12 with -fsanitize=address reports false -Wmaybe-uninitialized inside
// libstdc++'s regex automaton (as in expression.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <regex>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace gantry::pipelines {
namespace {

// Bounds the regex work of one condition: a pattern's weight (below) times
// the bytes it is matched against, summed over the commits. About 0.3 s of
// the polynomial matcher; far above what a push of real commits needs.
constexpr size_t kMaxRegexWorkPerCondition = size_t{256} << 20;

struct Verdict {
  bool value = false;
  std::string error;
};

std::string located(const EvalError& e) {
  return std::to_string(e.pos.line) + ":" + std::to_string(e.pos.col) + ": " + e.message;
}

std::optional<Value> arg_value(const When& w, const std::string& key, const WhenContext& ctx,
                               std::string& error) {
  auto it = w.args.find(key);
  if (it == w.args.end() || !it->second) return std::nullopt;
  EvalResult r = evaluate(*it->second, ctx.eval);
  if (auto* e = std::get_if<EvalError>(&r)) {
    error = located(*e);
    return std::nullopt;
  }
  return std::get<Value>(std::move(r));
}

std::string arg_text(const When& w, const std::string& key, const WhenContext& ctx,
                     std::string& error) {
  std::optional<Value> v = arg_value(w, key, ctx, error);
  return v ? v->to_string() : std::string();
}

std::string shown(std::string_view pattern) {
  if (pattern.size() > 60) return "\"" + std::string(pattern.substr(0, 57)) + "...\"";
  return "\"" + std::string(pattern) + "\"";
}

// A regular expression for whole-text matching on libstdc++'s breadth-first
// matcher: no recursion per character, no exponential backtracking.
struct Regex {
  std::regex re;
  size_t weight = 0;
  std::string pattern;  // as the user wrote it, for messages
};

// Compiles `source`, built from the user's `pattern` (limits apply to that).
bool compile(const std::string& source, const std::string& pattern, bool icase, bool multiline,
             Regex& out, std::string& error) {
  out.pattern = pattern;
  out.weight = regex_weight(pattern) + 16;  // and the changelog wrapper
  if (pattern.size() > kMaxRegexPattern || out.weight > kMaxRegexWeight) {
    error = "regular expression " + shown(pattern) + " is too long or too complex for Gantry";
    return false;
  }
  auto flags = std::regex::ECMAScript | std::regex::nosubs;
#ifdef __GLIBCXX__
  flags |= std::regex_constants::__polynomial;
#endif
  if (icase) flags |= std::regex::icase;
  if (multiline) flags |= std::regex::multiline;
  try {
    out.re.assign(source, flags);
    // The polynomial matcher refuses back-references when matching; find
    // out now, so that the error does not depend on the commits.
    (void)std::regex_match("", out.re);
    return true;
  } catch (const std::regex_error& e) {
    bool backref = e.code() == std::regex_constants::error_complexity;
    error =
        shown(pattern) + (backref ? " uses back-references, which Gantry does not support"
                                  : std::string(" is not a valid regular expression: ") + e.what());
    return false;
  }
}

// Whole-text match, charged to `work`; false with `error` past the budget.
bool matches(const Regex& r, std::string_view text, size_t& work, std::string& error) {
  work += r.weight * (text.size() + 1);
  if (work > kMaxRegexWorkPerCondition) {
    error = "too much text to match against " + shown(r.pattern) + "; simplify the pattern";
    return false;
  }
  try {
    return std::regex_match(text.begin(), text.end(), r.re);
  } catch (const std::regex_error& e) {
    error = shown(r.pattern) + " cannot be matched: " + e.what();
    return false;
  }
}

// Java's DOTALL for ECMAScript: '.' outside a character class becomes [\s\S].
std::string dot_all(std::string_view p) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      out += c;
      out += p[++i];
      continue;
    }
    if (in_class) {
      in_class = c != ']';
    } else if (c == '[') {
      in_class = true;
    } else if (c == '.') {
      out += "[\\s\\S]";
      continue;
    }
    out += c;
  }
  return out;
}

bool compare(const std::string& comparator, const std::string& pattern, const std::string& value,
             std::string& error) {
  if (comparator == "EQUALS") return pattern == value;
  if (comparator == "REGEXP") {
    Regex re;
    size_t work = 0;
    return compile(pattern, pattern, false, false, re, error) && matches(re, value, work, error);
  }
  return glob_match(pattern, value);
}

bool same_char(char a, char b, bool case_sensitive) {
  return case_sensitive ? a == b
                        : std::tolower(static_cast<unsigned char>(a)) ==
                              std::tolower(static_cast<unsigned char>(b));
}

Verdict changeset(const When& w, const WhenContext& ctx) {
  Verdict v;
  std::string pattern = arg_text(w, "pattern", ctx, v.error);
  std::string comparator = arg_text(w, "comparator", ctx, v.error);
  std::optional<Value> case_arg = arg_value(w, "caseSensitive", ctx, v.error);
  if (!v.error.empty()) return v;
  bool case_sensitive = case_arg && case_arg->truthy();
  for (char& c : comparator) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (comparator.empty()) comparator = "GLOB";
  if (comparator != "GLOB" && comparator != "EQUALS" && comparator != "REGEXP") {
    v.error = "comparator " + shown(comparator) + " is not one of EQUALS, GLOB, REGEXP";
    return v;
  }
  // Backslashes are separators in a glob or a path, escapes in a regex.
  if (comparator != "REGEXP") std::replace(pattern.begin(), pattern.end(), '\\', '/');
  Regex re;
  if (comparator == "REGEXP" && !compile(pattern, pattern, !case_sensitive, false, re, v.error)) {
    return v;
  }
  size_t work = 0;
  std::string path;
  for (const WhenContext::ChangeEntry& change : ctx.changes) {
    for (const std::string& changed : change.paths) {
      path = changed;
      std::replace(path.begin(), path.end(), '\\', '/');
      if (comparator == "GLOB") {
        v.value = glob_match(pattern, path, case_sensitive);
      } else if (comparator == "EQUALS") {
        v.value = std::equal(path.begin(), path.end(), pattern.begin(), pattern.end(),
                             [&](char a, char b) { return same_char(a, b, case_sensitive); });
      } else {
        v.value = matches(re, path, work, v.error);
      }
      if (v.value || !v.error.empty()) return v;
    }
  }
  return v;
}

Verdict changelog(const When& w, const WhenContext& ctx) {
  Verdict v;
  std::string pattern = arg_text(w, "pattern", ctx, v.error);
  if (!v.error.empty()) return v;
  // Jenkins' two patterns (see the header), both compiled up front as
  // Jenkins does: a bad one fails the stage even when nothing changed.
  Regex title_re;
  Regex message_re;
  std::string wrapped = "^[^\\r\\n]*?" + dot_all(pattern) + "[^\\r\\n]*?$";
  if (!compile(pattern, pattern, false, false, title_re, v.error) ||
      !compile(wrapped, pattern, false, true, message_re, v.error)) {
    return v;
  }
  size_t work = 0;
  std::string message;
  for (const WhenContext::ChangeEntry& change : ctx.changes) {
    message.assign(change.message, 0, std::min(change.message.size(), kMaxChangeMessage));
    if (!message.empty() && message.back() != '\n') message += '\n';
    std::string_view title = std::string_view(message).substr(0, message.find('\n'));
    v.value = matches(title_re, title, work, v.error) ||
              (v.error.empty() && matches(message_re, message, work, v.error));
    if (v.value || !v.error.empty()) return v;
  }
  return v;
}

Verdict check(const When& w, const WhenContext& ctx) {
  Verdict v;
  switch (w.kind) {
    case WhenKind::AllOf:
      for (const When& c : w.children) {
        Verdict cv = check(c, ctx);
        if (!cv.error.empty() || !cv.value) return cv;
      }
      v.value = true;
      return v;
    case WhenKind::AnyOf:
      for (const When& c : w.children) {
        Verdict cv = check(c, ctx);
        if (!cv.error.empty() || cv.value) return cv;
      }
      return v;
    case WhenKind::Not: {
      if (w.children.empty()) return v;
      Verdict cv = check(w.children.front(), ctx);
      cv.value = !cv.value;
      return cv;
    }
    case WhenKind::Branch:
    case WhenKind::Tag: {
      const std::string& subject = w.kind == WhenKind::Branch ? ctx.branch : ctx.tag;
      std::string pattern = arg_text(w, "pattern", ctx, v.error);
      std::string comparator = arg_text(w, "comparator", ctx, v.error);
      if (!v.error.empty() || subject.empty()) return v;
      if (w.kind == WhenKind::Tag && pattern.empty()) pattern = "*";
      v.value = compare(comparator.empty() ? "GLOB" : comparator, pattern, subject, v.error);
      return v;
    }
    case WhenKind::BuildingTag:
      v.value = !ctx.tag.empty();
      return v;
    case WhenKind::Environment: {
      std::string name = arg_text(w, "name", ctx, v.error);
      std::string value = arg_text(w, "value", ctx, v.error);
      auto it = ctx.eval.env.find(name);
      v.value = v.error.empty() && it != ctx.eval.env.end() && it->second == value;
      return v;
    }
    case WhenKind::Equals: {
      auto expected = w.args.find("expected");
      auto actual = w.args.find("actual");
      if (expected == w.args.end() || actual == w.args.end()) return v;
      EvalResult a = evaluate(*expected->second, ctx.eval);
      EvalResult b = evaluate(*actual->second, ctx.eval);
      for (const EvalResult* r : {&a, &b}) {
        if (auto* e = std::get_if<EvalError>(r)) {
          v.error = located(*e);
          return v;
        }
      }
      v.value = groovy_equals(std::get<Value>(a), std::get<Value>(b));
      return v;
    }
    case WhenKind::Expression: {
      if (!w.expression) return v;
      EvalResult r = evaluate_condition(*w.expression, ctx.eval);
      if (auto* e = std::get_if<EvalError>(&r)) {
        v.error = located(*e);
        return v;
      }
      v.value = std::get<Value>(r).truthy();
      return v;
    }
    case WhenKind::TriggeredBy: {
      std::string cause = arg_text(w, "cause", ctx, v.error);
      if (cause.empty()) cause = arg_text(w, "value", ctx, v.error);
      std::string t = ctx.trigger;
      v.value = (cause == "TimerTrigger" && t == "cron") ||
                (cause == "SCMTrigger" && t == "push") ||
                (cause == "UserIdCause" && (t == "api" || t == "cli")) || cause == t;
      return v;
    }
    case WhenKind::IsRestartedRun:
      v.value = ctx.restarted;
      return v;
    case WhenKind::Changeset:
      return changeset(w, ctx);
    case WhenKind::Changelog:
      return changelog(w, ctx);
    case WhenKind::ChangeRequest: {
      // Jenkins' ChangeRequestConditional: a change request's run, and each attribute given
      // compared with its CHANGE_* variable (EQUALS by default, or GLOB, or REGEXP); `id` is
      // compared as text.
      auto var = [&](const char* name) {
        auto it = ctx.eval.env.find(name);
        return it == ctx.eval.env.end() ? std::string() : it->second;
      };
      if (var("CHANGE_ID").empty()) return v;
      std::string comparator = arg_text(w, "comparator", ctx, v.error);
      if (comparator.empty()) comparator = "EQUALS";
      static constexpr std::pair<const char*, const char*> kAttributes[] = {
          {"id", "CHANGE_ID"},
          {"target", "CHANGE_TARGET"},
          {"branch", "CHANGE_BRANCH"},
          {"fork", "CHANGE_FORK"},
          {"url", "CHANGE_URL"},
          {"title", "CHANGE_TITLE"},
          {"author", "CHANGE_AUTHOR"},
          {"authorDisplayName", "CHANGE_AUTHOR_DISPLAY_NAME"},
          {"authorEmail", "CHANGE_AUTHOR_EMAIL"}};
      for (const auto& [attribute, name] : kAttributes) {
        if (!w.args.count(attribute)) continue;
        std::string wanted = arg_text(w, attribute, ctx, v.error);
        if (!v.error.empty()) return v;
        const std::string actual = var(name);
        const bool same = std::string_view(attribute) == "id"
                              ? wanted == actual
                              : !actual.empty() && compare(comparator, wanted, actual, v.error);
        if (!v.error.empty() || !same) return v;
      }
      v.value = true;
      return v;
    }
  }
  return v;
}

// Ant's tokenizePath: '/'-separated, empty segments dropped, and an
// absolute path's root kept as a "/" segment.
std::vector<std::string_view> path_segments(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.starts_with('/')) out.emplace_back("/");
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = std::min(path.find('/', start), path.size());
    if (end > start) out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Wildcard matching with one backtracking point, the last star: over the
// characters of a segment (`*`, `?`), and over the segments of a path (`**`).
template <typename Seq, typename IsStar, typename Same>
bool wildcard(const Seq& p, const Seq& s, IsStar is_star, Same same) {
  size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && is_star(p[pi])) {
      star = ++pi;
      mark = si;
    } else if (pi < p.size() && same(p[pi], s[si])) {
      ++pi;
      ++si;
    } else if (star != std::string_view::npos) {
      pi = star;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && is_star(p[pi])) ++pi;
  return pi == p.size();
}

bool segment_match(std::string_view p, std::string_view s, bool case_sensitive) {
  if (p == "/" || s == "/") return p == s;  // the root matches only itself
  return wildcard(
      p, s, [](char c) { return c == '*'; },
      [case_sensitive](char a, char b) { return a == '?' || same_char(a, b, case_sensitive); });
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text, bool case_sensitive) {
  return wildcard(
      path_segments(pattern), path_segments(text), [](std::string_view seg) { return seg == "**"; },
      [case_sensitive](std::string_view a, std::string_view b) {
        return segment_match(a, b, case_sensitive);
      });
}

WhenOutcome evaluate_when(const WhenBlock& when, const WhenContext& ctx) {
  WhenOutcome out;
  for (const When& c : when.conditions) {
    Verdict v = check(c, ctx);
    if (!v.error.empty()) {
      out.error = true;
      out.reason = std::string("when ") + when_kind_name(c.kind) + ": " + v.error;
      return out;
    }
    if (!v.value) {
      out.reason = std::string("when condition '") + when_kind_name(c.kind) + "' is false";
      return out;
    }
  }
  out.run = true;
  return out;
}

}  // namespace gantry::pipelines
