#include "fence_keeper.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <stdexcept>

#include "gantry/common/log.hpp"
#include "runner/process.hpp"

namespace gantry::agent {

namespace {

int64_t mono_now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

int kill_all(std::set<std::string>& cookies) {
  int killed = 0;
  for (const auto& c : cookies) killed += signal_cookie_holders(c, SIGKILL);
  cookies.clear();
  return killed;
}

// The keeper's whole life: registered cookies and one deadline.
[[noreturn]] void keeper_main(int fd) {
  ::prctl(PR_SET_NAME, "gantry-fence");
  // A Ctrl-C or a TERM is for the agent, which stops its jobs itself; the
  // keeper goes when the agent's end of the socket closes.
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::signal(sig, SIG_IGN);
  std::set<std::string> cookies;
  int64_t deadline = 0;
  char buf[512];
  for (;;) {
    int timeout = -1;
    if (!cookies.empty() && deadline > 0)
      timeout = static_cast<int>(std::max<int64_t>(0, deadline - mono_now_ms()));
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, timeout);
    if (r < 0 && errno == EINTR) continue;
    if (r > 0) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {  // the agent is gone: nobody fences its jobs any more
        int killed = kill_all(cookies);
        if (killed > 0) log::warn("fence", "agent.gone", {{"killed", std::to_string(killed)}});
        ::_exit(0);
      }
      std::string value(buf + 1, static_cast<size_t>(n - 1));
      if (buf[0] == 'D') {
        deadline = std::strtoll(value.c_str(), nullptr, 10);
      } else if (buf[0] == '+') {
        cookies.insert(value);
      } else if (buf[0] == '-') {
        cookies.erase(value);
      }
      continue;
    }
    if (!cookies.empty() && deadline > 0 && mono_now_ms() >= deadline) {
      int killed = kill_all(cookies);
      log::warn("fence", "job.fenced",
                {{"killed", std::to_string(killed)}, {"why", "the agent did not renew the lease"}});
    }
  }
}

}  // namespace

std::unique_ptr<FenceKeeper> FenceKeeper::start() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    throw std::runtime_error("cannot create the fence keeper's socket");
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("cannot fork the fence keeper");
  if (pid == 0) {
    ::close(sv[0]);
    keeper_main(sv[1]);
  }
  ::close(sv[1]);
  return std::unique_ptr<FenceKeeper>(new FenceKeeper(sv[0], pid));
}

FenceKeeper::~FenceKeeper() {
  ::close(fd_);
  ::waitpid(pid_, nullptr, 0);
}

void FenceKeeper::send(const std::string& message) {
  if (::send(fd_, message.data(), message.size(), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
    log::warn("fence", "keeper.unreachable", {{"error", std::to_string(errno)}});
}

void FenceKeeper::deadline(int64_t mono_ms) {
  send("D" + std::to_string(mono_ms));
}
void FenceKeeper::add(const std::string& cookie) {
  send("+" + cookie);
}
void FenceKeeper::remove(const std::string& cookie) {
  send("-" + cookie);
}

}  // namespace gantry::agent
