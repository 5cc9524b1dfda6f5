// The forge's lists of open pull and merge requests (forge_changes.hpp): the request, and the
// changes decoded from GitHub's and GitLab's documented shapes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "forge_changes.hpp"

using namespace gantry::controller;

namespace {

ForgeConfig forge(const std::string& type, const std::string& project) {
  ForgeConfig f;
  f.type = type;
  f.api = type == "github" ? "https://api.github.com" : "https://gitlab.example.com/api/v4";
  f.project = project;
  f.token = "forge-token";
  return f;
}

// GitHub's list (GET /repos/OWNER/NAME/pulls), trimmed: a branch of the repository, a fork, a
// fork since deleted, and an entry without a head commit.
constexpr const char* kPulls = R"([
  {"number": 12, "state": "open", "html_url": "https://github.com/octo-org/hello/pull/12",
   "title": "Faster startup", "user": {"login": "mona"},
   "head": {"ref": "feature", "sha": "59b20b8d5c6ff8d09518454d4dd8b7a30f095ab5",
            "repo": {"full_name": "Octo-Org/hello"}},
   "base": {"ref": "main", "repo": {"full_name": "octo-org/hello"}}},
  {"number": 13, "title": "From a fork", "user": {"login": "eve"},
   "head": {"ref": "main", "sha": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
            "repo": {"full_name": "eve/hello"}},
   "base": {"ref": "release/1", "repo": {"full_name": "octo-org/hello"}}},
  {"number": 14, "user": {"login": "gone"},
   "head": {"ref": "x", "sha": "6113728f27ae82c7b1a177c8d03f9e96e0adf246", "repo": null},
   "base": {"ref": "main"}},
  {"number": 15, "head": {"ref": "y", "sha": null}, "base": {"ref": "main"}}
])";

constexpr const char* kMergeRequests = R"([
  {"iid": 3, "state": "opened", "web_url": "https://gitlab.example.com/team/app/-/merge_requests/3",
   "title": "Faster startup", "author": {"username": "eve", "name": "Eve"},
   "sha": "59b20b8d5c6ff8d09518454d4dd8b7a30f095ab5", "source_branch": "feature",
   "target_branch": "main", "source_project_id": 7, "target_project_id": 7},
  {"iid": 4, "sha": "6113728f27ae82c7b1a177c8d03f9e96e0adf246", "source_branch": "fix",
   "target_branch": "main", "source_project_id": 9, "target_project_id": 7,
   "author": {"username": "mallory"}}
])";

}  // namespace

TEST_CASE("the open changes request has each forge's path and token header") {
  OpenChangesRequest gh = open_changes_request(forge("github", "octo-org/hello"), "t0k");
  CHECK(gh.url == "https://api.github.com/repos/octo-org/hello/pulls?state=open&per_page=100");
  CHECK(gh.bearer == "t0k");
  OpenChangesRequest gl = open_changes_request(forge("gitlab", "team/app"), "t0k");
  CHECK(gl.url ==
        "https://gitlab.example.com/api/v4/projects/team%2Fapp/merge_requests?state=opened&"
        "per_page=100");
  CHECK(gl.bearer.empty());
  CHECK(std::find(gl.headers.begin(), gl.headers.end(),
                  std::pair<std::string, std::string>{"PRIVATE-TOKEN", "t0k"}) != gl.headers.end());
}

TEST_CASE("GitHub's open pull requests decode as the webhook's change requests") {
  std::vector<ChangeRequestEvent> open;
  REQUIRE_FALSE(decode_open_changes(forge("github", "octo-org/hello"), kPulls, open));
  REQUIRE(open.size() == 3);  // #15 has no head commit
  CHECK(open[0].action == "opened");
  CHECK(open[0].id == "12");
  CHECK(open[0].url == "https://github.com/octo-org/hello/pull/12");
  CHECK(open[0].title == "Faster startup");
  CHECK(open[0].author == "mona");
  CHECK(open[0].author_email.empty());
  CHECK(open[0].target == "main");
  CHECK(open[0].branch == "feature");
  CHECK(open[0].fork.empty());  // names ignore case
  CHECK(open[0].head_sha == "59b20b8d5c6ff8d09518454d4dd8b7a30f095ab5");
  CHECK(open[0].head_ref == "refs/pull/12/head");
  CHECK(open[0].merge_ref == "refs/pull/12/merge");
  CHECK(open[1].fork == "eve/hello");
  CHECK(open[1].target == "release/1");
  CHECK(open[2].fork == "(deleted fork)");
}

TEST_CASE("GitLab's opened merge requests decode with forks by project id") {
  std::vector<ChangeRequestEvent> open;
  REQUIRE_FALSE(decode_open_changes(forge("gitlab", "team/app"), kMergeRequests, open));
  REQUIRE(open.size() == 2);
  CHECK(open[0].id == "3");
  CHECK(open[0].author == "eve");
  CHECK(open[0].author_display_name == "Eve");
  CHECK(open[0].branch == "feature");
  CHECK(open[0].fork.empty());
  CHECK(open[0].head_ref == "refs/merge-requests/3/head");
  CHECK(open[1].fork == "project 9");
}

TEST_CASE("a list that is not a JSON array is an error") {
  std::vector<ChangeRequestEvent> open;
  auto e = decode_open_changes(forge("github", "o/r"), "<html>rate limited</html>", open);
  REQUIRE(e);
  CHECK(*e == "the forge's list of pull requests is not JSON");
  e = decode_open_changes(forge("gitlab", "o/r"), R"({"message": "404 Project Not Found"})", open);
  REQUIRE(e);
  CHECK(*e == "the forge's list of merge requests is not a JSON array (object)");
  CHECK(open.empty());
}
