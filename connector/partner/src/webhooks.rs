//! Partner webhooks: Constant Contact posts to the partner's callback URI when a
//! client account's billing tier goes up (topic 1) or down (2), or the account is
//! cancelled (3) or disabled (4). One URI per topic (spec tag "Technology Partners
//! Webhooks").

use connector_sdk::check::{check, range, Bound};
use connector_sdk::{invalid_input, ActivityError, ActivityMeta};

use crate::exports::constant_contact::partner::webhooks::{
    Guest, SubscribeInput, Subscription, Subscriptions, TopicInput,
};
use crate::{Connector, CC, PARTNER};

const CATEGORY: &str = "Partner webhooks";

/// This area's activities, as `describe` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[
    ActivityMeta {
        name: "list-webhook-subscriptions",
        category: CATEGORY,
        description: "Lists the partner's webhook subscriptions, one per topic.",
        scopes: &[PARTNER],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "get-webhook-subscription",
        category: CATEGORY,
        description: "Gets the subscription to one topic.",
        scopes: &[PARTNER],
        pitfalls: &["A topic nobody subscribed to is not found (404)."],
        bounds: &[TOPIC],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "subscribe-webhook",
        category: CATEGORY,
        description: "Subscribes a callback URI to a topic, or changes the topic's URI.",
        scopes: &[PARTNER],
        pitfalls: &[
            "The URI must be https; Constant Contact retries a failed delivery every minute for an hour.",
            "A topic has one URI: subscribing again replaces the previous one.",
        ],
        bounds: &[TOPIC],
        ..ActivityMeta::UPDATE
    },
    ActivityMeta {
        name: "delete-webhook-subscription",
        category: CATEGORY,
        description: "Unsubscribes from a topic.",
        scopes: &[PARTNER],
        pitfalls: &["A second delete finds nothing (404)."],
        bounds: &[TOPIC],
        ..ActivityMeta::DELETE
    },
    ActivityMeta {
        name: "test-webhook-subscription",
        category: CATEGORY,
        description: "Has Constant Contact post a test notification to a topic's callback URI.",
        scopes: &[PARTNER],
        pitfalls: &["Each call posts another test notification to the receiver."],
        bounds: &[TOPIC],
        ..ActivityMeta::ACTION
    },
];

/// The spec's topics are 1 to 4.
const TOPIC: &[Bound] = &[range("topic_id", 1, 4)];

/// The collection; one topic is `{SUBSCRIPTIONS}/{topic_id}`.
const SUBSCRIPTIONS: &str = "/v3/partner/webhooks/subscriptions";

impl Guest for Connector {
    /// Lists the subscriptions.
    ///
    /// `GET /v3/partner/webhooks/subscriptions` — <https://developer.constantcontact.com/api_reference/index.html#!/Technology_Partners_Webhooks/getWebhooksCollection>.
    /// Scope `v3api/general.partner`. Retry-safe and read-only: a read. The API
    /// answers a bare array; the result wraps it.
    fn list_webhook_subscriptions() -> Result<Subscriptions, ActivityError> {
        let subscriptions = CC.get(SUBSCRIPTIONS).json()?;
        Ok(Subscriptions { subscriptions })
    }

    /// Gets one topic's subscription.
    ///
    /// `GET /v3/partner/webhooks/subscriptions/{topic_id}` — <https://developer.constantcontact.com/api_reference/index.html#!/Technology_Partners_Webhooks/getWebhooksTopic>.
    /// Scope `v3api/general.partner`. Retry-safe and read-only: a read.
    fn get_webhook_subscription(input: TopicInput) -> Result<Subscription, ActivityError> {
        check(&input, TOPIC)?;
        CC.get(SUBSCRIPTIONS)
            .id("topic_id", &input.topic_id.to_string())
            .json()
    }

    /// Subscribes `hook_uri` to a topic.
    ///
    /// `PUT /v3/partner/webhooks/subscriptions/{topic_id}` — <https://developer.constantcontact.com/api_reference/index.html#!/Technology_Partners_Webhooks/putWebhooksTopic>.
    /// Scope `v3api/general.partner`. Retry-safe: it writes the same URI each
    /// time. Destructive: a previous URI of the topic is replaced.
    fn subscribe_webhook(input: SubscribeInput) -> Result<Subscription, ActivityError> {
        check(&input, TOPIC)?;
        if !input.hook_uri.starts_with("https://") {
            return Err(invalid_input("`hook_uri` must be an https URL"));
        }
        CC.put(SUBSCRIPTIONS)
            .id("topic_id", &input.topic_id.to_string())
            .body_except(&input, &["topic_id"])
            .json()
    }

    /// Unsubscribes from a topic.
    ///
    /// `DELETE /v3/partner/webhooks/subscriptions/{topic_id}` (204) — <https://developer.constantcontact.com/api_reference/index.html#!/Technology_Partners_Webhooks/deleteWebhooksSubscriptions>.
    /// Scope `v3api/general.partner`. Retry-safe: a repeat finds nothing (404).
    /// Destructive: notifications stop.
    fn delete_webhook_subscription(input: TopicInput) -> Result<(), ActivityError> {
        check(&input, TOPIC)?;
        CC.delete(SUBSCRIPTIONS)
            .id("topic_id", &input.topic_id.to_string())
            .send()?;
        Ok(())
    }

    /// Sends a test notification to a topic's callback URI.
    ///
    /// `POST /v3/partner/webhooks/subscriptions/{topic_id}/tests` (201) — <https://developer.constantcontact.com/api_reference/index.html#!/Technology_Partners_Webhooks/testSendWebhooksTopic>.
    /// Scope `v3api/general.partner`. Not retry-safe: each call posts again.
    /// Not destructive.
    fn test_webhook_subscription(input: TopicInput) -> Result<Subscription, ActivityError> {
        check(&input, TOPIC)?;
        CC.post(SUBSCRIPTIONS)
            .id("topic_id", &input.topic_id.to_string())
            .path("/tests")
            .json()
    }
}
