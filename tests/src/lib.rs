//! Test harness: builds the components once per run (through the project's
//! own build script), lays out a private handlers directory and database per
//! test, and serves loopback mocks of Anthropic's Messages API and of
//! OpenAI-compatible Chat Completions.

pub mod browser;
pub mod mock_anthropic;
pub mod mock_api;
pub mod mock_openai;
pub mod simulated_messages_api;

use host_runner::storage::Db;
use host_runner::{Host, HostBuilder, ProviderChoice, Workflow};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// `target/components`, built by `scripts/build-components.sh` once per test process.
pub fn components() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let status = Command::new(repo().join("scripts/build-components.sh"))
            .status()
            .expect("running scripts/build-components.sh");
        assert!(status.success(), "building the components failed");
        repo().join("target/components")
    })
}

/// A Python handler built by `scripts/build-python-handlers.sh`
/// (`target/components/python/NAME.wasm`); `None` only when componentize-py
/// could not be installed (no PyPI), and then see [`missing_tool`].
pub fn python_handler(name: &str) -> Option<PathBuf> {
    let path = components().join("python").join(format!("{name}.wasm"));
    if path.is_file() {
        return Some(path);
    }
    let installed = repo().join("target/python-venv/bin/componentize-py").is_file();
    assert!(!installed, "componentize-py is installed but {} was not built", path.display());
    missing_tool(&format!("componentize-py could not be installed from PyPI, so {name}.wasm is not built"));
    None
}

/// A test needs a tool this machine lacks (`why`): locally the test is
/// skipped, saying why on stderr; under CI (`CI` set, and not `false` or
/// `0`), where `.ci/run` installs every tool, it fails instead of passing
/// without having run.
pub fn missing_tool(why: &str) {
    let on_ci =
        std::env::var("CI").is_ok_and(|v| !matches!(v.trim().to_ascii_lowercase().as_str(), "" | "0" | "false"));
    assert!(!on_ci, "{why}: under CI every tool must be installed, so this test fails rather than skip");
    eprintln!("skipped: {why}");
}

/// A private directory with its own database and handlers.
pub struct Sandbox {
    pub dir: PathBuf,
    /// The host database: `pilot.db` in the directory, or a Postgres URL.
    database: String,
}

impl Sandbox {
    /// Copies the named production handlers and test guests into a fresh handlers dir.
    pub fn new(handlers: &[&str], guests: &[&str]) -> Sandbox {
        let built = components();
        let dir = std::env::temp_dir().join(format!("pilot-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("handlers")).unwrap();
        for name in handlers {
            std::fs::copy(built.join(format!("handlers/{name}.wasm")), dir.join(format!("handlers/{name}.wasm")))
                .unwrap();
        }
        for name in guests {
            std::fs::copy(built.join(format!("test-guests/{name}.wasm")), dir.join(format!("handlers/{name}.wasm")))
                .unwrap();
        }
        let database = dir.join("pilot.db").display().to_string();
        Sandbox { dir, database }
    }

    /// The same, on a fresh database of the throwaway Postgres server the
    /// tests of this process share.
    pub fn on_postgres(handlers: &[&str]) -> Sandbox {
        let mut sandbox = Sandbox::new(handlers, &[]);
        let server = host_runner::storage::throwaway::ThrowawayPostgres::shared().unwrap();
        sandbox.database = server.create_database().unwrap();
        sandbox
    }

    /// The three production handlers of the vertical slice.
    pub fn standard() -> Sandbox {
        Sandbox::new(&["summarize", "extract", "transform"], &[])
    }

    /// The host database's location (a file path or a Postgres URL).
    pub fn database(&self) -> &str {
        &self.database
    }

    pub fn handlers_dir(&self) -> PathBuf {
        self.dir.join("handlers")
    }

    /// Writes the manifest of a handler in the sandbox (`NAME.toml` beside `NAME.wasm`).
    pub fn manifest(&self, handler_file_stem: &str, toml: &str) {
        std::fs::write(self.handlers_dir().join(format!("{handler_file_stem}.toml")), toml).unwrap();
    }

    pub fn db(&self) -> Db {
        Db::open(&self.database).unwrap()
    }

    pub fn set(&self, key: &str, value: &str) {
        self.db().set_setting(key, value).unwrap();
    }

    /// A builder for this sandbox with the simulated provider.
    pub fn builder(&self) -> HostBuilder {
        Host::builder()
            .database(self.database.clone())
            .components_dir(components())
            .handlers_dir(self.handlers_dir())
            .provider(ProviderChoice::Simulated(Duration::ZERO))
    }

    pub async fn host(&self) -> Host {
        self.builder().build().await.unwrap()
    }

    /// A host for this sandbox whose provider is a loopback Messages API server.
    /// A host calling a mock of Anthropic's Messages API.
    pub async fn host_on(&self, mock: &mock_api::MockApi) -> Host {
        let provider = ProviderChoice::Anthropic { base_url: mock.base_url.clone(), api_key: "sk-ant-test".into() };
        self.builder().provider(provider).build().await.unwrap()
    }

    /// A host calling a mock of an OpenAI-compatible Chat Completions API.
    pub async fn host_on_openai(&self, mock: &mock_api::MockApi) -> Host {
        let provider = ProviderChoice::OpenAi { base_url: format!("{}/v1", mock.base_url), api_key: "sk-test".into() };
        self.builder().provider(provider).build().await.unwrap()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An example workflow from `examples/`.
pub fn example(name: &str) -> Workflow {
    let path = repo().join("examples").join(name);
    Workflow::parse(&std::fs::read_to_string(&path).unwrap(), &path.display().to_string()).unwrap()
}

/// The `pilot` binary of the same profile as the running test.
pub fn pilot() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("pilot");
    assert!(bin.is_file(), "{} is missing: build it first (`make test` does)", bin.display());
    bin
}

/// A scratch directory with its own database, removed when dropped; runs
/// the `pilot` binary against it and the built components.
pub struct Dir(pub PathBuf);

impl Default for Dir {
    fn default() -> Self {
        Dir::new()
    }
}

impl Dir {
    pub fn new() -> Dir {
        let dir = std::env::temp_dir().join(format!("pilot-cli-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    pub fn pilot(&self, args: &[&str]) -> Output {
        Command::new(pilot())
            .args(args)
            .env("PILOT_DB", self.0.join("pilot.db"))
            .env("PILOT_COMPONENTS", components())
            .env_remove("ANTHROPIC_API_KEY")
            .env_remove("PILOT_HANDLERS")
            .output()
            .unwrap()
    }

    pub fn write(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A command's stderr, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
