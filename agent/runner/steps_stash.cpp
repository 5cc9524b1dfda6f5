// stash and unstash: the files travel as a tar archive made and unpacked by
// the system's tar (GNU tar refuses absolute and `..` member names when
// extracting), through the host's upload/download. Temporary files live in
// "<workspace>@tmp", as Jenkins keeps them beside the workspace.
#include <unistd.h>
#include <cerrno>
#include <cstring>

#include <filesystem>
#include <fstream>

#include "ant_glob.hpp"
#include "step_runner.hpp"

namespace gantry::agent {

using pipelines::Step;

namespace fs = std::filesystem;

namespace {

// Looks `name` up in the job's PATH; Process runs argv[0] as a path.
std::string find_program(const std::string& name, const StepScope& scope) {
  auto it = scope.env.find("PATH");
  std::string found = find_on_path(name, it == scope.env.end() ? "" : it->second);
  return found.empty() ? name : found;
}

class TempFiles {
 public:
  TempFiles() = default;
  TempFiles(const TempFiles&) = delete;
  TempFiles& operator=(const TempFiles&) = delete;
  ~TempFiles() {
    std::error_code ec;
    for (const auto& p : paths_) fs::remove(p, ec);
  }
  void add(const std::string& path) { paths_.push_back(path); }

 private:
  std::vector<std::string> paths_;
};

}  // namespace

bool StepRunner::give_to_job_user(const std::string& path, std::string& error) {
  if (!job_.run_as || ::chown(path.c_str(), job_.run_as->uid, job_.run_as->gid) == 0) return true;
  error = "cannot give " + path + " to the job user: " + std::strerror(errno);
  return false;
}

bool StepRunner::temp_path(std::string_view stem, std::string& path, std::string& error) {
  std::string ws = job_.workspace;
  while (ws.size() > 1 && ws.back() == '/') ws.pop_back();
  fs::path dir = ws + "@tmp";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!ec) fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  // The job user's own: its steps read and write here (tar, credential files), nobody else.
  if (!ec && job_.run_as && ::chown(dir.c_str(), job_.run_as->uid, job_.run_as->gid) != 0)
    ec = std::error_code(errno, std::generic_category());
  if (ec) {
    error = "cannot create " + dir.string() + ": " + ec.message();
    return false;
  }
  path = (dir / (std::string(stem) + "-" + job_.cookie + "-" + std::to_string(++temp_counter_)))
             .string();
  return true;
}

StepStatus StepRunner::stash(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  auto name = args.string("name", 0);
  GlobOptions glob;
  glob.includes = args.string("includes").value_or("**");
  glob.excludes = args.string("excludes").value_or("");
  glob.default_excludes = args.boolean("useDefaultExcludes", true);
  bool allow_empty = args.boolean("allowEmpty", false);
  if (!args.ok()) return args.failure();
  if (!name || name->empty()) return StepStatus::failure("stash: no name given");
  std::vector<std::string> files;
  std::string error;
  if (!ant_glob(scope.cwd, glob, files, error)) return StepStatus::failure("stash: " + error);
  if (files.empty() && !allow_empty) {
    return StepStatus::failure("No files included in stash '" + *name + "'");
  }
  TempFiles temps;
  std::string list, archive;
  if (!temp_path("stash-list", list, error) || !temp_path("stash.tar", archive, error)) {
    return StepStatus::failure("stash: " + error);
  }
  temps.add(list);
  temps.add(archive);
  {
    std::ofstream out(list, std::ios::binary);
    for (const auto& f : files) out << f << '\0';
    if (!out.flush()) return StepStatus::failure("stash: cannot write " + list);
  }
  StepStatus st = run_process({find_program("tar", scope), "-cf", archive, "-C", scope.cwd,
                               "--null", "--no-recursion", "-T", list},
                              scope, nullptr);
  if (!st.ok) return st;
  if (int64_t code = std::get<int64_t>(st.value.data); code != 0) {
    return StepStatus::failure("stash: tar exited with code " + std::to_string(code));
  }
  if (!job_.host.upload_stash(*name, archive, error)) {
    return StepStatus::failure("stash '" + *name + "': " + error);
  }
  log("Stashed " + std::to_string(files.size()) + " file(s) as '" + *name + "'");
  return StepStatus{};
}

StepStatus StepRunner::unstash(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  auto name = args.string("name", 0);
  if (!args.ok()) return args.failure();
  if (!name || name->empty()) return StepStatus::failure("unstash: no name given");
  TempFiles temps;
  std::string archive, error;
  if (!temp_path("unstash.tar", archive, error)) return StepStatus::failure("unstash: " + error);
  temps.add(archive);
  if (!job_.host.download_stash(*name, archive, error)) {
    return StepStatus::failure("unstash '" + *name + "': " + error);
  }
  StepStatus st =
      run_process({find_program("tar", scope), "-xf", archive, "-C", scope.cwd, "--no-same-owner"},
                  scope, nullptr);
  if (!st.ok) return st;
  if (int64_t code = std::get<int64_t>(st.value.data); code != 0) {
    return StepStatus::failure("unstash: tar exited with code " + std::to_string(code));
  }
  log("Unstashed '" + *name + "'");
  return StepStatus{};
}

}  // namespace gantry::agent
