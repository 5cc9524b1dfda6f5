#include "trash.hpp"

#include <chrono>
#include <filesystem>

#include "gantry/common/log.hpp"

namespace gantry::agent {

namespace fs = std::filesystem;

Trash::Trash(std::string state_dir) : trash_dir_((fs::path(state_dir) / "trash").string()) {}

Trash::~Trash() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Trash::discard(const std::string& dir) {
  static uint64_t serial = 0;
  std::error_code ec;
  fs::create_directories(trash_dir_, ec);
  // Unique across processes too: a previous process's trash may not be empty yet.
  auto stamp = std::chrono::system_clock::now().time_since_epoch().count();
  fs::path to = fs::path(trash_dir_) / (fs::path(dir).filename().string() + "." +
                                        std::to_string(stamp) + "." + std::to_string(++serial));
  fs::rename(dir, to, ec);
  if (ec) fs::remove_all(dir, ec);
}

void Trash::empty_later() {
  {
    std::lock_guard lock(mu_);
    requested_ = true;
  }
  if (!thread_.joinable()) {
    thread_ = std::thread([this] { run(); });
  } else {
    wake_.notify_one();
  }
}

void Trash::empty_now() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(trash_dir_, ec)) {
    std::error_code remove_ec;
    fs::remove_all(entry.path(), remove_ec);
    if (remove_ec)
      log::warn("agent", "trash.remove_failed",
                {{"path", entry.path().string()}, {"error", remove_ec.message()}});
  }
}

void Trash::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return requested_ || stopping_; });
    if (stopping_) return;
    requested_ = false;
    lock.unlock();
    empty_now();
    lock.lock();
  }
}

}  // namespace gantry::agent
