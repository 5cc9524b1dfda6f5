// The store's schema on PostgreSQL: the same numbered migrations as
// migrations.cpp, ending in the same tables, in PostgreSQL's words (BIGINT
// for every integer, BIGSERIAL ids where SQLite gives a rowid, no WITHOUT
// ROWID). Each script runs once, in order, inside the transaction that also
// sets schema_version. Append new scripts in step with migrations.cpp;
// never edit one that has shipped.
#include "store/store_impl.hpp"

namespace gantry::controller {

const std::vector<const char*>& postgresql_migrations() {
  static const std::vector<const char*> kMigrations = {
      // 1: runs, stages, agents, artifacts. Job names and stage ids compare
      // in byte order (COLLATE "C"), as in SQLite, whatever the database's locale.
      R"sql(
CREATE TABLE runs (
  id BIGSERIAL PRIMARY KEY,
  job_name TEXT COLLATE "C" NOT NULL,
  number BIGINT NOT NULL,
  repo_url TEXT NOT NULL DEFAULT '',
  ref TEXT NOT NULL DEFAULT '',
  commit_sha TEXT NOT NULL DEFAULT '',
  author TEXT NOT NULL DEFAULT '',
  trigger_text TEXT NOT NULL DEFAULT '',
  pipeline_path TEXT NOT NULL DEFAULT '',
  pipeline_source TEXT NOT NULL DEFAULT '',
  pipeline_format TEXT NOT NULL DEFAULT '',
  params TEXT NOT NULL DEFAULT '{}',
  status TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  created_by TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL DEFAULT 0,
  started_at BIGINT NOT NULL DEFAULT 0,
  finished_at BIGINT NOT NULL DEFAULT 0,
  cancel_requested BIGINT NOT NULL DEFAULT 0,
  tests_total BIGINT NOT NULL DEFAULT 0,
  tests_failed BIGINT NOT NULL DEFAULT 0,
  tests_skipped BIGINT NOT NULL DEFAULT 0,
  UNIQUE (job_name, number)
);
CREATE INDEX runs_by_status ON runs (status, id);
CREATE INDEX runs_by_job ON runs (job_name, id);

CREATE TABLE stages (
  run_id BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  stage_id TEXT COLLATE "C" NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  ord BIGINT NOT NULL DEFAULT 0,
  status TEXT NOT NULL,
  agent TEXT NOT NULL DEFAULT '',
  attempts BIGINT NOT NULL DEFAULT 0,
  job_id TEXT NOT NULL DEFAULT '',
  epoch BIGINT NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT '',
  started_at BIGINT NOT NULL DEFAULT 0,
  finished_at BIGINT NOT NULL DEFAULT 0,
  log_bytes BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, stage_id)
);

CREATE TABLE agents (
  agent_id TEXT COLLATE "C" PRIMARY KEY,
  name TEXT COLLATE "C" NOT NULL,
  labels TEXT NOT NULL DEFAULT '[]',
  executors BIGINT NOT NULL DEFAULT 1,
  last_seen BIGINT NOT NULL DEFAULT 0,
  token_name TEXT NOT NULL DEFAULT ''
);

CREATE TABLE artifacts (
  run_id BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  kind TEXT COLLATE "C" NOT NULL,
  name TEXT COLLATE "C" NOT NULL,
  stage_id TEXT NOT NULL DEFAULT '',
  size BIGINT NOT NULL DEFAULT 0,
  file TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, kind, name)
);
)sql",
      // 2: what a run knows about its commits; the heads of watched repositories.
      R"sql(
ALTER TABLE runs ADD COLUMN repo_name TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN author_email TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN previous_commit TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN previous_successful_commit TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN changes TEXT NOT NULL DEFAULT '[]';

CREATE TABLE repo_heads (
  repo TEXT NOT NULL,
  ref TEXT NOT NULL,
  commit_sha TEXT NOT NULL,
  PRIMARY KEY (repo, ref)
);
)sql",
      // 3: change requests with their decisions, the audit log (ids chosen by
      // the store: the hash covers them), the last deploy of each environment.
      R"sql(
CREATE TABLE approvals (
  id BIGSERIAL PRIMARY KEY,
  kind TEXT NOT NULL,
  run_id BIGINT NOT NULL,
  stage_id TEXT NOT NULL,
  environment TEXT NOT NULL DEFAULT '',
  repo TEXT NOT NULL DEFAULT '',
  commit_sha TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  title TEXT NOT NULL DEFAULT '',
  impact TEXT NOT NULL DEFAULT '',
  rollback_plan TEXT NOT NULL DEFAULT '',
  message TEXT NOT NULL DEFAULT '',
  submitter TEXT NOT NULL DEFAULT '',
  parameters TEXT NOT NULL DEFAULT '[]',
  required BIGINT NOT NULL DEFAULT 1,
  triggered_by TEXT NOT NULL DEFAULT '',
  range_base TEXT NOT NULL DEFAULT '',
  changes TEXT NOT NULL DEFAULT '[]',
  requested_at BIGINT NOT NULL DEFAULT 0,
  expires_at BIGINT NOT NULL DEFAULT 0,
  decided_at BIGINT NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT '',
  values_json TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX approvals_by_status ON approvals (status, id);
CREATE INDEX approvals_by_run ON approvals (run_id, stage_id);

CREATE TABLE decisions (
  approval_id BIGINT NOT NULL REFERENCES approvals (id) ON DELETE CASCADE,
  "user" TEXT COLLATE "C" NOT NULL,
  approve BIGINT NOT NULL,
  comment TEXT NOT NULL DEFAULT '',
  at BIGINT NOT NULL DEFAULT 0,
  values_json TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (approval_id, "user")
);

CREATE TABLE audit (
  id BIGINT PRIMARY KEY,
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL DEFAULT '',
  details TEXT NOT NULL DEFAULT '{}',
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);

CREATE TABLE deployments (
  environment TEXT NOT NULL,
  run_id BIGINT NOT NULL,
  stage_id TEXT NOT NULL,
  repo TEXT NOT NULL DEFAULT '',
  commit_sha TEXT NOT NULL DEFAULT '',
  at BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (environment, run_id, stage_id)
);
)sql",
      // 4: the release ledger (SPEC §8); replaces `deployments`.
      R"sql(
CREATE TABLE releases (
  id BIGSERIAL PRIMARY KEY,
  environment TEXT NOT NULL,
  run_id BIGINT NOT NULL,
  stage_id TEXT NOT NULL,
  repo TEXT NOT NULL DEFAULT '',
  commit_sha TEXT NOT NULL DEFAULT '',
  strategy TEXT NOT NULL DEFAULT 'direct',
  previous BIGINT NOT NULL DEFAULT 0,
  gmud BIGINT NOT NULL DEFAULT 0,
  status TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL DEFAULT 0,
  finished_at BIGINT NOT NULL DEFAULT 0,
  UNIQUE (run_id, stage_id)
);
CREATE INDEX releases_by_environment ON releases (environment, status, id);
DROP TABLE deployments;
)sql",
      // 5: rollbacks.
      R"sql(
ALTER TABLE runs ADD COLUMN rollback_of BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN rollback_stage TEXT NOT NULL DEFAULT '';
ALTER TABLE releases ADD COLUMN rollback_run BIGINT NOT NULL DEFAULT 0;
ALTER TABLE releases ADD COLUMN rolled_back_by TEXT NOT NULL DEFAULT '';
)sql",
      // 6: a stage's gates passed and deploy phase, as JSON.
      R"sql(
ALTER TABLE stages ADD COLUMN progress TEXT NOT NULL DEFAULT '{}';
)sql",
      // 7: the live events (docs/events.md). BIGSERIAL: ids never go back,
      // also after the oldest are pruned (events_id_seq is the high-water mark).
      R"sql(
CREATE TABLE events (
  id BIGSERIAL PRIMARY KEY,
  run_id BIGINT NOT NULL DEFAULT 0,
  body TEXT NOT NULL,
  log_stage TEXT NOT NULL DEFAULT '',
  log_attempt BIGINT NOT NULL DEFAULT 0,
  log_offset BIGINT NOT NULL DEFAULT 0,
  log_length BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX events_by_run ON events (run_id, id);
)sql",
      // 8: retention (docs/retention.md).
      R"sql(
ALTER TABLE runs ADD COLUMN discarder TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN pruned BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN prune_pending BIGINT NOT NULL DEFAULT 0;
CREATE INDEX runs_prune_pending ON runs (id) WHERE prune_pending != 0;
CREATE INDEX runs_with_logs ON runs (job_name, id) WHERE (pruned & 1) = 0;
CREATE INDEX runs_with_artifacts ON runs (job_name, id) WHERE (pruned & 2) = 0;
)sql",
      // 9: the gate's holes (issue 17).
      R"sql(
ALTER TABLE runs ADD COLUMN retry_of BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN pushers TEXT NOT NULL DEFAULT '[]';
ALTER TABLE approvals ADD COLUMN base_release BIGINT NOT NULL DEFAULT 0;
ALTER TABLE approvals ADD COLUMN range_unknown TEXT NOT NULL DEFAULT '';
ALTER TABLE approvals ADD COLUMN instigators TEXT NOT NULL DEFAULT '[]';
ALTER TABLE approvals ADD COLUMN run_parameters TEXT NOT NULL DEFAULT '{}';
)sql",
      // 10: restart from a stage (issue 18).
      R"sql(
ALTER TABLE runs ADD COLUMN restart_stage TEXT NOT NULL DEFAULT '';
)sql",
      // 11: Groovy's state across a run's jobs (issue 19).
      R"sql(
ALTER TABLE runs ADD COLUMN script_env TEXT NOT NULL DEFAULT '{}';
ALTER TABLE runs ADD COLUMN script_state TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
)sql",
      // 12: shared libraries (issue 19).
      R"sql(
ALTER TABLE runs ADD COLUMN libraries TEXT NOT NULL DEFAULT '';
)sql",
      // 13: change requests (issue 21).
      R"sql(
ALTER TABLE runs ADD COLUMN change_request TEXT NOT NULL DEFAULT '{}';
)sql",
      // 14: the `build` step (issue 21).
      R"sql(
ALTER TABLE runs ADD COLUMN upstream_run BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN upstream_stage TEXT NOT NULL DEFAULT '';
CREATE INDEX runs_by_upstream ON runs (upstream_run) WHERE upstream_run != 0;
)sql",
      // 15: the leader's lease (issue 23, docs/ha.md): one row, taken with a higher term once it
      // has expired by the database's clock. holder = '' when nobody ever led.
      R"sql(
CREATE TABLE leader_lease (
  id BIGINT PRIMARY KEY CHECK (id = 1),
  holder TEXT NOT NULL DEFAULT '',
  address TEXT NOT NULL DEFAULT '',
  term BIGINT NOT NULL DEFAULT 0,
  expires_at TIMESTAMPTZ NOT NULL DEFAULT 'epoch',
  renewed_at TIMESTAMPTZ NOT NULL DEFAULT 'epoch'
);
INSERT INTO leader_lease (id) VALUES (1);
)sql",
  };
  return kMigrations;
}

}  // namespace gantry::controller
