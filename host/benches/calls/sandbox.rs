//! The Constant Contact sandbox (release build) with 50 contacts, for the
//! `list-contacts` comparison.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

/// The token the sandbox accepts with every scope.
pub const TOKEN: &str = "bench-token-1f9a0c7e";

/// A running sandbox, stopped when dropped.
pub struct Sandbox {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl Sandbox {
    /// Starts `cc-sandbox` from the same build directory as this benchmark.
    pub fn start() -> anyhow::Result<Sandbox> {
        let exe = std::env::current_exe()?;
        let dir = exe
            .parent()
            .and_then(Path::parent)
            .ok_or_else(|| anyhow::anyhow!("no build directory"))?;
        let binary = dir.join("cc-sandbox");
        anyhow::ensure!(
            binary.exists(),
            "{} is missing: run `make bench` (it builds the release sandbox)",
            binary.display()
        );
        let scopes = "account_read,account_update,contact_data,campaign_data,offline_access";
        let mut child = Command::new(binary)
            .args(["--port", "0", "--no-rate-limit", "--token"])
            .arg(format!("{TOKEN}={scopes}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
        Ok(Sandbox {
            child,
            url: line.trim().to_owned(),
        })
    }

    /// Adds `count` contacts through the API.
    pub fn seed(&self, count: usize) -> anyhow::Result<()> {
        let client = reqwest::blocking::Client::new();
        for i in 0..count {
            let contact = json!({
                "email_address": {"address": format!("person{i}@example.com"), "permission_to_send": "implicit"},
                "first_name": format!("Person{i}"),
                "last_name": "Bench",
                "create_source": "Account",
            });
            let response = client
                .post(format!("{}/v3/contacts", self.url))
                .bearer_auth(TOKEN)
                .json(&contact)
                .send()?;
            anyhow::ensure!(
                response.status().is_success(),
                "seeding: {}",
                response.status()
            );
        }
        Ok(())
    }

    /// The path and query of the last `/v3` request the sandbox saw.
    pub fn last_request(&self) -> anyhow::Result<String> {
        let log: Value =
            reqwest::blocking::get(format!("{}/__sandbox/requests", self.url))?.json()?;
        let last = log
            .as_array()
            .and_then(|a| a.last())
            .ok_or_else(|| anyhow::anyhow!("the sandbox saw no request"))?;
        let path = last["path"].as_str().unwrap_or("/");
        Ok(match last["query"].as_str() {
            Some(q) if !q.is_empty() => format!("{path}?{q}"),
            _ => path.to_owned(),
        })
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
