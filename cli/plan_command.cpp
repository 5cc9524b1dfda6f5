// `gantry plan FILE [--json] [--env NAME [--config CONTROLLER.yml]] [--agents]`
#include <ostream>

#include "cli.hpp"
#include "gantry/pipelines/loader.hpp"
#include "gantry/pipelines/planner.hpp"
#include "remote.hpp"
#include "source_file.hpp"

namespace gantry::cli {

int plan_command(const Remote& remote, const std::vector<std::string>& args, std::istream& in,
                 std::ostream& out, std::ostream& err) {
  bool json = false;
  bool agents = false;  // which of the controller's connected agents can take each stage
  std::string file, env, config;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--json" || a == "--format=json") {
      json = true;
    } else if (a == "--agents") {
      agents = true;
    } else if ((a == "--env" || a == "--config") && i + 1 < args.size()) {
      (a == "--env" ? env : config) = args[++i];
    } else if (a.size() > 1 && a[0] == '-') {
      return usage_error(err, "plan", "unknown option '" + a + "'");
    } else if (file.empty()) {
      file = a;
    } else {
      return usage_error(err, "plan", "one file at a time");
    }
  }
  if (file.empty()) return usage_error(err, "plan", "give a pipeline file");
  std::string message;
  auto source = read_source(file, in, message);
  if (!source) {
    err << "gantry plan: " << message << "\n";
    return 2;
  }
  pipelines::LoadResult result =
      pipelines::load_pipeline(source->text, pipelines::format_for_path(file));
  // Warnings go to stderr so `--json` output stays machine-readable.
  err << pipelines::render_all(result.diagnostics, source->display_name, source->text);
  if (!result.pipeline) return 1;
  bool truncated = false;
  pipelines::Plan plan = pipelines::make_plan(*result.pipeline, &truncated);
  if (truncated) {
    err << "gantry plan: the plan has more than " << pipelines::kMaxPlanNodes
        << " stages; showing the first ones\n";
  }
  out << (json ? pipelines::plan_to_json(plan) + "\n" : pipelines::plan_to_text(plan));
  if (agents) {
    std::vector<pipelines::PoolAgent> pool;
    std::string error;
    if (!fetch_pool(remote, pool, error)) {
      err << "gantry plan: --agents: " << error << "\n";
      return 2;
    }
    (json ? err : out) << pool_fit_text(pipelines::fit_to_pool(*result.pipeline, pool),
                                        pool.size());
  }
  if (!env.empty()) return plan_env(*result.pipeline, env, config, remote, json ? err : out, err);
  return 0;
}

}  // namespace gantry::cli
