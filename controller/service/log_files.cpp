#include "service/log_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "gantry/common/log.hpp"
#include "gantry/protocol/messages.hpp"

namespace gantry::controller {

LogFiles::~LogFiles() {
  for (auto& [id, f] : files_) ::close(f.fd);
}

uint64_t LogFiles::file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_size);
}

LogFiles::File* LogFiles::open(const std::string& job_id, const std::string& path) {
  auto it = files_.find(job_id);
  if (it != files_.end() && it->second.path == path) return &it->second;
  if (it != files_.end()) close(job_id);
  // Written at explicit offsets (pwrite), not O_APPEND: see append().
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    log::error("logs", "open.failed", {{"path", path}, {"error", std::strerror(errno)}});
    return nullptr;
  }
  File f;
  f.fd = fd;
  f.path = path;
  f.size = file_size(path);
  f.synced = f.size;
  return &files_.emplace(job_id, f).first->second;
}

uint64_t LogFiles::committed(const std::string& job_id, const std::string& path) {
  auto it = files_.find(job_id);
  if (it != files_.end() && it->second.path == path) return it->second.size;
  return file_size(path);
}

LogFiles::Outcome LogFiles::append(const std::string& job_id, const std::string& path,
                                   uint64_t offset, std::string_view bytes, uint64_t& committed) {
  File* f = open(job_id, path);
  if (!f) return Outcome::Error;
  // Controllers sharing a data directory (docs/ha.md): a deposed leader that has not noticed yet
  // (paused, then woken with chunks still in its socket) may write to a file the new leader
  // writes too. The file's real size decides, and bytes go at their own offset: the agent's
  // bytes at an offset are the same whoever receives them, so a late write repeats them.
  if (struct stat st{}; ::fstat(f->fd, &st) == 0 && static_cast<uint64_t>(st.st_size) != f->size) {
    f->size = static_cast<uint64_t>(st.st_size);
    f->synced = std::min(f->synced, f->size);
  }
  committed = f->size;
  if (offset > f->size) return Outcome::Gap;
  if (offset + bytes.size() <= f->size) return Outcome::Duplicate;
  bytes.remove_prefix(static_cast<size_t>(f->size - offset));  // an overlapping resend
  // The agent caps at kLogLimit plus its truncation marker.
  if (f->size + bytes.size() > protocol::kLogLimit + 4096) return Outcome::TooLarge;
  while (!bytes.empty()) {
    ssize_t n = ::pwrite(f->fd, bytes.data(), bytes.size(), static_cast<off_t>(f->size));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      log::error("logs", "write.failed", {{"path", path}, {"error", std::strerror(errno)}});
      return Outcome::Error;
    }
    f->size += static_cast<uint64_t>(n);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  dirty_.insert(f->fd);
  committed = f->size;
  return Outcome::Written;
}

std::vector<std::string> LogFiles::sync() {
  std::vector<std::string> failed;
  if (dirty_.empty()) return failed;
  for (auto& [job_id, f] : files_) {
    if (!dirty_.count(f.fd)) continue;
    if (::fdatasync(f.fd) == 0) {
      f.synced = f.size;
      continue;
    }
    log::error("logs", "sync.failed", {{"path", f.path}, {"error", std::strerror(errno)}});
    if (::ftruncate(f.fd, static_cast<off_t>(f.synced)) == 0) f.size = f.synced;
    failed.push_back(job_id);
  }
  dirty_.clear();
  return failed;
}

void LogFiles::close(const std::string& job_id) {
  auto it = files_.find(job_id);
  if (it == files_.end()) return;
  if (dirty_.erase(it->second.fd)) ::fdatasync(it->second.fd);
  ::close(it->second.fd);
  files_.erase(it);
}

}  // namespace gantry::controller
