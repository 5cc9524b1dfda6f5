// `gantry lint FILE... [--format text|json] [--strict] [--agents]`
#include <ostream>

#include "cli.hpp"
#include "cli_json.hpp"
#include "gantry/pipelines/loader.hpp"
#include "remote.hpp"
#include "source_file.hpp"

namespace gantry::cli {

using pipelines::Diagnostics;

int lint_command(const Remote& remote, const std::vector<std::string>& args, std::istream& in,
                 std::ostream& out, std::ostream& err) {
  bool json = false;
  bool strict = false;
  bool agents = false;  // check each stage against the controller's connected agents
  std::vector<std::string> files;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--strict") {
      strict = true;
    } else if (a == "--agents") {
      agents = true;
    } else if (a == "--format" && i + 1 < args.size()) {
      const std::string& f = args[++i];
      if (f != "json" && f != "text") {
        return usage_error(err, "lint", "--format takes text or json, not '" + f + "'");
      }
      json = f == "json";
    } else if (a.rfind("--format=", 0) == 0) {
      json = a.substr(9) == "json";
    } else if (a == "--json") {
      json = true;
    } else if (a.size() > 1 && a[0] == '-') {
      return usage_error(err, "lint", "unknown option '" + a + "'");
    } else {
      files.push_back(a);
    }
  }
  if (files.empty()) return usage_error(err, "lint", "give one or more files ('-' reads stdin)");
  std::vector<pipelines::PoolAgent> pool;
  if (agents) {
    std::string error;
    if (!fetch_pool(remote, pool, error)) {
      err << "gantry lint: --agents: " << error << "\n";
      return 2;
    }
  }
  size_t errors = 0;
  size_t warnings = 0;
  bool io_error = false;
  std::vector<LintReport> reports;
  for (const std::string& path : files) {
    std::string message;
    auto source = read_source(path, in, message);
    if (!source) {
      err << "gantry lint: " << message << "\n";
      io_error = true;
      continue;
    }
    // stdin has no name to choose the form by: YAML when it looks like YAML.
    auto format = pipelines::format_for_path(path);
    pipelines::LoadResult result = pipelines::load_pipeline(source->text, format);
    if (agents && result.pipeline) {
      // A stage no connected agent can take would wait forever: a warning at its agent.
      for (const auto& fit : pipelines::fit_to_pool(*result.pipeline, pool)) {
        if (fit.evaluated || !fit.agents.empty()) continue;
        std::string why = fit.label.find(pipelines::kContainerCapability) != std::string::npos
                              ? " (a container engine)"
                              : "";
        result.diagnostics.warning(
            fit.pos, "stage '" + fit.stage_id + "' needs an agent with label '" + fit.label + "'" +
                         why + ": none of the " + std::to_string(pool.size()) +
                         " connected agent(s) of " + remote.server + " has it");
      }
    }
    errors += result.diagnostics.error_count();
    warnings += result.diagnostics.warning_count();
    if (json) {
      reports.push_back(LintReport{source->display_name, std::move(result.diagnostics)});
    } else {
      out << pipelines::render_all(result.diagnostics, source->display_name, source->text);
    }
  }
  if (json) {
    out << lint_reports_to_json(reports) << "\n";
  } else {
    auto plural = [](size_t n, const char* word) {
      return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
    };
    out << plural(files.size(), "file") << " checked: " << plural(errors, "error") << ", "
        << plural(warnings, "warning") << "\n";
  }
  if (io_error) return 2;
  if (errors > 0 || (strict && warnings > 0)) return 1;
  return 0;
}

}  // namespace gantry::cli
