// Open pull and merge requests from GitHub's and GitLab's list APIs (forge_changes.hpp).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

#include "forge_changes.hpp"

namespace gantry::controller {
namespace {

using nlohmann::json;

// GitLab's project path in a URL: "group/app" -> "group%2Fapp".
std::string path_escape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

const json* at(const json& object, std::initializer_list<const char*> path) {
  const json* p = &object;
  for (const char* key : path) {
    if (!p->is_object()) return nullptr;
    auto it = p->find(key);
    if (it == p->end()) return nullptr;
    p = &*it;
  }
  return p;
}

std::string text(const json& object, std::initializer_list<const char*> path) {
  const json* p = at(object, path);
  if (!p) return "";
  if (p->is_string()) return p->get<std::string>().substr(0, 1024);
  if (p->is_number_integer()) return std::to_string(p->get<int64_t>());
  return "";
}

bool digits(const std::string& s) {
  return !s.empty() && s.size() <= 12 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool commit_id(const std::string& s) {
  return s.size() >= 7 && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool same_name(std::string a, std::string b) {  // GitHub's names ignore case
  auto lower = [](std::string& s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  lower(a);
  lower(b);
  return a == b;
}

ChangeRequestEvent github_change(const json& pr, const std::string& project) {
  ChangeRequestEvent c;
  c.id = text(pr, {"number"});
  c.url = text(pr, {"html_url"});
  c.title = text(pr, {"title"});
  c.author = text(pr, {"user", "login"});
  c.target = text(pr, {"base", "ref"});
  c.branch = text(pr, {"head", "ref"});
  c.head_sha = text(pr, {"head", "sha"});
  std::string base_repo = text(pr, {"base", "repo", "full_name"});
  if (base_repo.empty()) base_repo = project;
  const std::string head_repo = text(pr, {"head", "repo", "full_name"});
  if (!head_repo.empty() && !same_name(head_repo, base_repo)) c.fork = head_repo;
  // A head repository deleted since: "repo": null. It came from elsewhere.
  if (head_repo.empty() && at(pr, {"head"})) c.fork = "(deleted fork)";
  c.head_ref = "refs/pull/" + c.id + "/head";
  c.merge_ref = "refs/pull/" + c.id + "/merge";
  return c;
}

ChangeRequestEvent gitlab_change(const json& mr) {
  ChangeRequestEvent c;
  c.id = text(mr, {"iid"});
  c.url = text(mr, {"web_url"});
  c.title = text(mr, {"title"});
  c.author = text(mr, {"author", "username"});
  c.author_display_name = text(mr, {"author", "name"});
  c.target = text(mr, {"target_branch"});
  c.branch = text(mr, {"source_branch"});
  c.head_sha = text(mr, {"sha"});
  const std::string source = text(mr, {"source_project_id"}),
                    target = text(mr, {"target_project_id"});
  // The list names the source project by id only.
  if (!source.empty() && !target.empty() && source != target) c.fork = "project " + source;
  c.head_ref = "refs/merge-requests/" + c.id + "/head";
  c.merge_ref = "refs/merge-requests/" + c.id + "/merge";
  return c;
}

}  // namespace

OpenChangesRequest open_changes_request(const ForgeConfig& forge, const std::string& token) {
  OpenChangesRequest r;
  const std::string page = "per_page=" + std::to_string(kMaxOpenChanges);
  if (forge.type == "gitlab") {
    r.url = forge.api + "/projects/" + path_escape(forge.project) +
            "/merge_requests?state=opened&" + page;
    r.headers.push_back({"PRIVATE-TOKEN", token});
  } else {
    r.url = forge.api + "/repos/" + forge.project + "/pulls?state=open&" + page;
    r.bearer = token;
    r.headers.push_back({"Accept", "application/vnd.github+json"});
    r.headers.push_back({"X-GitHub-Api-Version", "2022-11-28"});
  }
  r.headers.push_back({"User-Agent", "gantry"});
  return r;
}

std::optional<std::string> decode_open_changes(const ForgeConfig& forge, std::string_view body,
                                               std::vector<ChangeRequestEvent>& out) {
  out.clear();
  json list = json::parse(body, nullptr, false);
  if (list.is_discarded())
    return "the forge's list of " + std::string(forge.type == "gitlab" ? "merge" : "pull") +
           " requests is not JSON";
  if (!list.is_array())
    return "the forge's list of " + std::string(forge.type == "gitlab" ? "merge" : "pull") +
           " requests is not a JSON array (" + list.type_name() + ")";
  for (const json& item : list) {
    if (out.size() == kMaxOpenChanges) break;
    if (!item.is_object()) continue;
    ChangeRequestEvent c =
        forge.type == "gitlab" ? gitlab_change(item) : github_change(item, forge.project);
    if (!digits(c.id) || !commit_id(c.head_sha)) continue;
    c.action = "opened";
    out.push_back(std::move(c));
  }
  return std::nullopt;
}

}  // namespace gantry::controller
