// Copying a SQLite gantry.db into PostgreSQL (store/migrate_sqlite.hpp): the tables in an
// order their foreign keys allow, each row as it is, the id sequences moved past the copy, the
// audit chain checked, all in one transaction on the target.
#include "store/migrate_sqlite.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string_view>

#include "audit.hpp"
#include "store/database.hpp"
#include "store/sqlite_database.hpp"
#include "store/store.hpp"
#include "store/store_impl.hpp"

namespace gantry::controller {

namespace {

// The target's own (its schema version), and who leads now: not records to carry over.
constexpr std::array<std::string_view, 2> kNotCopied = {"schema_version", "leader_lease"};
constexpr size_t kAuditPage = 5000;

// Thrown inside migrate_sqlite only: the copy stops, the target transaction rolls back.
struct Refusal {
  Error error;
};

[[noreturn]] void refuse(Errc code, std::string message) {
  throw Refusal{make_error(code, std::move(message))};
}

struct Column {
  std::string name;
  std::string type;  // the PostgreSQL column's (information_schema's data_type)
};

struct Table {
  std::string name;
  std::vector<Column> columns;
  std::set<std::string> parents;  // tables its foreign keys point to
};

std::string quoted(std::string_view identifier) {
  std::string out = "\"";
  for (char c : identifier) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::vector<std::string> column_list(Database& db, const char* sql, const std::string& table) {
  Statement st = db.prepare(sql);
  st.bind(1, table);
  std::vector<std::string> out;
  while (st.next()) out.push_back(st.text(0));
  if (!st.ok()) refuse(Errc::Unavailable, db.failure("read the columns of " + table).message);
  return out;
}

// The source's tables with the target's column types, parents before children.
std::vector<Table> plan(Database& source, Database& target) {
  std::map<std::string, Table> tables;
  {
    Statement st = source.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
        "ESCAPE '\\' ORDER BY name");
    while (st.next()) {
      std::string name = st.text(0);
      if (std::find(kNotCopied.begin(), kNotCopied.end(), name) == kNotCopied.end())
        tables[name].name = name;
    }
    if (!st.ok()) refuse(Errc::Unavailable, source.failure("list the tables").message);
  }
  for (auto& [name, table] : tables) {
    std::map<std::string, std::string> types;
    {
      Statement st = target.prepare(
          "SELECT column_name, data_type FROM information_schema.columns "
          "WHERE table_schema = current_schema() AND table_name = ?1");
      st.bind(1, name);
      while (st.next()) types[st.text(0)] = st.text(1);
      if (!st.ok())
        refuse(Errc::Unavailable, target.failure("read the columns of " + name).message);
    }
    if (types.empty()) refuse(Errc::Invalid, "table " + name + " has no counterpart in PostgreSQL");
    for (std::string& column :
         column_list(source, "SELECT name FROM pragma_table_info(?1) ORDER BY cid", name)) {
      auto type = types.find(column);
      if (type == types.end())
        refuse(Errc::Invalid,
               "column " + name + "." + column + " has no counterpart in PostgreSQL");
      table.columns.push_back({std::move(column), type->second});
    }
    for (std::string& parent :
         column_list(source, "SELECT \"table\" FROM pragma_foreign_key_list(?1)", name)) {
      if (parent != name && tables.contains(parent)) table.parents.insert(std::move(parent));
    }
  }
  std::vector<Table> ordered;
  std::set<std::string> placed;
  while (!tables.empty()) {
    auto ready = std::find_if(tables.begin(), tables.end(), [&](const auto& entry) {
      return std::includes(placed.begin(), placed.end(), entry.second.parents.begin(),
                           entry.second.parents.end());
    });
    if (ready == tables.end()) refuse(Errc::Invalid, "the tables' foreign keys form a cycle");
    placed.insert(ready->first);
    ordered.push_back(std::move(ready->second));
    tables.erase(ready);
  }
  return ordered;
}

void check_empty(Database& target, const std::vector<Table>& tables) {
  std::string held;
  for (const Table& t : tables) {
    const std::string sql = "SELECT count(*) FROM " + quoted(t.name);
    Statement st = target.prepare(sql.c_str());
    const int64_t rows = st.next() ? st.int64(0) : 0;
    if (!st.ok()) refuse(Errc::Unavailable, target.failure("count the rows of " + t.name).message);
    if (rows > 0) held += (held.empty() ? "" : ", ") + t.name + ": " + std::to_string(rows);
  }
  if (!held.empty()) {
    refuse(Errc::Invalid, "the PostgreSQL database already holds records (" + held +
                              "): migrate into an empty database; nothing was changed");
  }
}

int64_t copy_rows(Database& source, Database& target, const Table& t) {
  // typeof() beside each value: SQLite's NULL stays NULL (unbound), its integers are bound
  // as integers, anything else as text; the cast makes each the target column's type.
  std::string select = "SELECT ", names, values;
  for (size_t i = 0; i < t.columns.size(); ++i) {
    const std::string column = quoted(t.columns[i].name);
    const std::string sep = i == 0 ? "" : ", ";
    select += sep + "typeof(" + column + "), " + column;
    names += sep + column;
    values += sep + "CAST(?" + std::to_string(i + 1) + " AS " + t.columns[i].type + ")";
  }
  select += " FROM " + quoted(t.name);
  const std::string insert =
      "INSERT INTO " + quoted(t.name) + " (" + names + ") VALUES (" + values + ")";
  Statement in = source.prepare(select.c_str());
  int64_t rows = 0;
  while (in.next()) {
    Statement out = target.prepare(insert.c_str());
    for (size_t i = 0; i < t.columns.size(); ++i) {
      const int column = static_cast<int>(2 * i);
      const int param = static_cast<int>(i + 1);
      const std::string type = in.text(column);
      if (type == "integer") {
        out.bind(param, in.int64(column + 1));
      } else if (type != "null") {
        out.bind(param, in.text(column + 1));
      }
    }
    if (!out.run()) refuse(Errc::Unavailable, target.failure("copy " + t.name).message);
    ++rows;
  }
  if (!in.ok()) refuse(Errc::Unavailable, source.failure("read " + t.name).message);
  return rows;
}

// SQLite's high-water mark of an AUTOINCREMENT table (events): ids above the rows left, which
// must not be handed out again.
int64_t sqlite_sequence(Database& source, const std::string& table) {
  Statement exists = source.prepare(
      "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'");
  if (!exists.next()) return 0;
  Statement st = source.prepare("SELECT seq FROM sqlite_sequence WHERE name = ?1");
  st.bind(1, table);
  return st.next() ? st.int64(0) : 0;
}

void move_sequences(Database& source, Database& target, const Table& t) {
  for (const Column& c : t.columns) {
    std::string sequence;
    {
      Statement st = target.prepare("SELECT pg_get_serial_sequence(?1, ?2)");
      st.bind(1, quoted(t.name)).bind(2, c.name);
      if (st.next()) sequence = st.text(0);
      if (!st.ok()) refuse(Errc::Unavailable, target.failure("find the sequences").message);
    }
    if (sequence.empty()) continue;
    const std::string max_sql =
        "SELECT COALESCE(MAX(" + quoted(c.name) + "), 0) FROM " + quoted(t.name);
    Statement max = target.prepare(max_sql.c_str());
    int64_t last = max.next() ? max.int64(0) : 0;
    if (!max.ok()) refuse(Errc::Unavailable, target.failure("read the ids of " + t.name).message);
    last = std::max(last, sqlite_sequence(source, t.name));
    if (last == 0) continue;  // fresh, as the target's migration left it
    Statement set = target.prepare("SELECT setval(CAST(?1 AS regclass), ?2)");
    set.bind(1, sequence).bind(2, last);
    if (!set.run()) refuse(Errc::Unavailable, target.failure("set " + sequence).message);
  }
}

AuditVerification verify_audit(Database& db, int64_t& entries) {
  AuditStore audit(db);
  AuditVerifier verifier;
  entries = 0;
  for (int64_t after = 0;;) {
    std::vector<AuditRecord> page = audit.audit_entries(after, kAuditPage);
    for (const AuditRecord& entry : page) verifier.add(entry);
    entries += static_cast<int64_t>(page.size());
    if (!page.empty()) after = page.back().id;
    if (page.size() < kAuditPage) break;
  }
  return verifier.result();
}

}  // namespace

Result<SqliteMigration> migrate_sqlite(const std::string& data_dir, const std::string& url) {
  if (!url.starts_with("postgresql://") && !url.starts_with("postgres://")) {
    return make_error(Errc::Invalid, "the target must be a postgresql:// URL");
  }
  std::unique_ptr<Database> source, target;
  try {
    source = std::make_unique<SqliteDatabase>(data_dir, SqliteDatabase::ReadOnly{});
  } catch (const std::runtime_error& e) {
    return make_error(Errc::Invalid, e.what());
  }
  try {
    target = open_database(data_dir, url);
  } catch (const std::runtime_error& e) {
    return make_error(Errc::Unavailable, e.what());
  }
  // One snapshot of the source for everything read below, whatever happens to the file.
  if (!source->exec("BEGIN")) return source->failure("begin a read transaction");
  SqliteMigration done;
  std::optional<Error> refused;
  Status copied = target->transaction([&] {
    try {
      std::vector<Table> tables = plan(*source, *target);
      check_empty(*target, tables);
      for (const Table& t : tables)
        done.tables.emplace_back(t.name, copy_rows(*source, *target, t));
      for (const Table& t : tables) move_sequences(*source, *target, t);
      AuditVerification copy = verify_audit(*target, done.audit_entries);
      if (!copy.ok) {
        int64_t source_entries = 0;
        AuditVerification original = verify_audit(*source, source_entries);
        if (original.ok || original.first_broken != copy.first_broken) {
          refuse(Errc::Internal, "the audit chain does not verify after the copy (entry " +
                                     std::to_string(copy.first_broken) + ": " + copy.reason +
                                     "), though it does in SQLite; nothing was copied");
        }
        done.audit_broken_at = copy.first_broken;
        done.audit_reason = copy.reason;
      }
      return true;
    } catch (Refusal& r) {
      refused = std::move(r.error);
      return false;
    }
  });
  source->exec("ROLLBACK");
  if (refused) return *refused;
  if (!copied) return copied.error();
  return done;
}

std::string describe(const SqliteMigration& migration, const std::string& data_dir) {
  size_t width = 0;
  for (const auto& [table, rows] : migration.tables) width = std::max(width, table.size());
  std::string out = "Copied " + data_dir + "/gantry.db to PostgreSQL:\n";
  for (const auto& [table, rows] : migration.tables) {
    out += "  " + table + std::string(width + 2 - table.size(), ' ') + std::to_string(rows) +
           (rows == 1 ? " row\n" : " rows\n");
  }
  out += "Audit chain: " + std::to_string(migration.audit_entries) + " entries, ";
  if (migration.audit_broken_at == 0) {
    out += "verified.\n";
  } else {
    out += "broken at entry " + std::to_string(migration.audit_broken_at) + " (" +
           migration.audit_reason + "), as it already was in SQLite.\n";
  }
  out += "Log and artifact files are not in the database: they stay in " + data_dir +
         ".\nPoint the PostgreSQL controller's data_dir at that same directory (or a copy of it),\n"
         "with database: set to this URL, and start it; keep the SQLite controller stopped.\n";
  return out;
}

}  // namespace gantry::controller
