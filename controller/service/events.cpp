#include "service/events.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "gantry/common/log.hpp"

namespace gantry::controller {

using nlohmann::json;

namespace {

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The longest prefix of `bytes` that does not end inside a UTF-8 sequence.
size_t whole_characters(std::string_view bytes) {
  size_t n = bytes.size();
  for (size_t back = 1; back <= 4 && back <= n; ++back) {
    auto c = static_cast<unsigned char>(bytes[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    size_t len = c < 0x80             ? 1
                 : (c & 0xE0) == 0xC0 ? 2
                 : (c & 0xF0) == 0xE0 ? 3
                 : (c & 0xF8) == 0xF0 ? 4
                                      : 1;
    return back < len ? n - back : n;
  }
  return n;  // not UTF-8 at all: nothing to wait for
}

bool read_at(const std::string& path, uint64_t offset, size_t length, std::string& out) {
  out.assign(length, '\0');
  if (length == 0) return true;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  size_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, out.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  out.resize(done);
  return done == length;
}

// The frame: the stored body with its id first ({"id":N,...}).
std::string with_id(int64_t id, const std::string& body) {
  return "{\"id\":" + std::to_string(id) + (body.size() > 2 ? "," + body.substr(1) : "}");
}

// A byte that goes into a JSON string as it is: printable ASCII but " and \.
bool plain(unsigned char c) {
  return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

// Whether 8 bytes are all plain (bit tricks on a word: some byte below 0x20,
// equal to " or \, or with its high bit set makes it false).
bool plain8(const char* p) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHighs = kOnes * 0x80;
  uint64_t w = 0;
  std::memcpy(&w, p, sizeof w);
  uint64_t quote = w ^ (kOnes * '"'), backslash = w ^ (kOnes * '\\');
  uint64_t found = ((w - kOnes * 0x20) & ~w) | ((quote - kOnes) & ~quote) |
                   ((backslash - kOnes) & ~backslash) | w;
  return (found & kHighs) == 0;
}

// The well-formed UTF-8 character at the start of s[0, n) (Unicode table
// 3-7: no overlongs, surrogates or code points past U+10FFFF): its length,
// or, negated, the length of the invalid prefix one U+FFFD replaces (the
// lead and the continuation bytes that fit it, at least one byte).
int utf8_char(const unsigned char* s, size_t n) {
  unsigned c = s[0], lo = 0x80, hi = 0xBF;
  int len = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return -1;
  }
  for (int k = 1; k < len; ++k) {
    if (static_cast<size_t>(k) >= n || s[k] < lo || s[k] > hi) return -k;
    lo = 0x80;
    hi = 0xBF;
  }
  return len;
}

// A log event's frame: the stored body with its id first and the bytes as
// `data` last. Built straight into one string: nlohmann's dump checks every
// byte on its own and was most of the controller's work on a big log.
std::string log_frame(int64_t id, const std::string& body, const std::string& bytes) {
  if (body.size() < 2 || body.front() != '{' || body.back() != '}') return with_id(id, body);
  std::string out;
  out.reserve(body.size() + bytes.size() + bytes.size() / 16 + 48);
  out += "{\"id\":";
  out += std::to_string(id);
  if (body.size() > 2) out.append(",").append(body, 1, body.size() - 2);
  out += ",\"data\":";
  EventHub::append_json_string(out, bytes);
  out += '}';
  return out;
}

}  // namespace

void EventHub::append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  static constexpr std::string_view kShort = "\"\\\b\t\n\f\r", kLetter = "\"\\btnfr";
  const char* p = text.data();
  size_t n = text.size(), i = 0;
  out += '"';
  while (i < n) {
    size_t run = i;  // plain bytes go in as one copy
    while (i + 8 <= n && plain8(p + i)) i += 8;
    while (i < n && plain(static_cast<unsigned char>(p[i]))) ++i;
    out.append(p + run, i - run);
    if (i == n) break;
    auto c = static_cast<unsigned char>(p[i]);
    if (c >= 0x80) {
      int len = utf8_char(reinterpret_cast<const unsigned char*>(p + i), n - i);
      if (len > 0) {
        out.append(p + i, static_cast<size_t>(len));
      } else {
        out += "\xEF\xBF\xBD";
        len = -len;
      }
      i += static_cast<size_t>(len);
      continue;
    }
    out += '\\';
    if (size_t k = kShort.find(static_cast<char>(c)); k != std::string_view::npos) {
      out += kLetter[k];  // \" \\ \b \t \n \f \r
    } else {
      out += "u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
    ++i;
  }
  out += '"';
}

EventHub::EventHub(Store& store, net::EventLoop& loop, EventHubOptions options)
    : store_(store), loop_(loop), options_(options), last_id_(store.events().last_event_id()) {
  // Clients behind drain at their own pace; no drain callback exists, so
  // look again often while any is connected.
  timer_ = loop_.call_every(std::chrono::milliseconds(50), [this] {
    if (!clients_.empty()) pump();
    int64_t now = steady_ms();
    if (now - last_prune_ > 60000) {
      last_prune_ = now;
      if (int64_t gone = store_.events().prune_events(options_.keep_events))
        log::info("events", "events.pruned", {{"events", std::to_string(gone)}});
    }
  });
}

EventHub::~EventHub() {
  if (timer_) loop_.cancel_timer(timer_);
  close_all();
}

int64_t EventHub::steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void EventHub::append(EventRecord& e, const std::string* log_bytes) {
  if (!store_.events().append_event(e)) {
    log::error("events", "event.store_failed", {{"run", std::to_string(e.run_id)}});
    return;
  }
  last_id_ = e.id;
  Frame f{e.id, e.run_id, e.log_length > 0, nullptr, nullptr, sizeof(Frame)};
  if (!f.log) {
    f.text = std::make_shared<const std::string>(with_id(e.id, e.body));
  } else if (log_bytes) {
    f.text = std::make_shared<const std::string>(log_frame(e.id, e.body, *log_bytes));
  } else {
    f.cost += sizeof(EventRecord) + e.body.size() + e.log_stage.size();
    f.record = std::make_shared<const EventRecord>(e);
  }
  if (f.text) f.cost += f.text->size();
  ring_size_ += f.cost;
  ring_.push_back(std::move(f));
  trim_ring();
}

void EventHub::trim_ring() {
  while (ring_size_ > options_.ring_bytes && ring_.size() > 1) {
    ring_size_ -= ring_.front().cost;
    ring_.pop_front();
  }
}

const std::shared_ptr<const std::string>& EventHub::text_of(Frame& f) {
  if (!f.text && f.record) {
    // The first client that wants it: built once, shared from now on (the
    // ring may grow past its bound until trim_ring).
    f.text = std::make_shared<const std::string>(frame_of(*f.record));
    ring_size_ += f.text->size();
    f.cost += f.text->size();
    f.record.reset();
  }
  return f.text;
}

bool EventHub::logs_wanted(int64_t run_id) const {
  return std::any_of(clients_.begin(), clients_.end(), [run_id](const auto& kv) {
    const Client& c = *kv.second;  // the repository filter aside: a superset is fine here
    return !c.closed && (c.run_id == 0 || c.run_id == run_id) &&
           (c.log_run == kAllLogs || c.log_run == run_id);
  });
}

void EventHub::emit(const std::string& type, int64_t run_id, const std::string& fields) {
  json j = json::parse(fields, nullptr, false);
  if (!j.is_object()) j = json::object();
  json body = {{"type", type}, {"at", unix_ms()}, {"run", run_id}};
  for (auto& [k, v] : j.items()) body[k] = std::move(v);
  EventRecord e;
  e.run_id = run_id;
  e.body = dump(body);
  append(e);
}

void EventHub::log_committed(int64_t run_id, const std::string& stage_id, int attempt,
                             const std::string& path, uint64_t committed, bool final) {
  auto key = std::make_tuple(run_id, stage_id, attempt);
  auto it = log_ends_.find(key);
  if (it == log_ends_.end()) {
    // First sight (also after a restart): continue where the events end.
    it = log_ends_.emplace(key, store_.events().log_events_end(run_id, stage_id, attempt)).first;
  }
  uint64_t& end = it->second;
  // Nobody to send them to now: only the records (offset and length), the
  // frames are built from the file when a client wants them. Then only the
  // last bytes of each piece are read, to end it on a whole character.
  bool wanted = end < committed && logs_wanted(run_id);
  std::string bytes;
  while (end < committed) {
    size_t want = static_cast<size_t>(
        std::min<uint64_t>(committed - end, static_cast<uint64_t>(options_.max_log_event)));
    bool whole = final && end + want == committed;  // the last piece goes out as it is
    size_t tail = wanted ? want : std::min<size_t>(want, whole ? 0 : 4);
    if (!read_at(path, end + want - tail, tail, bytes)) {
      log::warn("events", "log.unreadable", {{"path", path}});
      break;
    }
    size_t n = whole ? want : want - tail + whole_characters(bytes);
    if (n == 0) break;  // a partial character: it goes out with the next bytes
    json body = {{"type", "log"},        {"at", unix_ms()},    {"run", run_id},
                 {"stage", stage_id},    {"attempt", attempt}, {"offset", end},
                 {"length", uint64_t{n}}};
    EventRecord e;
    e.run_id = run_id;
    e.body = dump(body);
    e.log_stage = stage_id;
    e.log_attempt = attempt;
    e.log_offset = end;
    e.log_length = n;
    if (wanted) bytes.resize(n);
    append(e, wanted ? &bytes : nullptr);
    end += n;
  }
  if (final) log_ends_.erase(key);
}

std::string EventHub::frame_of(const EventRecord& e) {
  if (e.log_length == 0) return with_id(e.id, e.body);
  std::string bytes;
  read_at(store_.log_path(e.run_id, e.log_stage, e.log_attempt), e.log_offset,
          static_cast<size_t>(e.log_length), bytes);
  return log_frame(e.id, e.body, bytes);
}

bool EventHub::wants(const Client& c, int64_t run_id, bool log) {
  if (c.run_id != 0 && run_id != c.run_id) return false;
  if (log && c.log_run != kAllLogs && c.log_run != run_id) return false;
  if (c.all_repos || run_id == 0) return true;
  const std::string& repo = repo_of(run_id);
  return !repo.empty() && std::find(c.repos.begin(), c.repos.end(), repo) != c.repos.end();
}

const std::string& EventHub::repo_of(int64_t run_id) {
  auto it = repo_cache_.find(run_id);
  if (it != repo_cache_.end()) return it->second;
  if (repo_cache_.size() >= 4096) repo_cache_.clear();
  return repo_cache_[run_id] = repo_of_ ? repo_of_(run_id) : std::string();
}

void EventHub::attach(std::shared_ptr<net::WsConnection> conn, net::WsHandlers& handlers,
                      int64_t run_id, std::optional<int64_t> since, int64_t log_run,
                      const std::vector<std::string>* repos) {
  auto c = std::make_shared<Client>();
  c->conn = std::move(conn);
  c->run_id = run_id;
  c->log_run = log_run;
  if (repos) {
    c->all_repos = false;
    c->repos = *repos;
  }
  c->cursor = since ? std::max<int64_t>(0, *since) : run_id != 0 ? 0 : last_id_;
  uint64_t key = next_client_++;
  clients_[key] = c;
  handlers.on_message = [](std::string_view, bool) {};  // nothing to say to us
  std::weak_ptr<int> alive = alive_;                    // a close may come after the hub is gone
  handlers.on_close = [this, alive, key](uint16_t, const std::string&) {
    if (alive.lock()) clients_.erase(key);
  };
  log::info("events", "client.attached",
            {{"remote", c->conn->remote()},
             {"run", std::to_string(run_id)},
             {"since", std::to_string(c->cursor)}});
  pump(*c, steady_ms());
}

void EventHub::pump() {
  int64_t now = steady_ms();
  // A copy: pump() may close clients, whose on_close erases them.
  std::vector<std::shared_ptr<Client>> all;
  all.reserve(clients_.size());
  for (const auto& [key, c] : clients_) all.push_back(c);
  for (const auto& c : all) pump(*c, now);
}

void EventHub::pump(Client& c, int64_t now) {
  if (c.closed) return;
  auto full = [&] { return c.conn->queued_bytes() >= options_.max_queue; };
  while (c.cursor < last_id_ && !full()) {
    if (!ring_.empty() && c.cursor >= ring_.front().id - 1) {
      // Caught up enough to be served from memory.
      auto it = std::lower_bound(ring_.begin(), ring_.end(), c.cursor + 1,
                                 [](const Frame& f, int64_t id) { return f.id < id; });
      for (; it != ring_.end() && !full(); ++it) {
        if (wants(c, it->run_id, it->log)) c.conn->send_shared(text_of(*it));
        c.cursor = it->id;
      }
      continue;
    }
    std::vector<EventRecord> page = store_.events().events_after(c.cursor, c.run_id, 200);
    if (page.empty()) {
      // Nothing of its run before the ring: skip to where the ring starts.
      c.cursor = ring_.empty() ? last_id_ : ring_.front().id - 1;
      continue;
    }
    for (const EventRecord& e : page) {
      if (!ring_.empty() && e.id >= ring_.front().id) break;  // the ring has it from here
      if (wants(c, e.run_id, e.log_length > 0)) c.conn->send_text(frame_of(e));
      c.cursor = e.id;
      if (full()) break;
    }
    if (!ring_.empty() && c.cursor < ring_.front().id - 1 && page.back().id >= ring_.front().id)
      c.cursor = ring_.front().id - 1;
  }
  trim_ring();  // frames built for it may have grown the ring
  if (c.cursor < last_id_ && full()) {
    if (c.full_since == 0) c.full_since = now;
    if (now - c.full_since > options_.stall_ms) {
      c.closed = true;
      std::string why = "too slow: reconnect with since=" + std::to_string(c.cursor);
      log::warn("events", "client.too_slow",
                {{"remote", c.conn->remote()}, {"since", std::to_string(c.cursor)}});
      c.conn->close(4008, why);
    }
  } else {
    c.full_since = 0;
  }
}

void EventHub::forget_run(int64_t run_id) {
  for (auto it = log_ends_.begin(); it != log_ends_.end();)
    it = std::get<0>(it->first) == run_id ? log_ends_.erase(it) : std::next(it);
}

void EventHub::close_all() {
  auto all = std::exchange(clients_, {});
  for (auto& [key, c] : all) {
    c->closed = true;
    c->conn->close(1001, "controller stopping");
  }
}

}  // namespace gantry::controller
