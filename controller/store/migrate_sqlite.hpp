#pragma once
// `gantry-controller --migrate-sqlite DATA_DIR --to postgresql://...` (docs/ha.md): copies the
// records of a SQLite data directory's gantry.db into an empty PostgreSQL database, ids and the
// audit chain included, so that a controller on PostgreSQL with the same data_dir carries on
// where the SQLite one stopped.
//
// Generic over the schema: the tables come from sqlite_master, their columns from PRAGMA
// table_info and their order from the foreign keys; each value is cast to the target column's
// type. So a new migration needs nothing here. Not copied: schema_version (the target's own) and
// leader_lease (whoever leads, now). Log and artifact files are not rows: they stay in data_dir.
//
// The source is opened read-only, in one read transaction (a consistent snapshot), and refused
// while another process (a controller) has it open or when its schema is not this build's. The
// target is migrated, then must hold no rows in the copied tables; the copy is one transaction
// that also moves each id sequence past the ids copied (and past SQLite's high-water mark of
// events, whose ids never go back) and checks the audit chain before committing. Any failure
// rolls it back. Synchronous; one thread.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gantry/common/result.hpp"

namespace gantry::controller {

struct SqliteMigration {
  std::vector<std::pair<std::string, int64_t>> tables;  // rows copied, in copy order
  int64_t audit_entries = 0;
  // 0 when the audit chain verifies. Otherwise the first broken entry, which was already broken
  // in SQLite (a chain the copy itself breaks is an error instead).
  int64_t audit_broken_at = 0;
  std::string audit_reason;
};

// Errors: Invalid (a missing or busy source, another schema, a target that already holds
// records), Unavailable (the target cannot be reached or the copy failed), Internal (the copied
// audit chain does not verify where SQLite's does).
Result<SqliteMigration> migrate_sqlite(const std::string& data_dir, const std::string& url);

// What the command prints when it is done: rows per table and what to do next.
std::string describe(const SqliteMigration& migration, const std::string& data_dir);

}  // namespace gantry::controller
