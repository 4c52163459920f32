//! (e) Vault reads per 1,000 calls: each call resolves its access token from
//! a credential asset in a real OpenBao dev server, as `run --batch` does,
//! and the server's audit log counts the reads that reached it.

use std::path::Path;

use connector_host::egress::Credential;
use connector_host::{CallOptions, Connection, Connector};
use connector_tests::openbao::OpenBao;
use serde_json::json;

/// Reads that reached OpenBao during `calls` calls of `echo`, with the
/// store's cache TTL set to `ttl_seconds`.
pub async fn reads(
    bao: &OpenBao,
    connector: &Connector,
    calls: usize,
    ttl_seconds: u64,
) -> anyhow::Result<usize> {
    let asset = format!("bench-token-ttl-{ttl_seconds}");
    bao.kv2_put(
        "secret",
        &format!("connectors/{asset}"),
        json!({"value": "bench-vault-token-5c0e7a"}),
    );
    let text = format!(
        "connector = \"probe.wasm\"\n[token]\naccess_token = {{ asset = \"{asset}\" }}\n[stores.vault]\naddress = \"{}\"\npath = \"connectors\"\ncache_ttl_seconds = {ttl_seconds}\nauth = {{ method = \"token\", token = \"{}\" }}\n",
        bao.addr, bao.root_token
    );
    let connection = Connection::parse(Path::new("bench.toml"), &text)?;
    let resolver = connection.resolver();
    let source = connection
        .access_token
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no access token source"))?;
    let input = super::echo_input();
    let before = bao.audit_reads(&format!("secret/data/connectors/{asset}"));
    for _ in 0..calls {
        let token = resolver.resolve("access_token", &source).await?;
        let options = CallOptions {
            credential: Some(Credential::bearer(&token)),
            ..CallOptions::default()
        };
        connector.call("echo", &input, &options).await?;
    }
    Ok(bao.audit_reads(&format!("secret/data/connectors/{asset}")) - before)
}
