// gantry-agent: connects out to the controller and runs the jobs it is given
// (SPEC §5, §10). Usage errors exit 2; `--check-config FILE` exits 0 when the
// config file is valid, 1 when it is not.
#include <cstdio>

#include "agent.hpp"
#include "agent_config.hpp"
#include "fence_keeper.hpp"
#include "gantry/common/log.hpp"
#include "gantry/common/version.hpp"

namespace {

constexpr const char* kUsage =
    "usage: gantry-agent --controller URL[,URL...] --token-file FILE [--name N] [--labels a,b]\n"
    "                    [--executors N] [--work DIR] [--log-limit SIZE (1K..1G)]\n"
    "                    [--keep-workspaces N (1)] [--mirror-max-age AGE (14d)]\n"
    "                    [--ca FILE] [--client-cert FILE --client-key FILE]\n"
    "                    [--insecure-skip-verify] [--job-user USER]\n"
    "                    [--container-engine auto|podman|docker|none|kubernetes]\n"
    "                    [--tool TYPE:NAME=HOME ...] (tools { maven 'M3' }: --tool "
    "maven:M3=/opt/maven)\n"
    "       gantry-agent --config FILE   (the same keys in YAML)\n"
    "       gantry-agent --check-config FILE   (prints \"FILE: ok\" and exits 0, or the\n"
    "                    FILE:LINE:COL error and exits 1; connects nowhere)\n"
    "       gantry-agent --health FILE   (exits 0 when the agent of that config heard\n"
    "                    from its controller in the last minute: container and pod probes)\n"
    "The token: --token-file FILE, or GANTRY_AGENT_TOKEN in the environment\n"
    "(--token TOKEN works, but any local user can read a command line).\n"
    "An https:// controller is verified against the system's CAs or --ca FILE;\n"
    "--client-cert/--client-key present a certificate (the controller's client_ca).\n"
    "--job-user USER: steps run as USER (the agent runs as root), away from its token.\n"
    "--container-engine: what runs docker/dockerfile/kubernetes stages (auto: podman,\n"
    "then docker; the one found is advertised as the label `docker`).\n"
    "       gantry-agent --version\n";

}  // namespace

namespace gantry::agent {
int kube_exec_main(const std::vector<std::string>& args);
}

int main(int argc, char** argv) {
  using namespace gantry;
  // The agent of a pod runs its steps in the pod's other containers through this.
  if (argc >= 2 && std::string(argv[1]) == "kube-exec")
    return agent::kube_exec_main(std::vector<std::string>(argv + 2, argv + argc));
  agent::AgentConfig config;
  std::string error;
  // --check-config FILE reads the file as --config does (a token_file in it is read too) and
  // starts nothing; --health FILE says whether the agent of that config is alive, for a
  // container HEALTHCHECK or a pod's probe: the age of the file it touches when the controller
  // acknowledges it.
  if (argc >= 2 &&
      (std::string(argv[1]) == "--check-config" || std::string(argv[1]) == "--health")) {
    const std::string mode = argv[1];
    if (argc != 3) {
      std::fprintf(stderr, "gantry-agent: %s takes one FILE\n%s", mode.c_str(), kUsage);
      return 2;
    }
    if (!agent::load_agent_config(argv[2], config, error)) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
    if (mode == "--check-config") {
      std::printf("%s: ok\n", argv[2]);
      return 0;
    }
    std::string message;
    bool healthy = agent::agent_healthy(config, message);
    std::printf("%s\n", message.c_str());
    return healthy ? 0 : 1;
  }
  bool help = false, version = false;
  std::vector<std::string> args(argv + 1, argv + argc);
  const bool parsed = agent::parse_agent_args(args, config, error, help, version);
  agent::hide_token(argc, argv);
  if (!parsed) {
    std::fprintf(stderr, "gantry-agent: %s\n%s", error.c_str(), kUsage);
    return 2;
  }
  if (help) {
    std::printf("%s", kUsage);
    return 0;
  }
  if (version) {
    std::printf("gantry-agent %s\n", kVersion);
    return 0;
  }
  int status = 0;
  try {
    // Forked first, while this process has one thread.
    std::unique_ptr<agent::FenceKeeper> keeper = agent::FenceKeeper::start();
    net::EventLoop loop;
    agent::Agent a(loop, config);
    a.set_fence_keeper(keeper.get());
    a.on_fatal = [&](const std::string& why) {
      std::fprintf(stderr, "gantry-agent: %s\n", why.c_str());
      status = 2;
      loop.stop();
    };
    loop.on_signals([&](int sig) {
      log::info("agent", "stopping", {{"signal", std::to_string(sig)}});
      a.stop();
      loop.stop();
    });
    a.start();
    loop.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gantry-agent: %s\n", e.what());
    return 2;
  }
  return status;
}
