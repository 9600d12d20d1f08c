//! The console in a real browser: headless Chromium signs in, follows a run
//! to its steps and checks the figures against the database, changes a
//! scoped flag and sees the next run follow it, checks that no request left
//! the host, and keeps screenshots at 1280 and 390 px (under
//! `target/console-screenshots/`).

use crate::replicas::{Replica, TOKEN, example_workflow, handlers_dir, scratch};
use integration_tests::browser::{Browser, CHROMIUM};
use integration_tests::{missing_tool, pilot, repo};
use serde_json::Value;

const WIDTHS: [u32; 2] = [1280, 390];

async fn post(base: &str, agent: &str, workflow_id: &str) -> Value {
    let mut doc: Value = serde_json::from_str(&example_workflow()).unwrap();
    doc["agent_id"] = agent.into();
    doc["id"] = workflow_id.into();
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/workflows"))
        .bearer_auth(TOKEN)
        .body(doc.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.json().await.unwrap()
}

/// Screenshots of the current page at both widths, kept as test artifacts;
/// at 390 px the page itself must not scroll sideways (wide tables scroll in their frames).
async fn shoot(browser: &Browser, name: &str) {
    let dir = repo().join("target/console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    for width in WIDTHS {
        let png = browser.screenshot(width).await.unwrap();
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), width, "{name} at {width} px");
        std::fs::write(dir.join(format!("{name}-{width}.png")), &png).unwrap();
        let overflow = browser.eval("document.documentElement.scrollWidth - window.innerWidth").await.unwrap();
        assert!(overflow.as_i64().unwrap() <= 0, "{name} scrolls sideways at {width} px by {overflow} px");
    }
    browser.set_width(1280).await.unwrap();
}

fn sum_tokens(database: &str, execution: &str) -> i64 {
    let db = rusqlite::Connection::open(database).unwrap();
    db.query_row("SELECT COALESCE(SUM(tokens_used), 0) FROM token_usage WHERE execution_id = ?1", [execution], |r| {
        r.get(0)
    })
    .unwrap()
}

fn count(database: &str, sql: &str) -> i64 {
    rusqlite::Connection::open(database).unwrap().query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Each line of a run's steps table, (step, tokens, dollars), against its `token_usage` rows.
async fn check_steps_against_the_database(browser: &Browser, database: &str, execution: &str) {
    let shown = browser
        .eval(
            "[...document.querySelectorAll('tr')].filter(tr => tr.querySelector('[data-step]')).map(tr =>
               [tr.querySelector('[data-step]').textContent, Number(tr.querySelector('[data-tokens]').textContent),
                Number(tr.querySelector('[data-cost]').dataset.cost)])",
        )
        .await
        .unwrap();
    let db = rusqlite::Connection::open(database).unwrap();
    let rows: Vec<(String, i64, f64)> = db
        .prepare("SELECT COALESCE(step_id, '(orchestrator)'), tokens_used, cost FROM token_usage WHERE execution_id = ?1 ORDER BY id")
        .unwrap()
        .query_map([execution], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let shown: Vec<(String, i64, f64)> = shown
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l[0].as_str().unwrap().to_string(), l[1].as_i64().unwrap(), l[2].as_f64().unwrap()))
        .collect();
    assert!(!rows.is_empty());
    assert_eq!(shown.len(), rows.len(), "{shown:?} against {rows:?}");
    for (s, r) in shown.iter().zip(&rows) {
        assert_eq!((&s.0, s.1), (&r.0, r.1), "{shown:?} against {rows:?}");
        assert!((s.2 - r.2).abs() < 1e-12, "{shown:?} against {rows:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_browser_follows_runs_and_changes_a_flag() {
    if !std::path::Path::new(CHROMIUM).is_file() && std::env::var("CHROMIUM_BIN").is_err() {
        return missing_tool("headless Chromium (Debian's chromium-headless-shell) is not installed");
    }
    let dir = scratch("console");
    let database = dir.join("pilot.db").display().to_string();
    let server = Replica::start(&database, handlers_dir(), &["--keep-transcripts"], &[]);
    let base = server.base.clone();
    // Orchestration is off globally: the first run is a normal one.
    let normal = post(&base, "agent-support-01", "triage-before").await;
    let normal_id = normal["execution_id"].as_str().unwrap().to_string();

    let mut browser = Browser::launch().await.unwrap();
    browser.goto(&format!("{base}/ui/executions")).await.unwrap();
    let here = browser.eval("location.pathname").await.unwrap();
    assert_eq!(here, "/ui/login", "the console sits behind the token");
    shoot(&browser, "login").await;
    browser.eval("document.querySelector('input[name=token]').value = 'wrong'").await.unwrap();
    browser.act_and_load("document.querySelector('#login').requestSubmit()").await.unwrap();
    let refused = browser.eval("document.querySelector('.err').textContent").await.unwrap();
    assert!(refused.as_str().unwrap().contains("not this server's token"), "{refused}");
    browser.eval(&format!("document.querySelector('input[name=token]').value = '{TOKEN}'")).await.unwrap();
    browser.act_and_load("document.querySelector('#login').requestSubmit()").await.unwrap();
    assert_eq!(browser.eval("location.pathname").await.unwrap(), "/ui/executions");
    shoot(&browser, "executions").await;

    // Follow the run to its steps; its figures are the database's.
    let link = format!("document.querySelector('a[data-run=\"{normal_id}\"]').click()");
    browser.act_and_load(&link).await.unwrap();
    let total = browser.eval("document.querySelector('[data-total-tokens]').textContent").await.unwrap();
    assert_eq!(total.as_str().unwrap().parse::<i64>().unwrap(), sum_tokens(&database, &normal_id));
    check_steps_against_the_database(&browser, &database, &normal_id).await;
    let page = browser.eval("document.body.innerText").await.unwrap();
    let page = page.as_str().unwrap();
    assert!(page.contains("no (global)") && page.contains("normal"), "{page}");
    assert!(page.contains("What the models were sent and answered"), "transcripts are kept: {page}");
    let html = browser.eval("document.documentElement.outerHTML").await.unwrap();
    assert!(!html.as_str().unwrap().contains(TOKEN), "the token is never shown");
    shoot(&browser, "execution").await;

    // Turn orchestration on for this agent in the console.
    browser.goto(&format!("{base}/ui/rollout")).await.unwrap();
    browser
        .eval(
            "const f = document.querySelector('#flag-form');
             f.flag.value = 'orchestration_enabled'; f.scope.value = 'agent';
             f.elements['id'].value = 'agent-support-01'; f.elements['value'].value = 'true';",
        )
        .await
        .unwrap();
    browser.act_and_load("document.querySelector('#flag-form button[value=set]').click()").await.unwrap();
    let banner = browser.eval("(document.querySelector('.ok') || document.body).textContent").await.unwrap();
    assert_eq!(banner, "orchestration_enabled@agent:agent-support-01 = true");
    let scopes = browser.eval("[...document.querySelectorAll('[data-scope]')].map(e => e.textContent)").await.unwrap();
    assert!(scopes.as_array().unwrap().iter().any(|s| s == "agent agent-support-01"), "{scopes}");
    // The same range checks as `pilot flags set`.
    browser.eval("const f = document.querySelector('#flag-form'); f.scope.value = 'percent'; f.elements['value'].value = '150';").await.unwrap();
    browser.act_and_load("document.querySelector('#flag-form button[value=set]').click()").await.unwrap();
    let refused = browser.eval("document.querySelector('.err').textContent").await.unwrap();
    assert!(refused.as_str().unwrap().contains("from 0 to 100, got `150`"), "{refused}");

    // The console changes the rollout flags and nothing else, whoever asks.
    let sneaky = reqwest::Client::new()
        .post(format!("{base}/ui/rollout"))
        .bearer_auth(TOKEN)
        .form(&[
            ("flag", "plugin_crm_url"),
            ("scope", "global"),
            ("value", "https://elsewhere.invalid/"),
            ("action", "set"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(sneaky.status().as_u16(), 422);
    let db = rusqlite::Connection::open(&database).unwrap();
    let written: i64 = db
        .query_row("SELECT COUNT(*) FROM system_settings_config WHERE key = 'plugin_crm_url'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(written, 0, "nothing written");

    // The next run follows the flag (settings snapshots refresh within a second).
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let orchestrated = post(&base, "agent-support-01", "triage-after").await;
    let orchestrated_id = orchestrated["execution_id"].as_str().unwrap().to_string();
    assert!(orchestrated["steps"].as_array().unwrap().iter().all(|s| s["path"] == "orchestrated"), "{orchestrated}");
    browser.goto(&format!("{base}/ui/executions/{orchestrated_id}")).await.unwrap();
    let page = browser.eval("document.body.innerText").await.unwrap();
    assert!(page.as_str().unwrap().contains("yes (agent:agent-support-01)"), "{page}");
    let total = browser.eval("document.querySelector('[data-total-tokens]').textContent").await.unwrap();
    assert_eq!(total.as_str().unwrap().parse::<i64>().unwrap(), sum_tokens(&database, &orchestrated_id));
    check_steps_against_the_database(&browser, &database, &orchestrated_id).await;
    let versions = browser.eval("document.body.innerText").await.unwrap();
    assert!(versions.as_str().unwrap().contains("summarize 0.1.0"), "handler and version: {versions}");

    // The list filters in the database: by agent, by cost (a bad amount is said, not ignored).
    browser.goto(&format!("{base}/ui/executions?agent=support-01&min_cost=abc")).await.unwrap();
    let refused = browser.eval("document.querySelector('.err').textContent").await.unwrap();
    assert!(refused.as_str().unwrap().contains("`abc` is not an amount"), "{refused}");
    browser.goto(&format!("{base}/ui/executions")).await.unwrap();
    browser
        .eval("const f = document.querySelector('#filters'); f.agent.value = 'support-01'; f.min_cost.value = '0.001';")
        .await
        .unwrap();
    browser.act_and_load("document.querySelector('#filters').requestSubmit()").await.unwrap();
    let listed = browser.eval("document.querySelectorAll('a[data-run]').length").await.unwrap();
    let expected = count(
        &database,
        "SELECT COUNT(*) FROM executions e WHERE instr(agent_id, 'support-01') > 0
           AND (SELECT SUM(cost) FROM token_usage u WHERE u.execution_id = e.id) >= 0.001",
    );
    assert_eq!(listed.as_i64(), Some(expected));

    browser.goto(&format!("{base}/ui/rollout")).await.unwrap();
    let runs = browser.eval("document.querySelector('[data-runs-orchestrated]').textContent").await.unwrap();
    let orchestrated_runs = count(&database, "SELECT COUNT(*) FROM executions WHERE orchestrated = 1");
    assert_eq!(runs, orchestrated_runs.to_string(), "the comparison counts the orchestrated runs");
    let charts = browser.eval("document.querySelectorAll('figure svg').length").await.unwrap();
    assert_eq!(charts, 4, "tokens, cost, p50 and p95 latency");
    let axis = browser.eval("document.querySelector('figure svg').textContent").await.unwrap();
    assert!(axis.as_str().unwrap().contains("tokens per step"), "the chart names its unit: {axis}");
    shoot(&browser, "rollout").await;
    // The randomised comparison: no run here was decided by a percentage.
    browser.act_and_load("document.querySelector('#percentage-only').click()").await.unwrap();
    let runs = browser.eval("document.querySelector('[data-runs-orchestrated]').textContent").await.unwrap();
    let by_percentage = count(
        &database,
        "SELECT COUNT(*) FROM executions WHERE orchestrated = 1 AND flag_scope IN ('percent', 'outside_percent')",
    );
    assert_eq!(runs, by_percentage.to_string());
    browser.goto(&format!("{base}/ui/rollout")).await.unwrap();
    // At 390 px a chart's labels stay readable (10 px or more).
    browser.set_width(390).await.unwrap();
    let label = browser
        .eval("Math.min(...[...document.querySelectorAll('figure svg text')].map(t => t.getBoundingClientRect().height).filter(h => h > 0))")
        .await
        .unwrap();
    assert!(label.as_f64().unwrap() >= 10.0, "chart labels at 390 px are {label} px high");
    browser.set_width(1280).await.unwrap();

    // Each override has its own Remove; the change is audited as the console's.
    browser.act_and_load("document.querySelector('form.row-action button').click()").await.unwrap();
    let banner = browser.eval("(document.querySelector('.ok') || document.body).textContent").await.unwrap();
    assert_eq!(banner, "orchestration_enabled@agent:agent-support-01 removed");
    // Audit rows are committed in batches, within 100 ms.
    let audited = || {
        count(
            &database,
            "SELECT COUNT(*) FROM audit_log WHERE event_type = 'SETTING_CHANGED' AND source = 'console'
               AND json_extract(metadata, '$.key') = 'orchestration_enabled@agent:agent-support-01'",
        )
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while audited() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(audited(), 2, "the set and the removal");

    // A file that is not a component is refused; the page says which and why.
    std::fs::write(server.handlers.join("broken.wasm"), b"not a component").unwrap();
    let reload =
        reqwest::Client::new().post(format!("{base}/v1/handlers/reload")).bearer_auth(TOKEN).send().await.unwrap();
    assert!(reload.status().is_success() || reload.status().as_u16() == 422, "{}", reload.status());
    browser.goto(&format!("{base}/ui/handlers")).await.unwrap();
    let page = browser.eval("document.body.innerText").await.unwrap();
    let page = page.as_str().unwrap();
    assert!(page.contains("extract") && page.contains("active") && page.contains("0.1.0"), "{page}");
    assert!(page.contains("optimized") || page.contains("baseline"), "the code tier: {page}");
    assert!(page.contains("rejected") && page.contains("broken.wasm"), "{page}");
    shoot(&browser, "handlers").await;

    let requests = browser.requests.lock().unwrap().clone();
    assert!(requests.len() >= 10, "{requests:?}");
    let off_host: Vec<&String> = requests.iter().filter(|u| !u.starts_with(&format!("{base}/"))).collect();
    assert!(off_host.is_empty(), "requests left the host: {off_host:?}");
    browser.close().await;
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `pilot flags set` in another process reaches a running server within a
/// settings snapshot's life (one second), as global settings do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scoped_flag_set_by_another_process_reaches_a_running_server() {
    let dir = scratch("snapshot");
    let database = dir.join("pilot.db").display().to_string();
    let server = Replica::start(&database, handlers_dir(), &[], &[]);
    let before = post(&server.base, "agent-support-01", "wf-snapshot").await;
    assert!(before["steps"].as_array().unwrap().iter().all(|s| s["path"] == "fallback"), "{before}");
    let out = std::process::Command::new(pilot())
        .args(["flags", "set", "orchestration_enabled", "true", "--agent", "agent-support-01"])
        .env("PILOT_DB", &database)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let after = post(&server.base, "agent-support-01", "wf-snapshot").await;
    assert!(after["steps"].as_array().unwrap().iter().all(|s| s["path"] == "orchestrated"), "{after}");
    let scope: String = rusqlite::Connection::open(&database)
        .unwrap()
        .query_row("SELECT flag_scope FROM executions WHERE id = ?1", [after["execution_id"].as_str().unwrap()], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(scope, "agent:agent-support-01");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
