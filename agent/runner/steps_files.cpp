// Steps on the workspace's files: writeFile, readFile, fileExists,
// deleteDir, archiveArtifacts and junit (checkout: steps_scm.cpp).
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "ant_glob.hpp"
#include "junit.hpp"
#include "step_runner.hpp"

namespace gantry::agent {

using pipelines::Result;
using pipelines::Step;
using pipelines::Value;

namespace fs = std::filesystem;

namespace {

constexpr uintmax_t kMaxReadFile = uintmax_t{64} << 20;

fs::path normal(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  return p.has_filename() || !p.has_parent_path() ? p : p.parent_path();  // "a/b/" -> "a/b"
}

}  // namespace

StepStatus StepRunner::write_file(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  auto file = args.string("file");
  auto text = args.string("text").value_or("");
  if (!args.ok()) return args.failure();
  if (!file) return StepStatus::failure("writeFile: no file given");
  std::string path = resolve(scope, *file);
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out || !out.write(text.data(), static_cast<std::streamsize>(text.size())) || !out.flush()) {
    return StepStatus::failure("writeFile: cannot write " + path);
  }
  return StepStatus{};
}

StepStatus StepRunner::read_file(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  auto file = args.string("file", 0);
  if (!args.ok()) return args.failure();
  if (!file) return StepStatus::failure("readFile: no file given");
  std::string path = resolve(scope, *file);
  std::error_code ec;
  uintmax_t size = fs::file_size(path, ec);
  if (ec) return StepStatus::failure("readFile: " + path + ": " + ec.message());
  if (size > kMaxReadFile) return StepStatus::failure("readFile: " + path + " is over 64 MiB");
  std::ifstream in(path, std::ios::binary);
  std::string text(static_cast<size_t>(size), '\0');
  if (!in || !in.read(text.data(), static_cast<std::streamsize>(size))) {
    return StepStatus::failure("readFile: cannot read " + path);
  }
  return StepStatus::with_value(Value(std::move(text)));
}

StepStatus StepRunner::library_resource(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  auto resource = args.string("resource", 0);
  if (!args.ok()) return args.failure();
  if (!resource || resource->empty())
    return StepStatus::failure("libraryResource: no resource given");
  if (job_.libraries.empty()) {
    return StepStatus::failure("libraryResource: this run loaded no shared library");
  }
  const pipelines::LibraryFile* f =
      pipelines::find_library_file(job_.libraries, "resources/" + *resource);
  if (f == nullptr) {
    std::string names;
    for (const auto& l : job_.libraries) names += (names.empty() ? "" : ", ") + l.name;
    return StepStatus::failure("libraryResource: no resources/" + *resource + " in " + names);
  }
  return StepStatus::with_value(Value(f->text));
}

StepStatus StepRunner::library(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  auto id = args.string("identifier", 0);
  if (!args.ok()) return args.failure();
  if (!id) return StepStatus::failure("library: no library named");
  pipelines::LibraryRequest want = pipelines::parse_library_spec(*id, step.pos);
  for (const auto& l : job_.libraries) {
    if (l.name == want.name && (want.version.empty() || want.version == l.version)) {
      log("Library " + l.name + "@" + l.version + " (" + l.commit.substr(0, 12) + ") is loaded");
      return StepStatus::with_value(Value(l.name));
    }
  }
  return StepStatus::failure(
      "library: '" + *id +
      "' was not loaded for this run: the controller loads the libraries a pipeline names "
      "literally (@Library, libraries { lib(...) }, library 'name@version') from its "
      "`libraries:` configuration before the run starts");
}

namespace {

// The command a tool type provides, to find an unlisted tool on PATH.
std::string tool_command(const std::string& type) {
  static const std::pair<const char*, const char*> kCommands[] = {
      {"maven", "mvn"},      {"jdk", "java"}, {"gradle", "gradle"}, {"nodejs", "node"},
      {"go", "go"},          {"ant", "ant"},  {"git", "git"},       {"dotnetsdk", "dotnet"},
      {"msbuild", "msbuild"}};
  for (const auto& [t, c] : kCommands) {
    if (type == t) return c;
  }
  return type;
}

}  // namespace

bool tool_home(const JobState& job, const std::string& type, const std::string& name,
               const std::map<std::string, std::string>& env, std::string& home,
               std::string& error) {
  for (const auto& [key, dir] : job.tools) {
    size_t colon = key.find(':');
    if (key.substr(colon + 1) == name && (type.empty() || key.substr(0, colon) == type)) {
      home = dir;
      return true;
    }
  }
  const std::string what = (type.empty() ? "tool" : type) + " '" + name + "'";
  if (job.tools_from_path && type.empty()) {
    // `tool 'mvn-3.6'` without a type: the name says which, as installations are named.
    std::string lower;
    for (char ch : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    static const std::pair<const char*, const char*> kGuesses[] = {
        {"mvn", "maven"},     {"maven", "maven"}, {"jdk", "jdk"}, {"java", "jdk"},
        {"gradle", "gradle"}, {"node", "nodejs"}, {"ant", "ant"}, {"go", "go"}};
    for (const auto& [part, guess] : kGuesses) {
      if (lower.find(part) != std::string::npos)
        return tool_home(job, guess, name, env, home, error);
    }
  }
  if (job.tools_from_path && !type.empty()) {
    // This machine's PATH (the job's may be the pipeline's own, or not expanded yet).
    auto path = env.find("PATH");
    const char* own = std::getenv("PATH");
    const std::string cmd = tool_command(type);
    std::string dirs = own != nullptr ? own : (path == env.end() ? "" : path->second);
    for (size_t start = 0; start <= dirs.size();) {
      size_t end = dirs.find(':', start);
      if (end == std::string::npos) end = dirs.size();
      fs::path dir = dirs.substr(start, end - start);
      start = end + 1;
      std::error_code ec;
      if (dir.empty() || !fs::exists(dir / cmd, ec)) continue;
      home = (dir.filename() == "bin" ? dir.parent_path() : dir).string();
      return true;
    }
    error = what + " is not configured here and " + cmd + " is not on PATH";
    return false;
  }
  error = what + " is not configured on this agent (`tools:` in its config, or --tool " +
          (type.empty() ? std::string("TYPE") : type) + ":" + name + "=HOME)";
  return false;
}

void apply_tool(const std::string& type, const std::string& home,
                std::map<std::string, std::string>& env) {
  std::string& path = env["PATH"];
  path = home + "/bin" + (path.empty() ? "" : ":" + path);
  static const std::pair<const char*, const char*> kVars[] = {
      {"jdk", "JAVA_HOME"},      {"maven", "MAVEN_HOME"}, {"maven", "M2_HOME"},
      {"gradle", "GRADLE_HOME"}, {"ant", "ANT_HOME"},     {"nodejs", "NODEJS_HOME"},
      {"go", "GOROOT"}};
  for (const auto& [t, var] : kVars) {
    if (type == t) env[var] = home;
  }
}

StepStatus StepRunner::tool(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  auto name = args.string("name", 0);
  auto type = args.string("type");
  if (!args.ok()) return args.failure();
  if (!name || name->empty()) return StepStatus::failure("tool: no tool name given");
  std::string t = type.value_or("");
  // Jenkins' type names are describable classes too (hudson.tasks.Maven$MavenInstallation).
  if (t.find("Maven") != std::string::npos) t = "maven";
  if (t.find("JDK") != std::string::npos) t = "jdk";
  std::string home, error;
  if (!tool_home(job_, t, *name, effective_env(scope), home, error)) {
    return StepStatus::failure("tool: " + error);
  }
  return StepStatus::with_value(Value(home));
}

StepStatus StepRunner::file_exists(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  auto file = args.string("file", 0);
  if (!args.ok()) return args.failure();
  std::error_code ec;
  return StepStatus::with_value(Value(file && fs::exists(resolve(scope, *file), ec)));
}

// Deletes the current directory. The workspace itself is emptied but kept,
// so the steps after it still have somewhere to run.
StepStatus StepRunner::delete_dir(const Step&, const StepScope& scope) {
  std::error_code ec;
  fs::path cwd = normal(scope.cwd);
  if (cwd == normal(job_.workspace)) {
    for (fs::directory_iterator it(cwd, ec), end; !ec && it != end; it.increment(ec)) {
      fs::remove_all(it->path(), ec);
      if (ec) break;
    }
  } else {
    fs::remove_all(cwd, ec);
  }
  if (ec) return StepStatus::failure("deleteDir: " + scope.cwd + ": " + ec.message());
  return StepStatus{};
}

StepStatus StepRunner::archive_artifacts(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  GlobOptions glob;
  glob.includes = args.string("artifacts", 0).value_or("");
  glob.excludes = args.string("excludes").value_or("");
  glob.default_excludes = args.boolean("defaultExcludes", true);
  glob.case_sensitive = args.boolean("caseSensitive", true);
  bool allow_empty = args.boolean("allowEmptyArchive", false);
  bool only_if_successful = args.boolean("onlyIfSuccessful", false);
  if (!args.ok()) return args.failure();
  if (only_if_successful && job_.overall() != Result::Success) {
    log("Skipped archiving because the build is not successful");
    return StepStatus{};
  }
  std::vector<std::string> files;
  std::string error;
  if (!ant_glob(scope.cwd, glob, files, error)) {
    return StepStatus::failure("archiveArtifacts: " + error);
  }
  if (files.empty()) {
    std::string msg = "No artifacts found that match the file pattern \"" + glob.includes + "\"";
    if (!allow_empty) return StepStatus::failure(msg);
    log(msg);
    return StepStatus{};
  }
  log("Archiving " + std::to_string(files.size()) + " artifact(s)");
  for (const std::string& rel : files) {
    std::string abs = (fs::path(scope.cwd) / rel).string();
    if (!job_.host.upload_artifact(rel, abs, error)) {
      return StepStatus::failure("archiveArtifacts: " + rel + ": " + error);
    }
  }
  return StepStatus{};
}

StepStatus StepRunner::junit(const Step& step, const StepScope& scope) {
  StepArgs args(step, context(scope));
  GlobOptions glob;
  glob.includes = args.string("testResults", 0).value_or("");
  bool allow_empty = args.boolean("allowEmptyResults", false);
  bool keep_stable = args.boolean("skipMarkingBuildUnstable", false);
  if (!args.ok()) return args.failure();
  std::vector<std::string> files;
  std::string error;
  if (!ant_glob(scope.cwd, glob, files, error)) return StepStatus::failure("junit: " + error);
  if (files.empty()) {
    if (!allow_empty) {
      return StepStatus::failure("No test report files were found matching \"" + glob.includes +
                                 "\". Configuration error?");
    }
    log("No test report files were found matching \"" + glob.includes + "\"");
    return StepStatus{};
  }
  protocol::TestCounts counts;
  std::vector<TestCase> cases;
  for (const std::string& rel : files) {
    if (!parse_junit_file((fs::path(scope.cwd) / rel).string(), counts, error, &cases)) {
      return StepStatus::failure("junit: " + rel + ": " + error);
    }
  }
  // The cases go to the controller for the run's test list; a report that cannot be kept is
  // said, and the counts still count.
  std::string report;
  if (!temp_path("tests.json", report, error)) return StepStatus::failure("junit: " + error);
  {
    std::ofstream out(report, std::ios::binary | std::ios::trunc);
    out << tests_report_json(std::move(cases));
    if (!out) return StepStatus::failure("junit: cannot write " + report);
  }
  bool kept = job_.host.upload_tests(report, error);
  std::error_code ec;
  fs::remove(report, ec);
  if (!kept) log("junit: the test list was not kept (" + error + "); the counts are");
  job_.tests.total += counts.total;
  job_.tests.failed += counts.failed;
  job_.tests.skipped += counts.skipped;
  log("Recorded test results from " + std::to_string(files.size()) +
      " file(s): " + std::to_string(counts.total) + " tests, " + std::to_string(counts.failed) +
      " failed, " + std::to_string(counts.skipped) + " skipped");
  if (counts.failed > 0 && !keep_stable) {
    job_.mark_unstable(std::to_string(counts.failed) + " test(s) failed");
  }
  return StepStatus{};
}

}  // namespace gantry::agent
