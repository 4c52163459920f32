//! Polls spend the application's allowance like calls: many subscriptions
//! on connections of one Constant Contact app, all due at once, stay inside
//! the API's per-second limit, so the sandbox (whose limit is on) never
//! answers 429.

use std::time::{Duration, Instant};

use connector_tests::recorder::Recorder;
use connector_tests::serve::Serve;
use connector_tests::*;
use serde_json::{json, Value};

/// Every trigger that needs no setting.
const TRIGGERS: [&str; 7] = [
    "contact-created",
    "contact-updated",
    "contact-deleted",
    "contact-unsubscribed",
    "campaign-scheduled",
    "campaign-sent",
    "bulk-activity-finished",
];

#[test]
fn many_subscriptions_on_one_app_never_make_the_api_answer_429() {
    let sandbox = Sandbox::start();
    let hook = Recorder::start(200, json!({}));
    let config = format!(
        "{}[events]\nwebhook_destinations = [\"{}\"]\ntick_ms = 100\n",
        crate::serve::endpoints(&sandbox),
        hook.url
    );
    let serve = Serve::start(&config, &[]);
    // Three accounts connected through one app (one API key, one allowance).
    let connections = ["north", "south", "west"];
    for name in connections {
        let text = format!(
            "connector = {:?}\n[fields]\nclient_id = \"demo-client\"\nclient_secret = \"{}\"\n[token]\naccess_token = \"{TOKEN}\"\n[endpoints]\n\"https://api.cc.email\" = \"{}\"\n",
            component("cc_connector").display().to_string(),
            CANARIES[1],
            sandbox.url
        );
        std::fs::write(serve.connection_file(name), text).unwrap();
    }
    let mut subscriptions = Vec::new();
    for name in connections {
        for trigger in TRIGGERS {
            let body = json!({"trigger": trigger, "url": format!("{}/hook", hook.url)});
            let path = format!("/api/connections/{name}/subscriptions");
            let created = serve.call("POST", &path, Some(&body));
            assert_eq!(created.status, 201, "{created:#?}");
            subscriptions.push(format!("{path}/{}", created.json["id"].as_str().unwrap()));
        }
    }
    // Each is due at once: 21 first polls, one request each at least.
    let polls = subscriptions.len();
    let answered = |sandbox: &Sandbox| -> Vec<Value> {
        let requests = sandbox.requests();
        requests
            .into_iter()
            .filter(|r| r["status"].is_u64())
            .collect()
    };
    let until = Instant::now() + Duration::from_secs(60);
    while answered(&sandbox).len() < polls {
        assert!(
            Instant::now() < until,
            "only {} polls in 60 s",
            answered(&sandbox).len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let requests = answered(&sandbox);
    let statuses: Vec<u64> = requests
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let at: Vec<f64> = requests
        .iter()
        .map(|r| r["at_ms"].as_f64().unwrap())
        .collect();
    let busiest = at
        .iter()
        .map(|start| {
            at.iter()
                .filter(|t| **t >= *start && **t < start + 1000.0)
                .count()
        })
        .max()
        .unwrap();
    assert!(
        busiest <= 4,
        "{busiest} requests in one second: the app allows 4"
    );
    for path in &subscriptions {
        let view = serve.call("GET", path, None).json;
        assert_eq!(view["last_error"], Value::Null, "{view}");
    }
}
