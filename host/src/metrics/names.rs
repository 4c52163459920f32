//! Every series' name, type and help text, in one place: the README's
//! table is this list. Names follow Prometheus's rules: the
//! `connector_host_` prefix, base units (`_seconds`), `_total` counters.

use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};

/// Gives every series its `# HELP` line (promtool asks for one).
pub fn describe() {
    describe_counter!(
        "connector_host_calls_total",
        "Activity calls by connector, activity (other when undeclared) and result (ok or the error class)."
    );
    describe_histogram!(
        "connector_host_call_duration_seconds",
        Unit::Seconds,
        "Time from a call's start to its result, by connector and activity."
    );
    describe_counter!(
        "connector_host_limit_hits_total",
        "Calls stopped by a per-call limit, by the [limits] setting (or pooled_calls)."
    );
    describe_counter!(
        "connector_host_outgoing_requests_total",
        "Requests sent to an API, by declared origin and status class (error when no answer came)."
    );
    describe_counter!(
        "connector_host_egress_refusals_total",
        "Requests the egress hook refused, by reason."
    );
    describe_histogram!(
        "connector_host_rate_limit_wait_seconds",
        Unit::Seconds,
        "Time requests waited for the client-side rate limiter, by application digest."
    );
    describe_gauge!(
        "connector_host_quota_remaining",
        "Requests left today in a daily quota as this process knows it, by application digest."
    );
    describe_counter!(
        "connector_host_token_refreshes_total",
        "OAuth refresh-token grants, by result (ok or failed)."
    );
    describe_counter!(
        "connector_host_connection_health_transitions_total",
        "Connection health changes serve's monitor recorded, by the state changed to (ok, needs_reauth, unreachable, not_connected, broken)."
    );
    describe_gauge!(
        "connector_host_connections",
        "Connections by health as this serve process last checked them."
    );
    describe_counter!(
        "connector_host_secret_reads_total",
        "Reads from a credential store (cache misses), by store name and result (ok or error)."
    );
    describe_gauge!(
        "connector_host_instances_in_use",
        "Pooled instance slots taken by calls running now."
    );
    describe_gauge!(
        "connector_host_instance_slots",
        "Pooled instance slots in all (CONNECTOR_HOST_POOLED_CALLS)."
    );
    describe_counter!(
        "connector_host_worker_activities_started_total",
        "Temporal activity attempts the worker started, by activity."
    );
    describe_counter!(
        "connector_host_worker_activities_finished_total",
        "Temporal activity attempts the worker ended, by activity and result (ok, an error class, or cancelled)."
    );
    describe_counter!(
        "connector_host_worker_tasks_refused_total",
        "Temporal activity tasks the worker refused before running them."
    );
}
