#include "agent_config.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "gantry/common/log.hpp"

namespace gantry::agent {

namespace {

constexpr const char* kEngineChoices =
    "container_engine must be auto, podman, docker, none, kubernetes or the absolute path of one";
bool valid_engine(const std::string& v) {
  return v == "auto" || v == "podman" || v == "docker" || v == "none" || v == "kubernetes" ||
         (!v.empty() && v.front() == '/');
}

std::vector<std::string> split_labels(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s + ",") {
    if (c == ',' || c == ' ') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}

bool parse_executors(const std::string& s, int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out >= 1 && out <= 1024;
}

// A size: bytes, or with K, M or G (binary); from 1 KiB to the 1 GiB cap.
bool parse_log_limit(const std::string& s, uint64_t& out) {
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p == s.data()) return false;
  std::string_view unit(p, static_cast<size_t>(s.data() + s.size() - p));
  uint64_t scale = unit.empty()  ? 1
                   : unit == "K" ? 1024
                   : unit == "M" ? 1024 * 1024
                   : unit == "G" ? 1024 * 1024 * 1024
                                 : 0;
  if (scale == 0 || n > protocol::kLogLimit / scale) return false;
  out = n * scale;
  return out >= 1024 && out <= protocol::kLogLimit;
}

constexpr const char* kLogLimitError =
    "log_limit must be a size from 1K to 1G (bytes, or with K, M, G)";

// How many workspaces to keep per job: 0 to 1000.
bool parse_keep(const std::string& s, int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out >= 0 && out <= 1000;
}

// An age: a number with s, m, h or d ("14d"); "0" never.
bool parse_age(const std::string& s, std::chrono::seconds& out) {
  int64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p == s.data() || n < 0 || n > 100000) return false;
  std::string_view unit(p, static_cast<size_t>(s.data() + s.size() - p));
  int64_t scale = unit == "s"              ? 1
                  : unit == "m"            ? 60
                  : unit == "h"            ? 3600
                  : unit == "d"            ? 86400
                  : unit.empty() && n == 0 ? 1
                                           : 0;
  if (scale == 0) return false;
  out = std::chrono::seconds(n * scale);
  return true;
}

constexpr const char* kKeepError = "keep_workspaces must be an integer from 0 to 1000";
constexpr const char* kAgeError =
    "mirror_max_age must be an age like 14d, 12h, 30m or 90s (0: keep mirrors forever)";

}  // namespace

bool load_agent_config(const std::string& path, AgentConfig& config, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": cannot read the file";
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (text.size() > size_t{64} * 1024) {
    error = path + ": larger than 64 KiB";
    return false;
  }
  auto where = [&](const YAML::Mark& m) {
    return path + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) +
           ": error: ";
  };
  try {
    YAML::Node root = YAML::Load(text);
    if (root.IsNull()) return true;
    if (!root.IsMap()) {
      error = where(root.Mark()) + "the agent config must be a map of keys";
      return false;
    }
    for (auto it = root.begin(); it != root.end(); ++it) {
      std::string key = it->first.as<std::string>();
      const YAML::Node v = it->second;
      auto scalar = [&](std::string& out) {
        if (!v.IsScalar()) {
          error = where(v.Mark()) + "'" + key + "' must be a string";
          return false;
        }
        out = v.as<std::string>();
        return true;
      };
      std::string s;
      if (key == "controller" && v.IsSequence()) {
        // Several controllers sharing a database (docs/ha.md), tried in turn.
        config.controller.clear();
        for (const YAML::Node& one : v) {
          if (!one.IsScalar()) {
            error = where(one.Mark()) + "'controller' must be a URL or a list of URLs";
            return false;
          }
          config.controller += (config.controller.empty() ? "" : ",") + one.as<std::string>();
        }
      } else if (key == "controller") {
        if (!scalar(config.controller)) return false;
      } else if (key == "token") {
        if (!scalar(config.token)) return false;
      } else if (key == "token_file") {
        if (!scalar(s)) return false;
        if (!read_token_file(s, config.token, error)) {
          error.insert(0, where(v.Mark()));
          return false;
        }
      } else if (key == "ca") {
        if (!scalar(config.tls.ca_file)) return false;
      } else if (key == "client_cert") {
        if (!scalar(config.tls.cert_file)) return false;
      } else if (key == "client_key") {
        if (!scalar(config.tls.key_file)) return false;
      } else if (key == "insecure_skip_verify") {
        if (!scalar(s)) return false;
        if (s != "true" && s != "false") {
          error = where(v.Mark()) + "insecure_skip_verify must be true or false";
          return false;
        }
        config.tls.insecure_skip_verify = s == "true";
      } else if (key == "job_user") {
        if (!scalar(config.job_user)) return false;
      } else if (key == "container_engine") {
        if (!scalar(config.container_engine)) return false;
        if (!valid_engine(config.container_engine)) {
          error = where(v.Mark()) + kEngineChoices;
          return false;
        }
      } else if (key == "name") {
        if (!scalar(config.name)) return false;
      } else if (key == "work") {
        if (!scalar(config.work_dir)) return false;
      } else if (key == "executors") {
        if (!scalar(s)) return false;
        if (!parse_executors(s, config.executors)) {
          error = where(v.Mark()) + "executors must be an integer from 1 to 1024";
          return false;
        }
      } else if (key == "log_limit") {
        if (!scalar(s)) return false;
        if (!parse_log_limit(s, config.log_limit)) {
          error = where(v.Mark()) + kLogLimitError;
          return false;
        }
      } else if (key == "keep_workspaces") {
        if (!scalar(s)) return false;
        if (!parse_keep(s, config.keep_workspaces)) {
          error = where(v.Mark()) + kKeepError;
          return false;
        }
      } else if (key == "mirror_max_age") {
        if (!scalar(s)) return false;
        if (!parse_age(s, config.mirror_max_age)) {
          error = where(v.Mark()) + kAgeError;
          return false;
        }
      } else if (key == "tools") {
        // tools: {maven: {M3: /opt/maven}, jdk: {jdk17: /usr/lib/jvm/java-17}}
        if (!v.IsMap()) {
          error = where(v.Mark()) + "tools is a map of tool types to {NAME: HOME}";
          return false;
        }
        for (auto t = v.begin(); t != v.end(); ++t) {
          if (!t->second.IsMap()) {
            error = where(t->second.Mark()) + "tools." + t->first.as<std::string>() +
                    " is a map of tool names to their home directories";
            return false;
          }
          for (auto n = t->second.begin(); n != t->second.end(); ++n) {
            if (!n->second.IsScalar()) {
              error = where(n->second.Mark()) + "a tool's home is a directory path";
              return false;
            }
            config.tools[t->first.as<std::string>() + ":" + n->first.as<std::string>()] =
                n->second.as<std::string>();
          }
        }
      } else if (key == "labels") {
        config.labels.clear();
        if (v.IsSequence()) {
          for (const auto& l : v) {
            if (!l.IsScalar()) {
              error = where(l.Mark()) + "labels must be strings";
              return false;
            }
            config.labels.push_back(l.as<std::string>());
          }
        } else if (v.IsScalar()) {
          config.labels = split_labels(v.as<std::string>());
        } else {
          error = where(v.Mark()) + "labels must be a list or a comma-separated string";
          return false;
        }
      } else {
        error = where(it->first.Mark()) + "unknown key '" + key +
                "' (keys: controller, token, token_file, ca, client_cert, client_key, "
                "insecure_skip_verify, job_user, container_engine, name, labels, tools, executors, "
                "work, log_limit, keep_workspaces, mirror_max_age)";
        return false;
      }
    }
  } catch (const YAML::Exception& e) {
    error = where(e.mark) + e.msg;
    return false;
  }
  return true;
}

bool parse_agent_args(const std::vector<std::string>& args, AgentConfig& config, std::string& error,
                      bool& show_help, bool& show_version) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      show_help = true;
      return true;
    }
    if (a == "--version") {
      show_version = true;
      return true;
    }
    if (a == "--insecure-skip-verify") {
      config.tls.insecure_skip_verify = true;
      continue;
    }
    if (i + 1 >= args.size()) {
      error = "unknown argument or missing value: '" + a + "'";
      return false;
    }
    const std::string& v = args[++i];
    if (a == "--controller") {
      config.controller = v;
    } else if (a == "--token") {
      config.token = v;
      log::warn("agent", "token.on_command_line",
                {{"advice",
                  "any local user can read a command line: use --token-file or "
                  "GANTRY_AGENT_TOKEN"}});
    } else if (a == "--token-file") {
      if (!read_token_file(v, config.token, error)) return false;
    } else if (a == "--job-user") {
      config.job_user = v;
    } else if (a == "--container-engine") {
      config.container_engine = v;
      if (!valid_engine(v)) {
        error = std::string("--container-engine: ") + kEngineChoices;
        return false;
      }
    } else if (a == "--ca") {
      config.tls.ca_file = v;
    } else if (a == "--client-cert") {
      config.tls.cert_file = v;
    } else if (a == "--client-key") {
      config.tls.key_file = v;
    } else if (a == "--name") {
      config.name = v;
    } else if (a == "--labels") {
      config.labels = split_labels(v);
    } else if (a == "--tool") {
      // TYPE:NAME=HOME
      size_t colon = v.find(':');
      size_t eq = v.find('=');
      if (colon == std::string::npos || eq == std::string::npos || colon == 0 || eq < colon + 2 ||
          eq + 1 == v.size()) {
        error = "--tool wants TYPE:NAME=HOME (maven:M3=/opt/maven)";
        return false;
      }
      config.tools[v.substr(0, eq)] = v.substr(eq + 1);
    } else if (a == "--executors") {
      if (!parse_executors(v, config.executors)) {
        error = "--executors must be an integer from 1 to 1024";
        return false;
      }
    } else if (a == "--work") {
      config.work_dir = v;
    } else if (a == "--log-limit") {
      if (!parse_log_limit(v, config.log_limit)) {
        error = "--log-limit must be a size from 1K to 1G (bytes, or with K, M, G)";
        return false;
      }
    } else if (a == "--keep-workspaces") {
      if (!parse_keep(v, config.keep_workspaces)) {
        error = "--keep-workspaces must be an integer from 0 to 1000";
        return false;
      }
    } else if (a == "--mirror-max-age") {
      if (!parse_age(v, config.mirror_max_age)) {
        error = "--mirror-max-age must be an age like 14d, 12h, 30m or 90s (0: never)";
        return false;
      }
    } else if (a == "--config") {
      if (!load_agent_config(v, config, error)) return false;
    } else {
      error = "unknown argument '" + a + "'";
      return false;
    }
  }
  if (config.token.empty()) {
    if (const char* env = std::getenv(kTokenVariable); env && *env) config.token = env;
  }
  if (config.token.empty()) {
    error = std::string("a token is required: --token-file FILE, ") + kTokenVariable +
            ", or token_file in --config (the controller writes one to DATA_DIR/agent.token)";
    return false;
  }
  return true;
}

bool read_token_file(const std::string& path, std::string& token, std::string& error) {
  constexpr size_t kMaxToken = 4096;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot read the token file '" + path + "': " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    log::warn("agent", "token_file.readable_by_others",
              {{"file", path}, {"advice", "chmod 600 " + path}});
  }
  std::string text(kMaxToken + 1, '\0');
  ssize_t n = ::read(fd, text.data(), text.size());
  ::close(fd);
  if (n < 0 || static_cast<size_t>(n) > kMaxToken) {
    error = "cannot read the token file '" + path +
            "': " + (n < 0 ? std::string(std::strerror(errno)) : "longer than 4 KiB");
    return false;
  }
  text.resize(static_cast<size_t>(n));
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  size_t start = 0;
  while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start]))) ++start;
  text.erase(0, start);
  if (text.empty() || text.find_first_of(" \t\r\n") != std::string::npos) {
    error = "the token file '" + path + "' must hold one token";
    return false;
  }
  token = std::move(text);
  return true;
}

void hide_token(int argc, char** argv) {
  // /proc/PID/environ reads the environment block the process started
  // with, which unsetenv() leaves as it was: blank the value there first.
  const size_t name_length = std::strlen(kTokenVariable);
  for (char** e = environ; e && *e; ++e) {
    if (std::strncmp(*e, kTokenVariable, name_length) != 0 || (*e)[name_length] != '=') continue;
    for (char* c = *e + name_length + 1; *c; ++c) *c = '*';
  }
  ::unsetenv(kTokenVariable);
  // Neither a step nor anything else running as this user may read the
  // agent's memory (its token, the secrets of the jobs it holds) through
  // /proc/PID/{mem,environ} or ptrace. Steps are exec'd, which makes them
  // dumpable again.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--token") != 0) continue;
    // /proc/PID/cmdline reads this memory: blank the value in place.
    for (char* c = argv[i + 1]; *c; ++c) *c = '*';
  }
}

}  // namespace gantry::agent
