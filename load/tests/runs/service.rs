//! The real `snackdrawer` binary as a child process on a free loopback port, with cheap password
//! hashing and two-second tokens so snackers have to log in again during a short run.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub struct Service {
    child: Child,
    pub base_url: String,
}

impl Service {
    pub fn start(database_url: &str) -> Self {
        let mut child = Command::new(binary())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("SNACKDRAWER_LISTEN", "127.0.0.1:0")
            .env("SNACKDRAWER_LOG_FORMAT", "json")
            .env("SNACKDRAWER_SCRYPT_LOG_N", "4")
            .env("SNACKDRAWER_TOKEN_TTL", "2")
            // Four users from one address, guessing passwords: the documented load setting.
            .env("SNACKDRAWER_LOGIN_LIMITS", "false")
            // No think time: each user writes as fast as the service answers.
            .env("SNACKDRAWER_WRITE_RATE_PER_USER", "0")
            .env("SNACKDRAWER_JWT_SECRET", "a-test-secret-of-at-least-32-bytes-long")
            .env("DATABASE_URL", database_url)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the snackdrawer binary starts");
        let (address_tx, address_rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            // Read to the end, so the service never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(address) = serving_address(&line) {
                    let _ = address_tx.send(address);
                }
            }
        });
        match address_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(address) => Self { child, base_url: format!("http://{address}") },
            Err(_) => {
                let _ = child.kill();
                panic!("snackdrawer did not say where it serves");
            }
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `target/<profile>/snackdrawer`, next to the `deps/` this test runs from; `cargo test
/// --workspace` builds it for the service's own tests. Built here when missing.
fn binary() -> PathBuf {
    let test_executable = std::env::current_exe().unwrap();
    let profile_directory = test_executable.parent().and_then(|deps| deps.parent()).unwrap();
    let binary = profile_directory.join(format!("snackdrawer{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        eprintln!("{} is missing: building it", binary.display());
        let built = Command::new(env!("CARGO"))
            .args(["build", "-p", "snackdrawer", "--bin", "snackdrawer"])
            .status()
            .expect("cargo runs");
        assert!(built.success(), "cargo build -p snackdrawer failed");
    }
    binary
}

/// The address in the start-up line `{"message":"snackdrawer is serving","address":…}`.
fn serving_address(line: &str) -> Option<String> {
    let entry: serde_json::Value = serde_json::from_str(line).ok()?;
    let serving = entry["message"] == "snackdrawer is serving";
    serving.then(|| entry["address"].as_str().map(str::to_owned))?
}
