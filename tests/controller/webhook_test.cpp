// GitHub and GitLab webhooks: signatures, payloads and repository URLs.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "webhook.hpp"

using namespace gantry::controller;

namespace {

using Headers = std::map<std::string, std::string>;

// GitHub's documented example (docs.github.com, "Validating webhook deliveries").
constexpr const char* kGithubSecret = "It's a Secret to Everybody";
constexpr const char* kGithubBody = "Hello, World!";
constexpr const char* kGithubSignature =
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

// A GitHub push of a branch, trimmed of fields Gantry does not read.
constexpr const char* kGithubPush = R"({
  "ref": "refs/heads/main",
  "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
  "after": "59b20b8d5c6ff8d09518454d4dd8b7a30f095ab5",
  "created": false,
  "deleted": false,
  "forced": false,
  "base_ref": null,
  "compare": "https://github.com/octo-org/hello/compare/6113728f27ae...59b20b8d5c6f",
  "commits": [{
    "id": "59b20b8d5c6ff8d09518454d4dd8b7a30f095ab5",
    "message": "Fix the build\n\nIt was broken.",
    "author": {"name": "Mona", "email": "mona@example.com", "username": "mona"},
    "added": [], "removed": [], "modified": ["src/main.cpp"]
  }],
  "repository": {
    "id": 186853002,
    "name": "hello",
    "full_name": "octo-org/hello",
    "private": false,
    "owner": {"login": "octo-org", "id": 21031067},
    "html_url": "https://github.com/octo-org/hello",
    "git_url": "git://github.com/octo-org/hello.git",
    "ssh_url": "git@github.com:octo-org/hello.git",
    "clone_url": "https://github.com/octo-org/hello.git",
    "svn_url": "https://github.com/octo-org/hello",
    "default_branch": "main"
  },
  "pusher": {"name": "mona", "email": "mona@example.com"},
  "sender": {"login": "mona", "id": 1}
})";

constexpr const char* kGithubTag = R"({
  "ref": "refs/tags/v1.2.0",
  "before": "0000000000000000000000000000000000000000",
  "after": "59b20b8d5c6ff8d09518454d4dd8b7a30f095ab5",
  "created": true, "deleted": false, "base_ref": "refs/heads/main", "commits": [],
  "repository": {"name": "hello", "full_name": "octo-org/hello",
                 "clone_url": "https://github.com/octo-org/hello.git"}
})";

constexpr const char* kGithubDelete = R"({
  "ref": "refs/heads/feature/x",
  "before": "59b20b8d5c6ff8d09518454d4dd8b7a30f095ab5",
  "after": "0000000000000000000000000000000000000000",
  "created": false, "deleted": true, "commits": [], "head_commit": null,
  "repository": {"name": "hello", "full_name": "octo-org/hello",
                 "clone_url": "https://github.com/octo-org/hello.git"}
})";

constexpr const char* kGithubPing = R"({
  "zen": "Design for failure.",
  "hook_id": 109948940,
  "hook": {"type": "Repository", "id": 109948940, "events": ["push"], "active": true},
  "repository": {"name": "hello", "full_name": "octo-org/hello",
                 "clone_url": "https://github.com/octo-org/hello.git",
                 "ssh_url": "git@github.com:octo-org/hello.git"},
  "sender": {"login": "mona"}
})";

// GitLab's documented Push Hook example, trimmed.
constexpr const char* kGitlabPush = R"({
  "object_kind": "push",
  "event_name": "push",
  "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
  "after": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
  "ref": "refs/heads/master",
  "checkout_sha": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
  "user_name": "John Smith",
  "project_id": 15,
  "project": {
    "id": 15,
    "name": "Diaspora",
    "web_url": "http://example.com/mike/diaspora",
    "git_ssh_url": "git@example.com:mike/diaspora.git",
    "git_http_url": "http://example.com/mike/diaspora.git",
    "namespace": "Mike",
    "path_with_namespace": "mike/diaspora",
    "default_branch": "master",
    "homepage": "http://example.com/mike/diaspora",
    "url": "git@example.com:mike/diaspora.git",
    "ssh_url": "git@example.com:mike/diaspora.git",
    "http_url": "http://example.com/mike/diaspora.git"
  },
  "repository": {
    "name": "Diaspora",
    "url": "git@example.com:mike/diaspora.git",
    "homepage": "http://example.com/mike/diaspora",
    "git_http_url": "http://example.com/mike/diaspora.git",
    "git_ssh_url": "git@example.com:mike/diaspora.git"
  },
  "commits": [{"id": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", "message": "fixed readme",
               "added": ["CHANGELOG"], "modified": ["app/controller/application.rb"],
               "removed": []}],
  "total_commits_count": 1
})";

constexpr const char* kGitlabTag = R"({
  "object_kind": "tag_push",
  "before": "0000000000000000000000000000000000000000",
  "after": "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7",
  "ref": "refs/tags/v1.0.0",
  "project": {"name": "Example", "path_with_namespace": "jsmith/example",
              "git_http_url": "http://example.com/jsmith/example.git",
              "git_ssh_url": "git@example.com:jsmith/example.git"},
  "repository": {"name": "Example", "git_http_url": "http://example.com/jsmith/example.git"},
  "commits": [], "total_commits_count": 0
})";

constexpr const char* kGitlabDelete = R"({
  "object_kind": "push",
  "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
  "after": "0000000000000000000000000000000000000000",
  "ref": "refs/heads/old",
  "project": {"name": "Diaspora", "git_http_url": "http://example.com/mike/diaspora.git"}
})";

Headers github(const char* event) {
  return {{"x-github-event", event}};
}
Headers gitlab(const char* event) {
  return {{"x-gitlab-event", event}};
}

std::string parse_error(const Headers& headers, std::string_view body) {
  PushEvent e;
  auto error = parse_push(headers, body, e);
  return error ? *error : std::string();
}

}  // namespace

TEST_CASE("webhook: GitHub's documented signature example verifies", "[webhook]") {
  std::string why;
  Headers h{{"x-hub-signature-256", kGithubSignature}};
  CHECK(verify_signature(h, kGithubBody, kGithubSecret, why));
  CHECK(why.empty());
}

TEST_CASE("webhook: a changed byte in the body fails the signature", "[webhook]") {
  std::string why;
  Headers h{{"x-hub-signature-256", kGithubSignature}};
  CHECK_FALSE(verify_signature(h, "Hello, World?", kGithubSecret, why));
  CHECK(why.find("does not match the body") != std::string::npos);
  CHECK_FALSE(verify_signature(h, kGithubBody, "It's a Secret to Everybody.", why));
}

TEST_CASE("webhook: uppercase hex digits are accepted", "[webhook]") {
  // Hex is a notation for the bytes compared; GitHub sends lowercase.
  std::string why;
  Headers h{{"x-hub-signature-256",
             "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17"}};
  CHECK(verify_signature(h, kGithubBody, kGithubSecret, why));
}

TEST_CASE("webhook: malformed GitHub signatures are refused with a reason", "[webhook]") {
  std::string why;
  std::string good = kGithubSignature;
  Headers h{{"x-hub-signature-256", good.substr(0, good.size() - 2)}};
  CHECK_FALSE(verify_signature(h, kGithubBody, kGithubSecret, why));
  CHECK(why == "X-Hub-Signature-256 has 62 hex digits after \"sha256=\"; an HMAC-SHA256 has 64");

  h["x-hub-signature-256"] = good + "00";
  CHECK_FALSE(verify_signature(h, kGithubBody, kGithubSecret, why));

  std::string not_hex = good;
  not_hex.back() = 'g';
  h["x-hub-signature-256"] = not_hex;
  CHECK_FALSE(verify_signature(h, kGithubBody, kGithubSecret, why));
  CHECK(why == "X-Hub-Signature-256 is not hexadecimal");

  h["x-hub-signature-256"] = good.substr(7);  // no "sha256="
  CHECK_FALSE(verify_signature(h, kGithubBody, kGithubSecret, why));
  CHECK(why == "X-Hub-Signature-256 does not start with \"sha256=\"");

  h["x-hub-signature-256"] = "";
  CHECK_FALSE(verify_signature(h, kGithubBody, kGithubSecret, why));
}

TEST_CASE("webhook: a missing signature header or an empty secret refuses", "[webhook]") {
  std::string why;
  CHECK_FALSE(verify_signature({}, kGithubBody, kGithubSecret, why));
  CHECK(why.find("no X-Hub-Signature-256 or X-Gitlab-Token header") != std::string::npos);

  Headers sha1{{"x-hub-signature", "sha1=01234567890123456789012345678901234567ab"}};
  CHECK_FALSE(verify_signature(sha1, kGithubBody, kGithubSecret, why));
  CHECK(why.find("requires X-Hub-Signature-256") != std::string::npos);

  Headers h{{"x-hub-signature-256", kGithubSignature}};
  CHECK_FALSE(verify_signature(h, kGithubBody, "", why));
  CHECK(why == "the repository has no webhook_secret; webhooks are refused");

  Headers both{{"x-hub-signature-256", kGithubSignature}, {"x-gitlab-token", kGithubSecret}};
  CHECK_FALSE(verify_signature(both, kGithubBody, kGithubSecret, why));
}

TEST_CASE("webhook: GitLab's token must equal the secret", "[webhook]") {
  std::string why;
  CHECK(verify_signature({{"x-gitlab-token", "hook-s3cret"}}, "{}", "hook-s3cret", why));
  CHECK_FALSE(verify_signature({{"x-gitlab-token", "hook-s3cre"}}, "{}", "hook-s3cret", why));
  CHECK(why.find("X-Gitlab-Token differs") != std::string::npos);
  CHECK_FALSE(verify_signature({{"x-gitlab-token", "hook-s3cret "}}, "{}", "hook-s3cret", why));
  CHECK_FALSE(verify_signature({{"x-gitlab-token", ""}}, "{}", "hook-s3cret", why));
  CHECK_FALSE(verify_signature({{"x-gitlab-token", "x"}}, "{}", "", why));
}

TEST_CASE("webhook: a GitHub branch push", "[webhook]") {
  PushEvent e;
  REQUIRE_FALSE(parse_push(github("push"), kGithubPush, e));
  CHECK(e.provider == "github");
  CHECK(e.event == "push");
  CHECK(e.ref == "refs/heads/main");
  CHECK(e.after == "59b20b8d5c6ff8d09518454d4dd8b7a30f095ab5");
  CHECK_FALSE(e.deleted);
  CHECK(e.repo_urls == std::vector<std::string>{"https://github.com/octo-org/hello.git",
                                                "git://github.com/octo-org/hello.git",
                                                "git@github.com:octo-org/hello.git",
                                                "https://github.com/octo-org/hello"});
  CHECK(e.repo_names == std::vector<std::string>{"hello", "octo-org/hello"});
  CHECK(names_repository(e, "https://github.com/octo-org/hello"));
  CHECK(names_repository(e, "ssh://git@github.com/octo-org/hello.git"));
  CHECK_FALSE(names_repository(e, "https://github.com/octo-org/hello-world"));
  // Who pushed: a GMUD approver may not be the pusher.
  CHECK(e.pusher_name == "mona");
  CHECK(e.pusher_email == "mona@example.com");
  CHECK(e.pusher_login == "mona");
}

TEST_CASE("webhook: GitLab names its pusher, a malformed pusher is left out", "[webhook]") {
  PushEvent e;
  std::string body = kGitlabPush;
  body.insert(body.find("\"user_name\""),
              R"("user_username": "jsmith", "user_email": "john@example.com", )");
  REQUIRE_FALSE(parse_push(gitlab("Push Hook"), body, e));
  CHECK(e.pusher_login == "jsmith");
  CHECK(e.pusher_name == "John Smith");
  CHECK(e.pusher_email == "john@example.com");
  PushEvent odd;
  std::string github_body = kGithubPush;
  github_body.replace(github_body.find(R"("pusher": {)"), 11, R"("pusher": 7, "x": {)");
  REQUIRE_FALSE(parse_push(github("push"), github_body, odd));
  CHECK(odd.pusher_name.empty());
  CHECK(odd.pusher_login == "mona");
}

TEST_CASE("webhook: a GitHub tag push and a branch deletion", "[webhook]") {
  PushEvent e;
  REQUIRE_FALSE(parse_push(github("push"), kGithubTag, e));
  CHECK(e.event == "tag_push");
  CHECK(e.ref == "refs/tags/v1.2.0");
  CHECK_FALSE(e.deleted);

  REQUIRE_FALSE(parse_push(github("push"), kGithubDelete, e));
  CHECK(e.event == "push");
  CHECK(e.ref == "refs/heads/feature/x");
  CHECK(e.deleted);
  CHECK(e.after == std::string(40, '0'));
}

TEST_CASE("webhook: a GitHub ping has a repository and no ref", "[webhook]") {
  PushEvent e;
  REQUIRE_FALSE(parse_push(github("ping"), kGithubPing, e));
  CHECK(e.event == "ping");
  CHECK(e.ref.empty());
  CHECK(e.repo_urls.size() == 2);
  CHECK(parse_error(github("ping"), R"({"zen": "Keep it logically awesome.", "hook_id": 1,
      "organization": {"login": "octo-org"}})") ==
        "the ping names no repository: Gantry accepts repository webhooks, not organization "
        "webhooks");
}

TEST_CASE("webhook: GitLab Push Hook and Tag Push Hook", "[webhook]") {
  PushEvent e;
  REQUIRE_FALSE(parse_push(gitlab("Push Hook"), kGitlabPush, e));
  CHECK(e.provider == "gitlab");
  CHECK(e.event == "push");
  CHECK(e.ref == "refs/heads/master");
  CHECK(e.after == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
  CHECK_FALSE(e.deleted);
  CHECK(e.repo_urls == std::vector<std::string>{"http://example.com/mike/diaspora.git",
                                                "git@example.com:mike/diaspora.git",
                                                "http://example.com/mike/diaspora"});
  CHECK(e.repo_names == std::vector<std::string>{"Diaspora", "mike/diaspora"});
  CHECK(names_repository(e, "http://EXAMPLE.com/mike/diaspora/"));

  REQUIRE_FALSE(parse_push(gitlab("Tag Push Hook"), kGitlabTag, e));
  CHECK(e.event == "tag_push");
  CHECK(e.ref == "refs/tags/v1.0.0");
  CHECK(e.repo_names == std::vector<std::string>{"Example", "jsmith/example"});

  REQUIRE_FALSE(parse_push(gitlab("Push Hook"), kGitlabDelete, e));
  CHECK(e.deleted);
}

TEST_CASE("webhook: headers that name no push are errors", "[webhook]") {
  CHECK(parse_error({}, kGithubPush) ==
        "no X-GitHub-Event or X-Gitlab-Event header: Gantry accepts webhooks from GitHub and "
        "GitLab");
  CHECK(parse_error(github("issues"), kGithubPush) ==
        "GitHub event \"issues\" is not handled: Gantry builds on \"push\" and \"pull_request\" "
        "(and answers \"ping\"); select only those events for this webhook");
  CHECK(parse_error(gitlab("Note Hook"), kGitlabPush).find("\"Note Hook\" is not handled") !=
        std::string::npos);
  Headers both{{"x-github-event", "push"}, {"x-gitlab-event", "Push Hook"}};
  CHECK_FALSE(parse_error(both, kGithubPush).empty());
}

TEST_CASE("webhook: bodies that are not push payloads are errors", "[webhook]") {
  CHECK(parse_error(github("push"), "") == "the body is not valid JSON");
  CHECK(parse_error(github("push"), "{\"ref\": ") == "the body is not valid JSON");
  CHECK(parse_error(github("push"), "[1, 2]") == "the body is JSON but not an object");
  CHECK(parse_error(github("push"), R"({"ref": "refs/heads/main", "after": "ab"})") ==
        "the payload has no \"repository\" object");
  std::string no_ref = R"({"after": "ab", "repository": {"clone_url": "https://h/r.git"}})";
  CHECK(parse_error(github("push"), no_ref) == "the payload has no \"ref\" field");
  std::string no_after =
      R"({"ref": "refs/heads/x", "repository": {"clone_url": "https://h/r.git"}})";
  CHECK(parse_error(github("push"), no_after) == "the payload has no \"after\" field");
  std::string no_url = R"({"ref": "refs/heads/x", "after": "ab", "repository": {"name": "r"}})";
  CHECK(parse_error(github("push"), no_url) == "the payload names no repository URL");
  CHECK(parse_error(gitlab("Push Hook"), R"({"ref": "refs/heads/x", "after": "ab"})") ==
        "the payload has no \"project\" or \"repository\" object");
}

TEST_CASE("webhook: fields of the wrong type are errors", "[webhook]") {
  CHECK(parse_error(github("push"),
                    R"({"ref": 5, "after": "ab", "repository": {"clone_url": "https://h/r"}})") ==
        "field \"ref\" must be a string, not number");
  CHECK(parse_error(github("push"),
                    R"({"ref": "refs/heads/x", "after": "ab", "repository": "https://h/r"})") ==
        "field \"repository\" must be an object, not string");
  CHECK(parse_error(github("push"),
                    R"({"ref": "refs/heads/x", "after": "ab", "repository": {"clone_url": 1}})") ==
        "field \"repository.clone_url\" must be a string, not number");
  CHECK(parse_error(github("push"), R"({"ref": "refs/heads/x", "after": "ab", "deleted": "yes",
      "repository": {"clone_url": "https://h/r"}})") ==
        "field \"deleted\" must be a boolean, not string");
  CHECK(parse_error(gitlab("Tag Push Hook"), kGitlabPush).find("not under refs/tags/") !=
        std::string::npos);
}

TEST_CASE("webhook: oversized and deeply nested bodies are refused", "[webhook]") {
  std::string big(kMaxWebhookBody + 1, ' ');
  CHECK(parse_error(github("push"), big) ==
        "the body of 1048577 bytes is over the limit of "
        "1048576 bytes");
  std::string deep(100000, '[');
  CHECK(parse_error(github("push"), deep) == "the body nests deeper than 64 levels");
  // Brackets inside strings do not count.
  std::string quoted = R"({"ref": "refs/heads/[[[[", "after": "ab", "x": ")" +
                       std::string(200, '[') + R"(", "repository": {"clone_url": "https://h/r"}})";
  CHECK(parse_error(github("push"), quoted).empty());
}

TEST_CASE("webhook: url_matches normalises what differs between spellings", "[webhook]") {
  CHECK(url_matches("https://github.com/o/r", "https://github.com/o/r.git"));
  CHECK(url_matches("https://github.com/o/r.git/", "https://github.com/o/r"));
  CHECK(url_matches("HTTPS://GitHub.COM/o/r", "https://github.com/o/r"));
  CHECK(url_matches("https://user:pw@github.com/o/r", "https://github.com/o/r.git"));
  CHECK(url_matches("https://github.com:443/o/r", "https://github.com/o/r"));
  CHECK(url_matches("ssh://git@github.com/o/r.git", "git@github.com:o/r.git"));
  CHECK(url_matches("file:///srv/git/app.git", "/srv/git/app"));
  CHECK(url_matches("/srv/git/app/", "file:///srv/git/app.git"));

  CHECK_FALSE(url_matches("https://github.com/o/R", "https://github.com/o/r"));  // path case
  CHECK_FALSE(url_matches("https://github.com/o/r", "http://github.com/o/r"));
  CHECK_FALSE(url_matches("https://github.com/o/r", "https://github.com/o/r2"));
  CHECK_FALSE(url_matches("https://github.com:8443/o/r", "https://github.com/o/r"));
  CHECK_FALSE(url_matches("https://gitlab.com/o/r", "https://github.com/o/r"));
  CHECK_FALSE(url_matches("", ""));
}

namespace {

// A GitHub pull_request delivery from a fork, trimmed to what Gantry reads.
constexpr const char* kGithubPullFromFork = R"({
  "action": "synchronize",
  "number": 42,
  "pull_request": {
    "number": 42,
    "html_url": "https://github.com/octo-org/hello/pull/42",
    "title": "Faster startup",
    "user": {"login": "eve", "id": 7},
    "head": {"ref": "speed", "sha": "59b20b8d5c6ff8d09518454d4dd8b7a30f095ab5",
             "repo": {"full_name": "eve/hello", "clone_url": "https://github.com/eve/hello.git"}},
    "base": {"ref": "main", "sha": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
             "repo": {"full_name": "octo-org/hello"}}
  },
  "repository": {"name": "hello", "full_name": "octo-org/hello",
                 "clone_url": "https://github.com/octo-org/hello.git"},
  "sender": {"login": "eve"}
})";

// A GitLab merge request from a branch of the project itself, with new commits.
constexpr const char* kGitlabMergeRequest = R"({
  "object_kind": "merge_request",
  "user": {"name": "Administrator", "username": "root", "email": "admin@example.com"},
  "project": {"name": "Example", "path_with_namespace": "jsmith/example",
              "git_http_url": "http://example.com/jsmith/example.git"},
  "object_attributes": {
    "iid": 7, "title": "MS-Viewport", "url": "http://example.com/jsmith/example/-/merge_requests/7",
    "source_branch": "ms-viewport", "target_branch": "master",
    "source_project_id": 14, "target_project_id": 14,
    "last_commit": {"id": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"},
    "action": "update", "oldrev": "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
  }
})";

}  // namespace

TEST_CASE("webhook: a GitHub pull request names the change and its fork", "[webhook]") {
  PushEvent e;
  REQUIRE_FALSE(parse_push(github("pull_request"), kGithubPullFromFork, e));
  CHECK(e.event == "change_request");
  CHECK(e.change.action == "synchronize");
  CHECK(e.change.id == "42");
  CHECK(e.change.title == "Faster startup");
  CHECK(e.change.author == "eve");
  CHECK(e.change.target == "main");
  CHECK(e.change.branch == "speed");
  CHECK(e.change.fork == "eve/hello");
  CHECK(e.change.head_ref == "refs/pull/42/head");
  CHECK(e.change.merge_ref == "refs/pull/42/merge");
  CHECK(e.after == "59b20b8d5c6ff8d09518454d4dd8b7a30f095ab5");
  // The target repository is the one matched against the configuration, never the fork.
  CHECK(names_repository(e, "https://github.com/octo-org/hello"));
  CHECK_FALSE(names_repository(e, "https://github.com/eve/hello"));

  std::string same_repo = kGithubPullFromFork;
  same_repo.replace(same_repo.find("eve/hello"), 9, "octo-org/hello");
  REQUIRE_FALSE(parse_push(github("pull_request"), same_repo, e));
  CHECK(e.change.fork.empty());

  std::string labeled = kGithubPullFromFork;
  labeled.replace(labeled.find("synchronize"), 11, "labeled");
  REQUIRE_FALSE(parse_push(github("pull_request"), labeled, e));
  CHECK(e.change.action == "ignored");

  std::string bad_sha = kGithubPullFromFork;
  bad_sha.replace(bad_sha.find("59b20b8d"), 8, "$(reboot");
  CHECK(parse_error(github("pull_request"), bad_sha) ==
        "the change request's head commit is missing or not a commit id");
  CHECK(parse_error(github("pull_request"), R"({"action": "opened", "repository": {"clone_url":
        "https://h/r.git"}})") == "the payload has no \"pull_request\" object");
}

TEST_CASE("webhook: a GitLab merge request hook names the change", "[webhook]") {
  PushEvent e;
  REQUIRE_FALSE(parse_push(gitlab("Merge Request Hook"), kGitlabMergeRequest, e));
  CHECK(e.event == "change_request");
  CHECK(e.change.action == "synchronize");
  CHECK(e.change.id == "7");
  CHECK(e.change.author == "root");
  CHECK(e.change.author_email == "admin@example.com");
  CHECK(e.change.target == "master");
  CHECK(e.change.branch == "ms-viewport");
  CHECK(e.change.fork.empty());
  CHECK(e.change.head_ref == "refs/merge-requests/7/head");
  CHECK(names_repository(e, "http://example.com/jsmith/example"));

  // An update without new commits (a title edited) builds nothing; a merge closes it.
  std::string edited = kGitlabMergeRequest;
  edited.replace(edited.find("\"oldrev\""), 8, "\"other\" ");
  REQUIRE_FALSE(parse_push(gitlab("Merge Request Hook"), edited, e));
  CHECK(e.change.action == "ignored");
  std::string merged = kGitlabMergeRequest;
  merged.replace(merged.find("\"update\""), 8, "\"merge\" ");
  REQUIRE_FALSE(parse_push(gitlab("Merge Request Hook"), merged, e));
  CHECK(e.change.action == "closed");
  std::string forked = kGitlabMergeRequest;
  forked.replace(forked.find("\"source_project_id\": 14"), 23, "\"source_project_id\": 15");
  REQUIRE_FALSE(parse_push(gitlab("Merge Request Hook"), forked, e));
  CHECK(e.change.fork == "project 15");
}
