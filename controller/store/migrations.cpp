// The store's schema, as numbered migrations. Each script runs once, in
// order, inside the transaction that also sets PRAGMA user_version, so a
// database is always at exactly one version. Append new scripts; never edit
// one that has shipped, since databases already past it will not rerun it.
#include "store/store_impl.hpp"

namespace gantry::controller {

const std::vector<const char*>& store_migrations() {
  static const std::vector<const char*> kMigrations = {
      // 1: runs, stages, agents, artifacts.
      R"sql(
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  job_name TEXT NOT NULL,
  number INTEGER NOT NULL,
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
  created_at INTEGER NOT NULL DEFAULT 0,
  started_at INTEGER NOT NULL DEFAULT 0,
  finished_at INTEGER NOT NULL DEFAULT 0,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  tests_total INTEGER NOT NULL DEFAULT 0,
  tests_failed INTEGER NOT NULL DEFAULT 0,
  tests_skipped INTEGER NOT NULL DEFAULT 0,
  UNIQUE (job_name, number)
);
CREATE INDEX runs_by_status ON runs (status, id);
CREATE INDEX runs_by_job ON runs (job_name, id);

CREATE TABLE stages (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  stage_id TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  ord INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL,
  agent TEXT NOT NULL DEFAULT '',
  attempts INTEGER NOT NULL DEFAULT 0,
  job_id TEXT NOT NULL DEFAULT '',
  epoch INTEGER NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT '',
  started_at INTEGER NOT NULL DEFAULT 0,
  finished_at INTEGER NOT NULL DEFAULT 0,
  log_bytes INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, stage_id)
) WITHOUT ROWID;

CREATE TABLE agents (
  agent_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  labels TEXT NOT NULL DEFAULT '[]',
  executors INTEGER NOT NULL DEFAULT 1,
  last_seen INTEGER NOT NULL DEFAULT 0,
  token_name TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE TABLE artifacts (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  stage_id TEXT NOT NULL DEFAULT '',
  size INTEGER NOT NULL DEFAULT 0,
  file TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, kind, name)
) WITHOUT ROWID;
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
) WITHOUT ROWID;
)sql",
      // 3: change requests (GMUD and input gates) with their decisions, the
      // hash-chained audit log, and the last deploy of each environment (the
      // base of a change request's commit range).
      R"sql(
CREATE TABLE approvals (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  run_id INTEGER NOT NULL,
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
  required INTEGER NOT NULL DEFAULT 1,
  triggered_by TEXT NOT NULL DEFAULT '',
  range_base TEXT NOT NULL DEFAULT '',
  changes TEXT NOT NULL DEFAULT '[]',
  requested_at INTEGER NOT NULL DEFAULT 0,
  expires_at INTEGER NOT NULL DEFAULT 0,
  decided_at INTEGER NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT '',
  values_json TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX approvals_by_status ON approvals (status, id);
CREATE INDEX approvals_by_run ON approvals (run_id, stage_id);

CREATE TABLE decisions (
  approval_id INTEGER NOT NULL REFERENCES approvals (id) ON DELETE CASCADE,
  user TEXT NOT NULL,
  approve INTEGER NOT NULL,
  comment TEXT NOT NULL DEFAULT '',
  at INTEGER NOT NULL DEFAULT 0,
  values_json TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (approval_id, user)
) WITHOUT ROWID;

CREATE TABLE audit (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL DEFAULT '',
  details TEXT NOT NULL DEFAULT '{}',
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);

CREATE TABLE deployments (
  environment TEXT NOT NULL,
  run_id INTEGER NOT NULL,
  stage_id TEXT NOT NULL,
  repo TEXT NOT NULL DEFAULT '',
  commit_sha TEXT NOT NULL DEFAULT '',
  at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (environment, run_id, stage_id)
) WITHOUT ROWID;
)sql",
      // 4: the release ledger (SPEC §8): one release per deploy stage that
      // started; an environment's current release is its newest succeeded
      // one. It replaces `deployments` as the base of a GMUD's range.
      R"sql(
CREATE TABLE releases (
  id INTEGER PRIMARY KEY,
  environment TEXT NOT NULL,
  run_id INTEGER NOT NULL,
  stage_id TEXT NOT NULL,
  repo TEXT NOT NULL DEFAULT '',
  commit_sha TEXT NOT NULL DEFAULT '',
  strategy TEXT NOT NULL DEFAULT 'direct',
  previous INTEGER NOT NULL DEFAULT 0,
  gmud INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL DEFAULT 0,
  finished_at INTEGER NOT NULL DEFAULT 0,
  UNIQUE (run_id, stage_id)
);
CREATE INDEX releases_by_environment ON releases (environment, status, id);
DROP TABLE deployments;
)sql",
      // 5: rollbacks: a run that rolls a release back, and the release's
      // rollback run and who asked for it.
      R"sql(
ALTER TABLE runs ADD COLUMN rollback_of INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN rollback_stage TEXT NOT NULL DEFAULT '';
ALTER TABLE releases ADD COLUMN rollback_run INTEGER NOT NULL DEFAULT 0;
ALTER TABLE releases ADD COLUMN rolled_back_by TEXT NOT NULL DEFAULT '';
)sql",
      // 6: what a stage needs to go on after a restart: the gates it passed
      // with the values they gave, and a deploy's phase (canary weight,
      // pause, analysis, rollback), as JSON.
      R"sql(
ALTER TABLE stages ADD COLUMN progress TEXT NOT NULL DEFAULT '{}';
)sql",
      // 7: the live events clients follow (docs/events.md). AUTOINCREMENT:
      // ids never go back, also after the oldest are pruned. A log event's
      // bytes stay in its log file: the row says where (log_*).
      R"sql(
CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id INTEGER NOT NULL DEFAULT 0,
  body TEXT NOT NULL,
  log_stage TEXT NOT NULL DEFAULT '',
  log_attempt INTEGER NOT NULL DEFAULT 0,
  log_offset INTEGER NOT NULL DEFAULT 0,
  log_length INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX events_by_run ON events (run_id, id);
)sql",
      // 8: retention (docs/retention.md): a run's buildDiscarder as the
      // retention service read it from its pipeline ('' = not yet), what of
      // it retention deleted (1 logs, 2 artifacts) and what it has begun to
      // delete (4: the run). The partial indexes keep the scans to the runs
      // that still have something to prune.
      R"sql(
ALTER TABLE runs ADD COLUMN discarder TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN pruned INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN prune_pending INTEGER NOT NULL DEFAULT 0;
CREATE INDEX runs_prune_pending ON runs (id) WHERE prune_pending != 0;
CREATE INDEX runs_with_logs ON runs (job_name, id) WHERE (pruned & 1) = 0;
CREATE INDEX runs_with_artifacts ON runs (job_name, id) WHERE (pruned & 2) = 0;
)sql",
      // 9: the gate's holes (issue 17): the run a retry retries and the
      // pushers webhooks named; a change request's release base, why its
      // range is unknown, who else set it going, and the parameters it
      // approves.
      R"sql(
ALTER TABLE runs ADD COLUMN retry_of INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN pushers TEXT NOT NULL DEFAULT '[]';
ALTER TABLE approvals ADD COLUMN base_release INTEGER NOT NULL DEFAULT 0;
ALTER TABLE approvals ADD COLUMN range_unknown TEXT NOT NULL DEFAULT '';
ALTER TABLE approvals ADD COLUMN instigators TEXT NOT NULL DEFAULT '[]';
ALTER TABLE approvals ADD COLUMN run_parameters TEXT NOT NULL DEFAULT '{}';
)sql",
      // 10: restart from a stage (issue 18): the top-level stage a retry restarts from.
      R"sql(
ALTER TABLE runs ADD COLUMN restart_stage TEXT NOT NULL DEFAULT '';
)sql",
      // 11: Groovy's state across a run's jobs (issue 19, docs/groovy.md): env.X assignments,
      // script variables, currentBuild.description and displayName.
      R"sql(
ALTER TABLE runs ADD COLUMN script_env TEXT NOT NULL DEFAULT '{}';
ALTER TABLE runs ADD COLUMN script_state TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
)sql",
      // 12: shared libraries (issue 19): what the run loaded, pinned to commits, with its files.
      R"sql(
ALTER TABLE runs ADD COLUMN libraries TEXT NOT NULL DEFAULT '';
)sql",
      // 13: change requests (issue 21): a pull or merge request's CHANGE_* variables.
      R"sql(
ALTER TABLE runs ADD COLUMN change_request TEXT NOT NULL DEFAULT '{}';
)sql",
      // 14: the `build` step (issue 21): a downstream run names the run and stage that started it.
      R"sql(
ALTER TABLE runs ADD COLUMN upstream_run INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN upstream_stage TEXT NOT NULL DEFAULT '';
CREATE INDEX runs_by_upstream ON runs (upstream_run) WHERE upstream_run != 0;
)sql",
      // 15: the leader's lease (issue 23, docs/ha.md). Only controllers sharing PostgreSQL elect a
      // leader; on SQLite the one controller leads alone and the table stays empty. It exists here
      // too so that both engines keep one schema (and the SQLite -> PostgreSQL copy skips it).
      R"sql(
CREATE TABLE leader_lease (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  holder TEXT NOT NULL DEFAULT '',
  address TEXT NOT NULL DEFAULT '',
  term INTEGER NOT NULL DEFAULT 0,
  expires_at INTEGER NOT NULL DEFAULT 0,
  renewed_at INTEGER NOT NULL DEFAULT 0
);
)sql",
  };
  return kMigrations;
}

}  // namespace gantry::controller
