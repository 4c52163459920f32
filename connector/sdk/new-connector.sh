#!/usr/bin/env bash
# Writes a new connector crate that builds: Cargo.toml, WIT, lib.rs and one area
# file, plus the workspace entry. Run it through the Makefile:
#
#   make new-connector NAME=weather ORIGIN=https://api.weather.example
#   make new-connector NAME=weather ORIGIN=https://api.weather.example DIR=/tmp/weather
#
# NAME is kebab-case (the crate is NAME-connector, the component
# NAME_connector.wasm); ORIGIN is the one origin the connector calls. DIR
# defaults to connector/NAME inside this workspace, which gets the new member;
# a DIR outside it becomes a workspace of its own.
set -euo pipefail

NAME=${1:?usage: new-connector.sh NAME ORIGIN [DIR]}
ORIGIN=${2:?usage: new-connector.sh NAME ORIGIN [DIR]}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${3:-$ROOT/connector/$NAME}

[[ $NAME =~ ^[a-z][a-z0-9]*(-[a-z0-9]+)*$ ]] ||
  { echo "new-connector: NAME \"$NAME\" must be kebab-case, e.g. my-api" >&2; exit 2; }
[[ $ORIGIN =~ ^https?://[^/?#]+$ ]] ||
  { echo "new-connector: ORIGIN must be scheme://host[:port] with no path, e.g. https://api.example.com" >&2; exit 2; }
[ -e "$DIR/Cargo.toml" ] && { echo "new-connector: $DIR/Cargo.toml exists; not overwriting it" >&2; exit 2; }

mkdir -p "$DIR/src" "$DIR/wit"
DIR=$(cd "$DIR" && pwd)
rel() { python3 -c 'import os,sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' "$1" "$DIR"; }
SDK=$(rel "$ROOT/connector/sdk")
SDK_WIT=$(rel "$ROOT/wit/sdk")
SNAKE=${NAME//-/_}
case "$DIR/" in "$ROOT"/*) INSIDE=1 ;; *) INSIDE=0 ;; esac

if [ $INSIDE = 1 ]; then
  PACKAGE='edition.workspace = true
version.workspace = true
license.workspace = true
publish.workspace = true'
  SERDE='serde = { workspace = true }'
  WORKSPACE=''
else
  PACKAGE='edition = "2021"
version = "0.1.0"
publish = false'
  SERDE='serde = { version = "1", features = ["derive"] }'
  # A workspace of its own, with the component build profile.
  WORKSPACE='
[workspace]

# `cargo build --target wasm32-wasip2 --profile component`: small components.
[profile.component]
inherits = "release"
opt-level = "z"
lto = true
strip = true
codegen-units = 1
panic = "abort"'
fi

cat >"$DIR/Cargo.toml" <<EOF
[package]
name = "$NAME-connector"
description = "A connector for $ORIGIN, built as a WebAssembly component"
$PACKAGE

[lib]
crate-type = ["cdylib"]

[dependencies]
connector-sdk = { path = "$SDK" }
wit-bindgen = "0.61.1"
$SERDE
$WORKSPACE
EOF

cat >"$DIR/wit/$NAME.wit" <<EOF
/// The $NAME connector's activities: one interface per area of the API.
package $NAME:connector@0.1.0;

/// Items: replace with your API's first area.
interface items {
    use connector:sdk/types@0.4.0.{activity-error};

    /// Named as the API's JSON names them: the records are the requests and answers.
    record item {
        id: string,
        name: string,
        created-at: option<string>,
    }

    record get-item-input {
        id: string,
    }

    record list-items-input {
        /// 1 to 100.
        limit: option<u16>,
        /// \`next-cursor\` from the previous page.
        cursor: option<string>,
    }

    record items-page {
        items: list<item>,
        next-cursor: option<string>,
    }

    get-item: func(input: get-item-input) -> result<item, activity-error>;
    list-items: func(input: list-items-input) -> result<items-page, activity-error>;
}

world connector {
    export connector:sdk/metadata@0.4.0;
    export items;
}
EOF

cat >"$DIR/src/lib.rs" <<EOF
//! # The $NAME connector
//!
//! A WebAssembly component for $ORIGIN: \`lib.rs\` holds the bindings, the API and
//! \`describe\`; each area of the API has a file of its own (the template's is \`items.rs\`). The host
//! adds the credential to every request: this code never sees it.
#![warn(missing_docs)]

/// The bindings for \`wit/\`; the \`connector:sdk\` types are the SDK's.
#[allow(missing_docs)] // generated code; the WIT carries the documentation
mod bindings {
    wit_bindgen::generate!({
        path: ["$SDK_WIT", "wit"],
        world: "$NAME:connector/connector",
        with: { "connector:sdk/types@0.4.0": connector_sdk::types },
        additional_derives: [serde::Serialize, serde::Deserialize],
        generate_all,
    });
}
use bindings::exports;

mod items;

use connector_sdk::types::ConnectorInfo;
use connector_sdk::{cursor, error, Api, Auth, Describe, Field};

/// The type the host calls into: every area implements its \`Guest\` trait on it.
pub struct Connector;

bindings::export!(Connector with_types_in bindings);

/// The API, declared once. A connection's \`[endpoints]\` may point the origin elsewhere.
pub const API: Api = Api {
    origin: "$ORIGIN",
    // Every path and cursor must start with this: a check, not a prefix added to them.
    path_prefix: "/",
    // Reads \`{"message": …}\`, \`{"error": …}\` and the like; write your own for other shapes.
    errors: error::plain_errors,
    // \`{"next": "/items?page=2"}\`; see connector_sdk::cursor for other shapes.
    next_cursor: cursor::next_field,
};

const INFO: Describe = Describe {
    name: "$NAME",
    version: env!("CARGO_PKG_VERSION"),
    description: "A connector for $ORIGIN.",
    // The host adds \`Authorization: Bearer <token>\` from the connection's \`token\`.
    auth: Auth::Bearer("token"),
    fields: &[Field {
        name: "token",
        label: "API token",
        description: "An API token for $ORIGIN.",
        required: true,
        secret: true,
        default_value: None,
    }],
    origins: &["$ORIGIN"],
    rate_limits: &[],
    areas: &[items::ACTIVITIES],
    triggers: &[],
    icon: None,
    extra_keys: &[],
};

impl exports::connector::sdk::metadata::Guest for Connector {
    fn describe() -> ConnectorInfo {
        INFO.build()
    }
}
EOF

cat >"$DIR/src/items.rs" <<EOF
//! Items: the activities' metadata, then one short function each.

use connector_sdk::check::{check, range, Bound};
use connector_sdk::{ActivityError, ActivityMeta};

use crate::exports::${SNAKE}::connector::items::{GetItemInput, Guest, Item, ItemsPage, ListItemsInput};
use crate::{Connector, API};

/// The API's bounds on \`list-items\`: \`describe\` states them (hosts show
/// them in schemas and refuse input outside them) and the activity checks them.
const LIST_ITEMS: &[Bound] = &[range("limit", 1, 100)];

/// This area's activities, as \`describe\` reports them.
pub const ACTIVITIES: &[ActivityMeta] = &[
    ActivityMeta {
        name: "get-item",
        category: "Items",
        description: "Gets one item by its id.",
        scopes: &[],
        pitfalls: &["Ids are case-sensitive."],
        ..ActivityMeta::READ
    },
    ActivityMeta {
        name: "list-items",
        category: "Items",
        description: "Lists items, one page at a time.",
        scopes: &[],
        pitfalls: &["Pass next_cursor back as cursor for the next page."],
        bounds: &[LIST_ITEMS],
        ..ActivityMeta::READ
    },
];

impl Guest for Connector {
    /// Gets one item. \`GET /items/{id}\`. Retry-safe and read-only: a read.
    fn get_item(input: GetItemInput) -> Result<Item, ActivityError> {
        API.get("/items").id("id", &input.id).json()
    }

    /// Lists items, one page per call. \`GET /items\`. Retry-safe and read-only.
    fn list_items(input: ListItemsInput) -> Result<ItemsPage, ActivityError> {
        check(&input, LIST_ITEMS)?;
        API.get("/items")
            .queries(&input, &["cursor"])
            .cursor(input.cursor.as_deref())
            .page()
    }
}
EOF

if [ $INSIDE = 1 ]; then
  MEMBER=${DIR#"$ROOT"/}
  python3 - "$ROOT/Cargo.toml" "$MEMBER" <<'EOF'
import re, sys
path, member = sys.argv[1], sys.argv[2]
text = open(path).read()
start = text.index("members = [")
end = text.index("]", start)
if f'"{member}"' not in text[start:end]:
    text = text[:end] + f'    "{member}",\n' + text[end:]
    open(path, "w").write(text)
EOF
  BUILD="make components"
else
  BUILD="(cd $DIR && cargo build --target wasm32-wasip2 --profile component)"
fi

cat <<EOF
Wrote the $NAME-connector crate in $DIR:
  Cargo.toml          wit/$NAME.wit          src/lib.rs          src/items.rs
Next:
  $BUILD
  connector-host describe <target>/wasm32-wasip2/component/${SNAKE}_connector.wasm
EOF
