#pragma once
// Private to gantry_net: the Asio idiom for Boost 1.81, written once.
// Boost 1.81 has no default completion token, so every co_await passes `use_nothrow` and gets
// [ec, ...] back instead of an exception. GCC 12.2: never build a capturing lambda or a braced
// list inside a co_await expression; build the value in the statement before.
// Every coroutine is started with spawn_logged(), never with a bare `detached`.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <exception>
#include <string>
#include <string_view>

#include "gantry/common/log.hpp"

namespace gantry::net {

class EventLoop;

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

asio::io_context& io_of(EventLoop& loop);

// Starts `task` on `ex`; an exception escaping it is logged as a bug with `what`.
void spawn_logged(const asio::any_io_executor& ex, asio::awaitable<void> task, std::string what);

// "connection refused": the error's message, lower-cased for logfmt and error strings.
std::string describe(const error_code& ec);
// "127.0.0.1:8080", "[::1]:8080"
std::string endpoint_string(const tcp::endpoint& endpoint);

// Logs an exception thrown by a user callback, which must not unwind into Asio.
void log_callback_exception(std::string_view comp, std::string_view callback, std::exception_ptr e);

// Runs a user callback; returns false if it threw (the exception is logged).
template <class F>
bool invoke_guarded(std::string_view comp, std::string_view callback, F&& f) noexcept {
  try {
    f();
    return true;
  } catch (...) {
    log_callback_exception(comp, callback, std::current_exception());
    return false;
  }
}

}  // namespace gantry::net
