#pragma once
// Private to store/: the one database connection the record stores share,
// with its statement cache, transactions and health, behind one interface
// with two implementations: SQLite (sqlite_database.hpp, the default, a file
// in data_dir) and PostgreSQL (postgresql_database.hpp, `database:` in the
// config). A failed write makes it unhealthy until the next write succeeds;
// failure() says what the engine's error means for the caller (Unavailable
// for busy/full/I/O, or a lost PostgreSQL connection, so the API answers 503
// and the engine retries). Same threading as Store: one thread.
//
// SQL is written once, in SQLite's dialect, wherever it can be portable
// (numbered ?N parameters, ON CONFLICT, RETURNING, quoted "user"); the
// PostgreSQL side rewrites what is mechanical at prepare time and the
// callers give a second text where SQLite-only functions are used.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "gantry/common/result.hpp"

namespace gantry::controller {

class Database {
 public:
  class Statement;  // store_impl.hpp

  // One engine's prepared statement, owned by its Database's cache and
  // borrowed by one Statement at a time.
  class Cursor {
   public:
    enum class Step { Row, Done, Failed };
    virtual ~Cursor() = default;
    virtual bool bind(int index, int64_t value) = 0;
    virtual bool bind(int index, std::string_view value) = 0;
    virtual Step step() = 0;
    virtual int64_t int64(int column) const = 0;
    virtual std::string text(int column) const = 0;
    // Forgets the bindings and any result, for the next user.
    virtual void reset() = 0;
    virtual std::string error() const = 0;  // why the last bind or step failed
  };

  virtual ~Database() = default;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // A cached prepared statement (a failed prepare is logged and fails the
  // statement's first step). The two-text form gives PostgreSQL its own SQL
  // where SQLite's uses functions PostgreSQL does not have.
  Statement prepare(const char* sql);
  Statement prepare(const char* sqlite_sql, const char* postgresql_sql);
  virtual bool exec(const char* sql) = 0;
  // See Store::transaction.
  [[nodiscard]] Status transaction(const std::function<bool()>& body);
  // The outcome of a write: records health and, on failure, an Error with
  // the engine's reason.
  Status outcome(bool ok, std::string_view what);
  virtual Error failure(std::string_view what) const = 0;
  virtual int64_t changes() = 0;  // rows the last statement changed

  bool healthy() const { return healthy_; }
  const Error& last_failure() const { return last_failure_; }
  virtual int schema_version() = 0;
  virtual bool postgresql() const = 0;
  // Fencing (docs/ha.md): from now on every write runs in a transaction that first checks, with a
  // row lock shared against whoever takes the lease next, that the leader's lease still has this
  // term and holder. When it does not, the write fails (Unavailable) and on_fenced is called. A
  // no-op on SQLite, where one controller leads alone.
  virtual void set_fence(int64_t /*term*/, std::string /*holder*/,
                         std::function<void()> /*on_fenced*/) {}
  // How long one statement may wait for the database server before it fails (Unavailable) and
  // the connection is given up. PostgreSQL only: SQLite is a local file.
  virtual void set_statement_deadline(int64_t /*ms*/) {}

 protected:
  Database() = default;
  // Null when preparing failed (logged).
  virtual Cursor* cursor(const char* sql) = 0;
  virtual bool in_transaction() = 0;
  virtual const char* begin_sql() const = 0;  // BEGIN IMMEDIATE, BEGIN

 private:
  void rollback(bool outer);

  bool healthy_ = true;
  Error last_failure_;
};

// SQLite in <data_dir>/gantry.db when url is empty, else PostgreSQL at url
// (postgresql://...). Creates and migrates the schema; throws
// std::runtime_error when the database is unusable (a startup error).
std::unique_ptr<Database> open_database(const std::string& data_dir, const std::string& url);

// The SQL's first line: enough to say which statement failed, in logs.
std::string_view sql_head(const char* sql);

}  // namespace gantry::controller
