// gantry-controller: the daemon that owns runs, schedules jobs on agents and
// serves the API (SPEC §10). Config errors exit 2 with FILE:LINE:COL;
// `--check-config FILE` only reads the config (as startup does) and exits 0
// when it is valid, 1 when it is not, 2 on a usage error.
#include <malloc.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>

#include "config.hpp"
#include "gantry/common/log.hpp"
#include "gantry/common/version.hpp"
#include "gantry/net/event_loop.hpp"
#include "service/controller.hpp"

namespace {

constexpr const char* kUsage =
    "usage: gantry-controller [--config FILE] [--listen HOST:PORT] [--data DIR]\n"
    "       gantry-controller --check-config FILE\n"
    "       gantry-controller --version\n"
    "\n"
    "With no config it listens on 127.0.0.1:8080, keeps state in ./gantry-data and\n"
    "writes a generated admin token and agent token there (admin.token, agent.token).\n"
    "kill -HUP reloads the config (repositories, users, agent tokens, environments,\n"
    "secrets, notifications, TLS files); listen, data_dir and turning TLS on or off\n"
    "need a restart.\n"
    "--check-config FILE reads FILE as startup would, without opening the data\n"
    "directory or a port: prints \"FILE: ok\" and exits 0, or prints the\n"
    "FILE:LINE:COL error and exits 1 (2: a usage error).\n";

// Loads the config exactly as startup does and nothing more: no data
// directory, no store, no listening socket.
int check_config(const std::string& path) {
  auto loaded = gantry::controller::load_config(path);
  if (auto* e = std::get_if<gantry::controller::ConfigError>(&loaded)) {
    std::fprintf(stderr, "%s\n", e->message.c_str());
    return 1;
  }
  std::printf("%s: ok\n", path.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace gantry;
  // Fanning events out to many watchers allocates and frees in bursts; with
  // glibc's default (dynamic) trim threshold the top of the heap goes back to
  // the kernel after each burst and faults in again on the next: 13 % of the
  // controller's time at 1 000 watchers (bench/README.md). Keep up to 16 MiB
  // of free heap, and grow it 4 MiB at a time.
  mallopt(M_TRIM_THRESHOLD, 16 << 20);
  mallopt(M_TOP_PAD, 4 << 20);
  std::string config_path, listen, data;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "gantry-controller: %s needs a value\n%s", a.c_str(), kUsage);
        return false;
      }
      out = argv[++i];
      return true;
    };
    if (a == "--version") {
      std::printf("gantry-controller %s\n", kVersion);
      return 0;
    }
    if (a == "--help" || a == "-h") {
      std::printf("%s", kUsage);
      return 0;
    }
    if (a == "--check-config") {
      std::string path;
      if (!value(path)) return 2;
      return check_config(path);
    }
    if (a == "--config") {
      if (!value(config_path)) return 2;
    } else if (a == "--listen") {
      if (!value(listen)) return 2;
    } else if (a == "--data") {
      if (!value(data)) return 2;
    } else {
      std::fprintf(stderr, "gantry-controller: unknown argument '%s'\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  controller::Config config;
  if (!config_path.empty()) {
    auto loaded = controller::load_config(config_path);
    if (auto* e = std::get_if<controller::ConfigError>(&loaded)) {
      std::fprintf(stderr, "%s\n", e->message.c_str());
      return 2;
    }
    config = std::get<controller::Config>(loaded);
  }
  if (!listen.empty() &&
      !controller::parse_listen(listen, config.listen_host, config.listen_port)) {
    std::fprintf(stderr, "gantry-controller: --listen wants HOST:PORT, got '%s'\n", listen.c_str());
    return 2;
  }
  if (!data.empty()) config.data_dir = data;
  try {
    net::EventLoop loop;
    controller::Controller ctl(config, loop);
    std::string error;
    if (!ctl.start(error)) {
      std::fprintf(stderr, "gantry-controller: %s\n", error.c_str());
      return 2;
    }
    // SIGHUP reloads users, environments and secrets from the config file.
    loop.on_signals(
        [&](int sig) {
          if (sig == SIGHUP) {
            ctl.reload(config_path);
            return;
          }
          log::info("controller", "stopping", {{"signal", std::to_string(sig)}});
          ctl.stop();
          loop.stop();
        },
        true);
    loop.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gantry-controller: %s\n", e.what());
    return 2;
  }
  return 0;
}
