#pragma once
// Push webhooks from GitHub and GitLab: which repository and ref a delivery
// names (parse_push), whether it carries the repository's secret
// (verify_signature), and whether a URL in it is a configured repository's
// (url_matches). The order a handler uses: parse_push, find the repository
// whose url matches one of the event's repo_urls, verify_signature with that
// repository's webhook_secret, then poll it.
//
// Not responsible for HTTP (status codes, reading the body) nor for fetching
// anything: these functions are pure, never throw, and may be called from
// any thread. Header names are passed lowercase, as HTTP/1.1 makes them
// case-insensitive. JSON is decoded in webhook_json.cpp.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gantry::controller {

// GitHub's own limit on a delivery is 25 MB, but a push payload worth
// building is far smaller; larger bodies are refused before being parsed.
inline constexpr size_t kMaxWebhookBody = size_t{1} << 20;

// A pull request (GitHub `pull_request`) or merge request (GitLab `Merge Request Hook`):
// Jenkins' multibranch CHANGE_* variables are read from it.
struct ChangeRequestEvent {
  // "opened", "synchronize" (new commits), "reopened", "closed" (merged too); anything else
  // (edited, labeled, approved, an update without new commits) is "ignored".
  std::string action;
  std::string id;  // GitHub's number, GitLab's iid
  std::string url, title;
  std::string author, author_display_name, author_email;  // who opened it, as the forge says
  std::string target, branch;                             // the base branch and the head's branch
  // The head repository's full name when it is not the target repository (a fork); "" when the
  // change comes from a branch of the repository itself.
  std::string fork;
  std::string head_sha;
  // Refs the forge keeps in the target repository for the change: its head (and the merge
  // result GitHub computes): refs/pull/N/head and refs/pull/N/merge on GitHub,
  // refs/merge-requests/N/head and refs/merge-requests/N/merge on GitLab.
  std::string head_ref, merge_ref;
};

struct PushEvent {
  std::string provider;  // "github" | "gitlab"
  // "push", "tag_push", "change_request" or "ping". A GitHub push of refs/tags/* is "tag_push"
  // too, so that callers need not know the provider.
  std::string event;
  // Every URL the payload gives for the repository: clone_url, git_url,
  // ssh_url, html_url (GitHub); git_http_url, git_ssh_url, http_url, ssh_url,
  // homepage, web_url, url (GitLab project and repository). No duplicates.
  std::vector<std::string> repo_urls;
  // repository.name and full_name (GitHub); project.name and
  // path_with_namespace (GitLab). For messages, not for matching.
  std::vector<std::string> repo_names;
  std::string ref;    // "refs/heads/main", "refs/tags/v1.2"; empty for a ping
  std::string after;  // the new head; all zeros when the ref was deleted
  bool deleted = false;
  // Who pushed, as the forge says (GitHub pusher.name/email and
  // sender.login; GitLab user_username, user_email): a GMUD approver must
  // not be the pusher. Empty when the payload does not say.
  std::string pusher_name, pusher_login, pusher_email;
  ChangeRequestEvent change;  // for "change_request"; `ref` is then change.head_ref
};

// Fills `out` from a delivery, or returns why it cannot: no X-GitHub-Event
// or X-Gitlab-Event header, an event other than a push, tag push, pull or merge request or ping, a
// body over kMaxWebhookBody, or one that is not JSON or lacks the repository,
// ref or after fields. `headers` has lowercase names.
std::optional<std::string> parse_push(const std::map<std::string, std::string>& headers,
                                      std::string_view body, PushEvent& out);

// True when the delivery proves it knows `secret`: GitHub's
// X-Hub-Signature-256 ("sha256=" and the hex HMAC-SHA256 of the raw body,
// either case) or GitLab's X-Gitlab-Token (the secret itself). Compared in
// constant time. False, with the reason in `why`, when the secret is empty
// (webhooks are then refused), when neither header or both are present, or
// when the proof is malformed or wrong.
bool verify_signature(const std::map<std::string, std::string>& headers, std::string_view body,
                      std::string_view secret, std::string& why);

// Whether two URLs name the same repository: trailing "/" and ".git" are
// dropped, scheme and host compared without case, user@ and default ports
// ignored, "file:///x" equals "/x" and scp-style "git@host:o/r" equals
// "ssh://host/o/r". The path keeps its case.
bool url_matches(std::string_view configured, std::string_view payload_url);

// Whether any of the event's repo_urls matches `configured`.
bool names_repository(const PushEvent& event, std::string_view configured);

// The JSON half of parse_push (webhook_json.cpp): `out.provider` and
// `out.event` are already set; fills the rest or says what is missing.
std::optional<std::string> decode_push_body(std::string_view body, PushEvent& out);

}  // namespace gantry::controller
