#pragma once
// Private to store/: the PostgreSQL engine of Database (`database:` in the
// config, docs/ha.md), over libpq. One connection: the store is used from
// one thread, so a pool buys nothing yet (it will, sized from the config,
// when followers serve reads). Statements are prepared once per session
// (PQprepare) with text-format parameters whose types come from the first
// bind (bigint or text; an unbound one is a text NULL); SQLite's SQL is
// rewritten at prepare time (?N -> $N, INDEXED BY dropped, json_each(?N) ->
// json_array_elements_text); text that is not UTF-8 gets U+FFFD for its bad
// bytes (PostgreSQL refuses it). A lost connection fails the statement with
// Unavailable; the next statement outside a transaction reconnects once.
// The schema version is the one row of schema_version, migrated under a
// transaction-scoped advisory lock. Same threading as Store.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "store/database.hpp"

struct pg_conn;
struct pg_result;

namespace gantry::controller {

class PostgresqlCursor;

class PostgresqlDatabase final : public Database {
 public:
  // Connects to url (postgresql://...) and migrates the schema; throws
  // std::runtime_error when it cannot (a startup error).
  explicit PostgresqlDatabase(const std::string& url);
  ~PostgresqlDatabase() override;

  bool exec(const char* sql) override;
  Error failure(std::string_view what) const override;
  int64_t changes() override { return changes_; }
  int schema_version() override;
  bool postgresql() const override { return true; }
  void set_fence(int64_t term, std::string holder, std::function<void()> on_fenced) override;

  // For the cursors: the live connection, reconnecting once when it was
  // lost outside a transaction (null when that fails); its session number
  // (prepared statements live as long as a session); a fresh statement name;
  // what the last statement did.
  pg_conn* connection();
  uint64_t session() const { return session_; }
  std::string statement_name() { return "gantry_" + std::to_string(++names_); }
  void record_success(int64_t changes, bool changed);
  void record_failure(std::string sqlstate, std::string message);
  // The result of what a PQsend* (its return value: `sent`) started, waiting at most the
  // statement deadline; see the .cpp.
  pg_result* await(int sent);
  void set_statement_deadline(int64_t ms) override { deadline_ms_ = ms; }
  // Whether a write outside a transaction must be wrapped in one to be fenced.
  bool fenced_writes() const { return fence_term_ > 0 && !transaction_open_; }

 private:
  Cursor* cursor(const char* sql) override;
  bool in_transaction() override;
  const char* begin_sql() const override { return "BEGIN"; }
  void connect();
  void configure_session();
  void migrate();

  std::string url_;
  std::string where_;  // host:port/db, for messages (no password)
  pg_conn* conn_ = nullptr;
  uint64_t session_ = 0;
  uint64_t names_ = 0;
  bool transaction_open_ = false;  // between our BEGIN and COMMIT/ROLLBACK
  int64_t changes_ = 0;
  int64_t fence_term_ = 0;  // set_fence()
  std::string fence_check_;
  std::function<void()> on_fenced_;
  pg_result* timed_out(pg_result* partial);
  // How long a statement may wait for the server (0: no limit, while migrating); set_fence and
  // the lease shorten it below the lease.
  int64_t deadline_ms_ = 0;
  bool broken_ = false;           // a statement timed out: reconnect before the next one
  std::string sqlstate_, error_;  // of the last failure
  std::unordered_map<std::string, std::unique_ptr<PostgresqlCursor>> cache_;  // by SQL text
};

// SQLite's SQL as PostgreSQL reads it (see the header comment); the highest
// parameter number goes to `params`. Exposed for the tests.
std::string postgresql_sql(const char* sqlite_sql, int& params);

}  // namespace gantry::controller
