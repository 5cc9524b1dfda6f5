// Ant patterns run as a small NFA over path segments: each state is a
// position in the pattern, `**` stays put while consuming a segment. The same
// automaton answers "does this path match" and, for pruning the walk, "can
// anything below this directory match" and "is everything below excluded".
#include "ant_glob.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>

namespace gantry::agent {
namespace {

namespace fs = std::filesystem;

// Ant's DirectoryScanner.DEFAULTEXCLUDES.
constexpr std::string_view kDefaultExcludes[] = {
    "**/*~",         "**/#*#",         "**/.#*",         "**/%*%",
    "**/._*",        "**/CVS",         "**/CVS/**",      "**/.cvsignore",
    "**/SCCS",       "**/SCCS/**",     "**/vssver.scc",  "**/.svn",
    "**/.svn/**",    "**/.git",        "**/.git/**",     "**/.gitattributes",
    "**/.gitignore", "**/.gitmodules", "**/.hg",         "**/.hg/**",
    "**/.hgignore",  "**/.hgsub",      "**/.hgsubstate", "**/.hgtags",
    "**/.bzr",       "**/.bzr/**",     "**/.bzrignore",  "**/.DS_Store"};

std::vector<std::string> split_segments(std::string_view path) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = std::min(path.find('/', pos), path.size());
    if (end > pos) out.emplace_back(path.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

// `*` and `?` within one segment; greedy with one backtrack point, linear.
bool segment_match(std::string_view pat, std::string_view text, bool case_sensitive) {
  auto same = [case_sensitive](char a, char b) {
    if (case_sensitive) return a == b;
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  };
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pat.size() && (pat[p] == '?' || (pat[p] != '*' && same(pat[p], text[t])))) {
      ++p;
      ++t;
    } else if (p < pat.size() && pat[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

class Pattern {
 public:
  Pattern(std::string_view text, bool case_sensitive) : case_sensitive_(case_sensitive) {
    std::string p(text);
    std::replace(p.begin(), p.end(), '\\', '/');
    while (p.starts_with("./")) p.erase(0, 2);
    if (p.ends_with("/")) p += "**";
    segs_ = split_segments(p);
  }

  // Pattern positions reachable after consuming `path` (closed over `**`).
  std::vector<bool> run(const std::vector<std::string>& path) const {
    std::vector<bool> states(segs_.size() + 1, false);
    states[0] = true;
    close(states);
    for (const std::string& seg : path) {
      std::vector<bool> next(segs_.size() + 1, false);
      bool any = false;
      for (size_t i = 0; i < segs_.size(); ++i) {
        if (!states[i]) continue;
        if (segs_[i] == "**") {
          next[i] = any = true;
        } else if (segment_match(segs_[i], seg, case_sensitive_)) {
          next[i + 1] = any = true;
        }
      }
      if (!any) return next;
      close(next);
      states = std::move(next);
    }
    return states;
  }

  bool matches(const std::vector<std::string>& path) const { return run(path).back(); }

  // Some file below directory `dir` could match.
  bool may_match_below(const std::vector<std::string>& dir) const {
    auto states = run(dir);
    return std::find(states.begin(), states.end() - 1, true) != states.end() - 1;
  }

  // Every file below directory `dir` matches (the rest of the pattern is `**`).
  bool covers_below(const std::vector<std::string>& dir) const {
    auto states = run(dir);
    for (size_t i = 0; i < segs_.size(); ++i) {
      if (states[i] && std::all_of(segs_.begin() + static_cast<long>(i), segs_.end(),
                                   [](const std::string& s) { return s == "**"; })) {
        return true;
      }
    }
    return false;
  }

 private:
  void close(std::vector<bool>& states) const {
    for (size_t i = 0; i < segs_.size(); ++i) {
      if (states[i] && segs_[i] == "**") states[i + 1] = true;
    }
  }

  std::vector<std::string> segs_;
  bool case_sensitive_;
};

std::vector<Pattern> compile(std::string_view list, bool case_sensitive) {
  std::vector<Pattern> out;
  for (const std::string& p : split_patterns(list)) out.emplace_back(p, case_sensitive);
  return out;
}

}  // namespace

std::vector<std::string> split_patterns(std::string_view list) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t end = std::min(list.find(',', pos), list.size());
    std::string_view item = list.substr(pos, end - pos);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) {
      item.remove_prefix(1);
    }
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) {
      item.remove_suffix(1);
    }
    if (!item.empty()) out.emplace_back(item);
    pos = end + 1;
  }
  return out;
}

bool ant_match(std::string_view pattern, std::string_view path, bool case_sensitive) {
  return Pattern(pattern, case_sensitive).matches(split_segments(path));
}

bool ant_glob(const std::string& base, const GlobOptions& options, std::vector<std::string>& out,
              std::string& error) {
  out.clear();
  std::vector<Pattern> includes = compile(options.includes, options.case_sensitive);
  std::vector<Pattern> excludes = compile(options.excludes, options.case_sensitive);
  if (options.default_excludes) {
    for (std::string_view p : kDefaultExcludes) excludes.emplace_back(p, options.case_sensitive);
  }
  if (includes.empty()) return true;
  auto any = [](const std::vector<Pattern>& list, auto&& pred) {
    return std::any_of(list.begin(), list.end(), pred);
  };
  std::error_code ec;
  fs::recursive_directory_iterator it(base, fs::directory_options::skip_permission_denied, ec);
  if (ec) {
    error = "cannot read " + base + ": " + ec.message();
    return false;
  }
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) {
      error = "cannot read " + base + ": " + ec.message();
      return false;
    }
    const fs::directory_entry& entry = *it;
    std::vector<std::string> rel =
        split_segments(entry.path().lexically_relative(base).generic_string());
    std::error_code type_ec;
    if (entry.is_directory(type_ec) && !entry.is_symlink(type_ec)) {
      bool wanted = any(includes, [&](const Pattern& p) { return p.may_match_below(rel); });
      bool dropped = any(excludes, [&](const Pattern& p) { return p.covers_below(rel); });
      if (!wanted || dropped) it.disable_recursion_pending();
      continue;
    }
    if (!entry.is_regular_file(type_ec)) continue;  // follows a symlink to a file
    if (!any(includes, [&](const Pattern& p) { return p.matches(rel); })) continue;
    if (any(excludes, [&](const Pattern& p) { return p.matches(rel); })) continue;
    if (out.size() >= kMaxGlobFiles) {
      error =
          "more than " + std::to_string(kMaxGlobFiles) + " files match '" + options.includes + "'";
      return false;
    }
    std::string joined;
    for (const auto& s : rel) joined += (joined.empty() ? "" : "/") + s;
    out.push_back(std::move(joined));
  }
  std::sort(out.begin(), out.end());
  return true;
}

}  // namespace gantry::agent
