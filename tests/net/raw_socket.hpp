#pragma once
// Test support for gantry_net: a blocking POSIX client for what http_request cannot send:
// garbage, pipelining, idling, trickling, half-sent bodies. Every read is bounded (5 s).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gantry::net::test {

class RawSocket {
 public:
  explicit RawSocket(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawSocket() { ::close(fd_); }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool connected() const { return connected_; }
  // False when the connection is gone (or the peer stopped reading for 5 s).
  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Reads one response with a Content-Length body; "" on EOF, reset or timeout.
  std::string read_response() {
    for (;;) {
      auto end = buffer_.find("\r\n\r\n");
      if (end != std::string::npos) {
        auto cl = buffer_.find("Content-Length: ");
        size_t length = cl < end ? std::stoul(buffer_.substr(cl + 16)) : 0;
        if (buffer_.size() >= end + 4 + length) {
          std::string response = buffer_.substr(0, end + 4 + length);
          buffer_.erase(0, response.size());
          return response;
        }
      }
      if (!fill()) return {};
    }
  }
  // Reads up to the end of a response head (a 101 has no body); "" on EOF, reset or timeout.
  std::string read_head() {
    for (;;) {
      auto end = buffer_.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::string head = buffer_.substr(0, end + 4);
        buffer_.erase(0, head.size());
        return head;
      }
      if (!fill()) return {};
    }
  }
  // True when the server closes the connection (EOF) before the read timeout.
  bool closed_by_peer() {
    char c;
    return ::recv(fd_, &c, 1, 0) == 0;
  }
  // True when data or EOF arrives within `timeout`.
  bool readable(std::chrono::milliseconds timeout) {
    if (!buffer_.empty()) return true;
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
  }
  // Sends `trickle` (if any) every `every` until the server closes the connection (EOF or
  // reset) or `timeout` passes. Returns how long that took, or nothing past the timeout.
  std::optional<std::chrono::milliseconds> trickle_until_closed(std::string_view trickle,
                                                                std::chrono::milliseconds every,
                                                                std::chrono::milliseconds timeout) {
    auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < timeout) {
      if (!trickle.empty() && ::send(fd_, trickle.data(), trickle.size(), MSG_NOSIGNAL) < 0)
        return elapsed(start);
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(every.count())) > 0) {
        char chunk[4096];
        ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n <= 0) return elapsed(start);
        buffer_.append(chunk, static_cast<size_t>(n));
      }
    }
    return std::nullopt;
  }

 private:
  static std::chrono::milliseconds elapsed(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start);
  }
  bool fill() {
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }
  int fd_;
  bool connected_ = false;
  std::string buffer_;
};

}  // namespace gantry::net::test
