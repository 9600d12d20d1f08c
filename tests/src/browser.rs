//! A headless Chromium driven over the Chrome DevTools Protocol, for the
//! console's browser test: a small client on tokio-tungstenite instead of a
//! CDP crate (`chromiumoxide` brings 150 crates and minutes of build for the
//! six commands used here).

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// Debian's `chromium-headless-shell` binary (its `/usr/bin` wrapper does
/// not `exec`, so killing the wrapper would leave the browser running).
pub const CHROMIUM: &str = "/usr/lib/chromium/chromium-headless-shell";
const TIMEOUT: Duration = Duration::from_secs(20);

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, Value>>>>>;

pub struct Browser {
    child: Child,
    profile: PathBuf,
    commands: mpsc::UnboundedSender<Message>,
    pending: Pending,
    next_id: Mutex<u64>,
    events: mpsc::UnboundedReceiver<Value>,
    /// Every URL the page requested, in order.
    pub requests: Arc<Mutex<Vec<String>>>,
    session: Option<String>,
}

impl Browser {
    /// Starts Chromium with a fresh profile, every host but 127.0.0.1
    /// unresolvable, and attaches to a blank page.
    pub async fn launch() -> anyhow::Result<Browser> {
        let profile = std::env::temp_dir().join(format!("pilot-chromium-{}", uuid::Uuid::new_v4()));
        let bin = std::env::var("CHROMIUM_BIN").unwrap_or_else(|_| CHROMIUM.into());
        let mut child = Command::new(bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--remote-debugging-port=0",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--disable-extensions",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "about:blank",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let mut lines = BufReader::new(child.stderr.take().expect("stderr is piped")).lines();
        let url = tokio::time::timeout(TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    return anyhow::Ok(url.trim().to_string());
                }
            }
            anyhow::bail!("chromium exited before printing its DevTools URL")
        })
        .await??;
        // A full stderr pipe would block the browser: drain it as bytes (it need not be UTF-8).
        let mut rest = lines.into_inner();
        tokio::spawn(async move { tokio::io::copy(&mut rest, &mut tokio::io::sink()).await });
        let (socket, _) = tokio_tungstenite::connect_async(url.as_str()).await?;
        let (mut sink, mut stream) = socket.split();
        let (commands, mut outgoing) = mpsc::unbounded_channel::<Message>();
        tokio::spawn(async move {
            while let Some(m) = outgoing.recv().await {
                if sink.send(m).await.is_err() {
                    break;
                }
            }
        });
        let pending: Pending = Arc::default();
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let (event_tx, events) = mpsc::unbounded_channel();
        let (replies, seen) = (pending.clone(), requests.clone());
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                // DevTools answers in text frames; pings and the like are skipped.
                let Message::Text(text) = message else { continue };
                let v: Value = serde_json::from_str(&text).unwrap_or_default();
                if let Some(id) = v["id"].as_u64() {
                    if let Some(reply) = replies.lock().unwrap().remove(&id) {
                        let _ = reply.send(if v["error"].is_null() {
                            Ok(v["result"].clone())
                        } else {
                            Err(v["error"].clone())
                        });
                    }
                    continue;
                }
                if v["method"] == "Network.requestWillBeSent" {
                    seen.lock().unwrap().push(v["params"]["request"]["url"].as_str().unwrap_or("").to_string());
                }
                let _ = event_tx.send(v);
            }
        });
        let mut browser =
            Browser { child, profile, commands, pending, next_id: Mutex::new(0), events, requests, session: None };
        let target = browser.call("Target.createTarget", json!({"url": "about:blank"})).await?;
        let attached =
            browser.call("Target.attachToTarget", json!({"targetId": target["targetId"], "flatten": true})).await?;
        browser.session = attached["sessionId"].as_str().map(str::to_string);
        for domain in ["Page.enable", "Runtime.enable", "Network.enable"] {
            browser.call(domain, json!({})).await?;
        }
        Ok(browser)
    }

    /// Sends a command (to the page once attached) and waits for its result.
    pub async fn call(&self, method: &str, params: Value) -> anyhow::Result<Value> {
        let id = {
            let mut next = self.next_id.lock().unwrap();
            *next += 1;
            *next
        };
        let (reply, answer) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, reply);
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = &self.session {
            message["sessionId"] = json!(session);
        }
        self.commands.send(Message::Text(message.to_string().into()))?;
        tokio::time::timeout(TIMEOUT, answer).await??.map_err(|e| anyhow::anyhow!("{method}: {e}"))
    }

    /// Waits for the next event `method` (others are dropped).
    pub async fn wait_event(&mut self, method: &str) -> anyhow::Result<Value> {
        tokio::time::timeout(TIMEOUT, async {
            while let Some(event) = self.events.recv().await {
                if event["method"] == method {
                    return Ok(event["params"].clone());
                }
            }
            anyhow::bail!("the DevTools connection closed")
        })
        .await?
    }

    /// Loads `url` and waits for its load event.
    pub async fn goto(&mut self, url: &str) -> anyhow::Result<()> {
        let navigated = self.call("Page.navigate", json!({"url": url})).await?;
        if let Some(error) = navigated["errorText"].as_str() {
            anyhow::bail!("navigating to {url}: {error}");
        }
        self.wait_event("Page.loadEventFired").await.map(|_| ())
    }

    /// Runs `script` as the user would cause it (a click, a submit) and waits for the page it loads.
    pub async fn act_and_load(&mut self, script: &str) -> anyhow::Result<()> {
        self.eval(script).await?;
        self.wait_event("Page.loadEventFired").await.map(|_| ())
    }

    /// Evaluates JavaScript in the page (promises awaited) and returns its value.
    pub async fn eval(&self, script: &str) -> anyhow::Result<Value> {
        let result = self
            .call("Runtime.evaluate", json!({"expression": script, "awaitPromise": true, "returnByValue": true}))
            .await?;
        if !result["exceptionDetails"].is_null() {
            anyhow::bail!("script failed: {}", result["exceptionDetails"]);
        }
        Ok(result["result"]["value"].clone())
    }

    /// Sets the viewport's width (a phone's below 600 px) and returns a PNG of the whole page.
    pub async fn screenshot(&self, width: u32) -> anyhow::Result<Vec<u8>> {
        self.set_width(width).await?;
        let shot = self.call("Page.captureScreenshot", json!({"format": "png", "captureBeyondViewport": true})).await?;
        use base64::Engine;
        Ok(base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap_or(""))?)
    }

    /// Sets the viewport's width (a phone's below 600 px).
    pub async fn set_width(&self, width: u32) -> anyhow::Result<()> {
        let metrics = json!({"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": width < 600});
        self.call("Emulation.setDeviceMetricsOverride", metrics).await?;
        // A scrollbar would take its width from the page's.
        self.call("Emulation.setScrollbarsHidden", json!({"hidden": true})).await.map(|_| ())
    }

    /// Closes the browser and waits for it, so it reaps its own processes.
    pub async fn close(mut self) {
        self.session = None;
        let _ = tokio::time::timeout(Duration::from_secs(2), self.call("Browser.close", json!({}))).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
