// Where the agent's token comes from: a file, the environment, the config
// file, or (warned about) the command line; and what is refused.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "agent_config.hpp"
#include "job_test_support.hpp"

using namespace gantry::agent;

namespace {

bool parse(const std::vector<std::string>& args, AgentConfig& config, std::string& error) {
  bool help = false, version = false;
  return parse_agent_args(args, config, error, help, version);
}

}  // namespace

TEST_CASE("the agent token from --token-file, token_file, GANTRY_AGENT_TOKEN or --token") {
  gantry::testing::TempDir tmp;
  const std::string file = (tmp.path() / "agent.token").string();
  std::ofstream(file) << "  tok-from-file\n";
  ::chmod(file.c_str(), 0600);
  ::unsetenv(kTokenVariable);
  std::string error;

  AgentConfig a;
  REQUIRE(parse({"--token-file", file}, a, error));
  CHECK(a.token == "tok-from-file");  // surrounding whitespace trimmed

  const std::string yml = (tmp.path() / "agent.yml").string();
  std::ofstream(yml) << "token_file: " << file << "\n";
  AgentConfig b;
  REQUIRE(parse({"--config", yml}, b, error));
  CHECK(b.token == "tok-from-file");

  ::setenv(kTokenVariable, "tok-from-env", 1);
  AgentConfig c;
  REQUIRE(parse({"--controller", "http://127.0.0.1:1"}, c, error));
  CHECK(c.token == "tok-from-env");
  AgentConfig d;  // a file named on the command line comes first
  REQUIRE(parse({"--token-file", file}, d, error));
  CHECK(d.token == "tok-from-file");
  ::unsetenv(kTokenVariable);

  AgentConfig e;
  REQUIRE(parse({"--token", "tok-on-argv"}, e, error));
  CHECK(e.token == "tok-on-argv");

  AgentConfig none;
  CHECK_FALSE(parse({"--controller", "http://127.0.0.1:1"}, none, error));
  CHECK(error.find("--token-file FILE, GANTRY_AGENT_TOKEN") != std::string::npos);

  AgentConfig missing;
  CHECK_FALSE(parse({"--token-file", file + ".nope"}, missing, error));
  CHECK(error.find("cannot read the token file '" + file + ".nope'") == 0);

  std::ofstream(file, std::ios::trunc) << "two words\n";
  AgentConfig two;
  CHECK_FALSE(parse({"--token-file", file}, two, error));
  CHECK(error == "the token file '" + file + "' must hold one token");

  std::ofstream(file, std::ios::trunc) << std::string(5000, 'x');
  AgentConfig huge;
  CHECK_FALSE(parse({"--token-file", file}, huge, error));
  CHECK(error.find("longer than 4 KiB") != std::string::npos);

  std::ofstream(yml, std::ios::trunc) << "token_file: " << file << ".nope\n";
  AgentConfig bad_yml;
  CHECK_FALSE(parse({"--config", yml}, bad_yml, error));
  CHECK(error.find(yml + ":1:13: error: cannot read the token file") == 0);
}
