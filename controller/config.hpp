#pragma once
// The controller's configuration file (SPEC §10): reading and checking it.
// Every key is optional; an empty file gives the defaults below. Anything the
// controller would not understand (an unknown key, a wrong type, a bad
// duration, a duplicate name or token) is refused with one error at the
// offending node, "FILE:LINE:COL: error: MESSAGE" followed by the source line
// and a caret, so a typo never silently changes behaviour.
//
// Relative paths (data_dir, tls files, secret files) are relative to the
// controller's working directory, not to the config file. Secret files are
// read once, at load time, byte for byte (a trailing newline is kept).
//
// Not responsible for acting on the config (listening, loading TLS files,
// opening the store); `environments` holds the GMUD policies, checked here
// (windows, freezes, durations) and enforced by controller/gmud. Plain values and pure functions
// apart from the file reads; safe to call from any thread.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gmud/gate.hpp"
#include "notification_config.hpp"
#include "scheduler/secret_scope.hpp"

namespace gantry::controller {

struct UserConfig {
  std::string name, role;
  std::vector<std::string> groups, emails;
  std::string token_sha256;  // lowercase hex; computed from `token` when that is given
};

// An agent token is a pool (SPEC §9): the labels its agents may claim
// (`labels:`; absent: any) and how many of them may be connected at once
// (`max_agents`; 0: no limit).
struct AgentTokenConfig {
  std::string name;
  std::string token_sha256;
  bool any_label = true;
  std::vector<std::string> labels;
  int64_t max_agents = 0;
  // `repositories: [app]`: this pool's agents take jobs of these configured repositories only
  // (production agents for the app that deploys there); absent: any run.
  bool any_repository = true;
  std::vector<std::string> repositories;
};

// `forge: {type, api, project, token, context, stages}` of a repository (docs/forges.md): where
// commit statuses go. `token` names an entry of `secrets:`, read by the controller alone.
struct ForgeConfig {
  std::string type;                // "github" | "gitlab"; empty: no forge, no statuses
  std::string api;                 // https://api.github.com, https://gitlab.example.com/api/v4
  std::string project;             // GitHub "owner/name"; GitLab "group/name" or the numeric id
  std::string token;               // the secret holding the API token
  std::string context = "gantry";  // the status' name (GitHub context, GitLab name)
  bool stages = false;             // a status per top-level stage too ("gantry/Build")
  bool operator==(const ForgeConfig&) const = default;
};

struct RepositoryConfig {
  std::string name, url;
  std::vector<std::string> branches, tags;
  std::string pipeline = "Jenkinsfile";
  int64_t poll_ms = 30000;  // 0: never poll (webhooks only)
  std::string webhook_secret;
  // `access: {team-a: developer, qa: viewer}`: roles granted on this repository to a user (by
  // name) or to a group, beside their global role (SPEC §9).
  std::map<std::string, std::string> access;
  // Pull and merge requests from webhooks (docs/forges.md): build the change's head commit
  // ("head"), the merge result the forge computes ("merge"), or none ("off").
  std::string change_requests = "head";
  ForgeConfig forge;
  // `credentials: NAME`: the secret that reaches the repository (an SSH key, a token or
  // user:password; docs/forges.md), for the controller's fetches and the agents' checkouts.
  std::string credentials;
  bool operator==(const RepositoryConfig&) const = default;
};

// `libraries: [{name, url, default_version, allowed_versions, implicit}]`
// (SPEC §4 shared libraries): what `@Library('name@version')` loads.
// `allowed_versions` empty: any branch, tag or commit; else only those.
// `implicit`: loaded for every pipeline without being asked for.
struct LibraryConfig {
  std::string name, url;
  std::string default_version;  // empty: the remote's default branch
  std::vector<std::string> allowed_versions;
  bool implicit = false;
  std::string credentials;  // as a repository's
  bool operator==(const LibraryConfig&) const = default;
};

// A deploy target. `gated`: deploys wait for a GMUD approved under `policy`.
struct EnvironmentConfig {
  std::string name;
  bool gated = false;
  gmud::Policy policy;
};

// `secrets: {ID: {value | file, scope: {environments, repositories, branches}}}`
// (SPEC §9; scheduler/secret_scope.hpp says who gets what).
struct SecretConfig {
  std::string value;  // `file:` is read at load time
  SecretScope scope;
};

// `retention:` (docs/retention.md): how long finished runs and their files
// are kept. Ages count from a run's end; kUnlimited (`unlimited` in the
// file) turns a limit off. A pipeline's buildDiscarder(logRotator(...))
// replaces runs, keep_last and artifacts for its job; events is the live
// events table, counted over all runs.
struct RetentionConfig {
  static constexpr int64_t kUnlimited = -1;
  static constexpr int64_t kDayMs = int64_t{24} * 60 * 60 * 1000;
  int64_t runs_ms = 90 * kDayMs;       // a run older than this is deleted
  int64_t logs_ms = 30 * kDayMs;       // its logs go earlier; the run stays
  int64_t artifacts_ms = 14 * kDayMs;  // and its artifacts and stashes
  int64_t keep_last = kUnlimited;      // runs kept per job, however young (none: by age only)
  int64_t events = 1000000;            // newest live events kept
};

// `kubernetes:` (docs/containers.md): a pod per job of a kubernetes agent, in this cluster,
// instead of containers on an agent with an engine.
struct KubernetesConfig {
  std::string api;  // https://host:port of the API server; empty: no cluster
  std::string kube_namespace = "default";
  std::string token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string ca_file;      // empty: the service account's ca.crt when it exists, else the system's
  std::string agent_image;  // an image with gantry-agent (packaging/), run as the pod's agent
  // A Secret of the namespace, with the agent token under the key `token`.
  std::string agent_token_secret = "gantry-agent-token";
  std::string controller_url;  // as pods reach the controller; empty: `url`
  // The pod's agent's --work; its workspace/ is a volume every container of the pod mounts
  // at that same path.
  std::string work_dir = "/home/gantry/agent";
  int64_t start_timeout_ms = int64_t{5} * 60 * 1000;  // a pod not running by then fails its job
  int64_t max_pods = 20;                              // pods at once; more jobs wait
  bool enabled() const { return !api.empty(); }
  bool operator==(const KubernetesConfig&) const = default;
};

// `git: {known_hosts: FILE, ca_file: FILE}`: how private remotes are checked (docs/forges.md).
// Both are read at load time; SSH remotes with credentials are refused unless their host key
// is in known_hosts.
struct GitConfig {
  std::string known_hosts;  // the file's text
  std::string ca_pem;       // the file's text: CAs for https remotes, besides the system's
  bool operator==(const GitConfig&) const = default;
};

// `locks: [{name, labels}]`: lockable resources (Jenkins' Lockable Resources), which
// `lock(label: L, quantity: N)` picks from; others are created when first locked by name.
struct LockConfig {
  std::string name;
  std::vector<std::string> labels;
  bool operator==(const LockConfig&) const = default;
};

// `database:` (docs/ha.md): where the store keeps its records. Absent: SQLite, in
// data_dir/gantry.db. `database: postgresql://user@host:5432/gantry`, or
// `database: {driver: postgresql, url: ...}`: that PostgreSQL database (logs and artifacts stay
// in data_dir for now).
struct DatabaseConfig {
  std::string driver = "sqlite";  // "sqlite" | "postgresql"
  std::string url;                // postgresql:// or postgres://; empty for sqlite
  // Controllers sharing the database elect a leader (docs/ha.md): the lease's length, and the
  // URL this controller serves on for the others to send users and agents to (empty: from
  // `listen`, with the host name when it listens on every address; `--advertise` overrides).
  int64_t lease_ms = 10000;
  std::string advertise;
  bool operator==(const DatabaseConfig&) const = default;
};

struct Config {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8080;  // 0: pick a free port
  // `url: https://ci.example.com`: the address users open (BUILD_URL, GANTRY_URL, links in
  // notifications). Without it, the listen address.
  std::string public_url;
  std::string data_dir = "./gantry-data";
  DatabaseConfig database;
  std::vector<UserConfig> users;
  std::vector<AgentTokenConfig> agent_tokens;
  std::vector<RepositoryConfig> repositories;
  std::vector<LibraryConfig> libraries;
  std::map<std::string, EnvironmentConfig> environments;
  std::map<std::string, SecretConfig> secrets;
  std::vector<LockConfig> locks;
  GitConfig git;
  int64_t agent_lost_after_ms = 30000;
  // `tls: {cert: FILE, key: FILE, client_ca: FILE}`: HTTPS and WSS. cert and key both or
  // neither; with client_ca, agents must present a certificate it signed (mutual TLS).
  std::string tls_cert, tls_key, tls_client_ca;
  // `allowed_run_urls: [PREFIX/...]`: repository URLs (or local paths) that are not configured
  // repositories but that developers may run by URL (each prefix ends with '/'). Admins may run any
  // URL and inline pipelines; such runs get no secrets and cannot deploy to a gated environment
  // (SPEC §9).
  std::vector<std::string> allowed_run_urls;
  // `insecure: true`: plain HTTP on an address other than loopback. Without it, listening there
  // without tls is refused (SPEC §9, transport).
  bool insecure = false;
  int64_t cancel_grace_ms = 10000;  // `cancel_grace`
  RetentionConfig retention;
  KubernetesConfig kubernetes;
  // `notifications:` (notification_config.hpp, docs/notifications.md).
  std::vector<NotificationChannel> notifications;
  // Not from the file: `gantry run` opens every gate at once (inputs take
  // their defaults), since nobody else is there to decide.
  bool open_gates = false;
  // Not from the file: `gantry run` on a terminal (or with --input): inputs become requests
  // (INPUT-N) that the user at the terminal answers, whatever their submitter says.
  bool local_inputs = false;
  // gantry run: a library the pipeline names but --library did not give is left out (its
  // steps fail when reached) instead of failing the run. Not a config key.
  bool skip_unknown_libraries = false;
  // Set by load_config, empty for the defaults: the file and the SHA-256 of
  // its bytes, which the controller records in the audit log at startup.
  std::string source_path, source_sha256;
};

struct ConfigError {
  // "FILE:LINE:COL: error: unknown key 'listn' (did you mean 'listen'?)", then
  // the source line and a caret under the column when the error has a place.
  std::string message;
};

// Larger files are refused: a config is a few kilobytes.
constexpr size_t kMaxConfigBytes = 1 << 20;

std::variant<Config, ConfigError> load_config(const std::string& path);
std::variant<Config, ConfigError> parse_config(std::string_view text,
                                               const std::string& path_for_messages);

// "500ms", "30s", "2m", "1h"; a bare integer is seconds. Refuses signs,
// fractions, spaces, unknown units and values that overflow int64 ms.
bool parse_duration_ms(std::string_view text, int64_t& out);

// "HOST:PORT" with an IPv6 host in brackets ("[::1]:80", host stored without
// them). The host is required; port 0 means "pick a free port".
bool parse_listen(std::string_view text, std::string& host, uint16_t& port);

}  // namespace gantry::controller
