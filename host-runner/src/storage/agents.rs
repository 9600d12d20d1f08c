//! Agents' intensity scores (`agent_intensity_metrics`) and their past token
//! use per intent (`token_usage`).

use anyhow::Result;
use orchestration::budget::IntentUsage;
use orchestration::routing::AgentScores;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeMap;

/// Most recent orchestrated steps per intent the adaptive strategy looks at.
pub const HISTORY_PER_INTENT: usize = 200;

/// An agent's row, with the number of runs its execution score has seen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgentRow {
    pub scores: AgentScores,
    pub runs: u32,
}

/// Every agent's row, by agent id.
pub fn list(conn: &Connection) -> Result<Vec<(String, AgentRow)>> {
    let mut stmt = conn.prepare(
        "SELECT agent_id, creation_score, execution_score, combined_score, runs FROM agent_intensity_metrics ORDER BY agent_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            AgentRow {
                scores: AgentScores { creation: r.get(1)?, execution: r.get(2)?, combined: r.get(3)? },
                runs: r.get(4)?,
            },
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Sets an agent's creation score (how demanding its definition is, 0-10);
/// an agent without runs starts its execution score there too.
pub fn set_creation(conn: &Connection, agent_id: &str, creation: f32) -> Result<()> {
    if !(0.0..=10.0).contains(&creation) {
        anyhow::bail!("creation score of `{agent_id}` must be between 0 and 10, got {creation}");
    }
    conn.execute(
        "INSERT INTO agent_intensity_metrics (agent_id, creation_score, execution_score, combined_score, runs)
         VALUES (?1, ?2, ?2, ?2, 0)
         ON CONFLICT (agent_id) DO UPDATE SET
             creation_score = excluded.creation_score,
             combined_score = (excluded.creation_score + execution_score) / 2,
             updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        params![agent_id, f64::from(creation)],
    )?;
    Ok(())
}

pub fn scores(conn: &Connection, agent_id: &str) -> Result<Option<AgentRow>> {
    Ok(conn
        .query_row(
            "SELECT creation_score, execution_score, combined_score, runs FROM agent_intensity_metrics WHERE agent_id = ?1",
            [agent_id],
            |r| {
                Ok(AgentRow {
                    scores: AgentScores { creation: r.get(0)?, execution: r.get(1)?, combined: r.get(2)? },
                    runs: r.get(3)?,
                })
            },
        )
        .optional()?)
}

/// Writes the agent's scores after a completed run.
pub fn record_run(conn: &Connection, agent_id: &str, scores: &AgentScores) -> Result<()> {
    let clamp = |v: f32| f64::from(v.clamp(0.0, 10.0));
    conn.execute(
        "INSERT INTO agent_intensity_metrics (agent_id, creation_score, execution_score, combined_score, runs)
         VALUES (?1, ?2, ?3, ?4, 1)
         ON CONFLICT (agent_id) DO UPDATE SET
             creation_score = excluded.creation_score,
             execution_score = excluded.execution_score,
             combined_score = excluded.combined_score,
             runs = runs + 1,
             updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        params![agent_id, clamp(scores.creation), clamp(scores.execution), clamp(scores.combined)],
    )?;
    Ok(())
}

/// The agent's orchestrated steps per intent: count, mean and 90th percentile
/// of tokens, over the most recent [`HISTORY_PER_INTENT`] steps of each intent.
pub fn usage_by_intent(conn: &Connection, agent_id: &str) -> Result<Vec<IntentUsage>> {
    let mut stmt = conn.prepare(
        "SELECT json_extract(model_info, '$.intent'), tokens_used FROM token_usage
         WHERE agent_id = ?1 AND step_id IS NOT NULL AND json_extract(model_info, '$.path') = 'orchestrated'
         ORDER BY id DESC",
    )?;
    let mut by_intent: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for row in stmt.query_map([agent_id], |r| Ok((r.get::<_, Option<String>>(0)?, r.get::<_, u64>(1)?)))? {
        let (intent, tokens) = row?;
        let Some(intent) = intent else { continue };
        let seen = by_intent.entry(intent).or_default();
        if seen.len() < HISTORY_PER_INTENT {
            seen.push(tokens);
        }
    }
    Ok(by_intent
        .into_iter()
        .map(|(intent, mut tokens)| {
            tokens.sort_unstable();
            let steps = tokens.len();
            let avg = tokens.iter().sum::<u64>() / steps as u64;
            // Nearest-rank percentile.
            let p90 = tokens[(steps * 9).div_ceil(10).saturating_sub(1)];
            let cap = |v: u64| v.min(u64::from(u32::MAX)) as u32;
            IntentUsage { intent, steps: steps as u32, avg_tokens: cap(avg), p90_tokens: cap(p90) }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Db;
    use crate::storage::records::{Identity, UsageRow, insert_usage};
    use serde_json::json;

    #[test]
    fn scores_round_trip_and_count_runs() {
        let db = Db::temporary();
        let conn = db.lock();
        assert_eq!(scores(&conn, "a").unwrap(), None);
        let s = AgentScores { creation: 4.0, execution: 12.0, combined: 8.0 };
        record_run(&conn, "a", &s).unwrap();
        record_run(&conn, "a", &s).unwrap();
        let row = scores(&conn, "a").unwrap().unwrap();
        assert_eq!((row.runs, row.scores.execution), (2, 10.0), "clamped to 10");
    }

    #[test]
    fn creation_scores_are_set_within_range_and_fold_into_combined() {
        let db = Db::temporary();
        let conn = db.lock();
        set_creation(&conn, "new", 7.0).unwrap();
        assert_eq!(
            scores(&conn, "new").unwrap().unwrap().scores,
            AgentScores { creation: 7.0, execution: 7.0, combined: 7.0 }
        );
        record_run(&conn, "ran", &AgentScores { creation: 2.0, execution: 4.0, combined: 3.0 }).unwrap();
        set_creation(&conn, "ran", 8.0).unwrap();
        let row = scores(&conn, "ran").unwrap().unwrap();
        assert_eq!((row.scores.combined, row.runs), (6.0, 1));
        assert!(set_creation(&conn, "x", 11.0).unwrap_err().to_string().contains("between 0 and 10"));
        assert_eq!(list(&conn).unwrap().iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["new", "ran"]);
    }

    #[test]
    fn usage_by_intent_counts_orchestrated_steps_only() {
        let db = Db::temporary();
        let conn = db.lock();
        let who = Identity { execution_id: "e".into(), agent_id: "a".into(), user_id: "u".into() };
        let row = |tokens, intent: &str, path: &str| UsageRow {
            step_id: Some("s".into()),
            tokens_used: tokens,
            tokens_saved: 0,
            cost: 0.0,
            model_info: json!({ "intent": intent, "path": path }),
        };
        for tokens in 1..=10 {
            insert_usage(&conn, &who, &row(tokens * 100, "summarize", "orchestrated")).unwrap();
        }
        insert_usage(&conn, &who, &row(99_999, "summarize", "fallback")).unwrap();
        insert_usage(&conn, &who, &row(50, "extract", "orchestrated")).unwrap();
        let usage = usage_by_intent(&conn, "a").unwrap();
        assert_eq!(usage.len(), 2);
        assert_eq!(usage[0], IntentUsage { intent: "extract".into(), steps: 1, avg_tokens: 50, p90_tokens: 50 });
        assert_eq!(usage[1], IntentUsage { intent: "summarize".into(), steps: 10, avg_tokens: 550, p90_tokens: 900 });
        assert!(usage_by_intent(&conn, "other").unwrap().is_empty());
    }
}
