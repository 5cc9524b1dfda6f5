#pragma once
// Log ingestion: the agents' binary log frames become bytes in the stage
// attempt's log file (LogFiles, exactly once by offset), acknowledged only
// after a group fdatasync (one every 2 ms at most while chunks arrive; a
// chunk after a quiet spell is synced at once), then published as log
// events. A write or sync failure is answered `log_error` with the offset
// to resend from: the agent keeps its spool and retries with backoff (only
// a stale epoch or an unknown job fences a job).
//
// Depends on the engine (which job is where), the store (the file layout),
// the event sink and the outbox; timers come through a Defer function, so
// it is tested without a loop. Threading: the loop thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gantry/protocol/messages.hpp"
#include "service/engine.hpp"
#include "service/log_files.hpp"

namespace gantry::controller {

// Runs `fn` on the loop after `delay` (zero: as soon as possible).
using Defer = std::function<void(std::chrono::milliseconds delay, std::function<void()> fn)>;

class LogIngest {
 public:
  LogIngest(Engine& engine, Store& store, EventSink& events, AgentOutbox& outbox, Defer defer)
      : engine_(engine),
        store_(store),
        events_(events),
        outbox_(outbox),
        defer_(std::move(defer)) {}

  // A log frame from `agent_id` for a job it holds (checked by the caller).
  // Returns a nack to send now, or nullopt (acked after the group sync).
  std::optional<protocol::Nack> append(const std::string& agent_id,
                                       const protocol::LogChunk& header, std::string_view payload);
  // The durable length of a job's log (0 when the job is unknown), after
  // syncing what is pending: what a finish or a resume is judged against.
  uint64_t committed(const std::string& job_id);
  // The job's finish was accepted: its last bytes go out and its file closes.
  void finished(const std::string& job_id);
  void sync();                      // the group sync: fdatasync, then acks and log events
  void forget_run(int64_t run_id);  // it ended and was stored
  void close_all() { (void)files_.sync(); }

 private:
  struct Progress {
    int64_t run_id = 0;
    std::string stage_id, path;
    int attempt = 0;
    uint64_t epoch = 0;  // the attempt's dispatch: a new one gets a new path
    uint64_t committed = 0;
    int64_t last_mark = 0;  // when the last time mark was written (unix ms)
  };
  // Notes when the bytes from `offset` arrived, in "<log>.times" ("OFFSET UNIX_MS" lines, at
  // most one a second a job): the page's timestamps (GET /api/v1/runs/ID/log/times).
  void mark_time(const std::string& job_id, const std::string& path, uint64_t offset);
  std::optional<std::string> path_of(const std::string& job_id);
  void note(const std::string& job_id, const std::string& path, uint64_t committed);
  // Durable bytes go out as events; `final`: the job ended (then forgotten).
  void publish(const std::string& final_job = {});

  Engine& engine_;
  Store& store_;
  EventSink& events_;
  AgentOutbox& outbox_;
  Defer defer_;
  LogFiles files_;
  std::map<std::string, Progress> progress_;  // by job id
  struct PendingAck {
    std::string agent_id;
    protocol::LogAck ack;
  };
  std::vector<PendingAck> pending_;
  bool sync_scheduled_ = false;
  std::chrono::steady_clock::time_point last_sync_{};
};

}  // namespace gantry::controller
