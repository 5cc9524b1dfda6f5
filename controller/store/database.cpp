// What both engines share (store/database.hpp): statements over a cursor,
// transactions with savepoints, health, and choosing the engine.
#include "store/database.hpp"

#include "gantry/common/log.hpp"
#include "store/postgresql_database.hpp"
#include "store/sqlite_database.hpp"
#include "store/store_impl.hpp"

namespace gantry::controller {

std::string_view sql_head(const char* sql) {
  std::string_view s = sql ? sql : "";
  while (!s.empty() && (s.front() == '\n' || s.front() == ' ')) s.remove_prefix(1);
  return s.substr(0, std::min<size_t>(s.find('\n'), 60));
}

std::unique_ptr<Database> open_database(const std::string& data_dir, const std::string& url) {
  if (url.empty()) return std::make_unique<SqliteDatabase>(data_dir);
  return std::make_unique<PostgresqlDatabase>(url);
}

// ---- Statement

Database::Statement::~Statement() {
  if (cursor_) cursor_->reset();
}

void Database::Statement::fail() {
  if (failed_) return;
  failed_ = true;
  log::error("store", "sql.failed", {{"error", cursor_->error()}, {"sql", sql_head(sql_)}});
}

Database::Statement& Database::Statement::bind(int index, int64_t value) {
  if (ok() && !cursor_->bind(index, value)) fail();
  return *this;
}

Database::Statement& Database::Statement::bind(int index, std::string_view value) {
  if (ok() && !cursor_->bind(index, value)) fail();
  return *this;
}

bool Database::Statement::next() {
  if (!ok()) return false;
  switch (cursor_->step()) {
    case Cursor::Step::Row:
      return true;
    case Cursor::Step::Done:
      return false;
    case Cursor::Step::Failed:
      break;
  }
  fail();
  return false;
}

bool Database::Statement::run() {
  while (next()) {
  }
  return ok();
}

// ---- Database

Database::Statement Database::prepare(const char* sql) {
  return Statement(cursor(sql), sql);
}

Database::Statement Database::prepare(const char* sqlite_sql, const char* postgresql_sql) {
  return prepare(postgresql() ? postgresql_sql : sqlite_sql);
}

Status Database::transaction(const std::function<bool()>& body) {
  const bool outer = !in_transaction();
  if (!exec(outer ? begin_sql() : "SAVEPOINT gantry_tx")) {
    return outcome(false, "begin a transaction");
  }
  bool ok = false;
  try {
    ok = body();
  } catch (...) {
    rollback(outer);
    throw;
  }
  if (!ok) {
    rollback(outer);
    // A write inside failed (and said why), or the body gave up by itself.
    if (!healthy_) return last_failure_;
    return make_error(Errc::Conflict, "the change was abandoned");
  }
  if (exec(outer ? "COMMIT" : "RELEASE gantry_tx")) return outcome(true, {});
  Error why = failure("commit");
  rollback(outer);
  healthy_ = false;
  last_failure_ = why;
  return why;
}

Status Database::outcome(bool ok, std::string_view what) {
  if (ok) {
    healthy_ = true;
    return gantry::ok();
  }
  last_failure_ = failure(what);
  healthy_ = false;
  return last_failure_;
}

void Database::rollback(bool outer) {
  // The engine may already have rolled back on its own (SQLITE_FULL, IOERR,
  // a lost connection).
  if (!in_transaction()) return;
  if (outer) {
    exec("ROLLBACK");
  } else if (exec("ROLLBACK TO gantry_tx")) {
    exec("RELEASE gantry_tx");
  }
}

}  // namespace gantry::controller
