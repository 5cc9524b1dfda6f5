// Roles and permissions, bearer-token authentication and the generated
// admin/agent tokens.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "auth.hpp"

using namespace gantry::controller;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "gantry-auth-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("each role has the permissions of the one before", "[auth]") {
  using P = Permission;
  // Rows: viewer, developer, operator, release-manager, admin (SPEC §9).
  struct Row {
    Permission permission;
    bool allowed[5];
  };
  const Row table[] = {
      {P::Read, {true, true, true, true, true}},
      {P::Trigger, {false, true, true, true, true}},
      {P::CancelOwn, {false, true, true, true, true}},
      {P::Cancel, {false, false, true, true, true}},
      {P::Retry, {false, false, true, true, true}},
      {P::Agents, {false, false, true, true, true}},
      {P::Approve, {false, false, false, true, true}},
      {P::Promote, {false, false, false, true, true}},
      {P::Abort, {false, false, false, true, true}},
      {P::Rollback, {false, false, false, true, true}},
      {P::Admin, {false, false, false, false, true}},
  };
  const Role roles[] = {Role::Viewer, Role::Developer, Role::Operator, Role::ReleaseManager,
                        Role::Admin};
  for (const auto& row : table) {
    for (int i = 0; i < 5; ++i) {
      INFO(role_name(roles[i]) << " permission " << static_cast<int>(row.permission));
      CHECK(role_allows(roles[i], row.permission) == row.allowed[i]);
    }
  }
}

TEST_CASE("role names round-trip", "[auth]") {
  for (Role r :
       {Role::Viewer, Role::Developer, Role::Operator, Role::ReleaseManager, Role::Admin}) {
    CHECK(parse_role(role_name(r)) == r);
  }
  CHECK(role_name(Role::ReleaseManager) == std::string("release-manager"));
  CHECK_FALSE(parse_role("Admin"));
  CHECK_FALSE(parse_role("release_manager"));
  CHECK_FALSE(parse_role(""));
}

TEST_CASE("sha256 and random tokens", "[auth]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string a = random_token();
  std::string b = random_token();
  CHECK(a.size() == 64);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(a != b);
}

TEST_CASE("the authenticator accepts known bearer tokens only", "[auth]") {
  Config config;
  config.users.push_back({"alice", "developer", {"team-a"}, {}, sha256_hex("s3cret")});
  config.agent_tokens.push_back({"pool-a", sha256_hex("agent-s3cret")});
  Authenticator auth(config);
  std::string upper = sha256_hex("root-token");
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  auth.add_user("root", Role::Admin, upper);

  auto alice = auth.authenticate("Bearer s3cret");
  REQUIRE(alice);
  CHECK(alice->name == "alice");
  CHECK(alice->role == Role::Developer);
  CHECK_FALSE(alice->is_agent);
  CHECK(alice->groups == std::vector<std::string>{"team-a"});
  CHECK(principal_allows(*alice, Permission::Trigger));
  CHECK_FALSE(principal_allows(*alice, Permission::Cancel));

  CHECK(auth.authenticate("bearer s3cret"));
  CHECK(auth.authenticate("  BEARER   s3cret  "));
  auto root = auth.authenticate_token("root-token");
  REQUIRE(root);
  CHECK(root->role == Role::Admin);

  auto agent = auth.authenticate("Bearer agent-s3cret");
  REQUIRE(agent);
  CHECK(agent->is_agent);
  CHECK(agent->name == "pool-a");
  CHECK_FALSE(principal_allows(*agent, Permission::Read));

  for (const char* bad :
       {"", "Bearer", "Bearer ", "s3cret", "Basic s3cret", "Bearers3cret", "Bearer s3cret extra",
        "Bearer S3CRET", "Bearer wrong", "Token s3cret", "Bearer s3cret\x01"}) {
    INFO(bad);
    CHECK_FALSE(auth.authenticate(bad));
  }
  CHECK_FALSE(auth.authenticate_token(""));
  CHECK_FALSE(auth.authenticate_token(std::string(5000, 'a')));
  CHECK_FALSE(Authenticator().authenticate("Bearer s3cret"));
}

TEST_CASE("generated tokens are created once, private, and read back", "[auth]") {
  TempDir dir;
  std::string data = (dir.path / "data").string();
  GeneratedTokens first = ensure_generated_tokens(data);
  CHECK(first.admin.size() == 64);
  CHECK(first.agent.size() == 64);
  CHECK(first.admin != first.agent);
  for (const char* name : {"admin.token", "agent.token"}) {
    struct stat st {};
    REQUIRE(::stat((std::filesystem::path(data) / name).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
  CHECK(slurp(std::filesystem::path(data) / "admin.token") == first.admin + "\n");

  GeneratedTokens second = ensure_generated_tokens(data);
  CHECK(second.admin == first.admin);
  CHECK(second.agent == first.agent);

  // A hand-written token is kept; an empty file is replaced.
  std::ofstream(std::filesystem::path(data) / "admin.token") << "  my-admin-token\n";
  std::ofstream(std::filesystem::path(data) / "agent.token") << "";
  GeneratedTokens third = ensure_generated_tokens(data);
  CHECK(third.admin == "my-admin-token");
  CHECK(third.agent.size() == 64);
  CHECK(third.agent != first.agent);
}

TEST_CASE("generated tokens in an unusable directory are a startup error", "[auth]") {
  // Not chmod: the tests may run as root, which ignores permissions.
  TempDir dir;
  std::ofstream(dir.path / "file") << "x";
  std::string data = (dir.path / "file" / "data").string();
  CHECK_THROWS_WITH(ensure_generated_tokens(data), "cannot create " + data + ": Not a directory");
}

TEST_CASE("a role granted on a repository holds there only", "[auth]") {
  Config config;
  config.users.push_back({"ann", "none", {"team-a"}, {}, sha256_hex("t-ann")});
  config.users.push_back({"vic", "viewer", {}, {}, sha256_hex("t-vic")});
  RepositoryConfig app;
  app.name = "app";
  app.access = {{"team-a", "developer"}, {"ann", "viewer"}, {"vic", "release-manager"}};
  RepositoryConfig billing;
  billing.name = "billing";
  config.repositories = {app, billing};
  Authenticator auth(config);
  auto ann = auth.authenticate_token("t-ann");
  REQUIRE(ann);
  CHECK(ann->role == Role::None);
  CHECK(ann->repo_roles.at("app") == Role::Developer);  // the highest of her grants
  CHECK_FALSE(principal_allows(*ann, Permission::Read));
  CHECK(principal_allows_on(*ann, Permission::Trigger, "app"));
  CHECK_FALSE(principal_allows_on(*ann, Permission::Cancel, "app"));
  CHECK_FALSE(principal_allows_on(*ann, Permission::Read, "billing"));
  CHECK_FALSE(principal_allows_on(*ann, Permission::Read, ""));  // inline and URL runs
  CHECK(principal_allows_somewhere(*ann, Permission::Trigger));
  CHECK_FALSE(principal_allows_somewhere(*ann, Permission::Approve));
  RepoFilter f = repos_allowing(*ann, Permission::Read);
  CHECK_FALSE(f.all);
  CHECK(f.names == std::vector<std::string>{"app"});
  CHECK(f.admits("app"));
  CHECK_FALSE(f.admits("billing"));
  CHECK_FALSE(f.admits(""));
  // A global role still holds everywhere; a grant adds to it on its repository.
  auto vic = auth.authenticate_token("t-vic");
  REQUIRE(vic);
  CHECK(repos_allowing(*vic, Permission::Read).all);
  CHECK(principal_allows_on(*vic, Permission::Read, "billing"));
  CHECK(principal_allows_on(*vic, Permission::Approve, "app"));
  CHECK_FALSE(principal_allows_on(*vic, Permission::Approve, "billing"));
  // The GMUD evaluator sees the same: vic may approve app's requests only.
  auto people = gate_people(config, Permission::Approve, false, "app");
  CHECK(people[1].may_approve);
  CHECK_FALSE(people[0].may_approve);
  CHECK_FALSE(gate_people(config, Permission::Approve, false, "billing")[1].may_approve);
  CHECK(parse_role("none") == Role::None);
  CHECK_FALSE(role_allows(Role::None, Permission::Read));
}
