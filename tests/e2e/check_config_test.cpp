// `gantry-controller --check-config FILE` and `gantry-agent --check-config
// FILE` (docs/install.md), as the systemd units run them before a start and
// a reload: "FILE: ok" and exit 0, or the FILE:LINE:COL error and exit 1,
// and nothing started, no data directory made.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "harness.hpp"

using namespace gantry::e2e;

namespace {

void write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("controller check-config: a valid file is ok and nothing is created", "[e2e][config]") {
  TempDir dir;
  const std::string config = dir.path + "/controller.yml";
  write(config, "listen: 127.0.0.1:8080\ndata_dir: " + dir.path + "/data\n");
  CliResult r = shell("cd " + dir.path + " && " + GANTRY_CONTROLLER_BIN + " --check-config " +
                      config + " 2>&1");
  CHECK(r.exit_code == 0);
  CHECK(r.out == config + ": ok\n");
  CHECK_FALSE(std::filesystem::exists(dir.path + "/data"));
  CHECK_FALSE(std::filesystem::exists(dir.path + "/gantry-data"));
}

TEST_CASE("controller check-config: an error is FILE:LINE:COL with its line and exit 1",
          "[e2e][config]") {
  TempDir dir;
  const std::string config = dir.path + "/controller.yml";
  write(config, "listen: 127.0.0.1:8080\ndata_dirr: " + dir.path + "/data\n");
  CliResult r = shell("cd " + dir.path + " && " + GANTRY_CONTROLLER_BIN + " --check-config " +
                      config + " 2>&1");
  CHECK(r.exit_code == 1);
  CHECK(r.out == config +
                     ":2:1: error: unknown key 'data_dirr' (did you mean 'data_dir'?)\n"
                     "data_dirr: " +
                     dir.path + "/data\n^\n");
  CHECK_FALSE(std::filesystem::exists(dir.path + "/data"));
  CHECK_FALSE(std::filesystem::exists(dir.path + "/gantry-data"));
}

TEST_CASE("controller check-config: a missing file exits 1 and no FILE is a usage error",
          "[e2e][config]") {
  TempDir dir;
  CliResult missing = shell(std::string(GANTRY_CONTROLLER_BIN) + " --check-config " + dir.path +
                            "/absent.yml 2>&1");
  CHECK(missing.exit_code == 1);
  CHECK(missing.out.rfind(dir.path + "/absent.yml: error: cannot read the config file", 0) == 0);
  CliResult usage = shell(std::string(GANTRY_CONTROLLER_BIN) + " --check-config 2>&1");
  CHECK(usage.exit_code == 2);
}

TEST_CASE("controller check-config: the packaged example config is valid", "[e2e][config]") {
  const std::string config = std::string(GANTRY_SOURCE_DIR) + "/packaging/etc/controller.yml";
  CliResult r = shell(std::string(GANTRY_CONTROLLER_BIN) + " --check-config " + config + " 2>&1");
  CHECK(r.exit_code == 0);
  CHECK(r.out == config + ": ok\n");
}

TEST_CASE("agent check-config: ok, an error with FILE:LINE:COL, and no connection",
          "[e2e][config]") {
  TempDir dir;
  write(dir.path + "/agent.token", "s3cret\n");
  std::filesystem::permissions(dir.path + "/agent.token", std::filesystem::perms::owner_read |
                                                              std::filesystem::perms::owner_write);
  const std::string ok = dir.path + "/agent.yml";
  // Port 9 (discard): nothing listens there; a check must not try.
  write(ok, "controller: http://127.0.0.1:9\ntoken_file: " + dir.path +
                "/agent.token\nwork: " + dir.path + "/work\n");
  CliResult r = shell(std::string(GANTRY_AGENT_BIN) + " --check-config " + ok + " 2>&1");
  CHECK(r.exit_code == 0);
  CHECK(r.out == ok + ": ok\n");
  CHECK_FALSE(std::filesystem::exists(dir.path + "/work"));

  const std::string bad = dir.path + "/bad.yml";
  write(bad, "controller: http://127.0.0.1:9\nexecutors: 0\n");
  r = shell(std::string(GANTRY_AGENT_BIN) + " --check-config " + bad + " 2>&1");
  CHECK(r.exit_code == 1);
  CHECK(r.out == bad + ":2:12: error: executors must be an integer from 1 to 1024\n");

  const std::string no_token = dir.path + "/no_token.yml";
  write(no_token, "token_file: " + dir.path + "/absent.token\n");
  r = shell(std::string(GANTRY_AGENT_BIN) + " --check-config " + no_token + " 2>&1");
  CHECK(r.exit_code == 1);
  CHECK(r.out.rfind(no_token + ":1:13: error: cannot read the token file", 0) == 0);
}
