//! `pilot flags list`.

use super::table;
use host_runner::storage::settings::Setting;

pub fn settings(rows: &[Setting]) {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|s| vec![s.key.clone(), s.value.clone(), s.value_type.clone(), s.description.clone()])
        .collect();
    table(&["key", "value", "type", "description"], &rows);
}
