// Roles, token hashing and the generated admin/agent tokens.
#include "auth.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace gantry::controller {
namespace {

constexpr size_t kMaxTokenBytes = 1024;

Role required_role(Permission p) {
  switch (p) {
    case Permission::Read:
      return Role::Viewer;
    case Permission::Trigger:
    case Permission::CancelOwn:
    case Permission::RetryOwn:
      return Role::Developer;
    case Permission::Cancel:
    case Permission::Retry:
    case Permission::Agents:
      return Role::Operator;
    case Permission::Approve:
    case Permission::Promote:
    case Permission::Abort:
    case Permission::Rollback:
      return Role::ReleaseManager;
    case Permission::Admin:
      return Role::Admin;
  }
  return Role::Admin;
}

std::string to_hex(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

bool is_token_text(std::string_view t) {
  return !t.empty() && t.size() <= kMaxTokenBytes &&
         std::all_of(t.begin(), t.end(), [](char ch) { return ch > ' ' && ch < 127; });
}

bool is_space(char ch) {
  return ch == ' ' || ch == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

[[noreturn]] void fail(const std::string& what, const std::string& path, int err) {
  throw std::runtime_error(what + " " + path + ": " + std::strerror(err));
}

// Written to a temporary file and renamed, so a crash never leaves a
// half-written token behind.
void write_token_file(const std::string& path, const std::string& token) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail("cannot create", tmp, errno);
  std::string text = token + "\n";
  bool ok = ::fchmod(fd, 0600) == 0 &&
            ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok) fail("cannot write", tmp, err);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename to", path, errno);
}

std::string ensure_token_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("cannot read", path, errno ? errno : EACCES);
    std::string text(kMaxTokenBytes + 2, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(in.gcount()));
    std::string_view token = trim(text);
    if (is_token_text(token)) return std::string(token);
    // An empty or garbled file: replace it rather than refuse to start.
  } else if (ec) {
    fail("cannot inspect", path, ec.value());
  }
  std::string token = random_token();
  write_token_file(path, token);
  return token;
}

}  // namespace

bool role_allows(Role role, Permission permission) {
  return static_cast<int>(role) >= static_cast<int>(required_role(permission));
}

bool principal_allows(const Principal& principal, Permission permission) {
  return !principal.is_agent && role_allows(principal.role, permission);
}

bool principal_allows_on(const Principal& principal, Permission permission, std::string_view repo) {
  if (principal_allows(principal, permission)) return true;
  if (principal.is_agent || repo.empty()) return false;
  auto it = principal.repo_roles.find(repo);
  return it != principal.repo_roles.end() && role_allows(it->second, permission);
}

bool principal_allows_somewhere(const Principal& principal, Permission permission) {
  if (principal_allows(principal, permission)) return true;
  if (principal.is_agent) return false;
  return std::any_of(principal.repo_roles.begin(), principal.repo_roles.end(),
                     [&](const auto& r) { return role_allows(r.second, permission); });
}

bool RepoFilter::admits(std::string_view repo) const {
  return all || (!repo.empty() && std::find(names.begin(), names.end(), repo) != names.end());
}

RepoFilter repos_allowing(const Principal& principal, Permission permission) {
  RepoFilter f;
  if (principal_allows(principal, permission)) return f;
  f.all = false;
  if (principal.is_agent) return f;
  for (const auto& [repo, role] : principal.repo_roles) {
    if (role_allows(role, permission)) f.names.push_back(repo);
  }
  return f;
}

Role access_role(const Config& config, const UserConfig& user, std::string_view repo) {
  Role best = Role::None;
  for (const RepositoryConfig& r : config.repositories) {
    if (r.name != repo) continue;
    for (const auto& [who, role_text] : r.access) {
      const bool mine = who == user.name ||
                        std::find(user.groups.begin(), user.groups.end(), who) != user.groups.end();
      std::optional<Role> role = parse_role(role_text);
      if (mine && role && static_cast<int>(*role) > static_cast<int>(best)) best = *role;
    }
  }
  return best;
}

std::optional<Role> parse_role(std::string_view name) {
  for (Role r : {Role::None, Role::Viewer, Role::Developer, Role::Operator, Role::ReleaseManager,
                 Role::Admin}) {
    if (name == role_name(r)) return r;
  }
  return std::nullopt;
}

const char* role_name(Role role) {
  switch (role) {
    case Role::None:
      return "none";
    case Role::Viewer:
      return "viewer";
    case Role::Developer:
      return "developer";
    case Role::Operator:
      return "operator";
    case Role::ReleaseManager:
      return "release-manager";
    case Role::Admin:
      return "admin";
  }
  return "viewer";
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 is unavailable in this OpenSSL");
  }
  return to_hex(md, len);
}

std::string random_token() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    std::ifstream urandom("/dev/urandom", std::ios::binary);
    if (!urandom.read(reinterpret_cast<char*>(bytes), sizeof bytes)) {
      throw std::runtime_error("no source of random bytes for a token");
    }
  }
  return to_hex(bytes, sizeof bytes);
}

Authenticator::Authenticator(const Config& config) {
  for (const auto& u : config.users) {
    // The config loader has checked the role; a bad one here is a caller bug.
    add_user(u.name, parse_role(u.role).value_or(Role::None), u.token_sha256, u.groups);
    Principal& p = entries_.back().principal;
    p.emails = u.emails;
    for (const RepositoryConfig& r : config.repositories) {
      Role role = access_role(config, u, r.name);
      if (role != Role::None) p.repo_roles[r.name] = role;
    }
  }
  for (const auto& a : config.agent_tokens)
    add_agent_token(a.name, a.token_sha256, AgentPool{a.any_label, a.labels, a.max_agents});
}

void Authenticator::add_user(std::string name, Role role, std::string token_sha256,
                             std::vector<std::string> groups) {
  entries_.push_back(Entry{lowercase(std::move(token_sha256)),
                           Principal{std::move(name), role, false, std::move(groups)}});
}

void Authenticator::add_agent_token(std::string name, std::string token_sha256, AgentPool pool) {
  entries_.push_back(
      Entry{lowercase(std::move(token_sha256)),
            Principal{std::move(name), Role::Viewer, true, {}, {}, std::move(pool)}});
}

bool Authenticator::label_of_other_pool(std::string_view label, std::string_view token) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) {
    const Principal& p = e.principal;
    return p.is_agent && p.name != token &&
           std::find(p.pool.labels.begin(), p.pool.labels.end(), label) != p.pool.labels.end();
  });
}

bool Authenticator::has_agent_token(std::string_view name) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) {
    return e.principal.is_agent && e.principal.name == name;
  });
}

std::optional<Principal> Authenticator::authenticate(std::string_view header) const {
  header = trim(header);
  constexpr std::string_view kScheme = "bearer";
  if (header.size() <= kScheme.size() || !is_space(header[kScheme.size()])) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return std::nullopt;
  }
  std::string_view token = header.substr(kScheme.size());
  while (!token.empty() && is_space(token.front())) token.remove_prefix(1);
  return authenticate_token(token);
}

std::optional<Principal> Authenticator::authenticate_token(std::string_view token) const {
  if (!is_token_text(token)) return std::nullopt;
  const std::string hash = sha256_hex(token);
  const Entry* found = nullptr;
  // Every entry is compared, each in constant time, so timing says nothing
  // about which hash (or how much of it) matched.
  for (const auto& e : entries_) {
    bool same = e.token_sha256.size() == hash.size() &&
                CRYPTO_memcmp(e.token_sha256.data(), hash.data(), hash.size()) == 0;
    if (same && !found) found = &e;
  }
  if (!found) return std::nullopt;
  return found->principal;
}

GeneratedTokens ensure_generated_tokens(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) fail("cannot create", data_dir, ec.value());
  GeneratedTokens tokens;
  tokens.admin = ensure_token_file((std::filesystem::path(data_dir) / "admin.token").string());
  tokens.agent = ensure_token_file((std::filesystem::path(data_dir) / "agent.token").string());
  tokens.job_key = ensure_token_file((std::filesystem::path(data_dir) / "job-token.key").string());
  return tokens;
}

namespace {

std::string hmac_hex(std::string_view key, const std::string& message) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(message.data()), message.size(), md, &len)) {
    throw std::runtime_error("HMAC-SHA256 is unavailable in this OpenSSL");
  }
  return to_hex(md, len);
}

std::string report_link_mac(std::string_view key, int64_t run_id, std::string_view hex_name,
                            int64_t expires_s) {
  return hmac_hex(key, "report-link\n" + std::to_string(run_id) + "\n" + std::string(hex_name) +
                           "\n" + std::to_string(expires_s));
}

}  // namespace

std::string job_token(std::string_view key, std::string_view job_id, uint64_t epoch,
                      std::string_view agent_id) {
  return hmac_hex(
      key, std::string(job_id) + '\n' + std::to_string(epoch) + '\n' + std::string(agent_id));
}

bool job_token_matches(std::string_view key, std::string_view job_id, uint64_t epoch,
                       std::string_view agent_id, std::string_view presented) {
  if (key.empty()) return false;
  std::string expected = job_token(key, job_id, epoch, agent_id);
  return presented.size() == expected.size() &&
         CRYPTO_memcmp(presented.data(), expected.data(), expected.size()) == 0;
}

std::string report_link_token(std::string_view key, int64_t run_id, std::string_view name,
                              int64_t expires_s) {
  const std::string hex_name =
      to_hex(reinterpret_cast<const unsigned char*>(name.data()), name.size());
  return std::to_string(run_id) + "." + hex_name + "." + std::to_string(expires_s) + "." +
         report_link_mac(key, run_id, hex_name, expires_s);
}

bool parse_report_link(std::string_view key, std::string_view token, int64_t now_s, int64_t& run_id,
                       std::string& name) {
  if (key.empty() || token.size() > 2048) return false;
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t dot = token.find('.', start);
    parts.push_back(token.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (parts.size() != 4 || parts[1].size() % 2 != 0) return false;
  int64_t expires = 0;
  auto number = [](std::string_view text, int64_t& out) {
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && p == text.data() + text.size() && out > 0;
  };
  if (!number(parts[0], run_id) || !number(parts[2], expires) || expires < now_s) return false;
  const std::string expected = report_link_mac(key, run_id, parts[1], expires);
  if (parts[3].size() != expected.size() ||
      CRYPTO_memcmp(parts[3].data(), expected.data(), expected.size()) != 0)
    return false;
  name.clear();
  for (size_t i = 0; i < parts[1].size(); i += 2) {
    auto nibble = [](char c) {
      return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    };
    const int hi = nibble(parts[1][i]), lo = nibble(parts[1][i + 1]);
    if (hi < 0 || lo < 0) return false;
    name += static_cast<char>(hi * 16 + lo);
  }
  return true;
}

std::vector<gmud::Person> gate_people(const Config& config, Permission needed, bool names_as_groups,
                                      std::string_view repo) {
  std::vector<gmud::Person> people;
  for (const UserConfig& u : config.users) {
    gmud::Person p{u.name, u.groups, u.emails, false};
    auto role = parse_role(u.role);
    p.may_approve = (role && role_allows(*role, needed)) ||
                    (!repo.empty() && role_allows(access_role(config, u, repo), needed));
    if (names_as_groups) p.groups.insert(p.groups.end(), {u.name, "*"});
    people.push_back(std::move(p));
  }
  return people;
}

}  // namespace gantry::controller
