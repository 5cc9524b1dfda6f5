#include "watch_view.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "gantry/common/time_zone.hpp"
#include "json_get.hpp"
#include "remote.hpp"

namespace gantry::cli {

using nlohmann::json;

namespace {

constexpr size_t kTailLines = 50;
constexpr size_t kMaxLine = 4096;

bool ended(const std::string& status) {
  std::optional<RunStatus> s = parse_run_status(status);
  return s && is_finished(*s);
}

const char* symbol_of(const std::string& status) {
  std::optional<RunStatus> s = parse_run_status(status);
  if (!s) return "·";
  switch (*s) {
    case RunStatus::Succeeded:
      return "✔";
    case RunStatus::Failed:
      return "✘";
    case RunStatus::Unstable:
      return "!";
    case RunStatus::Aborted:
      return "■";
    case RunStatus::Running:
      return "▶";
    case RunStatus::Waiting:
      return "⏸";
    case RunStatus::Skipped:
      return "-";
    case RunStatus::Queued:
      return "·";
  }
  return "·";
}

std::string duration(int64_t from, int64_t to) {
  if (from == 0 || to < from) return "";
  char buf[32];
  double s = static_cast<double>(to - from) / 1000.0;
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  } else {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  }
  return buf;
}

// At most `width` characters (UTF-8 aware), without control characters or
// escape sequences.
std::string fit(const std::string& s, size_t width) {
  std::string out;
  size_t columns = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == 0x1b) {  // ESC [ ... final byte
      if (i + 1 < s.size() && s[i + 1] == '[') {
        i += 2;
        while (i < s.size() && !(s[i] >= 0x40 && s[i] <= 0x7e)) ++i;
      }
      continue;
    }
    if (c < 0x20 || c == 0x7f) continue;
    if ((c & 0xC0) != 0x80) {
      if (columns == width) break;
      ++columns;
    }
    out += static_cast<char>(c);
  }
  return out;
}

}  // namespace

std::string WatchView::paint(const std::string& status, const std::string& s) const {
  if (!color_) return s;
  return std::string(color_of(status, true)) + s + "\033[0m";
}

std::vector<std::string> WatchView::apply(const std::string& frame) {
  std::vector<std::string> out;
  json e = json::parse(frame, nullptr, false);
  if (!e.is_object()) return out;
  int64_t id = json_num(e, "id");
  if (id <= last_id_) return out;
  last_id_ = id;
  if (json_num(e, "run") != run_id_) return out;
  const std::string type = json_str(e, "type");
  if (type == "run") {
    status_ = json_str(e, "status");
    job_ = json_str(e, "job");
    reason_ = json_str(e, "reason");
    number_ = json_num(e, "number");
  } else if (type == "stage") {
    Stage& s = stages_[json_str(e, "stage")];
    std::string before = s.status;
    s.id = json_str(e, "stage");
    s.name = json_str(e, "name");
    s.status = json_str(e, "status");
    s.reason = json_str(e, "reason");
    s.agent = json_str(e, "agent");
    s.attempts = static_cast<int>(json_num(e, "attempts"));
    s.order = static_cast<int>(json_num(e, "order"));
    s.started_at = json_num(e, "started_at");
    s.finished_at = json_num(e, "finished_at");
    if (s.status != before || (!ended(s.status) && !s.reason.empty())) {
      std::string line = utc_text(json_num(e, "at"), "%H:%M:%S") + "  " + s.status + "  " + s.id;
      if (ended(s.status) && s.started_at)
        line += " (" + duration(s.started_at, s.finished_at) + ")";
      if (status_is(s.status, RunStatus::Running) && !s.agent.empty()) line += " on " + s.agent;
      if (!s.reason.empty()) line += "  " + s.reason;
      out.push_back(line);
    }
  } else if (type == "log") {
    Stage& s = stages_[json_str(e, "stage")];
    if (s.id.empty()) s.id = json_str(e, "stage");
    active_ = s.id;
    std::string data = json_str(e, "data");
    size_t start = 0;
    for (size_t nl = data.find('\n'); nl != std::string::npos; nl = data.find('\n', start)) {
      std::string line = s.partial + data.substr(start, nl - start);
      s.partial.clear();
      if (line.size() > kMaxLine) line.resize(kMaxLine);
      out.push_back("[" + s.id + "] " + line);
      s.tail.push_back(std::move(line));
      if (s.tail.size() > kTailLines) s.tail.pop_front();
      start = nl + 1;
    }
    s.partial += data.substr(start);
    if (s.partial.size() > kMaxLine) s.partial.resize(kMaxLine);
  }
  return out;
}

std::vector<std::string> WatchView::flush_partial_lines() {
  std::vector<std::string> out;
  for (auto& [id, s] : stages_) {
    if (!s.partial.empty()) out.push_back("[" + id + "] " + std::exchange(s.partial, {}));
  }
  return out;
}

bool WatchView::finished() const {
  return run_finished(status_);
}

std::vector<std::string> WatchView::render(int64_t now_ms, size_t width, size_t tail) const {
  std::vector<std::string> out;
  width = std::max<size_t>(width, 20);
  std::string head = "run " + std::to_string(run_id_);
  if (!job_.empty()) head += "  " + job_ + " #" + std::to_string(number_);
  std::string status = status_.empty() ? "connecting" : status_;
  std::string rest = finished() && !reason_.empty() ? "  " + reason_ : "";
  head = fit(head + "  ", width);
  out.push_back(head + paint(status_, fit(status, width - std::min(width, head.size()))) +
                fit(rest, width - std::min(width, head.size() + status.size())));
  std::vector<const Stage*> order;
  for (const auto& [id, s] : stages_) {
    if (!s.status.empty()) order.push_back(&s);
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const Stage* a, const Stage* b) { return a->order < b->order; });
  for (const Stage* s : order) {
    size_t depth = 0;
    for (size_t p = s->id.find(" / "); p != std::string::npos; p = s->id.find(" / ", p + 3))
      ++depth;
    std::string label =
        std::string(symbol_of(s->status)) + " " + (s->name.empty() ? s->id : s->name);
    std::string indent(2 + depth * 2, ' ');
    std::string rest;
    std::string d = duration(s->started_at, s->finished_at ? s->finished_at : now_ms);
    if (!status_is(s->status, RunStatus::Queued) && !status_is(s->status, RunStatus::Skipped) &&
        !d.empty())
      rest += "  " + d;
    if (!s->reason.empty() && !status_is(s->status, RunStatus::Succeeded)) rest += "  " + s->reason;
    std::string line = indent;
    line.append(label).append(rest);
    std::string shown = fit(line, width);
    size_t cut = std::min(shown.size(), indent.size() + label.size());
    out.push_back(indent + paint(s->status, shown.substr(indent.size(), cut - indent.size())) +
                  shown.substr(cut));
  }
  // The running stage's log tail: the one whose output came last, while it runs; once the run
  // ended, the last failed stage's (its last lines stay on screen), with where the rest is.
  auto active = stages_.find(active_);
  const Stage* shown =
      active != stages_.end() && !ended(active->second.status) ? &active->second : nullptr;
  if (!shown && finished()) {
    for (const Stage* s : order) {
      if (status_is(s->status, RunStatus::Failed) && (!s->tail.empty() || !s->partial.empty()))
        shown = s;
    }
  }
  if (tail > 0 && shown) {
    const Stage& s = *shown;
    out.push_back(paint("", fit("── " + s.id + " ──", width)));
    size_t n = std::min(tail, s.tail.size());
    for (size_t i = s.tail.size() - n; i < s.tail.size(); ++i)
      out.push_back("  " + fit(s.tail[i], width - 2));
    if (!s.partial.empty()) out.push_back("  " + fit(s.partial, width - 2));
    if (finished())
      out.push_back(fit(
          "  the whole log: gantry logs " + std::to_string(run_id_) + " '" + s.id + "'", width));
  }
  return out;
}

}  // namespace gantry::cli
