// The list sections of the controller config: users, agent tokens,
// repositories and secrets. Names and tokens must be unique; a token is kept
// only as its SHA-256.
#include <algorithm>
#include <cctype>
#include <charconv>

#include "auth.hpp"
#include "config_reader.hpp"

namespace gantry::controller::config_detail {
namespace {

constexpr size_t kMaxTokenBytes = 1024;
constexpr size_t kMaxSecretBytes = 1 << 20;

// Who holds each token read so far, to refuse a token given twice.
struct TokenOwner {
  std::string hash, owner;
};

std::vector<TokenOwner> token_owners(const Config& c) {
  std::vector<TokenOwner> out;
  for (const auto& u : c.users) out.push_back({u.token_sha256, "user '" + u.name + "'"});
  for (const auto& a : c.agent_tokens)
    out.push_back({a.token_sha256, "agent token '" + a.name + "'"});
  return out;
}

bool is_hex_sha256(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char ch) {
           return std::isxdigit(static_cast<unsigned char>(ch));
         });
}

// `token: TEXT` or `token_sha256: HEX`, exactly one; the hash must be new.
bool read_token(Reader& r, const YAML::Node& entry, const Fields& fs, const std::string& owner,
                const std::vector<TokenOwner>& taken, std::string& hash) {
  const Field* plain = fs.find("token");
  const Field* hashed = fs.find("token_sha256");
  if (plain && hashed) return r.fail(hashed->key, owner + " has both 'token' and 'token_sha256'");
  if (!plain && !hashed) return r.fail(entry, owner + " needs 'token' or 'token_sha256'");
  std::string text;
  if (plain) {
    if (!r.string(*plain, text)) return false;
    bool visible =
        std::all_of(text.begin(), text.end(), [](char ch) { return ch > ' ' && ch < 127; });
    if (!visible || text.size() > kMaxTokenBytes) {
      return r.fail(*plain,
                    "a token must be at most 1024 printable ASCII characters without spaces");
    }
    hash = sha256_hex(text);
  } else {
    if (!r.string(*hashed, text)) return false;
    if (!is_hex_sha256(text))
      return r.fail(*hashed, "'token_sha256' must be 64 hexadecimal digits");
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    hash = text;
  }
  for (const auto& t : taken) {
    if (t.hash == hash) {
      return r.fail(plain ? *plain : *hashed, "this token is already used by " + t.owner);
    }
  }
  return true;
}

// Iterates a list section whose entries are maps with a unique `name`.
template <typename ReadEntry>
bool read_named_list(Reader& r, const Field& f, std::string_view noun,
                     std::initializer_list<std::string_view> keys, ReadEntry read_entry) {
  if (!f.value || f.value.IsNull()) return true;
  if (!f.value.IsSequence()) {
    return r.fail(
        f, "'" + f.name + "' must be a list, not " + (f.value.IsMap() ? "a map" : "a scalar"));
  }
  std::vector<std::pair<std::string, int>> seen;  // name, line
  const std::string what = "each entry of '" + f.name + "'";
  for (const auto& item : f.value) {
    Fields fs;
    if (!r.fields(item, what, keys, fs)) return false;
    const Field* name_field = fs.find("name");
    if (!name_field) return r.fail(item, what + " needs a 'name'");
    std::string name;
    if (!r.string(*name_field, name)) return false;
    for (const auto& [other, line] : seen) {
      if (other == name) {
        return r.fail(*name_field, "duplicate " + std::string(noun) + " '" + name +
                                       "' (first at line " + std::to_string(line) + ")");
      }
    }
    seen.emplace_back(name, name_field->value.Mark().line + 1);
    if (!read_entry(item, fs, name)) return false;
  }
  return true;
}

std::vector<std::string_view> role_names() {
  return {"none", "viewer", "developer", "operator", "release-manager", "admin"};
}

// `access: {WHO: ROLE}` of a repository: WHO a configured user or a group one of them is in, so
// a typo never grants (or silently fails to grant) a role.
bool read_access(Reader& r, const Field& f, const Config& c, const std::string& repo,
                 std::map<std::string, std::string>& out) {
  Fields entries;
  const std::string what = "repository '" + repo + "' access";
  if (!r.entries(f.value, "'" + f.name + "' of repository '" + repo + "'", entries)) return false;
  for (const Field& e : entries.all()) {
    const bool known = std::any_of(c.users.begin(), c.users.end(), [&](const UserConfig& u) {
      return u.name == e.name ||
             std::find(u.groups.begin(), u.groups.end(), e.name) != u.groups.end();
    });
    if (!known)
      return r.fail(e.key, what + " names '" + e.name +
                               "', which is neither a configured user nor a group of one");
    std::string role;
    if (!r.string(e, role)) return false;
    if (role == "none" || !parse_role(role)) {
      std::vector<std::string_view> grantable = role_names();
      grantable.erase(grantable.begin());
      std::string hint = did_you_mean(role, grantable);
      if (hint.empty()) hint = " (one of: viewer, developer, operator, release-manager, admin)";
      return r.fail(e, what + ": unknown role '" + role + "'" + hint);
    }
    out[e.name] = role;
  }
  return true;
}

}  // namespace

bool read_users(Reader& r, const Field& f, Config& c) {
  auto read_user = [&](const YAML::Node& item, const Fields& fs, const std::string& name) {
    UserConfig u;
    u.name = name;
    const std::string owner = "user '" + name + "'";
    const Field* role = fs.find("role");
    if (!role)
      return r.fail(item, owner +
                              " needs a 'role' (one of: none, viewer, developer, operator, "
                              "release-manager, admin)");
    if (!r.string(*role, u.role)) return false;
    if (!parse_role(u.role)) {
      std::string hint = did_you_mean(u.role, role_names());
      if (hint.empty())
        hint = " (one of: none, viewer, developer, operator, release-manager, admin)";
      return r.fail(*role, "unknown role '" + u.role + "'" + hint);
    }
    const Field* g = fs.find("groups");
    if (g && !r.string_list(*g, u.groups)) return false;
    const Field* e = fs.find("emails");
    if (e && !r.string_list(*e, u.emails)) return false;
    if (!read_token(r, item, fs, owner, token_owners(c), u.token_sha256)) return false;
    c.users.push_back(std::move(u));
    return true;
  };
  return read_named_list(r, f, "user",
                         {"name", "role", "groups", "emails", "token", "token_sha256"}, read_user);
}

bool read_agent_tokens(Reader& r, const Field& f, Config& c) {
  auto read_agent = [&](const YAML::Node& item, const Fields& fs, const std::string& name) {
    AgentTokenConfig a;
    a.name = name;
    const std::string what = "agent token '" + name + "'";
    if (!read_token(r, item, fs, what, token_owners(c), a.token_sha256)) return false;
    const Field* x = nullptr;
    if ((x = fs.find("labels"))) {
      if (!r.string_list(*x, a.labels)) return false;
      a.any_label = false;
    }
    if ((x = fs.find("repositories"))) {
      if (!r.string_list(*x, a.repositories)) return false;
      a.any_repository = false;
    }
    if ((x = fs.find("max_agents"))) {
      std::string text;
      if (!r.string(*x, text)) return false;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), a.max_agents);
      if (ec != std::errc() || end != text.data() + text.size() || a.max_agents < 0 ||
          a.max_agents > 1000000)
        return r.fail(*x, what + ": max_agents must be an integer from 0 (no limit) to 1000000");
    }
    c.agent_tokens.push_back(std::move(a));
    return true;
  };
  return read_named_list(r, f, "agent token",
                         {"name", "token", "token_sha256", "labels", "max_agents", "repositories"},
                         read_agent);
}

// `forge: {type, api, project, token, context, stages}`; the token's secret is checked once
// `secrets:` is read (check_forge_tokens).
bool read_forge(Reader& r, const Field& f, const std::string& repo, ForgeConfig& out) {
  const std::string what = "repository '" + repo + "' forge";
  Fields fs;
  if (!r.fields(f.value, what, {"type", "api", "project", "token", "context", "stages"}, fs))
    return false;
  const Field* x = nullptr;
  for (const char* required : {"type", "api", "project", "token"}) {
    if (!fs.find(required)) return r.fail(f, what + " needs '" + required + "'");
  }
  if (!r.string(*(x = fs.find("type")), out.type)) return false;
  if (out.type != "github" && out.type != "gitlab")
    return r.fail(*x, what + ": type is github or gitlab, not '" + out.type + "'");
  if (!r.string(*(x = fs.find("api")), out.api)) return false;
  while (out.api.ends_with('/')) out.api.pop_back();
  if (!out.api.starts_with("https://") && !out.api.starts_with("http://"))
    return r.fail(*x, what +
                          ": api is the forge's API URL (https://api.github.com, "
                          "https://gitlab.example.com/api/v4)");
  if (!r.string(*(x = fs.find("project")), out.project)) return false;
  if (out.type == "github" && std::count(out.project.begin(), out.project.end(), '/') != 1)
    return r.fail(*x, what + ": a GitHub project is owner/name, not '" + out.project + "'");
  if (!r.string(*fs.find("token"), out.token)) return false;
  if ((x = fs.find("context")) && !r.string(*x, out.context)) return false;
  if ((x = fs.find("stages")) && !r.boolean(*x, out.stages)) return false;
  return true;
}

bool read_repositories(Reader& r, const Field& f, Config& c) {
  auto read_repo = [&](const YAML::Node& item, const Fields& fs, const std::string& name) {
    RepositoryConfig repo;
    repo.name = name;
    // Runs of URLs are told apart from configured repositories by their name, which decides
    // roles and secrets: a name that reads as a URL or a path would blur the two.
    if (name.empty() || name.find("://") != std::string::npos || name.front() == '/')
      return r.fail(*fs.find("name"), "a repository name is a short word such as 'app', not '" +
                                          name + "' (a URL or a path goes in 'url')");
    const Field* url = fs.find("url");
    if (!url) return r.fail(item, "repository '" + name + "' needs a 'url'");
    if (!r.string(*url, repo.url)) return false;
    const Field* x = nullptr;
    if ((x = fs.find("branches")) && !r.string_list(*x, repo.branches)) return false;
    if ((x = fs.find("tags")) && !r.string_list(*x, repo.tags)) return false;
    if ((x = fs.find("pipeline")) && !r.string(*x, repo.pipeline)) return false;
    if ((x = fs.find("poll")) && !r.duration(*x, repo.poll_ms)) return false;
    if ((x = fs.find("webhook_secret")) && !r.string(*x, repo.webhook_secret, true)) return false;
    if ((x = fs.find("access")) && !read_access(r, *x, c, name, repo.access)) return false;
    if ((x = fs.find("change_requests"))) {
      if (!r.string(*x, repo.change_requests)) return false;
      if (repo.change_requests != "head" && repo.change_requests != "merge" &&
          repo.change_requests != "off")
        return r.fail(*x, "repository '" + name +
                              "': change_requests is head (build the change's head commit), "
                              "merge (the merge result the forge computes) or off");
    }
    if ((x = fs.find("forge")) && !read_forge(r, *x, name, repo.forge)) return false;
    if ((x = fs.find("credentials")) && !r.string(*x, repo.credentials)) return false;
    c.repositories.push_back(std::move(repo));
    return true;
  };
  return read_named_list(r, f, "repository",
                         {"name", "url", "branches", "tags", "pipeline", "poll", "webhook_secret",
                          "access", "change_requests", "forge", "credentials"},
                         read_repo);
}

bool read_locks(Reader& r, const Field& f, Config& c) {
  auto read_lock = [&](const YAML::Node&, const Fields& fs, const std::string& name) {
    if (name.empty() || name.size() > 256)
      return r.fail(*fs.find("name"), "a lock name must have 1 to 256 characters");
    LockConfig lock;
    lock.name = name;
    if (const Field* labels = fs.find("labels")) {
      if (!r.string_list(*labels, lock.labels)) return false;
      for (const std::string& label : lock.labels) {
        if (label.empty() || label.size() > 256)
          return r.fail(*labels, "a lock label must have 1 to 256 characters");
      }
    }
    c.locks.push_back(std::move(lock));
    return true;
  };
  return read_named_list(r, f, "lock", {"name", "labels"}, read_lock);
}

bool read_libraries(Reader& r, const Field& f, Config& c) {
  auto read_lib = [&](const YAML::Node& item, const Fields& fs, const std::string& name) {
    LibraryConfig lib;
    lib.name = name;
    if (name.empty() || name.find_first_of("@/: '\"") != std::string::npos)
      return r.fail(*fs.find("name"),
                    "a library name is a short word such as 'pipeline-lib', not '" + name + "'");
    const Field* url = fs.find("url");
    if (!url) return r.fail(item, "library '" + name + "' needs a 'url'");
    if (!r.string(*url, lib.url)) return false;
    const Field* x = nullptr;
    if ((x = fs.find("default_version")) && !r.string(*x, lib.default_version)) return false;
    if ((x = fs.find("allowed_versions")) && !r.string_list(*x, lib.allowed_versions)) return false;
    if ((x = fs.find("implicit")) && !r.boolean(*x, lib.implicit)) return false;
    if ((x = fs.find("credentials")) && !r.string(*x, lib.credentials)) return false;
    c.libraries.push_back(std::move(lib));
    return true;
  };
  return read_named_list(
      r, f, "library",
      {"name", "url", "default_version", "allowed_versions", "implicit", "credentials"}, read_lib);
}

bool read_git(Reader& r, const Field& f, Config& c) {
  Fields fs;
  if (!r.fields(f.value, "'git'", {"known_hosts", "ca_file"}, fs)) return false;
  for (auto [key, out] :
       {std::pair{"known_hosts", &c.git.known_hosts}, std::pair{"ca_file", &c.git.ca_pem}}) {
    const Field* x = fs.find(key);
    if (!x) continue;
    std::string path, error;
    if (!r.string(*x, path)) return false;
    if (!read_file_bounded(path, 1 << 20, *out, error))
      return r.fail(*x, std::string("git: cannot read ") + key + " '" + path + "': " + error);
  }
  return true;
}

bool read_secrets(Reader& r, const Field& f, Config& c) {
  Fields entries;
  if (!r.entries(f.value, "'secrets'", entries)) return false;
  for (const auto& entry : entries.all()) {
    if (entry.name.empty()) return r.fail(entry.key, "a secret name must not be empty");
    const std::string what = "secret '" + entry.name + "'";
    Fields fs;
    if (!r.fields(entry.value, what, {"value", "file", "scope"}, fs)) return false;
    const Field* value = fs.find("value");
    const Field* file = fs.find("file");
    if (value && file) {
      const Field* second = value->key.Mark().pos < file->key.Mark().pos ? file : value;
      return r.fail(second->key, what + " has both 'value' and 'file'");
    }
    if (!value && !file) return r.fail(entry.key, what + " needs 'value' or 'file'");
    SecretConfig secret;
    if (value && !r.string(*value, secret.value, true)) return false;
    if (file) {
      std::string path;
      std::string error;
      if (!r.string(*file, path)) return false;
      if (!read_file_bounded(path, kMaxSecretBytes, secret.value, error)) {
        return r.fail(*file, "cannot read secret file '" + path + "': " + error);
      }
    }
    if (const Field* scope = fs.find("scope")) {
      Fields sf;
      if (!r.fields(scope->value, what + " scope", {"environments", "repositories", "branches"},
                    sf))
        return false;
      const Field* x = nullptr;
      if ((x = sf.find("environments")) && !r.string_list(*x, secret.scope.environments))
        return false;
      if ((x = sf.find("repositories")) && !r.string_list(*x, secret.scope.repositories))
        return false;
      if ((x = sf.find("branches")) && !r.string_list(*x, secret.scope.branches)) return false;
    }
    c.secrets[entry.name] = std::move(secret);
  }
  return true;
}

}  // namespace gantry::controller::config_detail
