#include "gantry/net/event_loop.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>

#include <csignal>
#include <optional>
#include <unordered_map>

#include "gantry/common/log.hpp"
#include "net.hpp"

namespace gantry::net {
namespace {

struct Timer {
  Timer(asio::io_context& io, std::chrono::milliseconds every, std::function<void()> callback)
      : timer(io), period(every), fn(std::move(callback)) {}
  asio::steady_timer timer;
  std::chrono::milliseconds period;  // zero: fires once
  std::function<void()> fn;
};

}  // namespace

struct EventLoop::Impl {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
  uint64_t next_timer = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Timer>> timers;
  std::optional<asio::signal_set> signals;
  std::function<void(int)> on_signal;

  uint64_t add_timer(std::chrono::milliseconds first, std::chrono::milliseconds period,
                     std::function<void()> fn) {
    uint64_t id = next_timer++;
    auto timer = std::make_unique<Timer>(io, period, std::move(fn));
    timer->timer.expires_after(first);
    timers.emplace(id, std::move(timer));
    wait(id);
    return id;
  }

  void wait(uint64_t id) {
    timers.at(id)->timer.async_wait([this, id](error_code ec) {
      if (!ec) fire(id);
    });
  }

  void fire(uint64_t id) {
    auto it = timers.find(id);
    if (it == timers.end()) return;
    Timer& t = *it->second;
    if (t.period.count() == 0) {
      auto fn = std::move(t.fn);
      timers.erase(it);
      invoke_guarded("loop", "timer", fn);
      return;
    }
    // Re-arm before calling, so the callback may cancel its own timer.
    auto now = std::chrono::steady_clock::now();
    auto next = t.timer.expiry() + t.period;
    t.timer.expires_at(next > now ? next : now + t.period);
    wait(id);
    auto fn = t.fn;  // a copy: the callback may cancel (and so destroy) its timer
    invoke_guarded("loop", "timer", fn);
  }

  void wait_signal() {
    signals->async_wait([this](error_code ec, int signo) {
      if (ec) return;
      log::info("loop", "signal", {{"signal", std::to_string(signo)}});
      if (on_signal) invoke_guarded("loop", "on_signal", [&] { on_signal(signo); });
      wait_signal();
    });
  }
};

EventLoop::EventLoop() : impl_(std::make_unique<Impl>()) {}
EventLoop::~EventLoop() = default;

void EventLoop::run() {
  // Our handlers catch their own exceptions; this is the last line of defence for Asio's.
  for (;;) {
    try {
      impl_->io.run();
      return;
    } catch (const std::exception& e) {
      log::error("loop", "handler.exception", {{"error", e.what()}});
    }
  }
}

void EventLoop::stop() {
  impl_->io.stop();
}

void EventLoop::post(std::function<void()> fn) {
  asio::post(impl_->io, [fn = std::move(fn)] { invoke_guarded("loop", "post", fn); });
}

uint64_t EventLoop::call_after(std::chrono::milliseconds delay, std::function<void()> fn) {
  return impl_->add_timer(delay, std::chrono::milliseconds(0), std::move(fn));
}

uint64_t EventLoop::call_every(std::chrono::milliseconds period, std::function<void()> fn) {
  if (period.count() <= 0) period = std::chrono::milliseconds(1);
  return impl_->add_timer(period, period, std::move(fn));
}

void EventLoop::cancel_timer(uint64_t id) {
  impl_->timers.erase(id);
}

void EventLoop::on_signals(std::function<void(int)> fn, bool hangup) {
  impl_->on_signal = std::move(fn);
  if (impl_->signals) return;
  impl_->signals.emplace(impl_->io, SIGINT, SIGTERM);
  if (hangup) impl_->signals->add(SIGHUP);
  impl_->wait_signal();
}

void* EventLoop::native() {
  return &impl_->io;
}

// Helpers shared by the gantry_net sources (declared in net.hpp).

asio::io_context& io_of(EventLoop& loop) {
  return *static_cast<asio::io_context*>(loop.native());
}

void spawn_logged(const asio::any_io_executor& ex, asio::awaitable<void> task, std::string what) {
  asio::co_spawn(ex, std::move(task), [what = std::move(what)](std::exception_ptr e) {
    if (e) log_callback_exception("net", what, e);
  });
}

std::string describe(const error_code& ec) {
  if (ec == boost::beast::error::timeout) return "timed out";
  std::string text = ec.message();
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z' && (text.size() < 2 || text[1] > 'Z')) {
    text[0] = static_cast<char>(text[0] - 'A' + 'a');
  }
  return text;
}

std::string endpoint_string(const tcp::endpoint& endpoint) {
  std::string address = endpoint.address().to_string();
  if (endpoint.address().is_v6()) address = "[" + address + "]";
  return address + ":" + std::to_string(endpoint.port());
}

void log_callback_exception(std::string_view comp, std::string_view callback,
                            std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log::error(comp, "exception", {{"in", callback}, {"error", ex.what()}});
  } catch (...) {
    log::error(comp, "exception", {{"in", callback}, {"error", "unknown exception"}});
  }
}

}  // namespace gantry::net
