// The PostgreSQL engine (store/postgresql_database.hpp): connecting,
// migrating, the statement cache over PQprepare/PQexecPrepared, and what a
// failure means.
#include "store/postgresql_database.hpp"

#include <poll.h>

#include <cerrno>
#include <chrono>

#include <libpq-fe.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <stdexcept>
#include <vector>

#include "gantry/common/log.hpp"
#include "store/store_impl.hpp"

namespace gantry::controller {

namespace {

// pg_type oids of the two parameter types the store binds.
constexpr Oid kInt8Oid = 20;
constexpr Oid kTextOid = 25;
// Held for the migration's transaction, so that two controllers starting
// on one database migrate one after the other.
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(4712309)";
constexpr const char* kConnectTimeoutSeconds = "10";

std::string trimmed(const char* message) {
  std::string s = message ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// postgresql://user:secret@host/db -> postgresql://user:***@host/db
std::string redacted(const std::string& url) {
  size_t scheme = url.find("://");
  size_t at = url.find('@', scheme == std::string::npos ? 0 : scheme + 3);
  if (scheme == std::string::npos || at == std::string::npos) return url;
  size_t colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

bool result_ok(const PGresult* r) {
  ExecStatusType s = PQresultStatus(r);
  return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

void ignore_notice(void*, const char*) {}

// PostgreSQL's text is UTF-8 without NUL; SQLite's takes any bytes (a commit's author in
// Latin-1, a NUL in a pipeline). Rather than refuse the write, each byte that is not part of a
// valid UTF-8 sequence, and each NUL, becomes U+FFFD.
std::string utf8_text(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size();) {
    const auto b = static_cast<unsigned char>(in[i]);
    size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xe ? 3 : (b >> 3) == 0x1e ? 4 : 0;
    bool ok = n > 0 && b != 0 && i + n <= in.size() && !(n == 2 && b < 0xc2);
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(in[i + k]) >> 6) == 0x2;
    if (ok && n >= 3) {
      // Overlong forms, surrogates and code points past U+10FFFF.
      const auto c = static_cast<unsigned char>(in[i + 1]);
      ok = !(b == 0xe0 && c < 0xa0) && !(b == 0xed && c >= 0xa0) && !(b == 0xf0 && c < 0x90) &&
           !(b == 0xf4 && c >= 0x90) && b <= 0xf4;
    }
    if (ok) {
      out.append(in.substr(i, n));
      i += n;
    } else {
      out += "\xef\xbf\xbd";
      ++i;
    }
  }
  return out;
}

// Past migrations (which have no limit), a statement the server leaves unanswered this long
// fails; controllers sharing the database use less (set_statement_deadline).
constexpr int64_t kStatementDeadlineMs = 30000;

}  // namespace

std::string postgresql_sql(const char* sqlite_sql, int& params) {
  std::string_view in = sqlite_sql;
  std::string out;
  out.reserve(in.size() + 16);
  params = 0;
  auto number_at = [&](size_t i, size_t& end) {
    int n = 0;
    end = i;
    while (end < in.size() && in[end] >= '0' && in[end] <= '9') n = n * 10 + (in[end++] - '0');
    return n;
  };
  for (size_t i = 0; i < in.size();) {
    char ch = in[i];
    if (ch == '\'') {  // a literal, as is
      size_t end = in.find('\'', i + 1);
      end = end == std::string_view::npos ? in.size() : end + 1;
      out.append(in.substr(i, end - i));
      i = end;
    } else if (ch == '?') {
      size_t end = 0;
      int n = number_at(i + 1, end);
      params = std::max(params, n);
      out += '$' + std::to_string(n);
      i = end;
    } else if (in.substr(i).starts_with("INDEXED BY ")) {  // a SQLite planner hint
      size_t end = in.find(' ', i + 11);
      i = end == std::string_view::npos ? in.size() : end + 1;
    } else if (in.substr(i).starts_with("json_each(?")) {  // a JSON array parameter
      size_t end = 0;
      int n = number_at(i + 11, end);
      params = std::max(params, n);
      out += "json_array_elements_text($" + std::to_string(n) + "::json";
      i = end;
    } else {
      out += ch;
      ++i;
    }
  }
  return out;
}

// A prepared statement of one session; prepared again after a reconnection,
// and once per combination of its parameters' types.
class PostgresqlCursor final : public Database::Cursor {
 public:
  PostgresqlCursor(PostgresqlDatabase& db, const char* sql) : db_(db) {
    sql_ = postgresql_sql(sql, params_count_);
    std::string_view head = sql_head(sql);
    write_ = head.starts_with("INSERT") || head.starts_with("UPDATE") || head.starts_with("DELETE");
    values_.resize(static_cast<size_t>(params_count_));
    types_.assign(static_cast<size_t>(params_count_), kTextOid);
  }
  ~PostgresqlCursor() override { PQclear(result_); }

  bool bind(int index, int64_t value) override {
    return set(index, std::to_string(value), kInt8Oid);
  }
  bool bind(int index, std::string_view value) override {
    return set(index, utf8_text(value), kTextOid);
  }

  Step step() override {
    if (!result_ && !execute()) return Step::Failed;
    return ++row_ < PQntuples(result_) ? Step::Row : Step::Done;
  }

  int64_t int64(int column) const override {
    if (!result_ || PQgetisnull(result_, row_, column)) return 0;
    return std::strtoll(PQgetvalue(result_, row_, column), nullptr, 10);
  }
  std::string text(int column) const override {
    if (!result_ || PQgetisnull(result_, row_, column)) return {};
    return std::string(PQgetvalue(result_, row_, column),
                       static_cast<size_t>(PQgetlength(result_, row_, column)));
  }

  void reset() override {
    PQclear(result_);
    result_ = nullptr;
    row_ = -1;
    for (auto& v : values_) v.reset();
    types_.assign(types_.size(), kTextOid);
  }
  std::string error() const override { return error_; }

 private:
  bool set(int index, std::string value, Oid type) {
    if (index < 1 || index > params_count_) {
      error_ = "parameter " + std::to_string(index) + " out of range";
      return false;
    }
    values_[static_cast<size_t>(index - 1)] = std::move(value);
    types_[static_cast<size_t>(index - 1)] = type;
    return true;
  }

  bool execute() {
    PGconn* conn = db_.connection();
    if (!conn) {
      error_ = "no connection to the database";
      return false;
    }
    if (prepared_session_ != db_.session()) {
      names_.clear();  // a new connection knows none of them
      prepared_session_ = db_.session();
    }
    auto it = names_.find(types_);
    if (it == names_.end()) {
      std::string name = db_.statement_name();
      PGresult* r =
          db_.await(PQsendPrepare(conn, name.c_str(), sql_.c_str(), params_count_, types_.data()));
      bool ok = result_ok(r);
      if (!ok) fail(r, conn);
      PQclear(r);
      if (!ok) return false;
      it = names_.emplace(types_, std::move(name)).first;
    }
    // A write outside a transaction, fenced: in its own transaction that checks the lease first.
    const bool wrap = write_ && db_.fenced_writes();
    if (wrap && !db_.exec("BEGIN")) {
      error_ = db_.failure("fence").message;
      return false;
    }
    const std::string& name = it->second;
    std::vector<const char*> values;
    for (const auto& v : values_) values.push_back(v ? v->c_str() : nullptr);
    result_ = db_.await(
        PQsendQueryPrepared(conn, name.c_str(), params_count_, values.data(), nullptr, nullptr, 0));
    if (!result_ok(result_)) {
      fail(result_, conn);
      PQclear(result_);
      result_ = nullptr;
      if (wrap) db_.exec("ROLLBACK");
      return false;
    }
    if (wrap && !db_.exec("COMMIT")) {
      error_ = db_.failure("commit").message;
      PQclear(result_);
      result_ = nullptr;
      return false;
    }
    std::string_view command = PQcmdStatus(result_);
    bool changed = command.starts_with("INSERT") || command.starts_with("UPDATE") ||
                   command.starts_with("DELETE");
    db_.record_success(std::atoll(PQcmdTuples(result_)), changed);
    row_ = -1;
    return true;
  }

  void fail(const PGresult* r, PGconn* conn) {
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    error_ = trimmed(r ? PQresultErrorMessage(r) : PQerrorMessage(conn));
    if (error_.empty()) error_ = trimmed(PQerrorMessage(conn));
    db_.record_failure(state ? state : "", error_);
  }

  PostgresqlDatabase& db_;
  std::string sql_;
  int params_count_ = 0;
  bool write_ = false;  // INSERT, UPDATE or DELETE: fenced (set_fence)
  std::vector<std::optional<std::string>> values_;
  std::vector<Oid> types_;
  // Prepared in this session, by the parameters' types: a parameter bound as an
  // integer one time and NULL (text) the next reuses both, rather than
  // preparing (and leaking on the server) a new statement at every change.
  std::map<std::vector<Oid>, std::string> names_;
  uint64_t prepared_session_ = 0;
  PGresult* result_ = nullptr;
  int row_ = -1;
  std::string error_;
};

// ---- connecting

PostgresqlDatabase::PostgresqlDatabase(const std::string& url) : url_(url) {
  connect();
  try {
    migrate();
  } catch (...) {
    cache_.clear();
    PQfinish(conn_);
    conn_ = nullptr;
    throw;
  }
  deadline_ms_ = kStatementDeadlineMs;
  log::info("store", "opened",
            {{"db", where_}, {"schema", std::to_string(postgresql_migrations().size())}});
}

PostgresqlDatabase::~PostgresqlDatabase() {
  cache_.clear();
  PQfinish(conn_);
}

void PostgresqlDatabase::connect() {
  // These come before the URL so that it may set its own. The statements block the
  // controller's loop: a server that stops answering (a network cut, no reset) must fail them
  // within seconds, not at the kernel's TCP timeout.
  const char* keys[] = {
      "connect_timeout",  "tcp_user_timeout", "keepalives_idle", "keepalives_interval",
      "keepalives_count", "application_name", "dbname",          nullptr};
  const char* values[] = {kConnectTimeoutSeconds, "10000",      "5",    "2", "3",
                          "gantry-controller",    url_.c_str(), nullptr};
  conn_ = PQconnectdbParams(keys, values, 1);
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    std::string why = conn_ ? trimmed(PQerrorMessage(conn_)) : "out of memory";
    PQfinish(conn_);
    conn_ = nullptr;
    throw std::runtime_error("cannot connect to PostgreSQL at " + redacted(url_) + ": " + why);
  }
  where_ = std::string(PQhost(conn_)) + ":" + PQport(conn_) + "/" + PQdb(conn_);
  configure_session();
  session_ = 1;
}

void PostgresqlDatabase::configure_session() {
  PQsetNoticeProcessor(conn_, ignore_notice, nullptr);
  // A lock held elsewhere fails the statement (Unavailable) rather than
  // holding the controller's loop, as SQLite's busy timeout does.
  PGresult* r = PQexec(
      conn_,
      "SET lock_timeout = '1s'; SET client_min_messages = warning; SET client_encoding = 'UTF8'; "
      // A paused controller (SIGSTOP, a stalled VM) must not hold a transaction, and its row
      // locks, for longer than this: the server ends its session.
      "SET idle_in_transaction_session_timeout = '5s'");
  PQclear(r);
}

PGconn* PostgresqlDatabase::connection() {
  if (!broken_ && PQstatus(conn_) == CONNECTION_OK) return conn_;
  // Inside a transaction the work so far is gone with the session: the
  // transaction fails as a whole, and the next one reconnects.
  if (transaction_open_) return nullptr;
  PQreset(conn_);
  broken_ = false;
  if (PQstatus(conn_) != CONNECTION_OK) {
    record_failure("08006", trimmed(PQerrorMessage(conn_)));
    log::warn("store", "reconnect.failed", {{"db", where_}, {"error", error_}});
    return nullptr;
  }
  configure_session();
  ++session_;
  log::info("store", "reconnected", {{"db", where_}});
  return conn_;
}

void PostgresqlDatabase::record_success(int64_t changes, bool changed) {
  if (changed) changes_ = changes;
}

void PostgresqlDatabase::record_failure(std::string sqlstate, std::string message) {
  sqlstate_ = std::move(sqlstate);
  error_ = std::move(message);
}

// ---- migrations

void PostgresqlDatabase::migrate() {
  if (!exec("BEGIN") || !exec(kMigrationLock) ||
      !exec("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")) {
    throw std::runtime_error("cannot lock the schema of " + where_ + ": " + error_);
  }
  int current = schema_version();
  if (current == -2 && exec("INSERT INTO schema_version (version) VALUES (0)")) current = 0;
  const int known = static_cast<int>(postgresql_migrations().size());
  std::string error;
  if (current < 0) {
    error = "cannot read the schema version of " + where_ + ": " + error_;
  } else if (current > known) {
    error = where_ + ": database schema " + std::to_string(current) +
            " is newer than this controller (" + std::to_string(known) + ")";
  }
  for (int v = current; error.empty() && v < known; ++v) {
    if (!exec(postgresql_migrations()[static_cast<size_t>(v)]))
      error = where_ + ": migration " + std::to_string(v + 1) + " failed: " + error_;
  }
  if (error.empty() && current != known) {
    std::string sql = "UPDATE schema_version SET version = " + std::to_string(known);
    if (!exec(sql.c_str())) error = "cannot set the schema version of " + where_ + ": " + error_;
  }
  if (error.empty() && exec("COMMIT")) {
    if (current != known) {
      log::info("store", "migrated",
                {{"from", std::to_string(current)}, {"to", std::to_string(known)}});
    }
    return;
  }
  exec("ROLLBACK");
  throw std::runtime_error(error.empty() ? "cannot commit the schema of " + where_ : error);
}

// -2: no row yet; -1: unreadable.
int PostgresqlDatabase::schema_version() {
  Statement st = prepare("SELECT version FROM schema_version");
  if (st.next()) return static_cast<int>(st.int64(0));
  return st.ok() ? -2 : -1;
}

// ---- statements

Database::Cursor* PostgresqlDatabase::cursor(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return it->second.get();
  // Preparing waits for the first step, when the parameters' types are known.
  return cache_.emplace(sql, std::make_unique<PostgresqlCursor>(*this, sql)).first->second.get();
}

bool PostgresqlDatabase::exec(const char* sql) {
  const std::string_view text = sql;
  const bool begin = text == "BEGIN";
  const bool end = text == "COMMIT" || text == "ROLLBACK";
  // Fenced (set_fence): the transaction begins with the lease check, in the same round trip. Its
  // row lock (FOR SHARE) makes a controller taking the lease wait for this transaction, so
  // nothing written here lands after another leader has read the state.
  const bool fenced = begin && fence_term_ > 0;
  const std::string command = fenced ? "BEGIN; " + fence_check_ : std::string(text);
  PGconn* conn = connection();
  bool ok = false, ours = true;
  if (conn) {
    PGresult* r = await(PQsendQuery(conn, command.c_str()));
    ok = result_ok(r);
    if (!ok) {
      const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
      record_failure(state ? state : "",
                     trimmed(r ? PQresultErrorMessage(r) : PQerrorMessage(conn)));
      if (error_.empty()) error_ = trimmed(PQerrorMessage(conn));
    } else if (fenced) {
      ours = PQntuples(r) == 1;  // the lease row still has our term and holder
    }
    PQclear(r);
  }
  if (!ok) log::error("store", "sql.failed", {{"error", error_}, {"sql", sql_head(sql)}});
  if (fenced && conn && !broken_ && PQstatus(conn) == CONNECTION_OK &&
      PQtransactionStatus(conn) != PQTRANS_IDLE && (!ok || !ours)) {
    PQclear(await(PQsendQuery(conn, "ROLLBACK")));  // BEGIN went through, the check did not
  }
  if (fenced && ok && !ours) {
    record_failure("08000",
                   "fenced: another controller took the leader's lease (this one had "
                   "term " +
                       std::to_string(fence_term_) + ")");
    log::error("leader", "fenced", {{"term", std::to_string(fence_term_)}});
    if (on_fenced_) on_fenced_();
    return false;
  }
  if (begin && ok) transaction_open_ = true;
  if (end) transaction_open_ = false;
  return ok;
}

void PostgresqlDatabase::set_fence(int64_t term, std::string holder,
                                   std::function<void()> on_fenced) {
  fence_term_ = term;
  on_fenced_ = std::move(on_fenced);
  // The holder is this process's own name (hex): no quoting needed, but escape anyway.
  std::string quoted;
  for (char c : holder) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  fence_check_ = "SELECT 1 FROM leader_lease WHERE id = 1 AND term = " + std::to_string(term) +
                 " AND holder = '" + quoted + "' FOR SHARE";
}

// After a PQsend*: the command's result (its first failure, else its last result), waiting at
// most the statement deadline. Null when the sending failed (PQerrorMessage says why) or the
// server did not answer in time: the connection is then given up (the next statement outside a
// transaction reconnects) and the failure recorded. A server that stops answering while TCP
// still acknowledges (a hung server, a proxy that holds the bytes) is thereby a failed
// statement, not a controller frozen in libpq.
PGresult* PostgresqlDatabase::await(int sent) {
  if (!sent) return nullptr;
  using Clock = std::chrono::steady_clock;
  const bool bounded = deadline_ms_ > 0;
  const Clock::time_point until = Clock::now() + std::chrono::milliseconds(deadline_ms_);
  auto wait = [&](short events) {
    pollfd p{PQsocket(conn_), events, 0};
    for (;;) {
      int timeout = -1;
      if (bounded) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
        if (left.count() <= 0) return false;
        timeout = static_cast<int>(left.count());
      }
      const int n = ::poll(&p, 1, timeout);
      if (n > 0) return true;
      if (n == 0) return false;
      if (errno != EINTR) return true;  // let libpq find the error
    }
  };
  PGresult* kept = nullptr;
  for (;;) {
    int flushed = 0;
    while ((flushed = PQflush(conn_)) == 1) {
      if (!wait(POLLOUT | POLLIN)) return timed_out(kept);
      if (!PQconsumeInput(conn_)) break;
    }
    while (flushed == 0 && PQisBusy(conn_)) {
      if (!wait(POLLIN)) return timed_out(kept);
      if (!PQconsumeInput(conn_)) break;
    }
    PGresult* r = PQgetResult(conn_);
    if (!r) return kept;
    if (!kept || result_ok(kept)) {
      PQclear(kept);
      kept = r;
    } else {
      PQclear(r);  // after a failure, keep the failure
    }
    if (PQstatus(conn_) != CONNECTION_OK) return kept;
  }
}

PGresult* PostgresqlDatabase::timed_out(PGresult* partial) {
  PQclear(partial);
  broken_ = true;
  record_failure("08006", "the database did not answer within " + std::to_string(deadline_ms_) +
                              " ms (" + where_ + ")");
  log::warn("store", "statement.timeout", {{"db", where_}, {"ms", std::to_string(deadline_ms_)}});
  return nullptr;
}

bool PostgresqlDatabase::in_transaction() {
  if (broken_ || PQstatus(conn_) != CONNECTION_OK) return transaction_open_;
  return PQtransactionStatus(conn_) != PQTRANS_IDLE;
}

Error PostgresqlDatabase::failure(std::string_view what) const {
  std::string message = std::string(what) + ": " + (error_.empty() ? "unknown error" : error_);
  const std::string_view state = sqlstate_;
  if (broken_ || PQstatus(conn_) != CONNECTION_OK || state.starts_with("08") || state == "57P01" ||
      state == "57P02" || state == "57P03") {
    return make_error(Errc::Unavailable, "the database is unreachable (" + message + ")");
  }
  if (state == "40001" || state == "40P01" || state == "55P03" || state == "57014") {
    return make_error(Errc::Unavailable, "the database is busy (" + message + ")");
  }
  if (state.starts_with("53")) {
    return make_error(Errc::Unavailable, "the database is out of space (" + message + ")");
  }
  return make_error(Errc::Internal, message);
}

}  // namespace gantry::controller
