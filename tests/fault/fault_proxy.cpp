#include "fault_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <deque>
#include <stdexcept>
#include <string>
#include <vector>

namespace gantry::fault {

namespace {

int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// Closes with an RST instead of a FIN.
void close_reset(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

constexpr size_t kMaxQueued = size_t{1} << 20;  // per direction, then stop reading

struct Chunk {
  int64_t due;
  std::string bytes;
  size_t off = 0;
};

struct Flow {  // one direction of one connection
  std::deque<Chunk> queue;
  size_t queued = 0;
  bool eof = false;   // the source closed its side
  bool shut = false;  // and the destination was told (after the queue drained)
  double tokens = 0;  // throttle bucket
  int64_t refilled = 0;
};

struct Pair {
  std::array<int, 2> fd{};   // [0]: agent side (client), [1]: controller side (upstream)
  std::array<Flow, 2> flow;  // [Up]: fd[0] -> fd[1], [Down]: fd[1] -> fd[0]
  bool dead = false;
};

}  // namespace

FaultProxy::FaultProxy(uint16_t target) : target_(target) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 512) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0 ||
      ::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0)
    throw std::runtime_error("fault proxy: cannot listen on 127.0.0.1");
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { loop(); });
}

FaultProxy::~FaultProxy() {
  stop_ = true;
  wake();
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

std::string FaultProxy::url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

void FaultProxy::wake() {
  char c = 1;
  (void)::write(wake_[1], &c, 1);
}

void FaultProxy::blackhole(bool on) {
  hold(Direction::Up, on);
  hold(Direction::Down, on);
}

void FaultProxy::hold(Direction d, bool on) {
  dir_[static_cast<int>(d)].hold = on;
  wake();
}

void FaultProxy::delay(std::chrono::milliseconds d) {
  for (auto& s : dir_) s.delay_ms = d.count();
  wake();
}

void FaultProxy::throttle(int64_t bytes_per_second) {
  for (auto& s : dir_) s.rate = bytes_per_second;
  wake();
}

void FaultProxy::reset() {
  reset_ = true;
  wake();
}

void FaultProxy::loop() {
  std::vector<Pair> pairs;
  std::vector<char> buf(1 << 16);
  while (!stop_) {
    if (reset_.exchange(false)) {
      for (auto& p : pairs) {
        close_reset(p.fd[0]);
        close_reset(p.fd[1]);
      }
      pairs.clear();
    }
    const int64_t now = mono_ms();
    // What each flow can do now: read while its queue has room, write its
    // head once due and within the throttle's budget.
    struct Slot {
      size_t pair;
      int d;
      bool write;
    };
    std::vector<pollfd> fds = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    std::vector<Slot> slots;
    int64_t timeout = 100;
    for (size_t i = 0; i < pairs.size(); ++i) {
      for (int d = 0; d < 2; ++d) {
        const Settings& s = dir_[d];
        Flow& f = pairs[i].flow[d];
        if (s.hold) continue;
        const int src = pairs[i].fd[d], dst = pairs[i].fd[1 - d];
        if (!f.eof && f.queued < kMaxQueued) {
          fds.push_back({src, POLLIN, 0});
          slots.push_back({i, d, false});
        }
        if (f.queue.empty()) continue;
        const int64_t rate = s.rate;
        if (rate > 0) {
          f.tokens = std::min<double>(
              f.tokens + static_cast<double>(rate) * static_cast<double>(now - f.refilled) / 1000.0,
              std::max<double>(static_cast<double>(rate) / 20.0, 1024.0));
          f.refilled = now;
        }
        if (f.queue.front().due > now) {
          timeout = std::min(timeout, f.queue.front().due - now);
        } else if (rate > 0 && f.tokens < 1) {
          timeout = std::min<int64_t>(timeout, 5);
        } else {
          fds.push_back({dst, POLLOUT, 0});
          slots.push_back({i, d, true});
        }
      }
    }
    ::poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(timeout, 1)));
    if (fds[1].revents) {
      char c[64];
      while (::read(wake_[0], c, sizeof c) > 0) {
      }
    }
    if (fds[0].revents & POLLIN) {
      int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      int up = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(target_);
      if (client >= 0) ++accepted_;
      if (client >= 0 && ::connect(up, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        int one = 1;
        for (int fd : {client, up}) {
          set_nonblocking(fd);
          ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        Pair p{};
        p.fd[0] = client;
        p.fd[1] = up;
        p.flow[0].refilled = p.flow[1].refilled = now;
        pairs.push_back(std::move(p));
      } else {
        if (client >= 0) ::close(client);
        ::close(up);
      }
    }
    const int64_t after = mono_ms();
    for (size_t k = 0; k < slots.size(); ++k) {
      const pollfd& pfd = fds[2 + k];
      Pair& p = pairs[slots[k].pair];
      Flow& f = p.flow[slots[k].d];
      if (p.dead || !pfd.revents) continue;
      if (!slots[k].write) {
        const size_t room = std::min(buf.size(), kMaxQueued - f.queued);
        ssize_t n = ::read(pfd.fd, buf.data(), room);
        if (n > 0) {
          f.queue.push_back(
              {after + dir_[slots[k].d].delay_ms, std::string(buf.data(), size_t(n))});
          f.queued += static_cast<size_t>(n);
        } else if (n == 0) {
          f.eof = true;
        } else if (errno != EAGAIN && errno != EINTR) {
          p.dead = true;
        }
        continue;
      }
      Chunk& c = f.queue.front();
      size_t want = c.bytes.size() - c.off;
      if (dir_[slots[k].d].rate > 0) want = std::min(want, static_cast<size_t>(f.tokens));
      ssize_t w = want ? ::send(pfd.fd, c.bytes.data() + c.off, want, MSG_NOSIGNAL) : 0;
      if (w > 0) {
        c.off += static_cast<size_t>(w);
        f.queued -= static_cast<size_t>(w);
        f.tokens -= static_cast<double>(w);
        if (c.off == c.bytes.size()) f.queue.pop_front();
      } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        p.dead = true;
      }
    }
    // A side that closed is passed on once what it sent has gone through.
    for (auto& p : pairs) {
      for (int d = 0; d < 2; ++d) {
        Flow& f = p.flow[d];
        if (f.eof && !f.shut && f.queue.empty()) {
          ::shutdown(p.fd[1 - d], SHUT_WR);
          f.shut = true;
        }
      }
      if (p.flow[0].shut && p.flow[1].shut) p.dead = true;
    }
    for (auto it = pairs.begin(); it != pairs.end();) {
      if (it->dead) {
        ::close(it->fd[0]);
        ::close(it->fd[1]);
        it = pairs.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& p : pairs) {
    ::close(p.fd[0]);
    ::close(p.fd[1]);
  }
}

}  // namespace gantry::fault
