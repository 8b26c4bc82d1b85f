//! Headless Chromium driven over WebDriver (Debian's chromium and chromium-driver, installed by
//! `scripts/test.sh`), for the tests that watch the class dashboard: the page must change
//! without a reload, which only a real browser running the page's script can show.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// chromedriver on a free port, killed when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A headless Chromium session with a profile of its own; the driver is stopped when dropped
/// (call [`Chromium::close`] first to end the session cleanly).
pub struct Chromium {
    pub client: fantoccini::Client,
    // Dropped after the client: the session needs its driver.
    _driver: Driver,
    _profile: tempfile::TempDir,
}

impl Chromium {
    /// Start chromedriver and open a browser; it accepts any certificate (the class server's is
    /// self-signed, and this browser runs only the test).
    pub async fn start() -> Chromium {
        let port = crate::harness::free_port();
        let driver = Driver(
            std::process::Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver is missing: run `bash scripts/test.sh`, which installs Debian's chromium-driver"),
        );
        let profile = tempfile::tempdir().unwrap();
        let caps: serde_json::Map<String, Value> = serde_json::from_value(json!({
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--ignore-certificate-errors",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        }))
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            match fantoccini::ClientBuilder::new(
                hyper_util::client::legacy::connect::HttpConnector::new(),
            )
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            {
                Ok(c) => break c,
                Err(e) if Instant::now() > deadline => panic!("chromedriver: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        Chromium {
            client,
            _driver: driver,
            _profile: profile,
        }
    }

    /// Put a mark on the page's window: a reload would lose it ([`Chromium::assert_marked`]).
    pub async fn mark(&self) {
        self.client
            .execute("window.labctlMark = 42; return 1;", vec![])
            .await
            .unwrap();
    }

    /// The mark of [`Chromium::mark`] is still there: the page was never reloaded.
    pub async fn assert_marked(&self) {
        let mark = self
            .client
            .execute("return window.labctlMark;", vec![])
            .await
            .unwrap();
        assert_eq!(mark, json!(42), "the page was reloaded");
    }

    /// Poll `script` (its `return` value) until `done` holds for it, at most `within`.
    pub async fn wait_for(
        &self,
        script: &str,
        within: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let until = Instant::now() + within;
        loop {
            let v = self.client.execute(script, vec![]).await.unwrap();
            if done(&v) {
                return v;
            }
            if Instant::now() > until {
                let page = self.client.source().await.unwrap_or_default();
                panic!("waited {within:?} for `{script}`, last {v}; the page:\n{page}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Wait until the page's source contains `text`.
    pub async fn wait_for_text(&self, text: &str, within: Duration) {
        let script = format!(
            "return document.documentElement.outerHTML.includes({});",
            json!(text)
        );
        self.wait_for(&script, within, |v| v == &json!(true)).await;
    }

    /// A screenshot, kept as `name` in the test binary's scratch folder (CARGO_TARGET_TMPDIR);
    /// returns where.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap();
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        std::fs::write(&out, &png).unwrap();
        assert!(
            png.len() > 10_000,
            "screenshot {} is {} bytes",
            out.display(),
            png.len()
        );
        out
    }

    /// End the session, then the driver.
    pub async fn close(self) {
        self.client.clone().close().await.unwrap();
    }
}
