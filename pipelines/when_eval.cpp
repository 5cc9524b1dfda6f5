#include "gantry/pipelines/when_eval.hpp"

#include <regex>

namespace gantry::pipelines {
namespace {

struct Verdict {
  bool value = false;
  std::string error;
};

std::string arg_text(const When& w, const std::string& key, const WhenContext& ctx,
                     std::string& error) {
  auto it = w.args.find(key);
  if (it == w.args.end() || !it->second) return {};
  EvalResult r = evaluate(*it->second, ctx.eval);
  if (auto* e = std::get_if<EvalError>(&r)) {
    error = std::to_string(e->pos.line) + ":" + std::to_string(e->pos.col) + ": " + e->message;
    return {};
  }
  return std::get<Value>(r).to_string();
}

bool compare(const std::string& comparator, const std::string& pattern, const std::string& value,
             std::string& error) {
  if (comparator == "EQUALS") return pattern == value;
  if (comparator == "REGEXP") {
    if (pattern.size() > kMaxRegexPattern || value.size() > kMaxRegexInput) {
      error = "regular expression or value too long";
      return false;
    }
    try {
      return std::regex_match(value, std::regex(pattern, std::regex::ECMAScript));
    } catch (const std::regex_error&) {
      error = "\"" + pattern + "\" is not a valid regular expression";
      return false;
    }
  }
  return glob_match(pattern, value);
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
          v.error =
              std::to_string(e->pos.line) + ":" + std::to_string(e->pos.col) + ": " + e->message;
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
        v.error =
            std::to_string(e->pos.line) + ":" + std::to_string(e->pos.col) + ": " + e->message;
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
    case WhenKind::ChangeRequest:
    case WhenKind::Changeset:
    case WhenKind::Changelog:
      return v;
  }
  return v;
}

}  // namespace

bool glob_match(std::string_view p, std::string_view s) {
  // Iterative matcher with backtracking to the last star; `**` also crosses '/'.
  size_t pi = 0, si = 0, star_p = std::string_view::npos, star_s = 0;
  bool star_crosses = false;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star_crosses = pi + 1 < p.size() && p[pi + 1] == '*';
      pi += star_crosses ? 2 : 1;
      star_p = pi;
      star_s = si;
      continue;
    }
    if (pi < p.size() && (p[pi] == '?' ? s[si] != '/' : p[pi] == s[si])) {
      ++pi;
      ++si;
      continue;
    }
    if (star_p != std::string_view::npos && (star_crosses || s[star_s] != '/')) {
      pi = star_p;
      si = ++star_s;
      continue;
    }
    return false;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
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
