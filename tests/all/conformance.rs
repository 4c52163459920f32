//! Every request the connector sends, checked against the official OpenAPI
//! document (`tests/fixtures/constant-contact-v3.swagger.yaml`): the path and
//! method exist, the query parameters are declared and within bounds, the body
//! validates against the operation's schema, and no `readOnly` field is sent.
//!
//! The requests are those of the fixture run (`activities`), which calls every
//! activity the connector describes; the sandbox logs each with its body.

use connector_tests::openapi::{Spec, ERRATA, REMOVED};
use connector_tests::*;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::activities::fixture_run;

/// The official document, version 3.0.172, as kept beside the fixtures (a copy
/// of `shared/reference/constant-contact-v3.swagger.yaml`).
fn spec() -> Spec {
    Spec::load(&root().join("tests/fixtures/constant-contact-v3.swagger.yaml"))
}

fn check(spec: &Spec, request: &Value) -> Vec<String> {
    spec.check(
        request["method"].as_str().unwrap(),
        request["path"].as_str().unwrap(),
        request["query"].as_str(),
        &request["body"],
    )
}

#[test]
fn every_request_of_the_fixture_run_conforms_to_the_spec() {
    let spec = spec();
    let run = fixture_run();
    let mut violations = Vec::new();
    for (step, request) in &run.requests {
        violations.extend(
            check(&spec, request)
                .into_iter()
                .map(|v| format!("{step}: {v}")),
        );
    }
    eprintln!(
        "conformance: {} requests of {} activities checked, {} violations ({} errata applied)",
        run.requests.len(),
        run.covered.len(),
        violations.len(),
        ERRATA.len() + REMOVED.len()
    );
    assert!(
        run.requests.len() > run.covered.len(),
        "too few requests were logged"
    );
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

/// The fixture runs (both connectors) reach every operation of the document:
/// the figure by area is printed, and an operation no fixture reaches fails.
#[test]
fn the_fixture_run_covers_every_operation_of_the_document() {
    let spec = spec();
    let all = spec.operations();
    let covered: BTreeSet<String> = fixture_run()
        .requests
        .iter()
        .filter_map(|(_, r)| {
            spec.operation(r["method"].as_str().unwrap(), r["path"].as_str().unwrap())
        })
        .collect();
    let mut by_area: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for operation in &all {
        let entry = by_area.entry(spec.area(operation)).or_default();
        entry.1 += 1;
        entry.0 += usize::from(covered.contains(operation));
    }
    for (area, (done, of)) in &by_area {
        eprintln!("coverage: {area}: {done} of {of}");
    }
    eprintln!("coverage: {} of {} operations", covered.len(), all.len());
    let uncovered: Vec<&String> = all.difference(&covered).collect();
    assert!(uncovered.is_empty(), "no fixture reaches {uncovered:#?}");
}

#[test]
fn the_checker_reports_each_kind_of_violation() {
    let spec = spec();
    let id = "3f2c1c3e-5d5e-4b8e-9a55-000000000000";
    let cases = [
        (
            json!({"method": "GET", "path": "/v3/nowhere", "body": null}),
            "no path of the document matches",
        ),
        (
            json!({"method": "PATCH", "path": "/v3/contacts", "body": null}),
            "has no PATCH operation",
        ),
        (
            json!({"method": "GET", "path": "/v3/contacts", "query": "limit=501", "body": null}),
            "limit=501 is outside 1..500",
        ),
        (
            json!({"method": "GET", "path": "/v3/contacts", "query": "colour=red", "body": null}),
            "query parameter colour is not declared",
        ),
        (
            json!({"method": "GET", "path": "/v3/contacts", "query": "status=gone", "body": null}),
            "status=gone is not one of its enum",
        ),
        (
            json!({"method": "GET", "path": "/v3/contacts", "query": "updated_after=yesterday", "body": null}),
            "is not a date-time",
        ),
        (
            json!({"method": "GET", "path": "/v3/contact_tags/not-a-uuid", "body": null}),
            "tag_id=not-a-uuid is not a uuid",
        ),
        (
            json!({"method": "POST", "path": "/v3/contact_tags", "body": {"name": "x".repeat(256)}}),
            "body.name has 256 characters",
        ),
        (
            json!({"method": "POST", "path": "/v3/contact_tags", "body": {}}),
            "body.name is required",
        ),
        (
            json!({"method": "POST", "path": "/v3/contact_lists", "body": {"name": "L", "list_id": id}}),
            "body.list_id is not a property",
        ),
        (
            json!({"method": "PUT", "path": format!("/v3/emails/activities/{id}"),
                "body": {"from_email": "a@b.c", "from_name": "A", "reply_to_email": "a@b.c", "subject": "s", "role": "primary_email"}}),
            "body.role is read-only",
        ),
        (
            json!({"method": "GET", "path": "/v3/contacts", "body": {"x": 1}}),
            "the operation takes none",
        ),
        (
            json!({"method": "POST", "path": "/v3/activities/contact_delete", "body": {"contact_ids": "one"}}),
            "is not of type array",
        ),
    ];
    for (request, expected) in cases {
        let problems = check(&spec, &request);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{request}: expected a problem containing {expected:?}, got {problems:?}"
        );
    }
    let good = json!({"method": "GET", "path": "/v3/contacts", "query": "limit=50&include=taggings,notes", "body": null});
    assert_eq!(check(&spec, &good), Vec::<String>::new());
}

/// A `multipart/form-data` upload (logged as text) is checked against the
/// operation's `formData` parameters, and a csv query against its `maxItems`.
#[test]
fn the_checker_reads_form_fields_and_csv_item_counts() {
    let spec = spec();
    let path = "/v3/activities/contacts_file_import";
    let form = |fields: &[(&str, &str)]| {
        let parts: String = fields
            .iter()
            .map(|(name, value)| {
                format!("--b\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
            })
            .collect();
        json!({"method": "POST", "path": path, "body": format!("{parts}--b--\r\n")})
    };
    let good = form(&[("file", "email\na@b.c"), ("list_ids", "x")]);
    assert_eq!(check(&spec, &good), Vec::<String>::new());
    let lists = vec!["x"; 51].join(",");
    for (request, expected) in [
        (
            form(&[("list_ids", "x")]),
            "required form field \"file\" is missing",
        ),
        (
            form(&[("file", "e"), ("list_ids", "x"), ("colour", "red")]),
            "form field colour is not declared",
        ),
        (
            form(&[
                ("file", "e"),
                ("list_ids", "x"),
                ("sms_permission_to_send", "maybe"),
            ]),
            "is not one of its enum",
        ),
        (
            form(&[("file", "e"), ("list_ids", &lists)]),
            "more than its maxItems",
        ),
    ] {
        let problems = check(&spec, &request);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "expected {expected:?}, got {problems:?}"
        );
    }
    let ids = vec!["1"; 501].join(",");
    let xrefs = json!({"method": "GET", "path": "/v3/contacts/contact_id_xrefs",
        "query": format!("sequence_ids={ids}"), "body": null});
    assert!(check(&spec, &xrefs)
        .iter()
        .any(|p| p.contains("more than its maxItems")));
}
