#pragma once
// Ant-style file patterns, as Jenkins' archiveArtifacts, stash and junit take
// them: "a/**/*.jar, b.txt". `*` matches within one path segment, `?` one
// character, `**` any number of whole segments (none included); a pattern
// ending in `/` means everything below (`dir/` = `dir/**`). Dot files are
// ordinary files to Ant: `*` matches `.env`. Ant's default excludes (VCS
// metadata such as `**/.git/**`, editor backups) apply unless turned off.
//
// Not responsible for following directory symlinks (never followed, so a
// link loop cannot hang a job) or for uploading anything. Plain functions;
// ant_glob() reads the file system and is safe from any thread.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace gantry::agent {

// Refuses to list more files than this: a pattern like `**` over a huge tree
// is a configuration error, not something to ship.
inline constexpr size_t kMaxGlobFiles = 100000;

// Splits "a/*.txt, b/**" on commas, trimming blanks; empty items dropped.
std::vector<std::string> split_patterns(std::string_view list);

// Whether relative path `path` ("a/b/c.txt", '/'-separated) matches `pattern`.
bool ant_match(std::string_view pattern, std::string_view path, bool case_sensitive = true);

struct GlobOptions {
  std::string includes;  // comma-separated patterns; empty = nothing
  std::string excludes;  // comma-separated patterns
  bool default_excludes = true;
  bool case_sensitive = true;
};

// Regular files (and symlinks to files) under `base` that match an include
// and no exclude, as sorted paths relative to `base`. False with `error` set
// when `base` cannot be read or more than kMaxGlobFiles files match.
bool ant_glob(const std::string& base, const GlobOptions& options, std::vector<std::string>& out,
              std::string& error);

}  // namespace gantry::agent
