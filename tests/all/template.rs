//! `make new-connector`: the crate it writes builds to a component the host
//! loads and describes. The crate goes to a temporary directory, outside the
//! workspace (a workspace of its own, as a plugin author's repository would be),
//! and builds in Cargo's usual output directory with the workspace's lock file,
//! so the SDK's dependencies are not built again.

use std::process::Command;

use connector_tests::*;

#[test]
fn new_connector_writes_a_crate_that_builds_and_describes_itself() {
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = dir.path().join("weather");
    let made = Command::new("make")
        .current_dir(root())
        .args(["--no-print-directory", "new-connector", "NAME=weather"])
        .arg("ORIGIN=https://api.weather.example")
        .arg(format!("DIR={}", crate_dir.display()))
        .output()
        .expect("run make new-connector");
    let said = String::from_utf8_lossy(&made.stdout);
    assert!(made.status.success(), "{made:?}");
    assert!(
        said.contains("cargo build --target wasm32-wasip2 --profile component"),
        "{said}"
    );
    for file in [
        "Cargo.toml",
        "wit/weather.wit",
        "src/lib.rs",
        "src/items.rs",
    ] {
        assert!(crate_dir.join(file).exists(), "{file} was not written");
    }
    // Run twice, it refuses to overwrite the crate.
    let again = Command::new("bash")
        .arg(root().join("connector/sdk/new-connector.sh"))
        .args(["weather", "https://api.weather.example"])
        .arg(&crate_dir)
        .output()
        .unwrap();
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("exists"));
    std::fs::copy(root().join("Cargo.lock"), crate_dir.join("Cargo.lock")).unwrap();
    let built = Command::new(env!("CARGO"))
        .current_dir(&crate_dir)
        .args([
            "build",
            "--quiet",
            "--target",
            "wasm32-wasip2",
            "--profile",
            "component",
        ])
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .expect("run cargo build");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let described = host(&[
        "describe",
        &component("weather_connector").display().to_string(),
        "--json",
    ])
    .ok();
    assert_eq!(described["name"], "weather");
    assert_eq!(
        described["egress_origins"],
        serde_json::json!(["https://api.weather.example"])
    );
    let names: Vec<&str> = described["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["get-item", "list-items"]);
    assert!(described["activities"][1]["input_schema"]["properties"]["cursor"].is_object());
}
