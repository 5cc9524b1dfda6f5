// The container engine's pure parts (docs/containers.md): docker `args` split as a shell
// splits words, with the job's variables; the engine's argv and description. Detection and
// running containers are tested end to end (tests/e2e/container_test.cpp).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "runner/container_engine.hpp"

using gantry::agent::ContainerEngine;
using gantry::agent::split_args;

namespace {

std::vector<std::string> split(const std::string& text,
                               const std::map<std::string, std::string>& env = {}) {
  std::vector<std::string> out;
  std::string error;
  REQUIRE(split_args(text, env, out, error));
  return out;
}

}  // namespace

TEST_CASE("docker args split into words as a shell splits them") {
  CHECK(split("").empty());
  CHECK(split("  -v /a:/b   -e X=1 ") == std::vector<std::string>{"-v", "/a:/b", "-e", "X=1"});
  CHECK(split("-e 'MSG=two words' --name \"a b\"") ==
        std::vector<std::string>{"-e", "MSG=two words", "--name", "a b"});
  CHECK(split("a\\ b 'it''s' \"q\\\"x\"") == std::vector<std::string>{"a b", "its", "q\"x"});
  CHECK(split("--entrypoint=''") == std::vector<std::string>{"--entrypoint="});
}

TEST_CASE("docker args take $NAME and ${NAME} from the job, not single-quoted ones") {
  std::map<std::string, std::string> env = {{"HOME", "/home/ci"}, {"TAG", "v1"}};
  CHECK(split("-v $HOME/.m2:/root/.m2", env) ==
        std::vector<std::string>{"-v", "/home/ci/.m2:/root/.m2"});
  CHECK(split("--label t=${TAG}x \"$TAG\" '$TAG'", env) ==
        std::vector<std::string>{"--label", "t=v1x", "v1", "$TAG"});
  CHECK(split("$UNSET-x $ 5$", env) == std::vector<std::string>{"-x", "$", "5$"});
}

TEST_CASE("an unclosed quote in docker args is an error, not a guess") {
  std::vector<std::string> out;
  std::string error;
  CHECK_FALSE(split_args("-e 'open", {}, out, error));
  CHECK(error.find("unclosed '") != std::string::npos);
  CHECK_FALSE(split_args("-e \"open", {}, out, error));
  CHECK(error.find("unclosed \"") != std::string::npos);
}

TEST_CASE("the engine's argv and description carry the flags detection found") {
  ContainerEngine e;
  e.name = "podman";
  e.version = "4.3.1";
  e.command = {"/usr/bin/podman", "--runtime", "runc"};
  e.run_flags = {"--ulimit", "nofile=1024:1024"};
  e.runtime = "runc";
  e.cgroup_manager = "cgroupfs";
  CHECK(e.argv({"ps", "-a"}) ==
        std::vector<std::string>{"/usr/bin/podman", "--runtime", "runc", "ps", "-a"});
  CHECK(e.describe() ==
        "podman 4.3.1 (rootful, runtime runc, cgroup manager cgroupfs, flags --runtime runc "
        "--ulimit nofile=1024:1024)");
}

TEST_CASE("no engine is found where none is wanted or installed") {
  std::string report;
  CHECK_FALSE(gantry::agent::detect_container_engine("none", report));
  CHECK(report == "container_engine is none");
  CHECK_FALSE(gantry::agent::detect_container_engine("no-such-engine-xyz", report));
  CHECK(report.find("no-such-engine-xyz: not installed") != std::string::npos);
}

TEST_CASE("a program that exits 0 without running anything is not an engine") {
  // As a CI harness's shim named podman would be: it must not earn the docker capability.
  char dir[] = "/tmp/gantry-fake-engine-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  const std::string podman = std::string(dir) + "/podman";
  {
    std::ofstream out(podman);
    out << "#!/bin/sh\necho \"[shim] podman $*\" >&2\nexit 0\n";
  }
  REQUIRE(::chmod(podman.c_str(), 0755) == 0);
  std::string report;
  CHECK_FALSE(gantry::agent::detect_container_engine(podman, report));
  CHECK(report.find("exits 0 but runs nothing") != std::string::npos);
  std::filesystem::remove_all(dir);
}
