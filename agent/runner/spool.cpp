#include "spool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace gantry::agent {
namespace {

constexpr size_t kMinSecret = 3;  // shorter ones would mask ordinary text
constexpr std::string_view kMask = "****";

// Longest first, so where two secrets start at one offset the longer wins.
std::vector<std::string> usable_secrets(std::vector<std::string> secrets) {
  std::erase_if(secrets, [](const std::string& s) { return s.size() < kMinSecret; });
  std::sort(secrets.begin(), secrets.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() > b.size() : a < b;
  });
  secrets.erase(std::unique(secrets.begin(), secrets.end()), secrets.end());
  return secrets;
}

// Replaces every secret that starts before `safe_end` in `data`, appending the
// result to `out`. Returns how many bytes of `data` were consumed: at least
// `safe_end`, more when the last match runs past it.
size_t mask_into(std::string_view data, size_t safe_end, const std::vector<std::string>& secrets,
                 std::vector<size_t>& next, std::string& out) {
  constexpr size_t npos = std::string_view::npos;
  for (size_t i = 0; i < secrets.size(); ++i) next[i] = data.find(secrets[i]);
  size_t pos = 0;
  for (;;) {
    size_t best = npos;
    size_t best_len = 0;
    for (size_t i = 0; i < secrets.size(); ++i) {
      if (next[i] != npos && next[i] < pos) next[i] = data.find(secrets[i], pos);
      if (next[i] < best) {
        best = next[i];
        best_len = secrets[i].size();
      }
    }
    if (best == npos || best >= safe_end) break;
    out.append(data.substr(pos, best - pos));
    out.append(kMask);
    pos = best + best_len;
  }
  size_t consumed = std::max(pos, safe_end);
  out.append(data.substr(pos, consumed - pos));
  return consumed;
}

}  // namespace

std::string mask_secrets(std::string_view text, std::vector<std::string> secrets) {
  std::vector<std::string> usable = usable_secrets(std::move(secrets));
  std::vector<size_t> next(usable.size());
  std::string out;
  mask_into(text, text.size(), usable, next, out);
  return out;
}

Spool::Spool(std::string path, uint64_t limit, std::vector<std::string> secrets)
    : path_(std::move(path)), limit_(limit), secrets_(usable_secrets(std::move(secrets))) {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) {
    throw std::runtime_error("open spool " + path_ + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    int err = errno;
    ::close(fd_);
    throw std::runtime_error("stat spool " + path_ + ": " + std::strerror(err));
  }
  size_.store(static_cast<uint64_t>(st.st_size));
  synced_ = size_.load();
  for (const auto& s : secrets_) max_secret_ = std::max(max_secret_, s.size());
  next_match_.resize(secrets_.size());
}

Spool::~Spool() {
  flush();
  ::close(fd_);
}

void Spool::add_secret(const std::string& secret) {
  std::lock_guard lock(write_mu_);
  std::vector<std::string> all = secrets_;
  all.push_back(secret);
  secrets_ = usable_secrets(std::move(all));
  max_secret_ = 0;
  for (const auto& s : secrets_) max_secret_ = std::max(max_secret_, s.size());
  next_match_.assign(secrets_.size(), 0);
}

void Spool::append(std::string_view bytes) {
  std::lock_guard lock(write_mu_);
  if (truncated_) {
    dropped_.fetch_add(bytes.size());
    return;
  }
  if (secrets_.empty()) {
    write_capped(bytes);
    return;
  }
  // Any secret starting before safe_end lies wholly in `data`; what follows
  // may be the start of a secret completed by the next append.
  std::string_view data = bytes;
  if (!carry_.empty()) {
    joined_.assign(carry_);
    joined_.append(bytes);
    data = joined_;
  }
  const size_t hold = max_secret_ - 1;
  const size_t safe_end = data.size() > hold ? data.size() - hold : 0;
  masked_.clear();
  size_t consumed = mask_into(data, safe_end, secrets_, next_match_, masked_);
  carry_.assign(data.substr(consumed));
  write_capped(masked_);
}

void Spool::flush() {
  std::lock_guard lock(write_mu_);
  if (carry_.empty()) return;
  masked_.clear();
  mask_into(carry_, carry_.size(), secrets_, next_match_, masked_);
  carry_.clear();
  if (truncated_) {
    dropped_.fetch_add(masked_.size());
  } else {
    write_capped(masked_);
  }
}

void Spool::sync() {
  std::lock_guard lock(write_mu_);
  synced_at_ = std::chrono::steady_clock::now();
  const uint64_t size = size_.load();
  if (size == synced_) return;
  if (acked_.load() < size) ::fdatasync(fd_);
  synced_ = size;
}

void Spool::acknowledged(uint64_t offset) {
  uint64_t seen = acked_.load();
  while (offset > seen && !acked_.compare_exchange_weak(seen, offset)) {
  }
}

void Spool::sync_due(std::chrono::steady_clock::duration interval) {
  {
    std::lock_guard lock(write_mu_);
    if (std::chrono::steady_clock::now() - synced_at_ < interval) return;
  }
  sync();
}

size_t Spool::read(uint64_t offset, size_t max, std::string& out) const {
  out.clear();
  const uint64_t size = size_.load();
  if (offset >= size) return 0;
  const size_t want = static_cast<size_t>(std::min<uint64_t>(max, size - offset));
  out.resize(want);
  size_t got = 0;
  while (got < want) {
    ssize_t n = ::pread(fd_, out.data() + got, want - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return got;
}

void Spool::write_capped(std::string_view bytes) {
  const uint64_t size = size_.load();
  const uint64_t room = size < limit_ ? limit_ - size : 0;
  if (bytes.size() <= room) {
    write_raw(bytes);
    return;
  }
  write_raw(bytes.substr(0, static_cast<size_t>(room)));
  dropped_.fetch_add(bytes.size() - room);
  truncated_ = true;
  write_raw("\n[gantry] log truncated: output past " + std::to_string(limit_) + " bytes dropped\n");
}

// A failed write (disk full, I/O error) cannot stop the job: the bytes that
// did not reach the file are counted as dropped.
void Spool::write_raw(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      dropped_.fetch_add(bytes.size());
      return;
    }
    size_.fetch_add(static_cast<uint64_t>(n));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace gantry::agent
