// `gantry plan FILE --env NAME [--config CONTROLLER.yml]`: which gates a
// pipeline would meet on its way to an environment. The policy is the
// controller's, never the pipeline's: read from the controller config given
// with --config, or asked of the controller (GET /api/v1/environments).
#include <chrono>
#include <nlohmann/json.hpp>
#include <ostream>

#include "auth.hpp"
#include "cli.hpp"
#include "config.hpp"
#include "gmud/gate.hpp"
#include "remote.hpp"

namespace gantry::cli {

namespace {

struct GateSite {
  std::string stage, environment, input;  // input: its message or "(input)"
};

void collect(const std::vector<pipelines::Stage>& stages, const std::string& prefix,
             std::vector<GateSite>& out) {
  for (const pipelines::Stage& s : stages) {
    std::string name = prefix.empty() ? s.name : prefix + " / " + s.name;
    if (s.deploy) out.push_back({name, s.deploy->environment, ""});
    if (s.input)
      out.push_back(
          {name, "",
           s.input->submitter.empty() ? "anyone who may trigger runs" : s.input->submitter});
    collect(s.stages, name, out);
    collect(s.parallel, name, out);
    if (s.matrix) collect(s.matrix->stages, name, out);
  }
}

struct EnvInfo {
  bool found = false, gated = false;
  std::vector<std::string> explain;
  std::vector<std::string> known;
};

bool from_config(const std::string& path, const std::string& env, EnvInfo& info,
                 std::ostream& err) {
  auto loaded = controller::load_config(path);
  if (auto* e = std::get_if<controller::ConfigError>(&loaded)) {
    err << e->message << "\n";
    return false;
  }
  const controller::Config& config = std::get<controller::Config>(loaded);
  for (const auto& [name, e] : config.environments) info.known.push_back(name);
  auto it = config.environments.find(env);
  if (it == config.environments.end()) return true;
  info.found = true;
  info.gated = it->second.gated;
  if (info.gated) {
    auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    info.explain = gmud::explain_policy(
        it->second.policy, controller::gate_people(config, controller::Permission::Approve, false),
        now);
  }
  return true;
}

bool from_server(const Remote& remote, const std::string& env, EnvInfo& info, std::ostream& err) {
  auto resp = call(remote, "GET", "/api/v1/environments");
  if (!resp.ok || resp.status != 200) {
    report(resp, "plan --env (asking " + remote.server + "; or give --config CONTROLLER.yml)", err);
    return false;
  }
  nlohmann::json j = nlohmann::json::parse(resp.body, nullptr, false);
  if (!j.is_object() || !j.contains("environments") || !j["environments"].is_array()) {
    err << "gantry plan: the controller's answer is not a list of environments\n";
    return false;
  }
  for (const auto& e : j["environments"]) {
    std::string name = e.value("name", "");
    info.known.push_back(name);
    if (name != env) continue;
    info.found = true;
    info.gated = e.value("gated", false);
    info.explain = e.value("explain", std::vector<std::string>{});
  }
  return true;
}

}  // namespace

int plan_env(const pipelines::Pipeline& pipeline, const std::string& env,
             const std::string& config_path, const Remote& remote, std::ostream& out,
             std::ostream& err) {
  EnvInfo info;
  bool ok = config_path.empty() ? from_server(remote, env, info, err)
                                : from_config(config_path, env, info, err);
  if (!ok) return 2;
  std::vector<GateSite> sites;
  collect(pipeline.stages, "", sites);
  out << "\ngates on the way to " << env << ":\n";
  bool any = false;
  for (const GateSite& g : sites) {
    if (!g.input.empty()) {
      out << "  " << g.stage << ": input, answered by " << g.input << "\n";
      any = true;
      continue;
    }
    if (g.environment != env) continue;
    any = true;
    if (!info.found) {
      std::string known;
      for (const auto& k : info.known) known += (known.empty() ? "" : ", ") + k;
      out << "  " << g.stage << ": deploys to " << env
          << ", which the controller does not define (it defines: "
          << (known.empty() ? "none" : known) << "): the stage fails closed\n";
    } else if (!info.gated) {
      out << "  " << g.stage << ": deploys to " << env << ", which has no GMUD: no gate\n";
    } else {
      out << "  " << g.stage << ": GMUD change request for " << env << "\n";
      for (const std::string& line : info.explain) out << "    - " << line << "\n";
    }
  }
  if (!any) out << "  none: no stage deploys to " << env << " or waits for input\n";
  return 0;
}

}  // namespace gantry::cli
