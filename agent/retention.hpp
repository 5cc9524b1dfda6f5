#pragma once
// What the agent's retention policy removes (SPEC §11: workspaces and
// mirrors are pruned, so disks do not fill by themselves). Workspaces under
// WORK/workspace/ are named JOB-NUMBER after the controller's workspace key;
// per job the newest `keep` stay for reuse, as Jenkins keeps one. Mirrors
// under WORK/mirrors/ go when no checkout used them for a while: a mirror's
// directory time is its last use, refreshed by note_mirror_use() after each
// checkout. These functions only choose; the agent moves the chosen ones to
// its Trash. Blocking file system calls; no state, any thread.

#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace gantry::agent {

// The entries of `names` to remove: per job (the name up to its last '-'),
// all but the `keep` highest numbers, never one in `in_use`. A name that
// does not end in -NUMBER is not a workspace key and stays.
std::vector<std::string> stale_workspaces(const std::vector<std::string>& names, int keep,
                                          const std::set<std::string>& in_use);

// The directories in `mirrors_dir` whose last use is before `cutoff`.
std::vector<std::string> stale_mirrors(const std::string& mirrors_dir,
                                       std::filesystem::file_time_type cutoff);

// Marks as used now the mirror under `mirrors_dir` that `workspace` (a git
// checkout) borrows its objects from, if any.
void note_mirror_use(const std::string& workspace, const std::string& mirrors_dir);

}  // namespace gantry::agent
