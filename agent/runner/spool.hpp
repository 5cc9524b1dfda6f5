#pragma once
// The job's log on the agent's disk: an append-only file that the runner
// writes and the link reads from any offset to ship chunks. Output is never
// blocked by the network: the file absorbs it. Secrets are replaced by
// `****` as bytes arrive (a secret split across two writes is still masked).
// Past `limit` bytes the spool writes one truncation marker and counts what
// it drops. sync() fdatasyncs what was written since the last sync (the
// runner calls sync_due() as output arrives and after each step, so it syncs at
// least every second; the agent calls sync() before it records the job's
// finish). Bytes the controller acknowledged (acknowledged(): it fsynced them)
// need no local sync, so with nothing new or everything acknowledged sync()
// costs no system call.
//
// Thread-safe: one writer thread, any number of reader threads.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace gantry::agent {

// `text` masked as the spool masks a log: for what leaves a job beside its
// log (the failure reason of `error "..."`).
std::string mask_secrets(std::string_view text, std::vector<std::string> secrets);

class Spool {
 public:
  // Opens (creating or appending to) `path`; existing content is kept so an
  // agent restart can resume shipping it. Throws std::runtime_error when the
  // file cannot be opened (a broken work dir is a startup error).
  Spool(std::string path, uint64_t limit, std::vector<std::string> secrets);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  void append(std::string_view bytes);  // masks, caps, writes
  // Masks `secret` from now on too (a password an input step returned), as the job's own are.
  void add_secret(const std::string& secret);
  void flush();  // writes out bytes held back for masking
  void sync();   // fdatasync, if anything is new and not acknowledged
  // The controller holds the first `offset` bytes durably (its log_ack).
  void acknowledged(uint64_t offset);
  // sync() when the last one is `interval` old or more.
  void sync_due(std::chrono::steady_clock::duration interval);
  uint64_t size() const { return size_.load(); }  // bytes in the file
  uint64_t dropped() const { return dropped_.load(); }

  // Reads up to `max` bytes at `offset` into `out`; returns bytes read.
  size_t read(uint64_t offset, size_t max, std::string& out) const;

  const std::string& path() const { return path_; }

 private:
  void write_capped(std::string_view bytes);  // applies the limit
  void write_raw(std::string_view bytes);

  std::string path_;
  int fd_ = -1;
  uint64_t limit_;
  std::vector<std::string> secrets_;
  size_t max_secret_ = 0;
  std::string carry_;               // tail that may be the start of a secret
  std::string joined_;              // carry_ + the bytes being appended
  std::string masked_;              // output of masking, reused between appends
  std::vector<size_t> next_match_;  // per secret: next offset it occurs at
  std::atomic<uint64_t> size_{0};
  std::atomic<uint64_t> dropped_{0};
  bool truncated_ = false;
  uint64_t synced_ = 0;  // size_ at the last fdatasync (the file's size when opened)
  std::atomic<uint64_t> acked_{0};
  std::chrono::steady_clock::time_point synced_at_ = std::chrono::steady_clock::now();
  std::mutex write_mu_;
};

}  // namespace gantry::agent
