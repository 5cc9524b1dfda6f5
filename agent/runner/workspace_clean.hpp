#pragma once
// What `cleanWs` (Jenkins' ws-cleanup plugin) deletes from a workspace. With
// no patterns: everything under it (dotfiles too; the directory itself
// stays). With patterns: INCLUDE patterns select paths (none: every path),
// EXCLUDE patterns protect them; a selected file goes, a selected directory
// goes with its contents only with `delete_dirs` and when nothing below it is
// protected. Patterns are Ant globs (ant_glob.hpp) on '/'-separated paths
// relative to the workspace, without Ant's default excludes.
//
// Symbolic links are entries like files: removed themselves, never followed,
// so nothing outside the workspace is ever listed or deleted.
// clean_selection() is pure; clean_workspace() reads and changes the file
// system, from any thread.

#include <string>
#include <vector>

namespace gantry::agent {

struct CleanPattern {
  std::string pattern;
  bool exclude = false;  // type: 'EXCLUDE'
};

struct CleanEntry {
  std::string path;  // relative, '/'-separated
  bool is_dir = false;
};

// The entries to remove, in the order given, leaving out anything below a
// directory already in the result. `entries` in pre-order: a directory, then
// everything below it (as a recursive directory walk lists them).
std::vector<std::string> clean_selection(const std::vector<CleanEntry>& entries,
                                         const std::vector<CleanPattern>& patterns,
                                         bool delete_dirs);

// Removes what clean_selection picks from `workspace` (no patterns: all of
// its contents). Returns the number of entries removed; false with `error`
// on the first entry that cannot be listed or removed.
bool clean_workspace(const std::string& workspace, const std::vector<CleanPattern>& patterns,
                     bool delete_dirs, size_t& removed, std::string& error);

}  // namespace gantry::agent
