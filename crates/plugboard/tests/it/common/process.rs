//! A `plugboard serve` a test starts with its own flags and environment (nothing inherited
//! from `PLUGBOARD_*`), for the tests of configuration precedence, logging and shutdown that
//! [`super::TestApp`]'s fixed command line cannot express.

#![allow(clippy::unwrap_used)]

/// A `plugboard serve` started by a test with its own flags and environment.
pub struct Proc {
    pub child: std::process::Child,
    pub addr: String,
    pub bootstrap: serde_json::Value,
}

impl Proc {
    /// Start `plugboard serve <args>` with `env` (and nothing inherited from PLUGBOARD_*);
    /// `data_dir` is where it is expected to write `listen-addr` and `bootstrap.json`.
    pub async fn start(args: &[&str], env: &[(&str, &str)], data_dir: &std::path::Path) -> Proc {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"));
        cmd.arg("serve").args(args);
        for (k, _) in std::env::vars() {
            if k.starts_with("PLUGBOARD_") {
                cmd.env_remove(k);
            }
        }
        cmd.envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let addr = loop {
            if let Ok(text) = std::fs::read_to_string(data_dir.join("listen-addr")) {
                if text.ends_with('\n') {
                    break text.trim().to_string();
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("plugboard exited early: {status}");
            }
            assert!(
                std::time::Instant::now() < deadline,
                "plugboard did not start"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        let bootstrap = serde_json::from_str(
            &std::fs::read_to_string(data_dir.join("bootstrap.json")).unwrap(),
        )
        .unwrap();
        Proc {
            child,
            addr,
            bootstrap,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn b(&self, key: &str) -> String {
        self.bootstrap[key].as_str().unwrap().to_string()
    }

    pub fn term(&self) {
        std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
    }

    /// SIGTERM, then the exit code, the time it took and stderr.
    pub fn stop(self) -> (Option<i32>, std::time::Duration, String) {
        let at = std::time::Instant::now();
        self.term();
        let out = self.child.wait_with_output().unwrap();
        (
            out.status.code(),
            at.elapsed(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}
