// `gantry run [FILE]`: the local runner. An embedded controller and agent in
// this process (a temporary data dir, a free port on 127.0.0.1), the current
// directory as the workspace (no checkout), live stage progress, and the
// exit status of the result. This is how a team tries a Jenkinsfile before
// pushing it.
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <set>
#include <sstream>
#include <thread>

#include "agent.hpp"
#include "gantry/common/log.hpp"
#include "gantry/net/http_client.hpp"
#include "gantry/pipelines/loader.hpp"
#include "remote.hpp"
#include "service/controller.hpp"
#include "source_file.hpp"

namespace gantry::cli {

namespace {

// The environments the pipeline deploys to, in nested, parallel and matrix stages too.
std::set<std::string> deploy_environments(const std::vector<pipelines::Stage>& stages) {
  std::set<std::string> out;
  for (const pipelines::Stage& s : stages) {
    if (s.deploy) out.insert(s.deploy->environment);
    for (const auto* list : {&s.stages, &s.parallel}) {
      std::set<std::string> inner = deploy_environments(*list);
      out.insert(inner.begin(), inner.end());
    }
    if (s.matrix) {
      std::set<std::string> inner = deploy_environments(s.matrix->stages);
      out.insert(inner.begin(), inner.end());
    }
  }
  return out;
}

}  // namespace

namespace fs = std::filesystem;

int local_run_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string file;
  std::map<std::string, std::string> params;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if ((a == "-p" || a == "--param") && i + 1 < args.size()) {
      const std::string& kv = args[++i];
      auto eq = kv.find('=');
      if (eq == std::string::npos) {
        err << "gantry run: -p wants KEY=VALUE\n";
        return 2;
      }
      params[kv.substr(0, eq)] = kv.substr(eq + 1);
    } else if (a.size() > 1 && a[0] == '-') {
      err << "gantry run: unknown option '" << a << "'\nusage: gantry run [FILE] [-p K=V]...\n";
      return 2;
    } else if (file.empty()) {
      file = a;
    } else {
      err << "usage: gantry run [FILE] [-p K=V]...\n";
      return 2;
    }
  }
  if (file.empty()) file = fs::exists("Jenkinsfile") ? "Jenkinsfile" : ".gantry.yml";
  std::string read_error;
  std::istringstream no_stdin;
  auto src = read_source(file, no_stdin, read_error);
  if (!src) {
    err << "gantry run: " << read_error << "\n";
    return 2;
  }
  std::string source = src->text;
  auto format = pipelines::format_for_path(file);
  auto loaded = pipelines::load_pipeline(source, format);
  if (!loaded.pipeline) {
    err << pipelines::render_all(loaded.diagnostics, file, source);
    return 1;
  }

  char tmpl[] = "/tmp/gantry-run-XXXXXX";
  if (!::mkdtemp(tmpl)) {
    err << "gantry run: cannot create a temporary directory\n";
    return 2;
  }
  std::string tmp = tmpl;
  log::set_min_level(log::Level::Warn);
  controller::Config config;
  config.listen_host = "127.0.0.1";
  config.listen_port = 0;
  config.data_dir = tmp + "/controller";
  // Gates belong to the controller: here deploys run ungated and inputs take
  // their defaults, and the user is told so.
  config.open_gates = true;
  for (const std::string& env : deploy_environments(loaded.pipeline->stages)) {
    config.environments[env].name = env;
    err << "gantry run: deploy('" << env
        << "') runs here without its gate; on a controller it waits for its GMUD approval\n";
  }
  int code = 2;
  try {
    net::EventLoop loop;
    controller::Controller ctl(config, loop);
    std::string error;
    if (!ctl.start(error)) throw std::runtime_error(error);
    std::string server = "http://127.0.0.1:" + std::to_string(ctl.port());
    agent::AgentConfig ac;
    ac.controller = server;
    ac.token = ctl.tokens().agent;
    ac.name = "local";
    ac.executors = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
    ac.work_dir = tmp + "/agent";
    ac.fixed_workspace = fs::current_path().string();
    agent::Agent agent(loop, ac);
    agent.start();
    std::thread io([&] { loop.run(); });

    Remote remote;
    remote.server = server;
    remote.token = ctl.tokens().admin;
    remote.color = ::isatty(STDOUT_FILENO) != 0;
    net::ClientRequest req;
    req.method = "POST";
    req.url = server + "/api/v1/runs";
    req.bearer_token = remote.token;
    std::string job = fs::current_path().filename().string();
    // In a git checkout, the branch is the run's ref (for `when { branch }`).
    std::string ref;
    {
      std::ifstream head(".git/HEAD");
      std::string line;
      std::getline(head, line);
      if (line.rfind("ref: ", 0) == 0) ref = line.substr(5);
    }
    req.body = create_run_body("", ref, file, params, source,
                               format == pipelines::SourceFormat::Yaml ? "yaml" : "jenkinsfile");
    // The job name is the directory's, as Jenkins names a job after its folder.
    req.body.insert(req.body.size() - 1, ",\"job\":\"" + (job.empty() ? "local" : job) + "\"");
    net::ClientResponse resp = net::http_request(req);
    if (!resp.ok || resp.status != 201) {
      err << "gantry run: " << (resp.ok ? error_message(resp.body) : resp.error) << "\n";
    } else {
      RunView v;
      parse_run(resp.body, v);
      out << "gantry run: " << file << " in " << ac.fixed_workspace << "\n";
      code = follow_run(remote, v.id, false, out, err);
    }
    loop.post([&] {
      agent.stop();
      ctl.stop();
      loop.stop();
    });
    io.join();
  } catch (const std::exception& e) {
    err << "gantry run: " << e.what() << "\n";
    code = 2;
  }
  std::error_code ec;
  fs::remove_all(tmp, ec);
  return code;
}

}  // namespace gantry::cli
