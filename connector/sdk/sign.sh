#!/usr/bin/env bash
# Signs connector components in place with wasmsign2 (the reference tool of the
# WebAssembly signatures format: an Ed25519 signature embedded as the first
# custom section), making the key pair on first use:
#
#   bash connector/sdk/sign.sh KEY FILE.wasm...     # KEY.sk signs; KEY.pub is what hosts trust
#
# A file that already verifies under KEY.pub is left as it is. A publisher does
# the same with their own key (`wasmsign2 keygen -k me.sk -K me.pub` once, kept
# secret), and operators trust it with CONNECTOR_HOST_TRUSTED_KEYS=/path/me.pub.
set -euo pipefail

KEY=${1:?usage: sign.sh KEY FILE.wasm...}
shift
if [ ! -f "$KEY.sk" ]; then
  mkdir -p "$(dirname "$KEY")"
  chmod 700 "$(dirname "$KEY")"
  (umask 077 && wasmsign2 keygen -k "$KEY.sk" -K "$KEY.pub" >/dev/null)
  chmod 644 "$KEY.pub"
fi
for WASM in "$@"; do
  wasmsign2 verify -K "$KEY.pub" -i "$WASM" >/dev/null 2>&1 && continue
  TMP=$(mktemp "$(dirname "$WASM")/.sign.XXXXXX")
  # wasmsign2 prints the module's structure: only its errors matter here.
  wasmsign2 sign -k "$KEY.sk" -i "$WASM" -o "$TMP" >/dev/null || { rm -f "$TMP"; exit 1; }
  chmod 644 "$TMP"
  mv "$TMP" "$WASM"
done
