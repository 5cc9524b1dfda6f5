#include "retention.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>

namespace gantry::agent {

namespace fs = std::filesystem;

std::vector<std::string> stale_workspaces(const std::vector<std::string>& names, int keep,
                                          const std::set<std::string>& in_use) {
  // "<job>-<n>", and its siblings "<job>-<n>@2" (a parallel stage's) and "<job>-<n>@tmp".
  std::map<std::string, std::map<uint64_t, std::vector<std::string>, std::greater<>>> by_job;
  for (const std::string& name : names) {
    const std::string base = name.substr(0, name.find('@'));
    size_t dash = base.rfind('-');
    if (dash == std::string::npos || dash == 0 || dash + 1 == base.size()) continue;
    uint64_t number = 0;
    const char* end = base.data() + base.size();
    auto [p, ec] = std::from_chars(base.data() + dash + 1, end, number);
    if (ec != std::errc() || p != end) continue;
    by_job[base.substr(0, dash)][number].push_back(name);
  }
  std::vector<std::string> stale;
  for (auto& [job, runs] : by_job) {
    size_t i = 0;
    for (auto& [number, dirs] : runs) {
      if (i++ < static_cast<size_t>(std::max(keep, 0))) continue;
      for (const std::string& dir : dirs) {
        if (!in_use.count(dir)) stale.push_back(dir);
      }
    }
  }
  std::sort(stale.begin(), stale.end());
  return stale;
}

std::vector<std::string> stale_mirrors(const std::string& mirrors_dir, fs::file_time_type cutoff) {
  std::vector<std::string> stale;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(mirrors_dir, ec)) {
    std::error_code entry_ec;
    if (!entry.is_directory(entry_ec)) continue;
    auto used = fs::last_write_time(entry.path(), entry_ec);
    if (!entry_ec && used < cutoff) stale.push_back(entry.path().string());
  }
  return stale;
}

void note_mirror_use(const std::string& workspace, const std::string& mirrors_dir) {
  std::ifstream in(fs::path(workspace) / ".git" / "objects" / "info" / "alternates");
  std::string line;
  std::error_code ec;
  fs::path root = fs::weakly_canonical(mirrors_dir, ec);
  while (std::getline(in, line)) {
    fs::path objects = fs::weakly_canonical(line, ec);
    if (ec) continue;
    if (!objects.has_filename()) objects = objects.parent_path();  // a trailing '/'
    fs::path mirror = objects.parent_path();
    if (mirror.parent_path() != root) continue;
    fs::last_write_time(mirror, fs::file_time_type::clock::now(), ec);
  }
}

}  // namespace gantry::agent
