// The JSON of GitHub and GitLab push, tag push, pull/merge request and ping payloads.
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

// The object at a path of keys, or nullptr when any step is missing or not an object.
const json* object_at(const json& root, std::initializer_list<const char*> path) {
  const json* at = &root;
  for (const char* key : path) {
    if (!at->is_object()) return nullptr;
    auto it = at->find(key);
    if (it == at->end() || !it->is_object()) return nullptr;
    at = &*it;
  }
  return at;
}

std::string text_at(const json* object, const char* key) {
  if (!object || !object->is_object()) return "";
  auto it = object->find(key);
  if (it == object->end()) return "";
  if (it->is_string()) return it->get<std::string>().substr(0, 1024);
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return "";
}

// A commit id, or nothing: a ref Gantry fetches and the id it must point to come from here.
bool commit_id(std::string_view s) {
  return s.size() >= 7 && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::optional<std::string> decode_github_change(const json& root, ChangeRequestEvent& c) {
  const json* pr = object_at(root, {"pull_request"});
  if (!pr) return "the payload has no \"pull_request\" object";
  const std::string action = text_at(&root, "action");
  c.action =
      action == "opened" || action == "synchronize" || action == "reopened" || action == "closed"
          ? action
          : "ignored";
  c.id = text_at(pr, "number");
  if (c.id.empty()) c.id = text_at(&root, "number");
  c.url = text_at(pr, "html_url");
  c.title = text_at(pr, "title");
  c.author = text_at(object_at(*pr, {"user"}), "login");
  c.author_display_name = text_at(object_at(*pr, {"user"}), "name");
  c.author_email = text_at(object_at(*pr, {"user"}), "email");
  c.target = text_at(object_at(*pr, {"base"}), "ref");
  c.branch = text_at(object_at(*pr, {"head"}), "ref");
  c.head_sha = text_at(object_at(*pr, {"head"}), "sha");
  const std::string head_repo = text_at(object_at(*pr, {"head", "repo"}), "full_name");
  const std::string base_repo = text_at(object_at(*pr, {"base", "repo"}), "full_name");
  if (!head_repo.empty() && !base_repo.empty() && head_repo != base_repo) c.fork = head_repo;
  // A head repository deleted since: GitHub sends "repo": null. It came from elsewhere.
  if (head_repo.empty() && object_at(*pr, {"head"}) && !object_at(*pr, {"head", "repo"}))
    c.fork = "(deleted fork)";
  c.head_ref = "refs/pull/" + c.id + "/head";
  c.merge_ref = "refs/pull/" + c.id + "/merge";
  return std::nullopt;
}

std::optional<std::string> decode_gitlab_change(const json& root, ChangeRequestEvent& c) {
  const json* mr = object_at(root, {"object_attributes"});
  if (!mr) return "the payload has no \"object_attributes\" object";
  const std::string action = text_at(mr, "action");
  if (action == "open") {
    c.action = "opened";
  } else if (action == "reopen") {
    c.action = "reopened";
  } else if (action == "close" || action == "merge") {
    c.action = "closed";
  } else if (action == "update" && !text_at(mr, "oldrev").empty()) {
    c.action = "synchronize";  // GitLab names the previous head only when commits were pushed
  } else {
    c.action = "ignored";
  }
  c.id = text_at(mr, "iid");
  c.url = text_at(mr, "url");
  c.title = text_at(mr, "title");
  const json* user = object_at(root, {"user"});
  c.author = text_at(user, "username");
  c.author_display_name = text_at(user, "name");
  c.author_email = text_at(user, "email");
  c.target = text_at(mr, "target_branch");
  c.branch = text_at(mr, "source_branch");
  c.head_sha = text_at(object_at(*mr, {"last_commit"}), "id");
  const std::string source = text_at(mr, "source_project_id"),
                    target = text_at(mr, "target_project_id");
  if (!source.empty() && !target.empty() && source != target) {
    c.fork = text_at(object_at(*mr, {"source"}), "path_with_namespace");
    if (c.fork.empty()) c.fork = "project " + source;
  }
  c.head_ref = "refs/merge-requests/" + c.id + "/head";
  c.merge_ref = "refs/merge-requests/" + c.id + "/merge";
  return std::nullopt;
}

std::optional<std::string> decode_change(const json& root, PushEvent& out) {
  ChangeRequestEvent& c = out.change;
  if (auto e =
          out.provider == "github" ? decode_github_change(root, c) : decode_gitlab_change(root, c))
    return e;
  const bool digits =
      !c.id.empty() && c.id.size() <= 12 &&
      std::all_of(c.id.begin(), c.id.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  if (!digits) return "the change request's number is missing or not a number";
  if (c.action != "closed" && c.action != "ignored" && !commit_id(c.head_sha))
    return "the change request's head commit is missing or not a commit id";
  out.ref = c.head_ref;
  out.after = c.head_sha;
  if (out.provider == "github") {
    out.pusher_login = text_at(object_at(root, {"sender"}), "login");
  } else {
    out.pusher_login = c.author;
    out.pusher_name = c.author_display_name;
    out.pusher_email = c.author_email;
  }
  return std::nullopt;
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
  if (out.event == "change_request") return decode_change(root, out);
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
