#pragma once
// `gantry watch RUN`'s model of a run, built from its live events
// (docs/events.md), and its two renderings: a stage tree with the tail of
// the running stage's log, redrawn in place on a terminal, and plain lines
// (one per stage change and per log line) when the output is not one. Pure:
// no network, no clock of its own (times are passed in), so it is tested
// with events as data.

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

namespace gantry::cli {

class WatchView {
 public:
  explicit WatchView(int64_t run_id, bool color) : run_id_(run_id), color_(color) {}

  // Applies one event frame (JSON text); a frame seen already (an id not
  // above the last one) or of another run is ignored. Returns the plain
  // lines it makes (stage changes, log lines), for output that is not a terminal.
  std::vector<std::string> apply(const std::string& frame);
  // What the whole view looks like now: the run, its stage tree with
  // statuses and durations, and the last `tail` lines of the running
  // stage's log. Each line fits in `width` columns (log lines lose their
  // control characters), so a terminal can redraw it in place.
  std::vector<std::string> render(int64_t now_ms, size_t width = 100, size_t tail = 8) const;
  // Plain lines not ended yet by a newline, at the end of the run.
  std::vector<std::string> flush_partial_lines();

  bool finished() const;
  const std::string& status() const { return status_; }
  int64_t last_event() const { return last_id_; }

 private:
  struct Stage {
    std::string id, name, status, reason, agent;
    int attempts = 0, order = 0;
    int64_t started_at = 0, finished_at = 0;
    std::string partial;           // a log line not ended yet
    std::deque<std::string> tail;  // its last lines
  };
  std::string paint(const std::string& status, const std::string& text) const;

  int64_t run_id_;
  bool color_;
  int64_t last_id_ = 0;
  std::string status_, job_, reason_;
  int64_t number_ = 0;
  std::map<std::string, Stage> stages_;
  std::string active_;  // the stage whose log was seen last
};

}  // namespace gantry::cli
