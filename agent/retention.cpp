#include "retention.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>

namespace gantry::agent {

namespace fs = std::filesystem;

std::vector<std::string> stale_workspaces(const std::vector<std::string>& names, int keep,
                                          const std::set<std::string>& in_use) {
  std::map<std::string, std::vector<std::pair<uint64_t, std::string>>> by_job;
  for (const std::string& name : names) {
    size_t dash = name.rfind('-');
    if (dash == std::string::npos || dash == 0 || dash + 1 == name.size()) continue;
    uint64_t number = 0;
    const char* end = name.data() + name.size();
    auto [p, ec] = std::from_chars(name.data() + dash + 1, end, number);
    if (ec != std::errc() || p != end) continue;
    by_job[name.substr(0, dash)].emplace_back(number, name);
  }
  std::vector<std::string> stale;
  for (auto& [job, runs] : by_job) {
    std::sort(runs.begin(), runs.end(), std::greater<>());
    for (size_t i = static_cast<size_t>(std::max(keep, 0)); i < runs.size(); ++i) {
      if (!in_use.count(runs[i].second)) stale.push_back(runs[i].second);
    }
  }
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
