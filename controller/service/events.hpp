#pragma once
// Live events (docs/events.md): the controller appends every change a
// watcher cares about (runs, stages, committed log bytes, approvals,
// releases, agents) to the store's events table, and each client of
// GET /api/v1/events is a cursor into it. Clients that are caught up are
// served from a ring of recent frames in memory; those behind read pages
// from the store as their send queue drains, so a replay never holds more
// than the queue bound in memory, and nobody waits for a slow client: one
// that stays full while behind is closed with 4008 and the id to resume
// from.
//
// Threading: the controller's loop thread only.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "gantry/net/event_loop.hpp"
#include "gantry/net/http_server.hpp"
#include "store/store.hpp"

namespace gantry::controller {

struct EventHubOptions {
  size_t max_queue = 4 << 20;       // a client's send queue bound (bytes)
  int64_t stall_ms = 1000;          // full and behind this long: closed
  size_t ring_bytes = 16 << 20;     // recent frames kept in memory
  size_t max_log_event = 64 << 10;  // log bytes per event
  int64_t keep_events = 1000000;    // retention in the store
};

class EventHub {
 public:
  EventHub(Store& store, net::EventLoop& loop, EventHubOptions options = {});
  ~EventHub();
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  // Appends an event: `fields` is a JSON object text with the event's own
  // fields (docs/events.md); type, run and at are added here.
  void emit(const std::string& type, int64_t run_id, const std::string& fields);
  // `committed` bytes of an attempt's log are durable: emits log events for
  // what no event carries yet, ending on a whole UTF-8 character unless
  // `final` (the attempt ended: everything goes out).
  void log_committed(int64_t run_id, const std::string& stage_id, int attempt,
                     const std::string& path, uint64_t committed, bool final);

  // A new client (already authenticated): its catch-up point (docs/events.md).
  // `log_run`: whose log events it wants: kAllLogs, kNoLogs, or one run's.
  // `repos`: only events of runs of these configured repositories (and events of no run, the
  // agents'); nullptr: every event.
  static constexpr int64_t kAllLogs = -1, kNoLogs = 0;
  void attach(std::shared_ptr<net::WsConnection> conn, net::WsHandlers& handlers, int64_t run_id,
              std::optional<int64_t> since, int64_t log_run = kAllLogs,
              const std::vector<std::string>* repos = nullptr);
  // Which configured repository a run belongs to ("" for none, or an unknown run): how events
  // are filtered for watchers who may read some repositories only.
  void set_repo_of(std::function<std::string(int64_t)> repo_of) { repo_of_ = std::move(repo_of); }
  void pump();  // sends every client what it is due (after changes; also on a timer)
  void forget_run(int64_t run_id);  // it ended: no more log events will come for it
  void close_all();
  size_t clients() const { return clients_.size(); }

  // Appends `text` to `out` as a JSON string, quotes included: ASCII copied
  // in runs, control characters, " and \ escaped, well-formed UTF-8 kept,
  // and each invalid sequence (the longest prefix of a character it has, or
  // one byte) replaced by U+FFFD, as nlohmann's dump does with
  // error_handler_t::replace.
  static void append_json_string(std::string& out, std::string_view text);

 private:
  struct Client {
    std::shared_ptr<net::WsConnection> conn;
    int64_t run_id = 0;
    int64_t log_run = kAllLogs;
    bool all_repos = true;
    std::vector<std::string> repos;  // when not all_repos
    int64_t cursor = 0;              // the last id sent (or skipped by the filter)
    int64_t full_since = 0;          // steady ms when its queue was first seen full while behind
    bool closed = false;
  };
  struct Frame {
    int64_t id = 0, run_id = 0;
    bool log = false;
    std::shared_ptr<const std::string> text;  // one copy for every client
    // A log event nobody wanted when it came: its record, the text built
    // (and kept in `text`) when a client first wants it.
    std::shared_ptr<const EventRecord> record;
    size_t cost = 0;  // what it counts for in ring_size_
  };

  // Stores `e` and keeps it in the ring: its frame is built here unless it
  // is a log event without `log_bytes` (then on first send).
  void append(EventRecord& e, const std::string* log_bytes = nullptr);
  std::string frame_of(const EventRecord& e);  // from the store: log bytes read from the file
  const std::shared_ptr<const std::string>& text_of(Frame& f);
  bool logs_wanted(int64_t run_id) const;  // by a connected client
  void trim_ring();
  void pump(Client& c, int64_t now_ms);
  bool wants(const Client& c, int64_t run_id, bool log);
  const std::string& repo_of(int64_t run_id);  // cached
  static int64_t steady_ms();

  Store& store_;
  net::EventLoop& loop_;
  EventHubOptions options_;
  std::map<uint64_t, std::shared_ptr<Client>> clients_;
  uint64_t next_client_ = 1;
  std::deque<Frame> ring_;
  size_t ring_size_ = 0;
  int64_t last_id_ = 0;
  // Where each attempt's log events end: run, stage, attempt -> offset.
  std::map<std::tuple<int64_t, std::string, int>, uint64_t> log_ends_;
  std::function<std::string(int64_t)> repo_of_;
  std::map<int64_t, std::string> repo_cache_;  // bounded: cleared when large
  uint64_t timer_ = 0;
  int64_t last_prune_ = 0;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace gantry::controller
