// The controller config: defaults, the SPEC §10 example, and each kind of
// error with its position, asserted verbatim.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "auth.hpp"
#include "config.hpp"

using namespace gantry::controller;

namespace {

Config parse_ok(const std::string& text) {
  auto result = parse_config(text, "gantry.yml");
  if (auto* e = std::get_if<ConfigError>(&result)) FAIL(e->message);
  return std::get<Config>(result);
}

std::string parse_error(const std::string& text) {
  auto result = parse_config(text, "gantry.yml");
  if (std::holds_alternative<Config>(result)) return "(no error)";
  return std::get<ConfigError>(result).message;
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "gantry-config-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name, std::ios::binary) << text;
    return (path / name).string();
  }
};

}  // namespace

TEST_CASE("an empty config gives the defaults", "[config]") {
  for (std::string text : {"", "\n", "# nothing yet\n", "~\n"}) {
    Config c = parse_ok(text);
    CHECK(c.listen_host == "127.0.0.1");
    CHECK(c.listen_port == 8080);
    CHECK(c.data_dir == "./gantry-data");
    CHECK(c.users.empty());
    CHECK(c.agent_tokens.empty());
    CHECK(c.repositories.empty());
    CHECK(c.secrets.empty());
    CHECK(c.environments.empty());
    CHECK(c.agent_lost_after_ms == 30000);
    CHECK(c.cancel_grace_ms == 10000);
    CHECK(c.tls_cert.empty());
  }
}

TEST_CASE("the SPEC example config", "[config]") {
  Config c = parse_ok(R"(
listen: 0.0.0.0:9090
data_dir: /var/lib/gantry
users:
  - name: alice
    role: developer
    groups: [team-a]
    emails: [alice@example.com]
    token: s3cret
  - name: root
    role: admin
    token_sha256: 2BB80D537B1DA3E38BD30361AA855686BDE0EACD7162FEF6A25FE97BF527A25B
agent_tokens:
  - {name: pool-a, token: agent-s3cret}
repositories:
  - name: app
    url: file:///srv/git/app.git
    branches: [main, "release/*"]
    tags: ["v*"]
    pipeline: Jenkinsfile
    poll: 30s
    webhook_secret: hook-s3cret
  - {name: lib, url: "https://git.example.com/lib.git", poll: 0}
environments:
  staging: {}
  prod:
    gmud:
      approvers: [ops]
      min_approvals: 2
      windows: ["Tue-Thu 10:00-16:00 America/Sao_Paulo"]
      freezes: ["2026-12-20T00:00:00Z/2027-01-05T00:00:00Z"]
      expires_after: 24h
      max_range: 50000
secrets:
  deploy-key: {value: abc}
agent_lost_after: 45s
cancel_grace: 2500ms
tls: {cert: cert.pem, key: key.pem, client_ca: agents-ca.pem}
insecure: false
)");
  CHECK(c.listen_host == "0.0.0.0");
  CHECK(c.listen_port == 9090);
  CHECK(c.data_dir == "/var/lib/gantry");
  REQUIRE(c.users.size() == 2);
  CHECK(c.users[0].name == "alice");
  CHECK(c.users[0].role == "developer");
  CHECK(c.users[0].groups == std::vector<std::string>{"team-a"});
  CHECK(c.users[0].emails == std::vector<std::string>{"alice@example.com"});
  CHECK(c.users[0].token_sha256 == sha256_hex("s3cret"));
  CHECK(c.users[1].token_sha256 ==
        "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b");
  REQUIRE(c.agent_tokens.size() == 1);
  CHECK(c.agent_tokens[0].name == "pool-a");
  CHECK(c.agent_tokens[0].token_sha256 == sha256_hex("agent-s3cret"));
  REQUIRE(c.repositories.size() == 2);
  CHECK(c.repositories[0].branches == std::vector<std::string>{"main", "release/*"});
  CHECK(c.repositories[0].tags == std::vector<std::string>{"v*"});
  CHECK(c.repositories[0].poll_ms == 30000);
  CHECK(c.repositories[0].webhook_secret == "hook-s3cret");
  CHECK(c.repositories[1].pipeline == "Jenkinsfile");
  CHECK(c.repositories[1].poll_ms == 0);
  REQUIRE(c.environments.size() == 2);
  CHECK_FALSE(c.environments.at("staging").gated);
  const EnvironmentConfig& prod = c.environments.at("prod");
  CHECK(prod.gated);
  CHECK(prod.policy.approvers == std::vector<std::string>{"ops"});
  CHECK(prod.policy.min_approvals == 2);
  REQUIRE(prod.policy.windows.size() == 1);
  CHECK(prod.policy.windows[0].zone == "America/Sao_Paulo");
  REQUIRE(prod.policy.freezes.size() == 1);
  CHECK(prod.policy.expires_after_s == 86400);
  CHECK(prod.policy.max_range == 50000);
  CHECK(c.environments.at("staging").policy.max_range == 10000);
  CHECK(c.secrets.at("deploy-key").value == "abc");
  CHECK(c.agent_lost_after_ms == 45000);
  CHECK(c.cancel_grace_ms == 2500);
  CHECK(c.tls_cert == "cert.pem");
  CHECK(c.tls_key == "key.pem");
  CHECK(c.tls_client_ca == "agents-ca.pem");
  CHECK_FALSE(c.insecure);
}

TEST_CASE("the SPEC example, verbatim", "[config]") {
  Config c = parse_ok(R"(listen: 127.0.0.1:8080
data_dir: ./gantry-data            # SQLite (WAL) + log files
users:
  - name: alice
    role: developer
    groups: [team-a]
    emails: [alice@example.com]
    token: s3cret                  # or token_sha256: <hex>
agent_tokens:
  - {name: pool-a, token: agent-s3cret}
repositories:
  - name: app
    url: file:///srv/git/app.git
    branches: [main, "release/*"]
    tags: ["v*"]
    pipeline: Jenkinsfile           # fallback .gantry.yml
    poll: 30s
    webhook_secret: hook-s3cret
environments: {}                    # section 7
secrets:
  deploy-key: {value: abc}          # or {file: /path}
agent_lost_after: 30s
)");
  CHECK(c.users.at(0).name == "alice");
  CHECK(c.repositories.at(0).url == "file:///srv/git/app.git");
  CHECK(c.environments.empty());
  CHECK(c.secrets.at("deploy-key").value == "abc");
}

TEST_CASE("config errors point at the offending node", "[config]") {
  struct Case {
    std::string text, error;
  };
  auto c = GENERATE(values<Case>({
      {"listn: 1.2.3.4:80\n",
       "gantry.yml:1:1: error: unknown key 'listn' (did you mean 'listen'?)\n"
       "listn: 1.2.3.4:80\n"
       "^"},
      {"users:\n  - name: a\n    role: admin\n    tokn: x\n",
       "gantry.yml:4:5: error: unknown key 'tokn' (did you mean 'token'?)\n"
       "    tokn: x\n"
       "    ^"},
      {"tls: {cert: a, key: b, chain: c}\n",
       "gantry.yml:1:24: error: unknown key 'chain' (expected one of: cert, key, client_ca)\n"
       "tls: {cert: a, key: b, chain: c}\n"
       "                       ^"},
      {"secrets:\n  k: {valeu: x}\n",
       "gantry.yml:2:7: error: unknown key 'valeu' (did you mean 'value'?)\n"
       "  k: {valeu: x}\n"
       "      ^"},
      {"repositories:\n  - name: app\n    url: u\n    polll: 5s\n",
       "gantry.yml:4:5: error: unknown key 'polll' (did you mean 'poll'?)\n"
       "    polll: 5s\n"
       "    ^"},
      {"agent_tokens:\n  - {name: a, token: t, owner: x}\n",
       "gantry.yml:2:25: error: unknown key 'owner' (expected one of: name, token, token_sha256, "
       "labels, max_agents, repositories)\n"
       "  - {name: a, token: t, owner: x}\n"
       "                        ^"},
      {"listen: 127.0.0.1:80\nlisten: 127.0.0.1:81\n",
       "gantry.yml:2:1: error: duplicate key 'listen' (first at line 1)\n"
       "listen: 127.0.0.1:81\n"
       "^"},
      {"- listen\n",
       "gantry.yml:1:1: error: the config must be a map, not a list\n"
       "- listen\n"
       "^"},
      {"users:\n  name: alice\n",
       "gantry.yml:2:3: error: 'users' must be a list, not a map\n"
       "  name: alice\n"
       "  ^"},
      {"listen: 127.0.0.1:http\n",
       "gantry.yml:1:9: error: invalid listen address '127.0.0.1:http' (expected HOST:PORT with "
       "a port from 0 to 65535, e.g. 127.0.0.1:8080)\n"
       "listen: 127.0.0.1:http\n"
       "        ^"},
      {"listen: [a, b]\n",
       "gantry.yml:1:9: error: 'listen' must be a string, not a list\n"
       "listen: [a, b]\n"
       "        ^"},
      {"listen:\ndata_dir: x\n",
       "gantry.yml:1:1: error: 'listen' needs a value\n"
       "listen:\n"
       "^"},
      {"agent_lost_after: 30 s\n",
       "gantry.yml:1:19: error: invalid duration '30 s' for 'agent_lost_after' (use e.g. 500ms, "
       "30s, 2m or 1h)\n"
       "agent_lost_after: 30 s\n"
       "                  ^"},
      {"agent_lost_after: 0s\n",
       "gantry.yml:1:19: error: 'agent_lost_after' must be more than 0\n"
       "agent_lost_after: 0s\n"
       "                  ^"},
      {"users:\n  - {name: a, role: develper, token: t}\n",
       "gantry.yml:2:21: error: unknown role 'develper' (did you mean 'developer'?)\n"
       "  - {name: a, role: develper, token: t}\n"
       "                    ^"},
      {"users:\n  - {name: a, role: root, token: t}\n",
       "gantry.yml:2:21: error: unknown role 'root' (one of: none, viewer, developer, operator, "
       "release-manager, admin)\n"
       "  - {name: a, role: root, token: t}\n"
       "                    ^"},
      {"users:\n  - name: a\n    role: admin\n",
       "gantry.yml:2:5: error: user 'a' needs 'token' or 'token_sha256'\n"
       "  - name: a\n"
       "    ^"},
      {"users:\n  - {name: a, role: admin, token: t, token_sha256: ab}\n",
       "gantry.yml:2:38: error: user 'a' has both 'token' and 'token_sha256'\n"
       "  - {name: a, role: admin, token: t, token_sha256: ab}\n"
       "                                     ^"},
      {"users:\n  - {name: a, role: admin, token_sha256: abc}\n",
       "gantry.yml:2:42: error: 'token_sha256' must be 64 hexadecimal digits\n"
       "  - {name: a, role: admin, token_sha256: abc}\n"
       "                                         ^"},
      {"users:\n  - {role: admin, token: t}\n",
       "gantry.yml:2:5: error: each entry of 'users' needs a 'name'\n"
       "  - {role: admin, token: t}\n"
       "    ^"},
      {"users:\n  - {name: a, role: admin, token: t}\n  - {name: a, role: viewer, token: u}\n",
       "gantry.yml:3:12: error: duplicate user 'a' (first at line 2)\n"
       "  - {name: a, role: viewer, token: u}\n"
       "           ^"},
      {"users:\n  - {name: a, role: admin, token: t}\n  - {name: b, role: viewer, token: t}\n",
       "gantry.yml:3:36: error: this token is already used by user 'a'\n"
       "  - {name: b, role: viewer, token: t}\n"
       "                                   ^"},
      {"agent_tokens:\n  - {name: pool, token: t}\nusers:\n  - {name: a, role: admin, token: t}\n",
       "gantry.yml:2:25: error: this token is already used by user 'a'\n"
       "  - {name: pool, token: t}\n"
       "                        ^"},
      {"users:\n  - {name: a, role: admin, token: two words}\n",
       "gantry.yml:2:35: error: a token must be at most 1024 printable ASCII characters without "
       "spaces\n"
       "  - {name: a, role: admin, token: two words}\n"
       "                                  ^"},
      {"repositories:\n  - {name: app, url: u}\n  - {name: app, url: v}\n",
       "gantry.yml:3:12: error: duplicate repository 'app' (first at line 2)\n"
       "  - {name: app, url: v}\n"
       "           ^"},
      {"repositories:\n  - {name: app}\n",
       "gantry.yml:2:5: error: repository 'app' needs a 'url'\n"
       "  - {name: app}\n"
       "    ^"},
      {"repositories:\n  - {name: app, url: u, branches: main}\n",
       "gantry.yml:2:35: error: 'branches' must be a list of strings, not a scalar\n"
       "  - {name: app, url: u, branches: main}\n"
       "                                  ^"},
      {"secrets:\n  k: {value: a, file: b}\n",
       "gantry.yml:2:17: error: secret 'k' has both 'value' and 'file'\n"
       "  k: {value: a, file: b}\n"
       "                ^"},
      {"secrets:\n  k: {}\n",
       "gantry.yml:2:3: error: secret 'k' needs 'value' or 'file'\n"
       "  k: {}\n"
       "  ^"},
      {"secrets:\n  k: abc\n",
       "gantry.yml:2:6: error: secret 'k' must be a map, not a scalar\n"
       "  k: abc\n"
       "     ^"},
      {"environments: [prod]\n",
       "gantry.yml:1:15: error: 'environments' must be a map\n"
       "environments: [prod]\n"
       "              ^"},
      {"environments:\n  prod: {gmud: {approvers: []}}\n",
       "gantry.yml:2:28: error: 'approvers' must name at least one group\n"
       "  prod: {gmud: {approvers: []}}\n"
       "                           ^"},
      {"environments:\n  prod: {gmud: {min_approvals: 2}}\n",
       "gantry.yml:2:10: error: 'environments.prod.gmud' needs 'approvers' (the groups that may "
       "approve)\n"
       "  prod: {gmud: {min_approvals: 2}}\n"
       "         ^"},
      {"environments:\n  prod: {gmud: {approvers: [a], windows: [\"Mon 10:00-12:00 "
       "Mars/Base\"]}}\n",
       "gantry.yml:2:43: error: window \"Mon 10:00-12:00 Mars/Base\": unknown time zone "
       "\"Mars/Base\" (an IANA name, e.g. Europe/Paris)\n"
       "  prod: {gmud: {approvers: [a], windows: [\"Mon 10:00-12:00 Mars/Base\"]}}\n"
       "                                          ^"},
      {"environments:\n  prod: {approvers: [a]}\n",
       "gantry.yml:2:10: error: unknown key 'approvers' (expected one of: gmud)\n"
       "  prod: {approvers: [a]}\n"
       "         ^"},
      {"tls: {cert: a.pem}\n",
       "gantry.yml:1:1: error: 'tls' needs both 'cert' and 'key'\n"
       "tls: {cert: a.pem}\n"
       "^"},
      {"tls: {cert: a\n", "gantry.yml:2:1: error: invalid YAML: end of map flow not found"},
      {"insecure: yes please\n",
       "gantry.yml:1:11: error: 'insecure' must be true or false, not 'yes please'\n"
       "insecure: yes please\n"
       "          ^"},
      {"listen: a: b\n",
       "gantry.yml:1:10: error: invalid YAML: illegal map value\n"
       "listen: a: b\n"
       "         ^"},
      {"locks:\n  - {name: p1, label: [printer]}\n",
       "gantry.yml:2:16: error: unknown key 'label' (did you mean 'labels'?)\n"
       "  - {name: p1, label: [printer]}\n"
       "               ^"},
      {"locks:\n  - {name: p1}\n  - {name: p1, labels: [printer]}\n",
       "gantry.yml:3:12: error: duplicate lock 'p1' (first at line 2)\n"
       "  - {name: p1, labels: [printer]}\n"
       "           ^"},
      {"locks:\n  - {name: p1, labels: printer}\n",
       "gantry.yml:2:24: error: 'labels' must be a list of strings, not a scalar\n"
       "  - {name: p1, labels: printer}\n"
       "                       ^"},
  }));
  INFO(c.text);
  CHECK(parse_error(c.text) == c.error);
}

TEST_CASE("locks: lockable resources with their labels", "[config]") {
  auto parsed = parse_config(
      "locks:\n  - {name: printer-1, labels: [printer, colour]}\n  - {name: db}\n", "gantry.yml");
  REQUIRE(std::holds_alternative<Config>(parsed));
  const Config& c = std::get<Config>(parsed);
  REQUIRE(c.locks.size() == 2);
  CHECK(c.locks[0] == LockConfig{"printer-1", {"printer", "colour"}});
  CHECK(c.locks[1] == LockConfig{"db", {}});
}

TEST_CASE("aliases cannot blow up the document", "[config]") {
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 8; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev + ", " + prev +
            ", " + prev + ", " + prev + ", " + prev + ", " + prev + ", " + prev + ", " + prev +
            ", " + prev + ", " + prev + "]\n";
  }
  CHECK(parse_error(text) ==
        "gantry.yml:1:1: error: the document expands to more than 100000 YAML nodes (through "
        "aliases?)\n"
        "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        "^");
}

TEST_CASE("durations", "[config]") {
  int64_t ms = -1;
  CHECK((parse_duration_ms("500ms", ms) && ms == 500));
  CHECK((parse_duration_ms("30s", ms) && ms == 30000));
  CHECK((parse_duration_ms("30", ms) && ms == 30000));
  CHECK((parse_duration_ms("2m", ms) && ms == 120000));
  CHECK((parse_duration_ms("1h", ms) && ms == 3600000));
  CHECK((parse_duration_ms("0", ms) && ms == 0));
  CHECK((parse_duration_ms("9223372036854775807ms", ms) && ms == INT64_MAX));
  for (const char* bad :
       {"", "s", "-1s", "+1s", "1.5s", "1 s", " 1s", "1s ", "1d", "1S", "ms", "1sm",
        "9223372036854775808ms", "9223372036854776s", "99999999999999999999"}) {
    INFO(bad);
    CHECK_FALSE(parse_duration_ms(bad, ms));
  }
}

TEST_CASE("listen addresses", "[config]") {
  std::string host;
  uint16_t port = 1;
  CHECK((parse_listen("127.0.0.1:8080", host, port) && host == "127.0.0.1" && port == 8080));
  CHECK((parse_listen("[::1]:80", host, port) && host == "::1" && port == 80));
  CHECK((parse_listen("localhost:0", host, port) && host == "localhost" && port == 0));
  CHECK((parse_listen("0.0.0.0:65535", host, port) && port == 65535));
  for (const char* bad :
       {"", ":8080", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "::1:80", "[::1]80", "[]:80",
        "[::1]", "host:-1", "host:8o", "a b:80", "host:000080"}) {
    INFO(bad);
    CHECK_FALSE(parse_listen(bad, host, port));
  }
}

TEST_CASE("load_config reads files and secret files", "[config]") {
  TempDir dir;
  std::string secret = dir.write("key", "line one\nline two\n");
  std::string path = dir.write("gantry.yml", "secrets:\n  deploy: {file: " + secret + "}\n");
  auto result = load_config(path);
  REQUIRE(std::holds_alternative<Config>(result));
  CHECK(std::get<Config>(result).secrets.at("deploy").value == "line one\nline two\n");

  std::string missing = (dir.path / "nope").string();
  path = dir.write("bad.yml", "secrets:\n  deploy: {file: " + missing + "}\n");
  result = load_config(path);
  REQUIRE(std::holds_alternative<ConfigError>(result));
  CHECK(std::get<ConfigError>(result).message == path + ":2:18: error: cannot read secret file '" +
                                                     missing +
                                                     "': No such file or directory\n"
                                                     "  deploy: {file: " +
                                                     missing +
                                                     "}\n"
                                                     "                 ^");

  result = load_config(missing);
  REQUIRE(std::holds_alternative<ConfigError>(result));
  CHECK(std::get<ConfigError>(result).message ==
        missing + ": error: cannot read the config file: No such file or directory");

  path = dir.write("huge.yml", "# " + std::string(kMaxConfigBytes, 'x') + "\n");
  result = load_config(path);
  REQUIRE(std::holds_alternative<ConfigError>(result));
  CHECK(std::get<ConfigError>(result).message ==
        path + ": error: cannot read the config file: larger than 1048576 bytes");
}

TEST_CASE("agent tokens are pools: the labels their agents may claim and max_agents", "[config]") {
  Config c = parse_ok(R"(agent_tokens:
  - {name: open, token: t-open}
  - {name: prod, token: t-prod, labels: [prod, linux], max_agents: 3, repositories: [app]}
  - {name: none, token: t-none, labels: []}
)");
  REQUIRE(c.agent_tokens.size() == 3);
  CHECK(c.agent_tokens[0].any_label);
  CHECK(c.agent_tokens[0].max_agents == 0);
  CHECK_FALSE(c.agent_tokens[1].any_label);
  CHECK(c.agent_tokens[1].labels == std::vector<std::string>{"prod", "linux"});
  CHECK(c.agent_tokens[1].max_agents == 3);
  CHECK(c.agent_tokens[0].any_repository);
  CHECK_FALSE(c.agent_tokens[1].any_repository);
  CHECK(c.agent_tokens[1].repositories == std::vector<std::string>{"app"});
  CHECK_FALSE(c.agent_tokens[2].any_label);  // only its agents' own names
  CHECK(c.agent_tokens[2].labels.empty());
  CHECK(parse_error("agent_tokens:\n  - {name: p, token: t, max_agents: many}\n")
            .find("gantry.yml:2:37: error: agent token 'p': max_agents must be an integer") == 0);
}

TEST_CASE("a secret's scope: environments, repositories, branches", "[config]") {
  Config c = parse_ok(R"(secrets:
  prod: {value: a, scope: {environments: [production], branches: [main, "release/*"]}}
  open: {value: b}
)");
  CHECK(c.secrets.at("prod").scope.environments == std::vector<std::string>{"production"});
  CHECK(c.secrets.at("prod").scope.branches == std::vector<std::string>{"main", "release/*"});
  CHECK(c.secrets.at("prod").scope.repositories.empty());
  CHECK(c.secrets.at("open").scope.empty());
  CHECK(parse_error("secrets:\n  k: {value: a, scope: {envs: [x]}}\n")
            .find("gantry.yml:2:25: error: unknown key 'envs'") == 0);
}

TEST_CASE("roles granted per repository: access names users or their groups", "[config]") {
  Config c = parse_ok(R"(users:
  - {name: ann, role: none, groups: [team-a], token: t-ann}
  - {name: rae, role: viewer, token: t-rae}
repositories:
  - {name: app, url: /srv/git/app, access: {team-a: developer, rae: release-manager}}
)");
  REQUIRE(c.repositories.size() == 1);
  CHECK(c.users[0].role == "none");
  CHECK(c.repositories[0].access ==
        std::map<std::string, std::string>{{"team-a", "developer"}, {"rae", "release-manager"}});
  CHECK(parse_error(R"(users:
  - {name: ann, role: none, groups: [team-a], token: t-ann}
repositories:
  - {name: app, url: /srv/git/app, access: {team-b: developer}}
)")
            .find("gantry.yml:4:45: error: repository 'app' access names 'team-b', which is "
                  "neither a configured user nor a group of one") == 0);
  CHECK(parse_error(R"(users:
  - {name: ann, role: none, groups: [team-a], token: t-ann}
repositories:
  - {name: app, url: /srv/git/app, access: {team-a: developr}}
)")
            .find("gantry.yml:4:53: error: repository 'app' access: unknown role 'developr' "
                  "(did you mean 'developer'?)") == 0);
  CHECK(parse_error(R"(users:
  - {name: ann, role: none, groups: [team-a], token: t-ann}
repositories:
  - {name: app, url: /srv/git/app, access: {team-a: none}}
)")
            .find("unknown role 'none'") != std::string::npos);
  CHECK(parse_error("repositories:\n  - {name: \"https://x/app.git\", url: /srv/git/app}\n")
            .find("a repository name is a short word") != std::string::npos);
}

TEST_CASE("kubernetes: the cluster a pod per job goes to", "[config]") {
  Config c = parse_ok(
      "kubernetes:\n"
      "  api: https://10.0.0.1:6443/\n"
      "  namespace: ci\n"
      "  agent_image: registry.example.com/gantry-agent:1\n"
      "  controller_url: https://gantry.ci.svc:8080\n"
      "  start_timeout: 2m\n"
      "  max_pods: 5\n");
  CHECK(c.kubernetes.enabled());
  CHECK(c.kubernetes.api == "https://10.0.0.1:6443");
  CHECK(c.kubernetes.kube_namespace == "ci");
  CHECK(c.kubernetes.token_file == "/var/run/secrets/kubernetes.io/serviceaccount/token");
  CHECK(c.kubernetes.agent_token_secret == "gantry-agent-token");
  CHECK(c.kubernetes.work_dir == "/home/gantry/agent");
  CHECK(c.kubernetes.start_timeout_ms == 120000);
  CHECK(c.kubernetes.max_pods == 5);
  CHECK_FALSE(parse_ok("").kubernetes.enabled());
  CHECK(parse_error("kubernetes:\n  agent_image: x\n").find("needs 'api'") != std::string::npos);
  CHECK(parse_error("kubernetes:\n  api: https://k\n").find("needs 'agent_image'") !=
        std::string::npos);
  CHECK(
      parse_error("kubernetes:\n  api: k8s:6443\n  agent_image: x\n").find(":2:8: error: 'api'") !=
      std::string::npos);
  CHECK(parse_error("kubernetes:\n  api: https://k\n  agent_image: x\n  namespace: CI\n")
            .find("DNS label") != std::string::npos);
  CHECK(parse_error("kubernetes:\n  api: https://k\n  agent_image: x\n  max_pods: 0\n")
            .find("max_pods") != std::string::npos);
  CHECK(parse_error("kubernetes:\n  api: https://k\n  agent_image: x\n  nmespace: ci\n")
            .find("namespace") != std::string::npos);
}

TEST_CASE("database: SQLite by default, or a PostgreSQL URL", "[config]") {
  CHECK(parse_ok("").database == DatabaseConfig{});
  CHECK(parse_ok("").database.driver == "sqlite");
  Config c = parse_ok("database: postgresql://gantry@127.0.0.1:5432/gantry\n");
  CHECK(c.database.driver == "postgresql");
  CHECK(c.database.url == "postgresql://gantry@127.0.0.1:5432/gantry");
  c = parse_ok("database:\n  url: postgres://db/gantry?sslmode=require\n");
  CHECK(c.database.driver == "postgresql");
  CHECK(c.database.url == "postgres://db/gantry?sslmode=require");
  c = parse_ok("database:\n  driver: postgresql\n  url: postgresql://db/gantry\n");
  CHECK(c.database.url == "postgresql://db/gantry");
  CHECK(parse_ok("database: {driver: sqlite}\n").database == DatabaseConfig{});

  CHECK(parse_error("database: mysql://db/gantry\n")
            .starts_with("gantry.yml:1:11: error: 'database' must be a PostgreSQL URL"));
  CHECK(parse_error("database:\n  driver: postgresql\n") ==
        "gantry.yml:2:3: error: 'database' needs 'url' (postgresql://USER@HOST:PORT/DATABASE)\n"
        "  driver: postgresql\n"
        "  ^");
  CHECK(parse_error("database: {driver: oracle, url: postgresql://db/x}\n")
            .find("unknown database driver 'oracle' (use sqlite or postgresql)") !=
        std::string::npos);
  CHECK(parse_error("database: {driver: sqlite, url: postgresql://db/x}\n")
            .find("'url' is for postgresql") != std::string::npos);
  CHECK(parse_error("database: {uri: postgresql://db/x}\n").find("unknown key 'uri'") !=
        std::string::npos);
}
