//! Running the built `cryptolens` binary on fixtures.

use std::path::PathBuf;
use std::process::Command;

/// What one run produced.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

/// Absolute path of a fixture file.
pub fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Runs `cryptolens` with `args`.
pub fn cryptolens(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_cryptolens"))
        .args(args)
        .output()
        .expect("the binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

/// (index, type, direction) of each pattern in a `detect` output.
pub fn keys(v: &serde_json::Value) -> Vec<(u64, String, String)> {
    v["patterns"]
        .as_array()
        .expect("a patterns array")
        .iter()
        .map(|p| {
            (
                p["index"].as_u64().expect("index"),
                p["type"].as_str().expect("type").to_owned(),
                p["direction"].as_str().expect("direction").to_owned(),
            )
        })
        .collect()
}
