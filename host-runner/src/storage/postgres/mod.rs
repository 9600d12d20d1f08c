//! The shared backend: Postgres, for several `pilot serve` replicas on one
//! database. Statements run on a small pool of connection threads, each
//! owning one synchronous client: callers (async workers included) hand a
//! job over and wait for its answer, and the client's own runtime never runs
//! inside the caller's. A connection that broke is opened again for the
//! next job.

mod migrations;
mod runs;
pub mod throwaway;

use super::agents::AgentRow;
use super::cohorts::{CohortRow, CohortRows, CohortUsage, FailedStep};
use super::executions::{Execution, ExecutionFilter};
use super::queued::Record;
use super::records::{AuditRow, UsageRow, UsageTotal};
use super::runs::{Cancel, Checkpoint, Leased, Requeue, Submission, Submitted};
use super::settings::{NewSetting, SettingSeed};
use super::settings::{Setting, Snapshot};
use super::store::{Store, Tally};
use crate::vocabulary::HostEvent;
use anyhow::{Context, Result, anyhow};
use orchestration::routing::{AgentScores, EXECUTION_EMA_ALPHA};
use postgres::{Client, GenericClient, NoTls, Row};
use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Connections (and threads) per replica.
const POOL_SIZE: usize = 8;

type Job = Box<dyn FnOnce(&mut Client) + Send>;

/// A timestamp column as SQLite writes them: ISO 8601 in UTC, milliseconds.
fn ts(column: &str) -> String {
    format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
}

pub struct PgStore {
    jobs: SyncSender<Job>,
    location: String,
}

/// `postgres://user:secret@host/db` without the secret.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            format!("{scheme}://{user}@{host}")
        }
        None => url.to_string(),
    }
}

impl PgStore {
    /// Connects the pool to `url` (`postgres://...`) and migrates the schema.
    pub fn open(url: &str) -> Result<PgStore> {
        let location = without_password(url);
        let config: postgres::Config = url.parse().with_context(|| format!("reading database URL {location}"))?;
        let connect = {
            let (config, location) = (config.clone(), location.clone());
            move || config.connect(NoTls).with_context(|| format!("connecting to {location}"))
        };
        // On a thread of its own: the synchronous client may not run inside
        // the caller's async runtime.
        let clients = std::thread::scope(|scope| {
            scope
                .spawn(|| -> Result<Vec<Client>> {
                    let mut first = connect()?;
                    migrations::migrate(&mut first).with_context(|| format!("migrating database {location}"))?;
                    let mut clients = vec![first];
                    for _ in 1..POOL_SIZE {
                        clients.push(connect()?);
                    }
                    Ok(clients)
                })
                .join()
                .map_err(|_| anyhow!("connecting to {location} panicked"))?
        })?;
        let (jobs, queue) = sync_channel::<Job>(POOL_SIZE * 4);
        let queue = Arc::new(Mutex::new(queue));
        for (n, client) in clients.into_iter().enumerate() {
            let (queue, connect) = (queue.clone(), connect.clone());
            std::thread::Builder::new()
                .name(format!("pilot-pg-{n}"))
                .spawn(move || serve_jobs(client, &queue, connect))
                .context("starting a database connection thread")?;
        }
        Ok(PgStore { jobs, location })
    }

    /// Runs `job` on a pooled connection and waits for its answer.
    fn run<R: Send + 'static>(&self, job: impl FnOnce(&mut Client) -> Result<R> + Send + 'static) -> Result<R> {
        let (answer, wait) = sync_channel(1);
        let job: Job = Box::new(move |client| {
            let _ = answer.send(job(client));
        });
        self.jobs.send(job).map_err(|_| anyhow!("the database pool of {} has stopped", self.location))?;
        let answer = || wait.recv().map_err(|_| anyhow!("a database connection thread of {} stopped", self.location));
        // On an async worker, say so before waiting on the network: its other tasks move to another worker.
        let on_multi_thread_worker = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if on_multi_thread_worker { tokio::task::block_in_place(answer)? } else { answer()? }
    }
}

/// One connection thread: takes jobs until the store is dropped.
fn serve_jobs(mut client: Client, queue: &Mutex<Receiver<Job>>, connect: impl Fn() -> Result<Client>) {
    loop {
        let job = match queue.lock().unwrap_or_else(|p| p.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        if client.is_closed() {
            match connect() {
                Ok(fresh) => client = fresh,
                Err(e) => tracing::error!("database reconnect failed: {e:#}"),
            }
        }
        job(&mut client);
    }
}

fn insert(client: &mut impl GenericClient, record: &Record) -> Result<()> {
    match record {
        Record::Audit(a) => {
            client.execute(
                "INSERT INTO audit_log (event_type, severity, execution_id, agent_id, user_id, step_id, source, metadata)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, CAST($8::text AS jsonb))",
                &[
                    &a.event_type,
                    &a.severity,
                    &a.who.execution_id,
                    &a.who.agent_id,
                    &a.who.user_id,
                    &a.step_id,
                    &a.source,
                    &a.metadata.to_string(),
                ],
            )?;
        }
        Record::ExecutionStarted(s) => {
            client.execute(
                "INSERT INTO executions (id, workflow_id, agent_id, user_id, replica, state)
                 VALUES ($1, $2, $3, $4, $5, 'running')",
                &[&s.id, &s.workflow_id, &s.agent_id, &s.user_id, &s.replica],
            )?;
        }
        // A second end (or one after the run was found interrupted) changes nothing.
        // A run handed back (`queued`) has not ended.
        Record::ExecutionEnded { id, finish, replica } => {
            client.execute(
                "UPDATE executions SET state = $2, error = $3, heartbeat_at = now(),
                     ended_at = CASE WHEN $2 = 'queued' THEN NULL ELSE now() END,
                     leases = CASE WHEN $2 = 'queued' THEN GREATEST(leases - 1, 0) ELSE leases END
                 WHERE id = $1 AND state = 'running' AND replica = $4",
                &[id, &finish.state.as_str(), &finish.error, &replica.as_ref()],
            )?;
        }
        Record::ExecutionCohort { id, cohort } => {
            client.execute(
                "UPDATE executions SET orchestrated = $2, flag_scope = $3 WHERE id = $1 AND orchestrated IS NULL",
                &[id, &cohort.orchestrated, &cohort.flag_scope],
            )?;
        }
        Record::StepStarted { execution_id, step_id, rerun } => {
            runs::step_started(client, execution_id, step_id, *rerun)?
        }
        Record::StepFinished(finished) => runs::step_finished(client, finished)?,
        Record::Usage { who, row, .. } => {
            client.execute(
                "INSERT INTO token_usage (agent_id, user_id, execution_id, step_id, tokens_used, tokens_saved, cost, model_info)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, CAST($8::text AS jsonb))",
                &[
                    &who.agent_id,
                    &who.user_id,
                    &who.execution_id,
                    &row.step_id,
                    &(row.tokens_used as i64),
                    &(row.tokens_saved as i64),
                    &row.cost,
                    &row.model_info.to_string(),
                ],
            )?;
        }
    }
    Ok(())
}

fn agent_row(r: &Row) -> AgentRow {
    AgentRow {
        scores: AgentScores { creation: r.get(0), execution: r.get(1), combined: r.get(2) },
        runs: r.get::<_, i32>(3) as u32,
    }
}

fn json_or_text(text: String) -> serde_json::Value {
    serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
}

fn execution_columns() -> String {
    format!(
        "id, workflow_id, agent_id, user_id, replica, state, error, {}, {}, {},
         workflow IS NOT NULL, idempotency_key, leases, rerun_steps, cancel_requested, orchestrated, flag_scope",
        ts("started_at"),
        ts("ended_at"),
        ts("heartbeat_at")
    )
}

fn execution_row(r: &Row) -> Execution {
    Execution {
        id: r.get(0),
        workflow_id: r.get(1),
        agent_id: r.get(2),
        user_id: r.get(3),
        replica: r.get(4),
        state: r.get(5),
        error: r.get(6),
        started_at: r.get(7),
        ended_at: r.get(8),
        heartbeat_at: r.get(9),
        durable: r.get(10),
        idempotency_key: r.get(11),
        leases: r.get::<_, i32>(12) as u32,
        rerun_steps: r.get::<_, i32>(13) as u32,
        cancel_requested: r.get(14),
        orchestrated: r.get(15),
        flag_scope: r.get(16),
    }
}

impl Store for PgStore {
    fn location(&self) -> &str {
        &self.location
    }

    fn seed_settings(&self, seeds: &[SettingSeed]) -> Result<()> {
        let seeds: Vec<(String, String, String, String)> = seeds
            .iter()
            .map(|s| (s.key.to_string(), s.default.to_string(), s.value_type.to_string(), s.description.clone()))
            .collect();
        self.run(move |client| {
            let mut tx = client.transaction()?;
            let upsert = tx.prepare(
                "INSERT INTO system_settings_config (key, value, value_type, description) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (key) DO UPDATE SET value_type = excluded.value_type, description = excluded.description",
            )?;
            for (key, default, value_type, description) in &seeds {
                tx.execute(&upsert, &[key, default, value_type, description])?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn setting(&self, key: &str) -> Result<Option<String>> {
        let key = key.to_string();
        self.run(move |client| {
            Ok(client.query_opt("SELECT value FROM system_settings_config WHERE key = $1", &[&key])?.map(|r| r.get(0)))
        })
    }

    fn settings(&self, prefix: &str) -> Result<Vec<Setting>> {
        let prefix = prefix.to_string();
        self.run(move |client| {
            let sql = format!(
                "SELECT key, value, value_type, description, {} FROM system_settings_config
                 WHERE starts_with(key, $1) ORDER BY key",
                ts("updated_at")
            );
            Ok(client
                .query(&sql, &[&prefix])?
                .iter()
                .map(|r| Setting {
                    key: r.get(0),
                    value: r.get(1),
                    value_type: r.get(2),
                    description: r.get(3),
                    updated_at: r.get(4),
                })
                .collect())
        })
    }

    fn settings_snapshot(&self) -> Result<Snapshot> {
        self.run(|client| {
            Ok(client
                .query("SELECT key, value FROM system_settings_config", &[])?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect())
        })
    }

    fn put_setting(&self, key: &str, value: &str, create: Option<&NewSetting>) -> Result<bool> {
        let (key, value, create) = (key.to_string(), value.to_string(), create.cloned());
        self.run(move |client| {
            if let Some(new) = &create {
                client.execute(
                    "INSERT INTO system_settings_config (key, value, value_type, description)
                     VALUES ($1, '', $2, $3) ON CONFLICT (key) DO NOTHING",
                    &[&key, &new.value_type, &new.description],
                )?;
            }
            let changed = client.execute(
                "UPDATE system_settings_config SET value = $2, updated_at = now() WHERE key = $1",
                &[&key, &value],
            )?;
            Ok(changed == 1)
        })
    }

    fn delete_setting(&self, key: &str) -> Result<bool> {
        let key = key.to_string();
        self.run(move |client| Ok(client.execute("DELETE FROM system_settings_config WHERE key = $1", &[&key])? == 1))
    }

    fn write_records(&self, batch: &[Record]) -> Vec<(usize, anyhow::Error)> {
        let batch = batch.to_vec();
        let size = batch.len();
        let written = self.run(move |client| {
            let together = client.transaction().map_err(anyhow::Error::from).and_then(|mut tx| {
                batch.iter().try_for_each(|record| insert(&mut tx, record))?;
                tx.commit().map_err(anyhow::Error::from)
            });
            if together.is_ok() {
                return Ok(vec![]);
            }
            Ok(batch
                .iter()
                .enumerate()
                .filter_map(|(i, record)| insert(client, record).err().map(|e| (i, e)))
                .collect())
        });
        // The pool itself failed: every row of the batch is lost, with that reason.
        written.unwrap_or_else(|e| (0..size).map(|i| (i, anyhow!("{e:#}"))).collect())
    }

    fn audit(&self, execution_id: Option<&str>, limit: u32) -> Result<Vec<AuditRow>> {
        let execution_id = execution_id.map(str::to_string);
        self.run(move |client| {
            let sql = format!(
                "SELECT id, {}, event_type, severity, execution_id, agent_id, user_id, step_id, source, metadata::text
                 FROM audit_log WHERE $1::text IS NULL OR execution_id = $1
                 ORDER BY id DESC LIMIT $2",
                ts("created_at")
            );
            let mut rows: Vec<AuditRow> = client
                .query(&sql, &[&execution_id, &i64::from(limit)])?
                .iter()
                .map(|r| AuditRow {
                    id: r.get(0),
                    created_at: r.get(1),
                    event_type: r.get(2),
                    severity: r.get(3),
                    execution_id: r.get(4),
                    agent_id: r.get(5),
                    user_id: r.get(6),
                    step_id: r.get(7),
                    source: r.get(8),
                    metadata: json_or_text(r.get(9)),
                })
                .collect();
            rows.reverse();
            Ok(rows)
        })
    }

    fn usage(&self, execution_id: &str) -> Result<Vec<UsageRow>> {
        let execution_id = execution_id.to_string();
        self.run(move |client| {
            Ok(client
                .query(
                    "SELECT step_id, tokens_used, tokens_saved, cost, model_info::text FROM token_usage
                     WHERE execution_id = $1 ORDER BY id",
                    &[&execution_id],
                )?
                .iter()
                .map(|r| UsageRow {
                    step_id: r.get(0),
                    tokens_used: r.get::<_, i64>(1) as u64,
                    tokens_saved: r.get::<_, i64>(2) as u64,
                    cost: r.get(3),
                    model_info: json_or_text(r.get(4)),
                })
                .collect())
        })
    }

    fn usage_totals(&self, execution_ids: &[String]) -> Result<BTreeMap<String, UsageTotal>> {
        let ids = execution_ids.to_vec();
        self.run(move |client| {
            Ok(client
                .query(
                    "SELECT execution_id, SUM(tokens_used)::BIGINT, SUM(cost)::DOUBLE PRECISION FROM token_usage
                     WHERE execution_id = ANY($1) GROUP BY execution_id",
                    &[&ids],
                )?
                .iter()
                .map(|r| (r.get(0), UsageTotal { tokens_used: r.get::<_, i64>(1) as u64, cost: r.get(2) }))
                .collect())
        })
    }

    fn tally(&self) -> Result<Tally> {
        self.run(|client| {
            let counts = client.query_one(
                "SELECT COUNT(*), COUNT(DISTINCT (execution_id, step_id)) FROM token_usage WHERE step_id IS NOT NULL",
                &[],
            )?;
            let mut grouped = |sql: &str| -> Result<_> {
                Ok(client.query(sql, &[])?.iter().map(|r| (r.get(0), r.get::<_, i64>(1) as u64)).collect())
            };
            let events = grouped("SELECT event_type, COUNT(*) FROM audit_log GROUP BY event_type")?;
            let executions = grouped("SELECT state, COUNT(*) FROM executions GROUP BY state")?;
            Ok(Tally {
                step_usage_rows: counts.get::<_, i64>(0) as u64,
                distinct_steps: counts.get::<_, i64>(1) as u64,
                events,
                executions,
            })
        })
    }

    fn agents(&self) -> Result<Vec<(String, AgentRow)>> {
        self.run(|client| {
            Ok(client
                .query(
                    "SELECT creation_score, execution_score, combined_score, runs, agent_id
                     FROM agent_intensity_metrics ORDER BY agent_id",
                    &[],
                )?
                .iter()
                .map(|r| (r.get(4), agent_row(r)))
                .collect())
        })
    }

    fn agent(&self, agent_id: &str) -> Result<Option<AgentRow>> {
        let agent_id = agent_id.to_string();
        self.run(move |client| {
            Ok(client
                .query_opt(
                    "SELECT creation_score, execution_score, combined_score, runs FROM agent_intensity_metrics
                     WHERE agent_id = $1",
                    &[&agent_id],
                )?
                .map(|r| agent_row(&r)))
        })
    }

    fn set_creation(&self, agent_id: &str, creation: f32) -> Result<()> {
        let agent_id = agent_id.to_string();
        self.run(move |client| {
            client.execute(
                "INSERT INTO agent_intensity_metrics (agent_id, creation_score, execution_score, combined_score, runs)
                 VALUES ($1, $2, $2, $2, 0)
                 ON CONFLICT (agent_id) DO UPDATE SET
                     creation_score = excluded.creation_score,
                     combined_score = (excluded.creation_score + agent_intensity_metrics.execution_score) / 2,
                     updated_at = now()",
                &[&agent_id, &creation],
            )?;
            Ok(())
        })
    }

    fn record_agent_run(&self, agent_id: &str, scores: &AgentScores, read: Option<&AgentScores>) -> Result<()> {
        // See the SQLite backend: the change from the row the run read is
        // applied to the row as it is now (one statement, row-locked).
        let (change, first) = match read {
            Some(r) => (scores.execution - r.execution, false),
            None => (0.0, true),
        };
        let (agent_id, creation, execution) = (agent_id.to_string(), scores.creation, scores.execution);
        self.run(move |client| {
            let next = "LEAST(10, GREATEST(0, CASE WHEN $5::boolean
                    THEN m.execution_score + $6::real * (excluded.execution_score - m.execution_score)
                    ELSE m.execution_score + $4::real END))";
            client.execute(
                &format!(
                    "INSERT INTO agent_intensity_metrics AS m (agent_id, creation_score, execution_score, combined_score, runs)
                     VALUES ($1, $2::real, $3::real, ($2::real + $3::real) / 2, 1)
                     ON CONFLICT (agent_id) DO UPDATE SET
                         execution_score = {next},
                         combined_score = (m.creation_score + {next}) / 2,
                         runs = m.runs + 1,
                         updated_at = now()"
                ),
                &[&agent_id, &creation, &execution, &change, &first, &EXECUTION_EMA_ALPHA],
            )?;
            Ok(())
        })
    }

    fn orchestrated_tokens(&self, agent_id: &str) -> Result<Vec<(String, u64)>> {
        let agent_id = agent_id.to_string();
        self.run(move |client| {
            Ok(client
                .query(
                    "SELECT model_info->>'intent', tokens_used FROM token_usage
                     WHERE agent_id = $1 AND step_id IS NOT NULL AND model_info->>'path' = 'orchestrated'
                       AND model_info->>'intent' IS NOT NULL
                     ORDER BY id DESC",
                    &[&agent_id],
                )?
                .iter()
                .map(|r| (r.get(0), r.get::<_, i64>(1) as u64))
                .collect())
        })
    }

    fn heartbeat(&self, replica: &str) -> Result<Vec<String>> {
        let replica = replica.to_string();
        self.run(move |client| {
            let rows = client.query(
                "UPDATE executions SET heartbeat_at = now() WHERE replica = $1 AND state = 'running'
                 RETURNING id, cancel_requested",
                &[&replica],
            )?;
            Ok(rows.iter().filter(|r| r.get::<_, bool>(1)).map(|r| r.get(0)).collect())
        })
    }

    fn submit_run(&self, submission: &Submission) -> Result<Submitted> {
        let submission = submission.clone();
        self.run(move |client| runs::submit(client, &submission))
    }

    fn lease_runs(&self, replica: &str, stale: Duration, limit: u32) -> Result<Vec<Leased>> {
        let replica = replica.to_string();
        self.run(move |client| runs::lease(client, &replica, stale, limit))
    }

    fn checkpoints(&self, execution_id: &str) -> Result<Vec<Checkpoint>> {
        let id = execution_id.to_string();
        self.run(move |client| runs::checkpoints(client, &id))
    }

    fn cancel_run(&self, execution_id: &str) -> Result<Cancel> {
        let id = execution_id.to_string();
        self.run(move |client| runs::cancel(client, &id))
    }

    fn requeue_run(&self, execution_id: &str, stale: Duration) -> Result<Requeue> {
        let id = execution_id.to_string();
        self.run(move |client| runs::requeue(client, &id, stale))
    }

    fn queued_runs(&self) -> Result<u64> {
        self.run(runs::queued)
    }

    fn interrupt_stale(&self, stale: Duration) -> Result<Vec<String>> {
        let seconds = stale.as_secs_f64();
        self.run(move |client| {
            let sql = format!(
                "UPDATE executions SET state = 'interrupted', ended_at = now(),
                     error = 'the host running it stopped (no heartbeat since ' || {} || ')'
                 WHERE state = 'running' AND workflow IS NULL AND heartbeat_at < now() - make_interval(secs => $1)
                 RETURNING id",
                ts("heartbeat_at")
            );
            Ok(client.query(&sql, &[&seconds])?.iter().map(|r| r.get(0)).collect())
        })
    }

    fn cohort_rows(&self, since: Duration) -> Result<CohortRows> {
        let seconds = since.as_secs_f64();
        self.run(move |client| {
            let runs = "e.orchestrated IS NOT NULL AND e.started_at >= now() - make_interval(secs => $1)
                        AND e.state NOT IN ('queued', 'running')";
            let rows = client.query(
                &format!(
                    "SELECT e.id, e.workflow_id, e.agent_id, e.state, e.orchestrated,
                            u.id IS NOT NULL, u.step_id, u.tokens_used, u.cost, u.model_info::text, e.flag_scope
                     FROM executions e LEFT JOIN token_usage u ON u.execution_id = e.id
                     WHERE {runs}
                     ORDER BY e.started_at, e.id, u.id"
                ),
                &[&seconds],
            )?;
            let rows = rows
                .iter()
                .map(|r| CohortRow {
                    execution_id: r.get(0),
                    workflow_id: r.get(1),
                    agent_id: r.get(2),
                    flag_scope: r.get::<_, Option<String>>(10).unwrap_or_default(),
                    state: r.get(3),
                    orchestrated: r.get(4),
                    usage: r.get::<_, bool>(5).then(|| CohortUsage {
                        step_id: r.get(6),
                        tokens_used: r.get::<_, i64>(7) as u64,
                        cost: r.get(8),
                        model_info: json_or_text(r.get(9)),
                    }),
                })
                .collect();
            let failed_steps = client
                .query(
                    &format!(
                        "SELECT a.execution_id, a.step_id, MAX(a.metadata->>'intent')
                         FROM audit_log a JOIN executions e ON e.id = a.execution_id
                         WHERE a.event_type = '{FAILED}' AND a.step_id IS NOT NULL AND {runs}
                         GROUP BY a.execution_id, a.step_id",
                        FAILED = HostEvent::STEP_FAILED
                    ),
                    &[&seconds],
                )?
                .iter()
                .map(|r| FailedStep { execution_id: r.get(0), step_id: r.get(1), intent: r.get(2) })
                .collect();
            let runs_without_cohort: i64 = client
                .query_one(
                    "SELECT COUNT(*) FROM executions WHERE orchestrated IS NULL
                     AND started_at >= now() - make_interval(secs => $1) AND state NOT IN ('queued', 'running')",
                    &[&seconds],
                )?
                .get(0);
            Ok(CohortRows { rows, failed_steps, runs_without_cohort: runs_without_cohort as u64 })
        })
    }

    fn execution(&self, execution_id: &str) -> Result<Option<Execution>> {
        let id = execution_id.to_string();
        self.run(move |client| {
            let sql = format!("SELECT {} FROM executions WHERE id = $1", execution_columns());
            Ok(client.query_opt(&sql, &[&id])?.map(|r| execution_row(&r)))
        })
    }

    fn executions(&self, filter: &ExecutionFilter) -> Result<Vec<Execution>> {
        let filter = filter.clone();
        self.run(move |client| {
            // The cursor's start is the listed text (milliseconds, UTC): compared as
            // milliseconds, so a run started within the same millisecond is ordered by id.
            let sql = format!(
                "SELECT {} FROM executions e
                 WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR strpos(agent_id, $2) > 0)
                   AND ($3::float8 IS NULL
                        OR (SELECT COALESCE(SUM(cost), 0) FROM token_usage u WHERE u.execution_id = e.id) >= $3)
                   AND ($4::text IS NULL OR date_trunc('milliseconds', started_at) < $4::text::timestamptz
                        OR (date_trunc('milliseconds', started_at) = $4::text::timestamptz AND id > $5))
                 ORDER BY date_trunc('milliseconds', started_at) DESC, id LIMIT $6",
                execution_columns()
            );
            let after = filter.after.as_ref();
            let rows = client.query(
                &sql,
                &[
                    &filter.state,
                    &filter.agent,
                    &filter.min_cost,
                    &after.map(|p| p.started_at.as_str()),
                    &after.map(|p| p.id.as_str()).unwrap_or_default(),
                    &i64::from(filter.limit),
                ],
            )?;
            Ok(rows.iter().map(execution_row).collect())
        })
    }

    fn check_integrity(&self) -> Result<Vec<String>> {
        self.run(|client| {
            client.batch_execute("CREATE EXTENSION IF NOT EXISTS amcheck")?;
            let indexes: Vec<String> = client
                .query(
                    "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                     JOIN pg_am a ON a.oid = c.relam
                     WHERE a.amname = 'btree' AND c.relnamespace = 'public'::regnamespace ORDER BY 1",
                    &[],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let mut problems = vec![];
            for index in indexes {
                // heapallindexed: every row of the table is found through the index too.
                if let Err(e) = client.execute("SELECT bt_index_check($1::text::regclass, true)", &[&index]) {
                    problems.push(format!("index {index}: {e}"));
                }
            }
            Ok(problems)
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn locations_never_show_the_password() {
        assert_eq!(
            super::without_password("postgres://pilot:s3cret@10.0.0.5:5432/pilot"),
            "postgres://pilot@10.0.0.5:5432/pilot"
        );
        assert_eq!(super::without_password("postgres://localhost/pilot"), "postgres://localhost/pilot");
    }
}
