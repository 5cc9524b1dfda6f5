// cleanWs' selection and deletion (workspace_clean.hpp).
#include "workspace_clean.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "ant_glob.hpp"

namespace gantry::agent {

namespace fs = std::filesystem;

namespace {

bool below(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         path[dir.size()] == '/';
}

}  // namespace

std::vector<std::string> clean_selection(const std::vector<CleanEntry>& entries,
                                         const std::vector<CleanPattern>& patterns,
                                         bool delete_dirs) {
  bool any_include = std::any_of(patterns.begin(), patterns.end(),
                                 [](const CleanPattern& p) { return !p.exclude; });
  auto matches = [&](const std::string& path, bool exclude) {
    return std::any_of(patterns.begin(), patterns.end(), [&](const CleanPattern& p) {
      return p.exclude == exclude && ant_match(p.pattern, path);
    });
  };
  std::vector<bool> excluded(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) excluded[i] = matches(entries[i].path, true);
  // Pre-order: what lies below entries[i] follows it, contiguously.
  auto protects = [&](size_t dir) {
    for (size_t j = dir + 1; j < entries.size() && below(entries[j].path, entries[dir].path); ++j) {
      if (excluded[j]) return true;
    }
    return false;
  };
  std::vector<std::string> out;
  for (size_t i = 0; i < entries.size(); ++i) {
    const CleanEntry& e = entries[i];
    if (!out.empty() && below(e.path, out.back())) continue;  // goes with its directory
    if (excluded[i] || (any_include && !matches(e.path, false))) continue;
    if (e.is_dir && (!delete_dirs || protects(i))) continue;
    out.push_back(e.path);
  }
  return out;
}

bool clean_workspace(const std::string& workspace, const std::vector<CleanPattern>& patterns,
                     bool delete_dirs, size_t& removed, std::string& error) {
  removed = 0;
  std::error_code ec;
  std::vector<fs::path> doomed;
  if (patterns.empty()) {
    for (fs::directory_iterator it(workspace, ec), end; !ec && it != end; it.increment(ec)) {
      doomed.push_back(it->path());
    }
  } else {
    std::vector<CleanEntry> entries;
    for (fs::recursive_directory_iterator it(workspace, ec), end; !ec && it != end;
         it.increment(ec)) {
      std::error_code type_ec;
      bool dir = it->is_directory(type_ec) && !it->is_symlink(type_ec);
      entries.push_back({it->path().lexically_relative(workspace).generic_string(), dir});
    }
    if (!ec) {
      for (const std::string& rel : clean_selection(entries, patterns, delete_dirs)) {
        doomed.push_back(fs::path(workspace) / rel);
      }
    }
  }
  if (ec) {
    error = "cannot read " + workspace + ": " + ec.message();
    return false;
  }
  for (const fs::path& p : doomed) {
    // remove_all removes a symbolic link itself and never follows one.
    fs::remove_all(p, ec);
    if (ec) {
      error = "cannot delete " + p.string() + ": " + ec.message();
      return false;
    }
    ++removed;
  }
  return true;
}

}  // namespace gantry::agent
