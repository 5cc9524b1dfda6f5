// Loading the controller config: the file, the YAML document, the top-level
// keys, and the scalar formats (durations, listen addresses). The list
// sections are in config_sections.cpp.
#include "config.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <limits>

#include "auth.hpp"
#include "config_reader.hpp"

namespace gantry::controller {
namespace {

using config_detail::Field;
using config_detail::Fields;
using config_detail::Reader;

// Aliases let a small file name the same subtree many times; this caps the
// expanded size (and breaks alias cycles) far above any real config.
constexpr size_t kMaxNodes = 100000;

bool within_node_budget(const YAML::Node& root) {
  size_t seen = 0;
  std::vector<YAML::Node> todo{root};
  while (!todo.empty()) {
    YAML::Node n = todo.back();
    todo.pop_back();
    if (++seen > kMaxNodes) return false;
    if (n.IsSequence()) {
      for (const auto& item : n) todo.push_back(item);
    } else if (n.IsMap()) {
      for (auto it = n.begin(); it != n.end(); ++it) {
        todo.push_back(it->first);
        todo.push_back(it->second);
      }
    }
  }
  return true;
}

bool read_listen(Reader& r, const Field& f, Config& c) {
  std::string text;
  if (!r.string(f, text)) return false;
  if (!parse_listen(text, c.listen_host, c.listen_port)) {
    return r.fail(f, "invalid listen address '" + text +
                         "' (expected HOST:PORT with a port from 0 to 65535, e.g. 127.0.0.1:8080)");
  }
  return true;
}

bool read_tls(Reader& r, const Field& f, Config& c) {
  Fields tls;
  if (!r.fields(f.value, "'tls'", {"cert", "key", "client_ca"}, tls)) return false;
  if (tls.all().empty()) return true;
  const Field* cert = tls.find("cert");
  const Field* key = tls.find("key");
  if (!cert || !key) return r.fail(f.key, "'tls' needs both 'cert' and 'key'");
  const Field* client_ca = tls.find("client_ca");
  if (client_ca && !r.string(*client_ca, c.tls_client_ca)) return false;
  return r.string(*cert, c.tls_cert) && r.string(*key, c.tls_key);
}

// Prefixes end at a path boundary, so "https://git.example.com/" cannot be widened to
// "https://git.example.com.evil.test/".
bool read_allowed_run_urls(Reader& r, const Field& f, Config& c) {
  if (!r.string_list(f, c.allowed_run_urls)) return false;
  for (const std::string& prefix : c.allowed_run_urls) {
    const bool url =
        !prefix.empty() && (prefix.find("://") != std::string::npos || prefix.front() == '/');
    if (!url || prefix.back() != '/') {
      return r.fail(f,
                    "'allowed_run_urls' holds URL or path prefixes ending with '/' (such as "
                    "https://git.example.com/team/ or /srv/git/), not '" +
                        prefix + "'");
    }
  }
  return true;
}

bool read_config(Reader& r, const YAML::Node& doc, Config& c) {
  if (!within_node_budget(doc)) {
    return r.fail(doc, "the document expands to more than " + std::to_string(kMaxNodes) +
                           " YAML nodes (through aliases?)");
  }
  Fields top;
  // Kept packed: past 20 items clang-format would put one a line.
  // clang-format off
  if (!r.fields(
          doc, "the config",
          {"listen", "data_dir", "database", "users", "agent_tokens", "repositories",
           "environments", "secrets", "agent_lost_after", "tls", "insecure", "cancel_grace",
           "retention", "allowed_run_urls", "url", "libraries", "kubernetes", "notifications",
           "git", "locks"},
          top)) {
    // clang-format on
    return false;
  }
  // A fixed order, so that agent tokens are checked against the users' tokens.
  const Field* f = nullptr;
  if ((f = top.find("listen")) && !read_listen(r, *f, c)) return false;
  if ((f = top.find("data_dir")) && !r.string(*f, c.data_dir)) return false;
  if ((f = top.find("database")) && !config_detail::read_database(r, *f, c)) return false;
  if ((f = top.find("users")) && !config_detail::read_users(r, *f, c)) return false;
  if ((f = top.find("agent_tokens")) && !config_detail::read_agent_tokens(r, *f, c)) return false;
  if ((f = top.find("repositories")) && !config_detail::read_repositories(r, *f, c)) return false;
  if ((f = top.find("libraries")) && !config_detail::read_libraries(r, *f, c)) return false;
  if ((f = top.find("environments")) && !config_detail::read_environments(r, *f, c)) return false;
  if ((f = top.find("secrets")) && !config_detail::read_secrets(r, *f, c)) return false;
  if ((f = top.find("git")) && !config_detail::read_git(r, *f, c)) return false;
  if ((f = top.find("locks")) && !config_detail::read_locks(r, *f, c)) return false;
  for (const RepositoryConfig& repo : c.repositories) {
    if (!repo.credentials.empty() && !c.secrets.count(repo.credentials))
      return r.fail(*top.find("repositories"), "repository '" + repo.name + "': credentials '" +
                                                   repo.credentials +
                                                   "' is not a secret under secrets:");
    if (!repo.forge.token.empty() && !c.secrets.count(repo.forge.token))
      return r.fail(*top.find("repositories"), "repository '" + repo.name + "' forge: token '" +
                                                   repo.forge.token +
                                                   "' is not a secret under secrets:");
  }
  for (const LibraryConfig& lib : c.libraries) {
    if (!lib.credentials.empty() && !c.secrets.count(lib.credentials))
      return r.fail(*top.find("libraries"), "library '" + lib.name + "': credentials '" +
                                                lib.credentials +
                                                "' is not a secret under secrets:");
  }
  if ((f = top.find("agent_lost_after"))) {
    if (!r.duration(*f, c.agent_lost_after_ms)) return false;
    if (c.agent_lost_after_ms <= 0) return r.fail(*f, "'agent_lost_after' must be more than 0");
  }
  if ((f = top.find("tls")) && !read_tls(r, *f, c)) return false;
  if ((f = top.find("insecure")) && !r.boolean(*f, c.insecure)) return false;
  if ((f = top.find("allowed_run_urls")) && !read_allowed_run_urls(r, *f, c)) return false;
  if ((f = top.find("cancel_grace")) && !r.duration(*f, c.cancel_grace_ms)) return false;
  if ((f = top.find("retention")) && !config_detail::read_retention(r, *f, c)) return false;
  if ((f = top.find("kubernetes")) && !config_detail::read_kubernetes(r, *f, c)) return false;
  if ((f = top.find("notifications")) && !config_detail::read_notifications(r, *f, c)) return false;
  if ((f = top.find("url"))) {
    if (!r.string(*f, c.public_url)) return false;
    while (!c.public_url.empty() && c.public_url.back() == '/') c.public_url.pop_back();
    if (!c.public_url.starts_with("http://") && !c.public_url.starts_with("https://")) {
      return r.fail(*f, "'url' must start with http:// or https:// (the address users open)");
    }
  }
  return true;
}

bool parse_digits(std::string_view text, uint64_t limit, uint64_t& out) {
  if (text.empty()) return false;
  out = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return false;
    uint64_t digit = static_cast<uint64_t>(ch - '0');
    if (out > (limit - digit) / 10) return false;
    out = out * 10 + digit;
  }
  return true;
}

}  // namespace

bool parse_duration_ms(std::string_view text, int64_t& out) {
  size_t unit_at = 0;
  while (unit_at < text.size() && text[unit_at] >= '0' && text[unit_at] <= '9') ++unit_at;
  std::string_view unit = text.substr(unit_at);
  uint64_t scale = 0;
  if (unit == "ms") {
    scale = 1;
  } else if (unit == "s" || unit.empty()) {
    scale = 1000;
  } else if (unit == "m") {
    scale = uint64_t{60} * 1000;
  } else if (unit == "h") {
    scale = uint64_t{60} * 60 * 1000;
  } else {
    return false;
  }
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t n = 0;
  if (!parse_digits(text.substr(0, unit_at), kMax / scale, n)) return false;
  out = static_cast<int64_t>(n * scale);
  return true;
}

bool parse_listen(std::string_view text, std::string& host, uint16_t& port) {
  std::string_view h;
  std::string_view p;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return false;
    }
    h = text.substr(1, close - 1);
    p = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return false;
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
    if (h.find(':') != std::string_view::npos) return false;  // IPv6 needs brackets
  }
  if (h.empty()) return false;
  for (char ch : h) {
    if (static_cast<unsigned char>(ch) <= ' ' || ch == '[' || ch == ']' || ch == '/') return false;
  }
  uint64_t n = 0;
  if (p.size() > 5 || !parse_digits(p, 65535, n)) return false;
  host = std::string(h);
  port = static_cast<uint16_t>(n);
  return true;
}

std::variant<Config, ConfigError> parse_config(std::string_view text,
                                               const std::string& path_for_messages) {
  if (text.size() > kMaxConfigBytes) {
    return ConfigError{path_for_messages + ": error: the file is larger than 1 MiB"};
  }
  Reader r(text, path_for_messages);
  YAML::Node doc;
  try {
    doc = YAML::Load(std::string(text));
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp gives this one the message "bad file".
    r.fail_at(e.mark, "nesting is too deep for the YAML reader");
    return *r.error();
  } catch (const YAML::Exception& e) {
    r.fail_at(e.mark, "invalid YAML: " + e.msg);
    return *r.error();
  } catch (const std::exception& e) {
    return ConfigError{path_for_messages + ": error: cannot read the YAML: " + e.what()};
  }
  try {
    Config config;
    if (!read_config(r, doc, config)) return *r.error();
    return config;
  } catch (const std::exception& e) {
    // yaml-cpp throws on conversions the checks above should have ruled out.
    return ConfigError{path_for_messages + ": error: " + e.what()};
  }
}

std::variant<Config, ConfigError> load_config(const std::string& path) {
  std::string text;
  std::string error;
  if (!config_detail::read_file_bounded(path, kMaxConfigBytes, text, error)) {
    return ConfigError{path + ": error: cannot read the config file: " + error};
  }
  auto parsed = parse_config(text, path);
  if (auto* config = std::get_if<Config>(&parsed)) {
    config->source_path = path;
    config->source_sha256 = sha256_hex(text);
  }
  return parsed;
}

}  // namespace gantry::controller
