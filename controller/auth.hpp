#pragma once
// Users, roles and tokens (SPEC §9). Roles are cumulative: each has the
// permissions of the one before. Tokens are only ever held as SHA-256 hashes;
// authenticate() hashes what the client sent and compares hashes in constant
// time. Agent tokens authenticate agents, whose principals hold no API
// permission at all: use principal_allows(), which refuses them, rather than
// role_allows() on their (meaningless) role.
//
// Not responsible for HTTP status codes or auditing; the API layer maps "no
// principal" to 401 and "not allowed" to 403. An Authenticator is immutable
// after setup (add_* are for startup only); const methods may be called from
// any thread.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"

namespace gantry::controller {

// `None`: no global role (a user who reaches only the repositories that grant them one).
enum class Role { None, Viewer, Developer, Operator, ReleaseManager, Admin };

enum class Permission {
  Read,       // viewer
  Trigger,    // developer
  CancelOwn,  // developer: cancel one's own runs (started, pushed or authored: owns_run)
  RetryOwn,   // developer: retry one's own runs
  Cancel,     // operator
  Retry,      // operator
  Agents,     // operator
  Approve,    // release-manager
  Promote,    // release-manager
  Abort,      // release-manager
  Rollback,   // release-manager
  Admin,      // admin
};

bool role_allows(Role role, Permission permission);
std::optional<Role> parse_role(std::string_view name);  // "release-manager" -> ReleaseManager
const char* role_name(Role role);

// Lowercase hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);
// 32 random bytes as 64 hex digits; throws std::runtime_error when the system
// has no randomness to give (a startup error).
std::string random_token();

// What an agent token's agents may claim (AgentTokenConfig).
struct AgentPool {
  bool any_label = true;
  std::vector<std::string> labels;
  int64_t max_agents = 0;  // 0: no limit
};

struct Principal {
  std::string name;
  Role role = Role::Viewer;  // global: on every repository, and on runs of no repository
  bool is_agent = false;     // an agent token: the agent endpoint only
  std::vector<std::string> groups;
  std::vector<std::string> emails;  // users: the config's, to know their pushes and commits
  AgentPool pool;                   // agents only
  // Roles granted on configured repositories (`repositories: [{name, access: {WHO: ROLE}}]`,
  // WHO a user or one of their groups): repository name -> the highest one granted.
  std::map<std::string, Role, std::less<>> repo_roles;
};

// Whether the principal's global role has the permission. False for agents, whatever their role.
bool principal_allows(const Principal& principal, Permission permission);
// On one repository: the global role, or the role granted on `repo` (a configured repository's
// name). Runs of no configured repository (inline, URL) pass "" and need the global role.
bool principal_allows_on(const Principal& principal, Permission permission, std::string_view repo);
// On at least one repository (or globally): opens a route whose handler then checks each
// resource with principal_allows_on and shows only what passes.
bool principal_allows_somewhere(const Principal& principal, Permission permission);

// Which repositories' resources a principal may see with `permission`: every one (`all`), or
// those named. Lists filter with it, in the store's query, so pages stay full.
struct RepoFilter {
  bool all = true;
  std::vector<std::string> names;
  bool admits(std::string_view repo) const;
};
RepoFilter repos_allowing(const Principal& principal, Permission permission);

// The role a configured user holds on `repo` by the repository's `access` map (their name or a
// group of theirs), the highest when several match; None when none does. The global role is
// not included.
Role access_role(const Config& config, const UserConfig& user, std::string_view repo);

class Authenticator {
 public:
  Authenticator() = default;
  explicit Authenticator(const Config& config);  // its users and agent tokens

  void add_user(std::string name, Role role, std::string token_sha256,
                std::vector<std::string> groups = {});
  void add_agent_token(std::string name, std::string token_sha256, AgentPool pool = {});
  // Whether an agent token of this name is configured.
  bool has_agent_token(std::string_view name) const;
  // Whether an agent token other than `token` lists `label` in its labels.
  bool label_of_other_pool(std::string_view label, std::string_view token) const;

  // "Bearer TOKEN" (scheme case-insensitive); nullopt when the header is
  // missing, malformed or names no known token.
  std::optional<Principal> authenticate(std::string_view authorization_header) const;
  std::optional<Principal> authenticate_token(std::string_view token) const;

 private:
  struct Entry {
    std::string token_sha256;  // lowercase hex
    Principal principal;
  };
  std::vector<Entry> entries_;
};

// The configured users as the GMUD evaluator sees them: may_approve when
// their role has `needed`, globally or on `repo` (the request's repository). For an input's
// submitter list, which names users as well as groups, `names_as_groups` adds each user's own
// name and "*" (anyone) to their groups.
std::vector<gmud::Person> gate_people(const Config& config, Permission needed, bool names_as_groups,
                                      std::string_view repo = {});

// The tokens the controller writes into data_dir (`admin.token`,
// `agent.token` and the key of job tokens, `job-token.key`, mode 0600) so that a controller started
// without any config, and `make demo`, have credentials to use. They are created whenever absent,
// even when the config has users of its own; the caller decides whether to
// register them (it does when the config names no users and no agent tokens).
// An existing file is read back, so restarts keep the same tokens. Throws
// std::runtime_error when data_dir cannot be created, read or written.
struct GeneratedTokens {
  std::string admin, agent;
  std::string job_key;  // signs job tokens: kept across restarts, so live jobs' tokens hold
};
GeneratedTokens ensure_generated_tokens(const std::string& data_dir);

// A job attempt's token (SPEC §9, "Jobs"): HMAC-SHA256 under `key` of the job, its epoch and
// the agent it was assigned to, as 64 hex digits. Unguessable without the key, different for
// every attempt, and nothing to store: it is checked by computing it again, and an attempt that
// has ended is refused because the job is no longer held at that epoch.
std::string job_token(std::string_view key, std::string_view job_id, uint64_t epoch,
                      std::string_view agent_id);
// Constant-time comparison of `presented` with the token of that attempt.
bool job_token_matches(std::string_view key, std::string_view job_id, uint64_t epoch,
                       std::string_view agent_id, std::string_view presented);

// A link to a run's published report that a browser can open without the API token
// (docs/reports.md): "RUN.HEXNAME.EXPIRES.HMAC", HMAC-SHA256 under `key` of the run, the report's
// name and the expiry (unix seconds). Minted for someone who may read the run; anyone holding
// it reads that one report until it expires.
std::string report_link_token(std::string_view key, int64_t run_id, std::string_view name,
                              int64_t expires_s);
// The run and report a link token opens, if its HMAC holds and it has not expired at `now_s`.
bool parse_report_link(std::string_view key, std::string_view token, int64_t now_s, int64_t& run_id,
                       std::string& name);

}  // namespace gantry::controller
