//! The handlers as the API and the console list them.

use crate::host::Host;
use serde_json::{Value, json};
use std::time::SystemTime;

/// Every handler with version, file, load time, state and the compiler of
/// the code it runs (`baseline` until its optimized code is swapped in);
/// rejected files too.
pub fn handlers_json(host: &Host) -> Value {
    let snapshot = host.handlers();
    let mut rows: Vec<Value> = snapshot
        .handlers()
        .iter()
        .map(|h| {
            json!({
                "name": h.info.name,
                "version": h.info.version,
                "intents": h.info.intents,
                "file": h.path.display().to_string(),
                "loaded_at": unix_seconds(h.loaded_at),
                "state": "active",
                "code": h.code.as_str(),
            })
        })
        .collect();
    rows.extend(snapshot.rejected().iter().map(|r| {
        json!({ "file": r.file.display().to_string(), "state": "rejected", "reason": r.reason, "rejected_at": unix_seconds(r.at) })
    }));
    Value::Array(rows)
}

fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}
