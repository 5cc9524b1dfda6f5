// The JSON of GitHub and GitLab push, tag push and ping payloads.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <initializer_list>

#include "webhook.hpp"

namespace gantry::controller {
namespace {

using nlohmann::json;

// Payloads nest a few levels; refusing deeper text before parsing keeps a
// hostile body from building a tree of a million empty arrays.
constexpr int kMaxDepth = 64;

bool too_deep(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

// Reads an optional string field; an error when present with another type.
std::optional<std::string> optional_string(const json& object, const char* where, const char* key,
                                           std::string& out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) {
    return std::string("field \"") + where + key + "\" must be a string, not " + it->type_name();
  }
  out = it->get<std::string>();
  return std::nullopt;
}

std::optional<std::string> required_string(const json& object, const char* key, std::string& out) {
  if (!object.contains(key)) return std::string("the payload has no \"") + key + "\" field";
  if (auto error = optional_string(object, "", key, out)) return error;
  if (out.empty()) return std::string("field \"") + key + "\" is empty";
  return std::nullopt;
}

void add_unique(std::vector<std::string>& list, std::string value) {
  if (!value.empty() && std::find(list.begin(), list.end(), value) == list.end()) {
    list.push_back(std::move(value));
  }
}

// Collects string fields of one object into `list`.
std::optional<std::string> collect(const json& root, const char* object_key,
                                   std::initializer_list<const char*> keys,
                                   std::vector<std::string>& list) {
  auto it = root.find(object_key);
  if (it == root.end() || it->is_null()) return std::nullopt;
  if (!it->is_object()) {
    return std::string("field \"") + object_key + "\" must be an object, not " + it->type_name();
  }
  std::string where = std::string(object_key) + ".";
  for (const char* key : keys) {
    std::string value;
    if (auto error = optional_string(*it, where.c_str(), key, value)) return error;
    add_unique(list, std::move(value));
  }
  return std::nullopt;
}

std::optional<std::string> decode_repository(const json& root, PushEvent& out) {
  std::optional<std::string> error;
  if (out.provider == "github") {
    if (!root.contains("repository")) return "the payload has no \"repository\" object";
    error =
        collect(root, "repository", {"clone_url", "git_url", "ssh_url", "html_url"}, out.repo_urls);
    if (!error) error = collect(root, "repository", {"name", "full_name"}, out.repo_names);
  } else {
    if (!root.contains("project") && !root.contains("repository")) {
      return "the payload has no \"project\" or \"repository\" object";
    }
    for (const char* object : {"project", "repository"}) {
      if (!error) {
        error = collect(
            root, object,
            {"git_http_url", "git_ssh_url", "http_url", "ssh_url", "homepage", "web_url", "url"},
            out.repo_urls);
      }
    }
    if (!error) error = collect(root, "project", {"name", "path_with_namespace"}, out.repo_names);
    if (!error) error = collect(root, "repository", {"name"}, out.repo_names);
  }
  if (error) return error;
  if (out.repo_urls.empty()) return "the payload names no repository URL";
  return std::nullopt;
}

// The pusher is informative to the payload's own checks: a field of
// another type is left out, not an error.
std::string optional_string(const json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>().substr(0, 256) : "";
}

void decode_pusher(const json& root, PushEvent& out) {
  if (out.provider == "github") {
    auto pusher = root.find("pusher");
    if (pusher != root.end()) {
      out.pusher_name = optional_string(*pusher, "name");
      out.pusher_email = optional_string(*pusher, "email");
    }
    auto sender = root.find("sender");
    if (sender != root.end()) out.pusher_login = optional_string(*sender, "login");
  } else {
    out.pusher_login = optional_string(root, "user_username");
    out.pusher_name = optional_string(root, "user_name");
    out.pusher_email = optional_string(root, "user_email");
  }
}

bool all_zeros(std::string_view sha) {
  return !sha.empty() && std::all_of(sha.begin(), sha.end(), [](char c) { return c == '0'; });
}

std::optional<std::string> decode(std::string_view body, PushEvent& out) {
  if (too_deep(body)) {
    return "the body nests deeper than " + std::to_string(kMaxDepth) + " levels";
  }
  json root = json::parse(body, nullptr, false);
  if (root.is_discarded()) return std::string("the body is not valid JSON");
  if (!root.is_object()) return std::string("the body is JSON but not an object");
  if (out.event == "ping") {
    // GitHub sends zen, hook_id and the repository; organization hooks have
    // no repository, and Gantry's webhooks are per repository.
    if (!root.contains("repository")) {
      return "the ping names no repository: Gantry accepts repository webhooks, not "
             "organization webhooks";
    }
    return decode_repository(root, out);
  }
  if (auto error = decode_repository(root, out)) return error;
  if (auto error = required_string(root, "ref", out.ref)) return error;
  if (auto error = required_string(root, "after", out.after)) return error;
  if (auto it = root.find("deleted"); it != root.end() && !it->is_null()) {
    if (!it->is_boolean()) {
      return std::string("field \"deleted\" must be a boolean, not ") + it->type_name();
    }
    out.deleted = it->get<bool>();
  }
  decode_pusher(root, out);
  // GitLab has no "deleted": a deleted ref's new head is all zeros.
  out.deleted = out.deleted || all_zeros(out.after);
  if (out.ref.starts_with("refs/tags/")) {
    out.event = "tag_push";
  } else if (out.event == "tag_push") {
    return "a Tag Push Hook for \"" + out.ref + "\", which is not under refs/tags/";
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> decode_push_body(std::string_view body, PushEvent& out) {
  try {
    return decode(body, out);
  } catch (const std::exception& e) {  // json::get on a type checked above; never expected
    return std::string("the payload could not be read: ") + e.what();
  }
}

}  // namespace gantry::controller
