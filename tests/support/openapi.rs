//! The official OpenAPI (Swagger 2.0) document as a checker of requests.
//!
//! [`Spec::check`] takes one request as the sandbox logged it (method, path,
//! query, JSON body) and lists how it departs from the operation the document
//! declares for it:
//!
//! - the path (under `basePath`) matches a path template, and the method an
//!   operation of it;
//! - every query parameter is declared, of its type (integer, boolean, a value
//!   of its `enum`, a `date-time`), and within its bounds; required ones are sent;
//! - path parameters are of their type and format (`uuid`, integer);
//! - the body is sent exactly when the operation takes one, and validates
//!   against its schema (`$ref`s resolved): types, `required`, `enum`,
//!   `minLength`/`maxLength`, `minItems`/`maxItems`, `minimum`/`maximum`,
//!   `format: date-time`; a property the schema does not declare is reported, and
//!   so is any property it marks `readOnly`.
//!
//! This is a validator for the subset of Swagger 2.0 the document uses, written
//! here rather than taken from a JSON Schema crate because two of its checks are
//! not JSON Schema (`readOnly` fields sent, undeclared properties), and because
//! the document has errors that must be named, not silently passed: see
//! [`ERRATA`] and [`REMOVED`]. Two readings of the document's own quirks are documented where
//! they are applied: `maximum` on a string query parameter bounds its number of
//! comma-separated items (`lists`: "up to 25"), and `minLength`/`maxLength` on an
//! integer bound its digits.

use std::path::Path;

use serde_json::{Map, Value};

/// Corrections to the official document, each with the reason. A pointer into
/// the document, the keyword and the value used instead.
pub const ERRATA: &[(&str, &str, i64, &str)] = &[
    (
        "/definitions/ListActivityRemoveContacts/properties/list_ids",
        "maxItems",
        50,
        "maxItems 0 on a required list: the API guide allows 1 to 50 lists",
    ),
    (
        "/definitions/ListActivityRemoveContacts/properties/source/properties/list_ids",
        "maxItems",
        50,
        "maxItems 0 on a source list: the guide allows up to 50 source lists",
    ),
    (
        "/definitions/ListActivityRemoveContacts/properties/source/properties/contact_ids",
        "maxItems",
        500,
        "maxItems 0 on a source list: the guide allows up to 500 contacts",
    ),
    (
        "/definitions/ListActivityRemoveContacts/properties/source/properties/tag_ids",
        "maxItems",
        50,
        "maxItems 0 on a source list: the guide allows up to 50 tags",
    ),
    (
        "/definitions/ListActivityAddContacts/properties/source/properties/tag_ids",
        "maxItems",
        50,
        "maxItems 0 on a source list: the guide allows up to 50 tags",
    ),
    (
        "/definitions/CustomFieldId100/properties/custom_field_ids",
        "maxItems",
        100,
        "maxItems 0 on a required list: the operation's text says up to 100 custom fields",
    ),
    (
        "/definitions/EventDto",
        "required",
        0,
        "PATCH /events/{event_id} takes EventDto but changes only the fields sent (its \
         description); the required list describes whole events (it even requires the \
         read-only default_track.campaign_activity_id), so 0 (no list) for partial bodies",
    ),
    (
        "/definitions/ParameterDto/properties/parameter_value",
        "type",
        0,
        "typed object, but its own description (and the API's examples) make it a string \
         or an array of strings depending on the parameter's type: 0 (no type) checks neither",
    ),
];

/// Keywords taken out of the official document where the real API accepts what
/// it forbids, each with the reason: a pointer, the keyword.
pub const REMOVED: &[(&str, &str, &str)] = &[(
    "/definitions/EmailCampaignActivity/properties/format_type",
    "readOnly",
    "real API accepted PUT with format_type (recorded responses of issue 21): \
     an activity PUT sends back the format_type it read",
)];

/// Path parameters' names and values, in path order.
type Params = Vec<(String, String)>;

/// The loaded document.
pub struct Spec {
    doc: Value,
}

impl Spec {
    /// Reads the YAML document at `path` and applies [`ERRATA`] and [`REMOVED`].
    pub fn load(path: &Path) -> Spec {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let yaml: serde_norway::Value = serde_norway::from_str(&text).expect("YAML");
        let mut doc = to_json(yaml);
        for (pointer, keyword, value, _) in ERRATA {
            let node = doc
                .pointer_mut(pointer)
                .unwrap_or_else(|| panic!("erratum for {pointer}: no such node"));
            node[*keyword] = Value::from(*value);
        }
        for (pointer, keyword, _) in REMOVED {
            let node = doc.pointer_mut(pointer).and_then(Value::as_object_mut);
            let node = node.unwrap_or_else(|| panic!("erratum for {pointer}: no such node"));
            assert!(
                node.remove(*keyword).is_some(),
                "erratum: {pointer} has no {keyword}"
            );
        }
        Spec { doc }
    }

    /// How the request departs from the document; empty when it conforms.
    pub fn check(
        &self,
        method: &str,
        path: &str,
        query: Option<&str>,
        body: &Value,
    ) -> Vec<String> {
        let base = self.doc["basePath"].as_str().unwrap_or("");
        let Some(path) = path.strip_prefix(base) else {
            return vec![format!("{path} is not under {base}")];
        };
        let Some((template, params)) = self.template(path) else {
            return vec![format!("no path of the document matches {path}")];
        };
        let item = &self.doc["paths"][template.as_str()];
        let Some(operation) = item.get(method.to_ascii_lowercase()) else {
            return vec![format!("{template} has no {method} operation")];
        };
        let declared: Vec<Value> = item["parameters"]
            .as_array()
            .into_iter()
            .chain(operation["parameters"].as_array())
            .flatten()
            .map(|p| self.resolve(p).clone())
            .collect();
        let mut problems = Vec::new();
        let mut at = |problem: String| problems.push(format!("{method} {template}: {problem}"));
        let sent = parse_query(query.unwrap_or(""));
        parameters(&declared, &params, &sent, &mut at);
        let form = declared.iter().any(|p| p["in"] == "formData");
        match (declared.iter().find(|p| p["in"] == "body"), body) {
            (None, Value::String(text)) if form => form_data(&declared, text, &mut at),
            (None, Value::Null) => {}
            (None, _) => at("sends a body; the operation takes none".into()),
            (Some(param), Value::Null) if param["required"] == true => {
                at("the required body is missing".into())
            }
            (Some(_), Value::Null) => {}
            (Some(param), body) => self.value(&param["schema"], body, "body", &mut at),
        }
        problems
    }

    /// The operation a request is for, as `METHOD /template` (`GET /contacts/{contact_id}`),
    /// or `None` when the document has no such path or method.
    pub fn operation(&self, method: &str, path: &str) -> Option<String> {
        let base = self.doc["basePath"].as_str().unwrap_or("");
        let (template, _) = self.template(path.strip_prefix(base)?)?;
        let method = method.to_ascii_lowercase();
        self.doc["paths"][template.as_str()].get(&method)?;
        Some(format!("{} {template}", method.to_ascii_uppercase()))
    }

    /// Every operation of the document, as [`Spec::operation`] names them.
    pub fn operations(&self) -> std::collections::BTreeSet<String> {
        let methods = ["get", "post", "put", "patch", "delete", "head"];
        let paths = self.doc["paths"].as_object().expect("paths");
        paths
            .iter()
            .flat_map(|(template, item)| {
                methods
                    .iter()
                    .filter(|m| item.get(**m).is_some())
                    .map(move |m| format!("{} {template}", m.to_ascii_uppercase()))
            })
            .collect()
    }

    /// The operation's first tag (its area: `Contacts`, `Events`…).
    pub fn area(&self, operation: &str) -> String {
        let (method, template) = operation.split_once(' ').expect("METHOD /template");
        let op = &self.doc["paths"][template][method.to_ascii_lowercase()];
        op["tags"][0].as_str().unwrap_or("untagged").to_owned()
    }

    /// The path template matching `path` and its parameters' values; the one with
    /// the most literal segments wins (`/contacts/counts` over `/contacts/{id}`).
    fn template(&self, path: &str) -> Option<(String, Params)> {
        let sent: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut best: Option<(usize, String, Params)> = None;
        for template in self.doc["paths"].as_object()?.keys() {
            let parts: Vec<&str> = template.trim_start_matches('/').split('/').collect();
            if parts.len() != sent.len() {
                continue;
            }
            let mut params = Vec::new();
            let mut literal = 0;
            let fits = parts.iter().zip(&sent).all(|(part, value)| {
                match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(name) if !value.is_empty() => {
                        params.push((name.to_owned(), percent_decode(value)));
                        true
                    }
                    Some(_) => false,
                    None => {
                        literal += 1;
                        part == value
                    }
                }
            });
            if fits && best.as_ref().is_none_or(|(n, ..)| literal > *n) {
                best = Some((literal, template.clone(), params));
            }
        }
        best.map(|(_, template, params)| (template, params))
    }

    /// A `$ref` resolved (`#/definitions/Contact`), or the node itself.
    fn resolve<'a>(&'a self, node: &'a Value) -> &'a Value {
        match node["$ref"].as_str() {
            Some(reference) => {
                let pointer = reference.strip_prefix('#').unwrap_or(reference);
                let target = self
                    .doc
                    .pointer(pointer)
                    .unwrap_or_else(|| panic!("unresolvable $ref {reference}"));
                self.resolve(target)
            }
            None => node,
        }
    }

    /// Checks a body value against `schema`; `at` names where problems are.
    fn value(&self, schema: &Value, value: &Value, path: &str, out: &mut impl FnMut(String)) {
        let schema = self.resolve(schema);
        let kind = schema["type"].as_str().unwrap_or(match value {
            Value::Object(_) if schema.get("properties").is_some() => "object",
            _ => "",
        });
        let fits = match (kind, value) {
            ("object", Value::Object(_))
            | ("array", Value::Array(_))
            | ("string", Value::String(_))
            | ("boolean", Value::Bool(_))
            | ("number", Value::Number(_))
            | ("", _) => true,
            ("integer", Value::Number(n)) => n.is_i64() || n.is_u64(),
            _ => false,
        };
        if !fits {
            return out(format!("{path} is not of type {kind}: {}", excerpt(value)));
        }
        bounds(schema, value, path, out);
        match value {
            Value::Object(map) => self.object(schema, map, path, out),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.value(&schema["items"], item, &format!("{path}[{i}]"), out);
                }
            }
            _ => {}
        }
    }

    fn object(
        &self,
        schema: &Value,
        map: &Map<String, Value>,
        path: &str,
        out: &mut impl FnMut(String),
    ) {
        let properties = schema["properties"].as_object();
        for required in schema["required"].as_array().into_iter().flatten() {
            if let Some(name) = required.as_str().filter(|n| !map.contains_key(*n)) {
                out(format!("{path}.{name} is required"));
            }
        }
        for (key, item) in map {
            let at = format!("{path}.{key}");
            // `JsonImportContact` names its custom-field keys `cf:custom_field_name`:
            // a pattern for `cf:<name>`, not a literal key.
            let declared = properties.and_then(|p| {
                p.get(key).or_else(|| {
                    key.starts_with("cf:")
                        .then(|| p.get("cf:custom_field_name"))
                        .flatten()
                })
            });
            match declared {
                Some(property) => {
                    if self.resolve(property)["readOnly"] == true || property["readOnly"] == true {
                        out(format!("{at} is read-only and must not be sent"));
                    }
                    self.value(property, item, &at, out);
                }
                None if schema["additionalProperties"].is_object() => {
                    self.value(&schema["additionalProperties"], item, &at, out)
                }
                None if properties.is_some() && schema["additionalProperties"] != true => {
                    out(format!("{at} is not a property of the schema"))
                }
                None => {}
            }
        }
    }
}

/// `enum`, lengths, item counts, ranges and `format: date-time` of one value.
fn bounds(schema: &Value, value: &Value, path: &str, out: &mut impl FnMut(String)) {
    let number = |key: &str| schema[key].as_f64();
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            out(format!(
                "{path} is not one of {}",
                Value::Array(allowed.clone())
            ));
        }
    }
    let (count, what) = match value {
        Value::String(s) => (Some(s.chars().count() as f64), "characters"),
        Value::Array(a) => (Some(a.len() as f64), "items"),
        _ => (None, ""),
    };
    let (min, max) = match value {
        Value::Array(_) => ("minItems", "maxItems"),
        _ => ("minLength", "maxLength"),
    };
    if let Some(n) = count {
        if number(min).is_some_and(|m| n < m) || number(max).is_some_and(|m| n > m) {
            out(format!(
                "{path} has {n} {what}; the schema allows {}..{}",
                schema[min], schema[max]
            ));
        }
    }
    if let Some(n) = value.as_f64() {
        if number("minimum").is_some_and(|m| n < m) || number("maximum").is_some_and(|m| n > m) {
            out(format!(
                "{path} is {n}, outside {}..{}",
                schema["minimum"], schema["maximum"]
            ));
        }
    }
    if schema["format"] == "date-time" && value.as_str().is_some_and(|s| !is_date_time(s)) {
        out(format!("{path} is not a date-time: {}", excerpt(value)));
    }
}

/// Checks the path and query parameters sent against those `declared`.
fn parameters(
    declared: &[Value],
    path: &[(String, String)],
    query: &[(String, String)],
    out: &mut impl FnMut(String),
) {
    for (place, sent) in [("path", path), ("query", query)] {
        for (name, value) in sent {
            match declared
                .iter()
                .find(|p| p["in"] == place && p["name"] == name.as_str())
            {
                Some(param) => parameter(param, value, out),
                None => out(format!("{place} parameter {name} is not declared")),
            }
        }
    }
    let required = declared
        .iter()
        .filter(|p| p["in"] == "query" && p["required"] == true);
    for param in required {
        if !query.iter().any(|(n, _)| param["name"] == n.as_str()) {
            out(format!(
                "required query parameter {} is missing",
                param["name"]
            ));
        }
    }
}

/// Checks a `multipart/form-data` body (logged as text) against the operation's
/// `formData` parameters: each part declared, the required ones present, the
/// text ones within their bounds.
fn form_data(declared: &[Value], text: &str, out: &mut impl FnMut(String)) {
    let parts: Vec<(String, String)> = text
        .split("Content-Disposition: form-data; name=\"")
        .skip(1)
        .filter_map(|part| {
            let (name, rest) = part.split_once('"')?;
            let (_, value) = rest.split_once("\r\n\r\n")?;
            let end = value.find("\r\n--").unwrap_or(value.len());
            Some((name.to_owned(), value[..end].to_owned()))
        })
        .collect();
    for (name, value) in &parts {
        match declared
            .iter()
            .find(|p| p["in"] == "formData" && p["name"] == name.as_str())
        {
            Some(param) if param["type"] == "file" => {}
            Some(param) => parameter(param, value, out),
            None => out(format!("form field {name} is not declared")),
        }
    }
    let required = declared
        .iter()
        .filter(|p| p["in"] == "formData" && p["required"] == true);
    for param in required {
        if !parts.iter().any(|(n, _)| param["name"] == n.as_str()) {
            out(format!("required form field {} is missing", param["name"]));
        }
    }
}

/// Checks one path or query parameter's text.
fn parameter(param: &Value, text: &str, out: &mut impl FnMut(String)) {
    let name = param["name"].as_str().unwrap_or("?");
    let csv = param["format"] == "csv" || param["type"] == "array" || param.get("items").is_some();
    if csv {
        text.split(',')
            .for_each(|value| parameter_value(param, name, value, out));
        let count = text.split(',').count() as u64;
        if param["maxItems"].as_u64().is_some_and(|max| count > max) {
            out(format!(
                "{name} lists {count} values; more than its maxItems"
            ));
        }
    } else {
        parameter_value(param, name, text, out);
    }
    // The document's reading: `maximum` on a string is how many ids it may list.
    if param["type"] == "string" {
        if let Some(max) = param["maximum"].as_u64() {
            let count = text.split(',').count() as u64;
            if count > max {
                out(format!("{name} lists {count} values; at most {max}"));
            }
        }
    }
    let digits = text.chars().count() as u64;
    if param["minLength"].as_u64().is_some_and(|m| digits < m)
        || param["maxLength"].as_u64().is_some_and(|m| digits > m)
    {
        out(format!(
            "{name} has {digits} characters, outside its length bounds"
        ));
    }
}

/// One value of a parameter (one item of a comma-separated list): its enum,
/// type, bounds and format.
fn parameter_value(param: &Value, name: &str, value: &str, out: &mut impl FnMut(String)) {
    let allowed = param["enum"]
        .as_array()
        .or(param["items"]["enum"].as_array());
    if allowed.is_some_and(|a| !a.iter().any(|v| v.as_str() == Some(value))) {
        out(format!("{name}={value} is not one of its enum"));
    }
    match param["type"].as_str() {
        Some("integer") => match value.parse::<i64>() {
            Ok(n) => {
                let (min, max) = (param["minimum"].as_i64(), param["maximum"].as_i64());
                if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
                    out(format!(
                        "{name}={n} is outside {}..{}",
                        param["minimum"], param["maximum"]
                    ));
                }
            }
            Err(_) => out(format!("{name}={value} is not an integer")),
        },
        Some("boolean") if !matches!(value, "true" | "false") => {
            out(format!("{name}={value} is not true or false"))
        }
        _ => {}
    }
    if param["format"] == "date-time" && !is_date_time(value) {
        out(format!("{name}={value} is not a date-time"));
    }
    if param["format"] == "uuid" && !is_uuid(value) {
        out(format!("{name}={value} is not a uuid"));
    }
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'%', Some(hex)) => {
                match u8::from_str_radix(std::str::from_utf8(hex).unwrap_or("zz"), 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            (b'+', _) => out.push(b' '),
            (byte, _) => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`, or a plain date, as the API accepts.
fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let date = digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10);
    if !date {
        return false;
    }
    if b.len() == 10 {
        return true;
    }
    let time = matches!(b.get(10), Some(b'T' | b't'))
        && digits(11..13)
        && b.get(13) == Some(&b':')
        && digits(14..16)
        && b.get(16) == Some(&b':')
        && digits(17..19);
    let mut rest = s.get(19..).unwrap_or("");
    if let Some(fraction) = rest.strip_prefix('.') {
        rest = fraction.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    time && (rest == "Z"
        || rest == "z"
        || (rest.len() == 6 && matches!(&rest[..1], "+" | "-") && &rest[3..4] == ":"))
}

fn excerpt(value: &Value) -> String {
    value.to_string().chars().take(60).collect()
}

/// YAML → JSON, with every map key as a string (YAML's `200:` is an integer).
fn to_json(yaml: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or_default())
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let key = match to_json(k) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Y::Tagged(tagged) => to_json(tagged.value),
    }
}
