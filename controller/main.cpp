// gantry-controller: the daemon that owns runs, schedules jobs on agents and
// serves the API (SPEC §10). Config errors exit 2 with FILE:LINE:COL;
// `--check-config FILE` only reads the config (as startup does) and exits 0
// when it is valid, 1 when it is not, 2 on a usage error.
#include <malloc.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "config.hpp"
#include "gantry/common/log.hpp"
#include "gantry/common/version.hpp"
#include "gantry/net/event_loop.hpp"
#include "service/controller.hpp"
#include "service/follower.hpp"
#include "store/leader_lease.hpp"
#include "store/migrate_sqlite.hpp"

namespace {

constexpr const char* kUsage =
    "usage: gantry-controller [--config FILE] [--listen HOST:PORT] [--data DIR] [--advertise URL]\n"
    "       gantry-controller --check-config FILE\n"
    "       gantry-controller --migrate-sqlite DATA_DIR (--to URL | --config FILE)\n"
    "       gantry-controller --version\n"
    "\n"
    "With no config it listens on 127.0.0.1:8080, keeps state in ./gantry-data and\n"
    "writes a generated admin token and agent token there (admin.token, agent.token).\n"
    "kill -HUP reloads the config (repositories, users, agent tokens, environments,\n"
    "secrets, notifications, TLS files); listen, data_dir and turning TLS on or off\n"
    "need a restart.\n"
    "With database: postgresql://..., several controllers share one database and\n"
    "one of them leads (docs/ha.md); --advertise URL (database.advertise) is where\n"
    "the others send users and agents while this one leads.\n"
    "--check-config FILE reads FILE as startup would, without opening the data\n"
    "directory or a port: prints \"FILE: ok\" and exits 0, or prints the\n"
    "FILE:LINE:COL error and exits 1 (2: a usage error).\n"
    "--migrate-sqlite DATA_DIR copies DATA_DIR/gantry.db (its controller stopped)\n"
    "into the empty PostgreSQL database at URL (postgresql://...), or at FILE's\n"
    "database:, ids and audit chain included; log and artifact files stay in\n"
    "DATA_DIR. Prints the rows copied and exits 0, or the error and exits 1.\n";

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

// This process's name in the leader's lease: unique per process, so that a restarted controller
// waits for its previous lease to expire like any other.
std::string lease_holder() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::random_device random;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%08x", random());
  return std::string(host) + "-" + std::to_string(::getpid()) + "-" + suffix;
}

// Controllers sharing PostgreSQL (docs/ha.md): follow until this one takes the leader's lease,
// then lead until stopped. A leader that is deposed exits (75, EX_TEMPFAIL) at once, so that it
// writes nothing more; its service manager starts it again, as a follower.
// `reread`: the config file again, with the command line's overrides (false: it does not load, and
// why is logged); a follower takes it at SIGHUP, so that it leads with the config of the moment.
int run_shared(gantry::controller::Config config, const std::string& config_path,
               const std::function<bool(gantry::controller::Config&)>& reread) {
  using namespace gantry;
  net::EventLoop loop;
  std::string self = config.database.advertise;
  if (self.empty()) {
    self = (config.tls_cert.empty() ? "http://" : "https://") + config.listen_host + ":" +
           std::to_string(config.listen_port);
  }
  auto lease = std::make_shared<controller::LeaderLease>(config.database.url, lease_holder(), self,
                                                         config.database.lease_ms);
  std::unique_ptr<controller::Controller> ctl;
  std::unique_ptr<controller::Follower> follower;
  int status = 0;
  auto lead = [&] {
    follower.reset();
    controller::ControllerOptions options;
    options.lease = lease;
    options.on_deposed = [](const std::string& why) {
      std::fprintf(stderr, "gantry-controller: no longer the leader (%s): exiting\n", why.c_str());
      std::fflush(stderr);
      std::_Exit(75);
    };
    ctl = std::make_unique<controller::Controller>(config, loop, options);
    std::string error;
    if (!ctl->start(error)) {
      std::fprintf(stderr, "gantry-controller: %s\n", error.c_str());
      status = 2;
      loop.stop();
    }
  };
  net::ServerOptions server;
  server.host = config.listen_host;
  server.port = config.listen_port;
  server.tls = net::TlsServerOptions{config.tls_cert, config.tls_key, config.tls_client_ca};
  follower = std::make_unique<controller::Follower>(loop, *lease, server, [&] {
    loop.post([&] { lead(); });  // not from inside the follower's own timer
  });
  std::string error;
  if (!follower->start(error)) {
    std::fprintf(stderr, "gantry-controller: %s\n", error.c_str());
    return 2;
  }
  loop.on_signals(
      [&](int sig) {
        if (sig == SIGHUP) {
          if (ctl) {
            ctl->reload(config_path);
          } else if (controller::Config next; reread(next)) {
            // Listening and the database stay as started (as for a leader's reload).
            next.listen_host = config.listen_host;
            next.listen_port = config.listen_port;
            next.database = config.database;
            config = std::move(next);
            log::info("controller", "config.reload", {{"role", "follower"}});
          }
          return;
        }
        log::info("controller", "stopping", {{"signal", std::to_string(sig)}});
        if (ctl) ctl->stop();
        if (follower) follower->stop();
        lease->release();  // the next controller need not wait for the lease to run out
        loop.stop();
      },
      true);
  loop.run();
  return status;
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
  std::string config_path, listen, data, migrate_from, migrate_to, advertise;
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
    } else if (a == "--advertise") {
      if (!value(advertise)) return 2;
      if (!advertise.starts_with("http://") && !advertise.starts_with("https://")) {
        std::fprintf(stderr, "gantry-controller: --advertise wants http(s)://HOST:PORT, got '%s'\n",
                     advertise.c_str());
        return 2;
      }
    } else if (a == "--migrate-sqlite") {
      if (!value(migrate_from)) return 2;
    } else if (a == "--to") {
      if (!value(migrate_to)) return 2;
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
  if (!advertise.empty()) {
    while (advertise.ends_with('/')) advertise.pop_back();
    config.database.advertise = advertise;
  }
  if (!migrate_from.empty()) {
    if (migrate_to.empty()) migrate_to = config.database.url;
    if (migrate_to.empty()) {
      std::fprintf(stderr,
                   "gantry-controller: --migrate-sqlite needs --to URL or a --config "
                   "with database:\n%s",
                   kUsage);
      return 2;
    }
    auto migrated = controller::migrate_sqlite(migrate_from, migrate_to);
    if (!migrated) {
      std::fprintf(stderr, "gantry-controller: %s\n", migrated.error().message.c_str());
      return 1;
    }
    std::printf("%s", controller::describe(*migrated, migrate_from).c_str());
    return 0;
  }
  try {
    if (config.database.driver == "postgresql") {
      return run_shared(config, config_path, [&](controller::Config& out) {
        if (config_path.empty()) return false;
        auto loaded = controller::load_config(config_path);
        if (auto* e = std::get_if<controller::ConfigError>(&loaded)) {
          log::error("controller", "config.reload_failed", {{"error", e->message}});
          return false;
        }
        out = std::get<controller::Config>(loaded);
        if (!data.empty()) out.data_dir = data;
        return true;
      });
    }
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
