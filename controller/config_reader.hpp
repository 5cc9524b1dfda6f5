#pragma once
// Private to config*.cpp: a YAML node reader that keeps the first error with
// its position and renders it like a compiler ("FILE:LINE:COL: error: ...",
// source line, caret). Section parsers call its checks and stop at the first
// `false`. One Reader per parse; not thread-safe.

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"

namespace gantry::controller::config_detail {

// One `key: value` of a map, with the key's node for error positions.
struct Field {
  std::string name;
  YAML::Node key, value;
};

class Fields {
 public:
  const Field* find(std::string_view name) const;
  const std::vector<Field>& all() const { return items_; }
  std::vector<Field>& mutable_all() { return items_; }

 private:
  std::vector<Field> items_;
};

class Reader {
 public:
  Reader(std::string_view source, std::string path) : source_(source), path_(std::move(path)) {}

  // Records `message` at `at` (the first error wins) and returns false.
  bool fail(const YAML::Node& at, const std::string& message);
  bool fail(const Field& at, const std::string& message);  // at the value, or the key if empty
  bool fail_at(const YAML::Mark& mark, const std::string& message);
  const std::optional<ConfigError>& error() const { return error_; }

  // `node` must be a map (null counts as empty) whose keys are distinct
  // strings from `allowed`; `what` names it in messages ("users[0]").
  bool fields(const YAML::Node& node, std::string_view what,
              std::initializer_list<std::string_view> allowed, Fields& out);
  // Like fields() but any string key is allowed (the `secrets` map).
  bool entries(const YAML::Node& node, std::string_view what, Fields& out);

  bool string(const Field& f, std::string& out, bool allow_empty = false);
  bool string_list(const Field& f, std::vector<std::string>& out);
  bool boolean(const Field& f, bool& out);  // true or false, nothing else
  bool duration(const Field& f, int64_t& out);

 private:
  bool map_fields(const YAML::Node& node, std::string_view what,
                  const std::vector<std::string_view>* allowed, Fields& out);

  std::string_view source_;
  std::string path_;
  std::optional<ConfigError> error_;
};

// Reads at most `limit` bytes of a file; false with `error` set (strerror or
// "larger than N bytes") otherwise.
bool read_file_bounded(const std::string& path, size_t limit, std::string& out, std::string& error);

// " (did you mean 'x'?)" when a candidate is a small edit away, else "".
std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates);

// users, agent_tokens, repositories, secrets and locks (config_sections.cpp).
bool read_users(Reader& r, const Field& f, Config& config);
bool read_agent_tokens(Reader& r, const Field& f, Config& config);
bool read_repositories(Reader& r, const Field& f, Config& config);
bool read_libraries(Reader& r, const Field& f, Config& config);
bool read_secrets(Reader& r, const Field& f, Config& config);
bool read_git(Reader& r, const Field& f, Config& config);
bool read_locks(Reader& r, const Field& f, Config& config);
// kubernetes (config_kubernetes.cpp).
bool read_kubernetes(Reader& r, const Field& f, Config& config);
// environments (config_environments.cpp).
bool read_environments(Reader& r, const Field& f, Config& config);
// notifications (config_notifications.cpp); after secrets, which password_secret names.
bool read_notifications(Reader& r, const Field& f, Config& config);
// retention (config_retention.cpp).
bool read_retention(Reader& r, const Field& f, Config& config);
// database (config_database.cpp).
bool read_database(Reader& r, const Field& f, Config& config);

}  // namespace gantry::controller::config_detail
