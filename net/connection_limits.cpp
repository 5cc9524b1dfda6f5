#include "connection_limits.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <utility>

#include "gantry/common/log.hpp"

namespace gantry::net {

ConnectionSlot::ConnectionSlot(std::shared_ptr<ConnectionLimits> limits, std::string address)
    : limits_(std::move(limits)), address_(std::move(address)) {}

ConnectionSlot::ConnectionSlot(ConnectionSlot&& other) noexcept
    : limits_(std::move(other.limits_)),
      address_(std::move(other.address_)),
      authenticated_(other.authenticated_) {
  other.limits_ = nullptr;
}

ConnectionSlot& ConnectionSlot::operator=(ConnectionSlot&& other) noexcept {
  if (this != &other) {
    release();
    limits_ = std::move(other.limits_);
    address_ = std::move(other.address_);
    authenticated_ = other.authenticated_;
    other.limits_ = nullptr;
  }
  return *this;
}

void ConnectionSlot::authenticate() {
  if (!limits_ || authenticated_) return;
  authenticated_ = true;
  limits_->authenticate(address_);
}

void ConnectionSlot::release() {
  if (!limits_) return;
  auto limits = std::move(limits_);
  limits_ = nullptr;
  limits->release(address_, authenticated_);
}

ConnectionLimits::ConnectionLimits(size_t max_connections, size_t max_unauthenticated,
                                   size_t max_unauthenticated_per_address)
    : max_connections_(max_connections),
      max_unauthenticated_(max_unauthenticated),
      max_per_address_(max_unauthenticated_per_address) {}

ConnectionSlot ConnectionLimits::admit(const std::string& address) {
  // The accept loop does not accept while full(); this is for a race with nothing else.
  if (full()) return {};
  auto it = per_address_.find(address);
  size_t from_address = it == per_address_.end() ? 0 : it->second;
  if (from_address >= max_per_address_) {
    refused(address, true);
    return {};
  }
  if (unauthenticated_ >= max_unauthenticated_) {
    refused(address, false);
    return {};
  }
  ++connections_;
  ++unauthenticated_;
  ++per_address_[address];
  return ConnectionSlot(shared_from_this(), address);
}

void ConnectionLimits::authenticate(const std::string& address) {
  --unauthenticated_;
  auto it = per_address_.find(address);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
}

void ConnectionLimits::release(const std::string& address, bool authenticated) {
  if (!authenticated) authenticate(address);
  --connections_;
  if (on_release) on_release();
}

void ConnectionLimits::refused(const std::string& address, bool per_address) {
  ++(per_address ? refused_per_address_ : refused_unauthenticated_);
  auto now = std::chrono::steady_clock::now();
  if (logged_ && now - last_log_ < kLogEvery) return;
  log::warn("http", "connections.refused",
            {{"remote", address},
             {"cap", per_address ? "per_address" : "unauthenticated"},
             {"per_address", std::to_string(refused_per_address_)},
             {"unauthenticated", std::to_string(refused_unauthenticated_)},
             {"open", std::to_string(connections_)},
             {"open_unauthenticated", std::to_string(unauthenticated_)}});
  refused_per_address_ = 0;
  refused_unauthenticated_ = 0;
  last_log_ = now;
  logged_ = true;
}

size_t descriptor_budget(const ServerOptions& options) {
  if (options.max_connections != 0) return options.max_connections;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024 - 64;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    // The hard limit may be RLIM_INFINITY, which the kernel refuses (nr_open caps it).
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      limit = raised;
      log::info("http", "nofile.raised", {{"limit", std::to_string(limit.rlim_cur)}});
    }
  }
  // Descriptors for files, pipes and the database are left over for the rest of the process.
  rlim_t total = std::min<rlim_t>(limit.rlim_cur, rlim_t{1} << 24);
  rlim_t reserve = std::max<rlim_t>(64, total / 16);
  return total > reserve ? static_cast<size_t>(total - reserve) : 1;
}

}  // namespace gantry::net
