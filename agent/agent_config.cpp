#include "agent_config.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string_view>

namespace gantry::agent {

namespace {

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
      if (key == "controller") {
        if (!scalar(config.controller)) return false;
      } else if (key == "token") {
        if (!scalar(config.token)) return false;
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
                "' (keys: controller, token, name, labels, executors, work, log_limit, "
                "keep_workspaces, mirror_max_age)";
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
    if (i + 1 >= args.size()) {
      error = "unknown argument or missing value: '" + a + "'";
      return false;
    }
    const std::string& v = args[++i];
    if (a == "--controller") {
      config.controller = v;
    } else if (a == "--token") {
      config.token = v;
    } else if (a == "--name") {
      config.name = v;
    } else if (a == "--labels") {
      config.labels = split_labels(v);
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
    error = "--token is required (the controller writes one to DATA_DIR/agent.token)";
    return false;
  }
  return true;
}

}  // namespace gantry::agent
