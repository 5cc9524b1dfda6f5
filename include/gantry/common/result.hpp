#pragma once
// The one type for expected failures (STYLE.md): a function that can fail
// for a reason a user or an operator can act on returns Result<T>, which
// holds either the value or an Error with a code (what kind of failure, for
// the caller to branch on and for the API to map to an HTTP status) and a
// message (what happened, in words a user can act on). Status is
// Result<void>. Exceptions stay for programmer and startup errors.
//
// Built on boost::system::result (Boost 1.81). `value()` on an error throws
// ResultError; callers test first (`if (!r) ... r.error()`).

#include <boost/system/result.hpp>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace gantry {

enum class Errc {
  NotFound,     // the thing asked for does not exist
  Invalid,      // the input is wrong: fix it and ask again
  Conflict,     // the state does not allow it now (already decided, not running)
  TooLarge,     // over a size limit
  Forbidden,    // not allowed for this principal
  Unavailable,  // storage (or a dependency) failed: nothing was changed; retry later
  Busy,         // a bounded queue is full: retry later
  Internal,     // a bug: logged
};

// The stable text of a code (logs, JSON error codes).
constexpr std::string_view errc_name(Errc c) {
  switch (c) {
    case Errc::NotFound:
      return "not_found";
    case Errc::Invalid:
      return "invalid";
    case Errc::Conflict:
      return "conflict";
    case Errc::TooLarge:
      return "too_large";
    case Errc::Forbidden:
      return "forbidden";
    case Errc::Unavailable:
      return "unavailable";
    case Errc::Busy:
      return "busy";
    case Errc::Internal:
      return "internal";
  }
  return "internal";
}

struct Error {
  Errc code = Errc::Internal;
  std::string message;
};

// For test frameworks and logs: "unavailable: the database is busy (...)".
inline std::ostream& operator<<(std::ostream& os, const Error& e) {
  return os << errc_name(e.code) << ": " << e.message;
}

inline Error make_error(Errc code, std::string message) {
  return Error{code, std::move(message)};
}

// Thrown by Result<T>::value() on an error: a programmer's mistake (the
// caller should have tested the result).
class ResultError : public std::runtime_error {
 public:
  explicit ResultError(const Error& e)
      : std::runtime_error(std::string(errc_name(e.code)) + ": " + e.message) {}
};

[[noreturn]] inline void throw_exception_from_error(const Error& e,
                                                    const boost::source_location& /*loc*/) {
  throw ResultError(e);
}

template <typename T>
using Result = boost::system::result<T, Error>;
using Status = Result<void>;

// The success value of a Status, for `return ok();`.
inline Status ok() {
  return {};
}

}  // namespace gantry
