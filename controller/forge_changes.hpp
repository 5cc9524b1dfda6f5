#pragma once
// Open change requests as a forge's API lists them (docs/forges.md, "Polling"): the request that
// asks GitHub for its open pull requests or GitLab for its opened merge requests, and the
// decoding of the answer into the ChangeRequestEvents a webhook would have carried. Also where
// the heads already built are kept in the store, which webhooks and polling share so that both
// seeing one head start one run.
//
// Pure: no I/O, never throws; any thread. The polling itself is service/change_poller.hpp.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config.hpp"
#include "webhook.hpp"

namespace gantry::controller {

// One page of at most this many changes is read; past it, a change missing from the list may be
// on a later page, so it is not taken as closed.
inline constexpr size_t kMaxOpenChanges = 100;
// The list's body; GitHub's pull request objects are large (about 20 kB each).
inline constexpr size_t kMaxOpenChangesBody = size_t{8} << 20;

struct OpenChangesRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string bearer;
};
OpenChangesRequest open_changes_request(const ForgeConfig& forge, const std::string& token);

// Each listed change with action "opened" and its head and merge refs; an entry without a number
// or a head commit is skipped. An error for a body that is not a JSON array.
std::optional<std::string> decode_open_changes(const ForgeConfig& forge, std::string_view body,
                                               std::vector<ChangeRequestEvent>& out);

// The store keeps the head last built of each change under the repository key "REPO#changes",
// by label ("PR-7", "MR-3"); kPolledMark is there once a poll has listed the repository's changes.
inline std::string change_heads_key(const std::string& repo) {
  return repo + "#changes";
}
inline constexpr const char* kPolledMark = "#polled";
// "PR-7" on GitHub, "MR-7" on GitLab: Jenkins' multibranch names.
inline std::string change_label(const std::string& provider, const std::string& id) {
  return (provider == "gitlab" ? "MR-" : "PR-") + id;
}

}  // namespace gantry::controller
