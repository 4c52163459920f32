//! Accessibility checks with axe-core (Deque's engine, the npm package
//! `axe-core@4`, which `make tools` installs under `tests/node/`), run inside
//! the real Chromium on the page as the browser has it.
//!
//! The page's content-security policy forbids inline script, so axe is not
//! added to the page: WebDriver's execute-script runs it in the page's
//! context from outside (the browser does not apply the page's policy to
//! script the driver sends).

use std::path::PathBuf;

use serde_json::Value;

use crate::browser::Browser;

/// What axe found on one page state: the number of violations per impact,
/// and each violation's rule, impact, help text and the first offending
/// element's selector.
#[derive(Debug, Default, Clone)]
pub struct Audit {
    /// Violations whose impact is `critical`.
    pub critical: usize,
    /// Violations whose impact is `serious`.
    pub serious: usize,
    /// Violations whose impact is `moderate`.
    pub moderate: usize,
    /// Violations whose impact is `minor`.
    pub minor: usize,
    /// `rule (impact): help — selector` per violation.
    pub lines: Vec<String>,
}

impl Audit {
    /// Violations that fail the page: `serious` or `critical`.
    pub fn blocking(&self) -> usize {
        self.critical + self.serious
    }
}

impl std::fmt::Display for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "critical {}, serious {}, moderate {}, minor {}",
            self.critical, self.serious, self.moderate, self.minor
        )?;
        for line in &self.lines {
            write!(f, "\n  {line}")?;
        }
        Ok(())
    }
}

/// axe-core's script, from `tests/node/node_modules/axe-core/axe.min.js`.
fn script() -> String {
    let path: PathBuf = crate::root().join("tests/node/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core is not installed ({}: {e})\nhint: run `make tools` (npm install --prefix tests/node axe-core@4)",
            path.display()
        )
    })
}

/// Runs axe-core (WCAG 2 A and AA rules and axe's best practices) on the
/// page `browser` shows now.
pub fn audit(browser: &Browser) -> Audit {
    let loaded = browser.execute(&format!(
        "{}\n;return typeof window.axe === 'object' ? 'ok' : 'missing';",
        script()
    ));
    assert_eq!(loaded, "ok", "axe-core did not load into the page");
    let result = browser.execute_async(
        "const done = arguments[arguments.length - 1];
         window.axe.run(document, { resultTypes: ['violations'] })
           .then((r) => done(r.violations.map((v) => ({
             id: v.id, impact: v.impact, help: v.help,
             target: v.nodes.length ? String(v.nodes[0].target) : '', nodes: v.nodes.length }))))
           .catch((e) => done({ error: String(e) }));",
    );
    assert!(result.get("error").is_none(), "axe-core failed: {result}");
    summarise(result.as_array().cloned().unwrap_or_default())
}

fn summarise(violations: Vec<Value>) -> Audit {
    let mut audit = Audit::default();
    for v in violations {
        let impact = v["impact"].as_str().unwrap_or("minor");
        match impact {
            "critical" => audit.critical += 1,
            "serious" => audit.serious += 1,
            "moderate" => audit.moderate += 1,
            _ => audit.minor += 1,
        }
        audit.lines.push(format!(
            "{} ({impact}, {} elements): {} — {}",
            v["id"].as_str().unwrap_or("?"),
            v["nodes"],
            v["help"].as_str().unwrap_or(""),
            v["target"].as_str().unwrap_or("")
        ));
    }
    audit
}
