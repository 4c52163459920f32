//! The Constant Contact triggers against the sandbox, through the library's
//! one pipeline (`Session::poll`): each change made with the connector's own
//! activities is reported exactly once, with an id that stays the same when
//! the same change is read again; a poll with the checkpoint it returned finds
//! nothing new; changes sharing a millisecond are neither lost nor repeated;
//! a backlog longer than one poll reads comes over several (`more`); and every
//! request a trigger sends conforms to the official OpenAPI document.

use connector_host::{PollRequest, Polled, Runtime, Session};
use connector_tests::openapi::Spec;
use connector_tests::*;
use serde_json::{json, Map, Value};

/// A sandbox, a connection to it and a session over that connection.
struct Fixture {
    sandbox: Sandbox,
    _connection: ConnectionFile,
    _runtime: Runtime,
    session: Session,
}

impl Fixture {
    async fn start() -> Fixture {
        let sandbox = Sandbox::start();
        let connection = ConnectionFile::constant_contact(&sandbox);
        let runtime = Runtime::new().expect("a runtime");
        let session = Session::open(&runtime, &connection.path)
            .await
            .expect("open the session");
        Fixture {
            sandbox,
            _connection: connection,
            _runtime: runtime,
            session,
        }
    }

    async fn call(&self, activity: &str, input: Value) -> Value {
        self.session
            .call(activity, &input)
            .await
            .unwrap_or_else(|e| panic!("{activity}: {e:#}"))
    }

    async fn poll(&self, trigger: &str, checkpoint: Option<&str>, settings: &Value) -> Polled {
        let request = PollRequest {
            checkpoint: checkpoint.map(str::to_owned),
            since: None,
            settings: settings.as_object().cloned().unwrap_or_else(Map::new),
        };
        self.session
            .poll(trigger, &request)
            .await
            .unwrap_or_else(|e| panic!("{trigger}: {e:#}"))
    }

    /// A first poll (nothing reported), then `change`, then the polls that must
    /// report exactly `expected` (event ids) and then nothing more. Returns the
    /// events.
    async fn expect_once(
        &self,
        trigger: &str,
        settings: Value,
        change: impl std::future::Future<Output = Vec<String>>,
    ) -> Vec<Value> {
        let first = self.poll(trigger, None, &settings).await;
        assert!(
            first.events.is_empty(),
            "{trigger}: a first poll reports nothing"
        );
        // A second on, so the change cannot share a millisecond with the set-up
        // (two changes of one record in one millisecond look like one to any
        // poll; the test of shared milliseconds is below).
        self.sandbox.control("clock", json!({"advance_seconds": 1}));
        let expected = change.await;
        let found = self.poll(trigger, Some(&first.checkpoint), &settings).await;
        let ids: Vec<&str> = found.events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, expected, "{trigger}");
        // The same checkpoint read again gives the same events, same ids.
        let again = self.poll(trigger, Some(&first.checkpoint), &settings).await;
        let again: Vec<&str> = again.events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(again, ids, "{trigger}: ids are stable");
        let after = self.poll(trigger, Some(&found.checkpoint), &settings).await;
        assert!(after.events.is_empty(), "{trigger}: {:?}", after.events);
        assert!(!found.more && !after.more);
        for event in &found.events {
            assert_eq!(event.data["occurred_at"], json!(event.occurred_at));
        }
        found.events.iter().map(|e| e.data.clone()).collect()
    }

    async fn contact(&self, email: &str, lists: &[&str]) -> Value {
        let mut input = json!({"email_address": {"address": email}, "create_source": "account"});
        if !lists.is_empty() {
            input["list_memberships"] = json!(lists);
        }
        self.call("create-contact", input).await
    }

    /// The id an event for the campaign's current state has.
    async fn campaign_change(&self, id: &str) -> String {
        let got = self
            .call("get-email-campaign", json!({"campaign_id": id}))
            .await;
        id_at(
            &got["campaign"]["campaign_id"],
            &got["campaign"]["updated_at"],
        )
    }

    async fn list(&self, name: &str) -> String {
        let list = self
            .call("create-contact-list", json!({"name": name}))
            .await;
        text(&list["list_id"])
    }
}

fn text(value: &Value) -> String {
    value.as_str().expect("a string").to_owned()
}

/// `<record id>@<time>` with the time as the trigger normalises it.
fn id_at(id: &Value, at: &Value) -> String {
    format!("{}@{}", text(id), text(at))
}

#[test]
fn contact_created_reports_each_new_contact_once() {
    block_on(async {
        let f = Fixture::start().await;
        let events = f
            .expect_once("contact-created", json!({}), async {
                let a = f.contact("ada@example.com", &[]).await;
                let b = f.contact("grace@example.com", &[]).await;
                let mut ids = vec![
                    id_at(&a["contact_id"], &a["created_at"]),
                    id_at(&b["contact_id"], &b["created_at"]),
                ];
                ids.sort_by_key(|id| (id.split('@').nth(1).unwrap().to_owned(), id.clone()));
                ids
            })
            .await;
        assert_eq!(
            events[0]["contact"]["email_address"]["address"],
            "ada@example.com"
        );
    });
}

#[test]
fn contact_updated_reports_a_change_but_not_a_creation() {
    block_on(async {
        let f = Fixture::start().await;
        let created = f.contact("ada@example.com", &[]).await;
        let id = text(&created["contact_id"]);
        f.expect_once("contact-updated", json!({}), async {
            let later = f.contact("grace@example.com", &[]).await;
            assert_eq!(later["created_at"], later["updated_at"], "not an update");
            let input =
                json!({"contact_id": id, "update_source": "account", "job_title": "Countess"});
            let updated = f.call("update-contact", input).await;
            vec![id_at(&updated["contact_id"], &updated["updated_at"])]
        })
        .await;
    });
}

#[test]
fn contact_deleted_reports_the_deletion() {
    block_on(async {
        let f = Fixture::start().await;
        let created = f.contact("ada@example.com", &[]).await;
        let id = text(&created["contact_id"]);
        let events = f
            .expect_once("contact-deleted", json!({}), async {
                f.call("delete-contact", json!({"contact_id": id})).await;
                let gone = f.call("get-contact", json!({"contact_id": id})).await;
                vec![id_at(&gone["contact_id"], &gone["updated_at"])]
            })
            .await;
        assert!(events[0]["contact"]["deleted_at"].is_string());
    });
}

#[test]
fn contact_unsubscribed_reports_the_opt_out() {
    block_on(async {
        let f = Fixture::start().await;
        let created = f.contact("ada@example.com", &[]).await;
        let id = text(&created["contact_id"]);
        f.expect_once("contact-unsubscribed", json!({}), async {
            let input = json!({"contact_id": id, "update_source": "contact", "email_address":
                {"address": "ada@example.com", "permission_to_send": "unsubscribed"}});
            let out = f.call("update-contact", input).await;
            vec![id_at(
                &out["contact_id"],
                &out["email_address"]["opt_out_date"],
            )]
        })
        .await;
    });
}

#[test]
fn contact_added_to_list_reports_a_contact_joining_that_list_only() {
    block_on(async {
        let f = Fixture::start().await;
        let watched = f.list("Watched").await;
        let other = f.list("Other").await;
        let ada = text(&f.contact("ada@example.com", &[]).await["contact_id"]);
        let grace = text(&f.contact("grace@example.com", &[]).await["contact_id"]);
        let settings = json!({ "list_id": watched });
        f.expect_once("contact-added-to-list", settings, async {
            let join = |id: &str, list: &str| {
                json!({"contact_id": id, "update_source": "account", "list_memberships": [list]})
            };
            f.call("update-contact", join(&grace, &other)).await;
            let joined = f.call("update-contact", join(&ada, &watched)).await;
            vec![id_at(&joined["contact_id"], &joined["updated_at"])]
        })
        .await;
        let missing = PollRequest {
            checkpoint: None,
            since: None,
            settings: Map::new(),
        };
        assert!(f
            .session
            .poll("contact-added-to-list", &missing)
            .await
            .is_err());
    });
}

#[test]
fn campaigns_scheduled_and_sent_are_reported_when_each_happens() {
    block_on(async {
        let f = Fixture::start().await;
        let list = f.list("Readers").await;
        f.contact("ada@example.com", &[&list]).await;
        let campaign = f
            .call(
                "create-email-campaign",
                json!({"name": "Newsletter", "from_name": "Acme",
                "from_email": "owner@example.com", "reply_to_email": "owner@example.com",
                "subject": "Hello", "html_content": "<html><body>[[trackingImage]]<p>Hi</p></body></html>"}),
            )
            .await;
        let id = text(&campaign["campaign_id"]);
        let input = json!({"campaign_id": id, "primary_email": {"contact_list_ids": [list]}});
        f.call("update-email-campaign", input).await;
        let sent = f.poll("campaign-sent", None, &json!({})).await;
        f.expect_once("campaign-scheduled", json!({}), async {
            let input = json!({"campaign_id": id, "scheduled_date": "2030-01-15T09:00:00Z"});
            f.call("schedule-email-campaign", input).await;
            vec![f.campaign_change(&id).await]
        })
        .await;
        let nothing = f
            .poll("campaign-sent", Some(&sent.checkpoint), &json!({}))
            .await;
        assert!(nothing.events.is_empty(), "scheduled is not sent");
        // Ten years on: past the schedule, so the sandbox sends it.
        f.sandbox
            .control("clock", json!({"advance_seconds": 315_360_000}));
        let done = f
            .poll("campaign-sent", Some(&nothing.checkpoint), &json!({}))
            .await;
        let ids: Vec<String> = done.events.iter().map(|e| e.id.clone()).collect();
        assert_eq!(ids, [f.campaign_change(&id).await]);
        assert_eq!(done.events[0].data["campaign"]["current_status"], "Done");
        let after = f
            .poll("campaign-sent", Some(&done.checkpoint), &json!({}))
            .await;
        assert!(after.events.is_empty());
    });
}

#[test]
fn bulk_activity_finished_reports_an_activity_once_it_has_completed() {
    block_on(async {
        let f = Fixture::start().await;
        let list = f.list("Bulk").await;
        let ada = text(&f.contact("ada@example.com", &[]).await["contact_id"]);
        let first = f.poll("bulk-activity-finished", None, &json!({})).await;
        let input = json!({"source": {"contact_ids": [ada]}, "list_ids": [list]});
        let started = f.call("add-contacts-to-lists", input).await;
        let id = text(&started["activity_id"]);
        let running = f
            .poll(
                "bulk-activity-finished",
                Some(&first.checkpoint),
                &json!({}),
            )
            .await;
        assert!(running.events.is_empty(), "{:?}", running.events);
        f.sandbox
            .control(&format!("activities/{id}/complete"), json!({}));
        let done = f
            .poll(
                "bulk-activity-finished",
                Some(&running.checkpoint),
                &json!({}),
            )
            .await;
        let activity = f.call("get-activity", json!({"activity_id": id})).await;
        let ids: Vec<&str> = done.events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            ids,
            [id_at(&activity["activity_id"], &activity["completed_at"])]
        );
        assert_eq!(done.events[0].data["activity"]["state"], "completed");
        let after = f
            .poll("bulk-activity-finished", Some(&done.checkpoint), &json!({}))
            .await;
        assert!(after.events.is_empty());
    });
}

#[test]
fn changes_sharing_a_millisecond_with_the_last_reported_one_are_neither_lost_nor_repeated() {
    block_on(async {
        let f = Fixture::start().await;
        let first = f.poll("contact-created", None, &json!({})).await;
        f.sandbox.control("clock", json!({"freeze": true}));
        let a = f.contact("a@example.com", &[]).await;
        let b = f.contact("b@example.com", &[]).await;
        let one = f
            .poll("contact-created", Some(&first.checkpoint), &json!({}))
            .await;
        assert_eq!(one.events.len(), 2);
        // Created at the very millisecond the last poll reported.
        let c = f.contact("c@example.com", &[]).await;
        assert_eq!(c["created_at"], a["created_at"]);
        assert_eq!(b["created_at"], a["created_at"]);
        let two = f
            .poll("contact-created", Some(&one.checkpoint), &json!({}))
            .await;
        let ids: Vec<&str> = two.events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, [id_at(&c["contact_id"], &c["created_at"])]);
        let three = f
            .poll("contact-created", Some(&two.checkpoint), &json!({}))
            .await;
        assert!(three.events.is_empty());
        f.sandbox.control("clock", json!({"freeze": false}));
    });
}

#[test]
fn a_backlog_longer_than_one_poll_comes_over_several_with_more_set() {
    block_on(async {
        let f = Fixture::start().await;
        let list = f.list("Imported").await;
        let first = f.poll("contact-created", None, &json!({})).await;
        // 3 pages of 500 is what one poll reads; an import stamps every row
        // with one millisecond, past what a checkpoint remembers by id.
        let rows: Vec<Value> = (0..1601)
            .map(|i| json!({"email": format!("p{i:04}@example.com")}))
            .collect();
        let input = json!({"import_data": rows, "list_ids": [list]});
        let import = f.call("import-contacts", input).await;
        let id = text(&import["activity_id"]);
        f.sandbox
            .control(&format!("activities/{id}/complete"), json!({}));
        let mut checkpoint = first.checkpoint;
        let mut seen = std::collections::BTreeSet::new();
        let mut polls = Vec::new();
        loop {
            let polled = f
                .poll("contact-created", Some(&checkpoint), &json!({}))
                .await;
            polls.push((polled.events.len(), polled.more));
            for event in &polled.events {
                assert!(seen.insert(event.id.clone()), "{} repeated", event.id);
            }
            assert!(checkpoint.len() < 8 * 1024, "a checkpoint stays small");
            checkpoint = polled.checkpoint;
            if !polled.more {
                break;
            }
        }
        assert_eq!(seen.len(), 1601);
        assert_eq!(polls, [(1500, true), (101, false)]);
        let idle = f
            .poll("contact-created", Some(&checkpoint), &json!({}))
            .await;
        assert!(idle.events.is_empty() && !idle.more);
    });
}

#[test]
fn a_first_poll_reports_nothing_from_before_it_even_with_the_api_clock_ahead() {
    block_on(async {
        let f = Fixture::start().await;
        f.sandbox.control("clock", json!({"advance_seconds": 7200}));
        f.contact("before@example.com", &[]).await;
        let events = f
            .expect_once("contact-created", json!({}), async {
                let after = f.contact("after@example.com", &[]).await;
                vec![id_at(&after["contact_id"], &after["created_at"])]
            })
            .await;
        assert_eq!(
            events[0]["contact"]["email_address"]["address"],
            "after@example.com"
        );
    });
}

#[test]
fn every_request_a_trigger_sends_conforms_to_the_spec() {
    block_on(async {
        let f = Fixture::start().await;
        let list = f.list("Spec").await;
        let since = "2020-01-01T00:00:00Z";
        let described = f.session.connector().info().triggers.clone();
        assert_eq!(described.len(), 8);
        for trigger in &described {
            let request = PollRequest {
                checkpoint: None,
                since: Some(since.to_owned()),
                settings: json!({"list_id": list}).as_object().cloned().unwrap(),
            };
            let settings = if trigger.name == "contact-added-to-list" {
                request.settings.clone()
            } else {
                Map::new()
            };
            let request = PollRequest {
                settings,
                ..request
            };
            f.session
                .poll(&trigger.name, &request)
                .await
                .unwrap_or_else(|e| panic!("{}: {e:#}", trigger.name));
        }
        let spec = Spec::load(&root().join("tests/fixtures/constant-contact-v3.swagger.yaml"));
        let polls: Vec<Value> = f
            .sandbox
            .requests()
            .into_iter()
            .filter(|r| r["method"] == "GET")
            .collect();
        assert!(polls.len() >= 8, "{polls:?}");
        let problems: Vec<String> = polls
            .iter()
            .flat_map(|r| {
                spec.check(
                    "GET",
                    r["path"].as_str().unwrap(),
                    r["query"].as_str(),
                    &r["body"],
                )
            })
            .collect();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    });
}
