//! `pilot flags list`.

use super::table;
use host_runner::storage::settings::Listed;

pub fn listing(rows: &[Listed]) {
    let (overrides, settings): (Vec<&Listed>, Vec<&Listed>) = rows.iter().partition(|l| l.overrides.is_some());
    let settings: Vec<Vec<String>> = settings
        .iter()
        .map(|l| {
            let s = &l.setting;
            vec![s.key.clone(), s.value.clone(), s.value_type.clone(), s.description.clone()]
        })
        .collect();
    table(&["key", "value", "type", "description"], &settings);
    if overrides.is_empty() {
        println!("\nno scoped overrides: every run reads the global flags");
        return;
    }
    println!("\nscoped overrides (the most specific wins: user, agent, agent type, percent, global):");
    let overrides: Vec<Vec<String>> = overrides
        .iter()
        .filter_map(|l| {
            let o = l.overrides.as_ref()?;
            let value = match o.scope.kind() {
                "percent" => format!("on for {}% of workflows", l.setting.value),
                _ => l.setting.value.clone(),
            };
            Some(vec![o.flag.clone(), o.scope.to_string(), value, l.setting.updated_at.clone()])
        })
        .collect();
    table(&["flag", "scope", "value", "updated"], &overrides);
}
