//! `POST /v3/activities/contacts_file_import` (spec `contactsCSVImport`): contacts from a
//! CSV file, sent as `multipart/form-data`; 201 with the activity (spec `ActivityImport`).
//!
//! - A body that is not `multipart/form-data` with a boundary is 415.
//! - Parts: `file` (required; a file name, when given, must end in `.csv`, else 415),
//!   `list_ids` (required: 1 to 50 comma-separated list ids) and
//!   `sms_permission_to_send` (`explicit` or `not_set`).
//! - The file: a header row naming the columns (`email` or `sms_number` required), then
//!   one contact per line, RFC 4180 quoting; lines past the 40,000th (header
//!   included) are not read, as the spec says. Each row is then checked and imported
//!   as a JSON import row is (see `import`); a row's problems name its line
//!   (`line 3: email is missing`).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::import::{queue, Rows};
use crate::auth::{ContactData, Needs};
use crate::errors::ApiError;
use crate::state::Sandbox;

/// Lines read from a file, the header row included (spec).
const MAX_LINES: usize = 40_000;

/// The file import route.
pub fn routes() -> Router<Sandbox> {
    Router::new().route("/v3/activities/contacts_file_import", post(import_file))
}

/// One part of a multipart body.
struct Part {
    name: String,
    filename: Option<String>,
    body: Vec<u8>,
}

/// `POST /v3/activities/contacts_file_import`.
async fn import_file(
    _: Needs<ContactData>,
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let boundary = boundary(&headers).ok_or_else(|| {
        ApiError::media_type("the body must be multipart/form-data with a boundary")
    })?;
    let parts = parts(&body, &boundary)
        .ok_or_else(|| ApiError::bad_request("the multipart body is malformed"))?;
    let text = |name: &str| {
        parts
            .iter()
            .find(|p| p.name == name)
            .map(|p| String::from_utf8_lossy(&p.body).into_owned())
    };
    let file = parts
        .iter()
        .find(|p| p.name == "file")
        .ok_or_else(|| ApiError::bad_request("file is missing"))?;
    if file
        .filename
        .as_deref()
        .is_some_and(|n| !n.to_ascii_lowercase().ends_with(".csv"))
    {
        return Err(ApiError::media_type("the file must be a .csv file"));
    }
    let csv = String::from_utf8_lossy(&file.body);
    let rows = csv_rows(&csv)?;
    let lists = text("list_ids").unwrap_or_default();
    let rows = Rows {
        rows,
        lists: lists
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        sms_permission_to_send: text("sms_permission_to_send"),
    };
    let mut account = sandbox.account();
    // Line 1 is the header: row i is on line i + 2.
    let body = queue(&mut account, rows, |i| format!("line {}", i + 2))?;
    Ok((StatusCode::CREATED, Json(body)))
}

/// The boundary of a `multipart/form-data` content type.
fn boundary(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let (essence, params) = value.split_once(';')?;
    if !essence.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|param| {
        let (key, value) = param.split_once('=')?;
        let value = value.trim().trim_matches('"');
        (key.trim().eq_ignore_ascii_case("boundary") && !value.is_empty()).then(|| value.to_owned())
    })
}

/// The parts of a multipart body (RFC 7578); `None` when it is not one.
fn parts(body: &[u8], boundary: &str) -> Option<Vec<Part>> {
    let delimiter = format!("--{boundary}");
    let mut sections = split(body, delimiter.as_bytes());
    // Before the first delimiter: a preamble; after the last (`--`): an epilogue.
    sections.remove(0);
    let mut parts = Vec::new();
    for section in sections {
        if section.starts_with(b"--") {
            return Some(parts);
        }
        let section = section.strip_prefix(b"\r\n")?;
        let end = find(section, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&section[..end]).ok()?;
        let content = &section[end + 4..];
        let content = content.strip_suffix(b"\r\n").unwrap_or(content);
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?;
        parts.push(Part {
            name: param(disposition, "name")?,
            filename: param(disposition, "filename"),
            body: content.to_vec(),
        });
    }
    None // no closing delimiter
}

/// `key="value"` of a `Content-Disposition` line.
fn param(line: &str, key: &str) -> Option<String> {
    line.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split<'a>(mut body: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    while let Some(at) = find(body, delimiter) {
        pieces.push(&body[..at]);
        body = &body[at + delimiter.len()..];
    }
    pieces.push(body);
    pieces
}

/// The file's rows as import rows (column name → value); 400 without a header naming
/// `email` or `sms_number`. Birthday columns become numbers when they are numbers.
fn csv_rows(text: &str) -> Result<Vec<BTreeMap<String, Value>>, ApiError> {
    let mut records = records(text).into_iter().take(MAX_LINES);
    let header: Vec<String> = records
        .next()
        .unwrap_or_default()
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    if !header.iter().any(|h| h == "email" || h == "sms_number") {
        return Err(ApiError::bad_request(
            "the file's header row must name an email or sms_number column",
        ));
    }
    let rows = records
        .filter(|r| r.iter().any(|cell| !cell.trim().is_empty()))
        .map(|record| {
            let mut row = BTreeMap::new();
            for (key, cell) in header.iter().zip(record) {
                let value = match (key.as_str(), cell.trim().parse::<i64>()) {
                    ("birthday_month" | "birthday_day", Ok(n)) => json!(n),
                    _ if cell.trim().is_empty() => continue,
                    _ => json!(cell),
                };
                row.insert(key.clone(), value);
            }
            row
        })
        .collect();
    Ok(rows)
}

/// The records of a CSV text (RFC 4180: `"` quotes, `""` inside quotes, CRLF or LF).
fn records(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let (mut record, mut cell) = (Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => record.push(std::mem::take(&mut cell)),
            ('\r', false) => {}
            ('\n', false) => {
                record.push(std::mem::take(&mut cell));
                records.push(std::mem::take(&mut record));
            }
            _ => cell.push(c),
        }
    }
    if !cell.is_empty() || !record.is_empty() {
        record.push(cell);
        records.push(record);
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lists::SEEDED;
    use crate::testing::Client;

    #[test]
    fn csv_records_follow_rfc_4180() {
        let text = "email,first_name\r\n\"a@x.io\",\"Ann, \"\"Jr\"\"\"\nb@x.io,Bob\n";
        assert_eq!(
            records(text),
            [
                vec!["email", "first_name"],
                vec!["a@x.io", "Ann, \"Jr\""],
                vec!["b@x.io", "Bob"]
            ]
        );
        assert!(csv_rows("first_name\nAnn\n").is_err());
    }

    fn form(boundary: &str, csv: &str, lists: &str, filename: &str) -> Vec<u8> {
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
             Content-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}\r\n\
             Content-Disposition: form-data; name=\"list_ids\"\r\n\r\n{lists}\r\n--{boundary}--\r\n"
        )
        .into_bytes()
    }

    #[tokio::test]
    async fn a_csv_file_is_imported_from_a_multipart_form() {
        let client = Client::new();
        let path = "/v3/activities/contacts_file_import";
        let kind = "multipart/form-data; boundary=b0";
        let body = form(
            "b0",
            "email,first_name,birthday_month,birthday_day\nann@x.io,Ann,4,12\n,NoMail,,\n",
            SEEDED[0].0,
            "new.csv",
        );
        let (status, activity) = client
            .raw("POST", path, Some(kind), Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{activity}");
        let activity: Value = serde_json::from_str(&activity).unwrap();
        assert_eq!(activity["status"]["items_total_count"], 2);
        let id = activity["activity_id"].as_str().unwrap();
        let (_, done) = client
            .post(&format!("/__sandbox/activities/{id}/complete"), json!({}))
            .await;
        assert_eq!(done["activity_errors"], json!(["line 3: email is missing"]));
        let (_, found) = client
            .get("/v3/contacts?email=ann@x.io&include=list_memberships")
            .await;
        assert_eq!(
            found["contacts"][0]["list_memberships"],
            json!([SEEDED[0].0])
        );
        let json_kind = Some("application/json");
        assert_eq!(
            client.raw("POST", path, json_kind, Some(body)).await.0,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        let xls = form("b0", "email\na@x.io\n", SEEDED[0].0, "new.xls");
        assert_eq!(
            client.raw("POST", path, Some(kind), Some(xls)).await.0,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        let no_lists = form("b0", "email\na@x.io\n", "", "new.csv");
        assert_eq!(
            client.raw("POST", path, Some(kind), Some(no_lists)).await.0,
            StatusCode::BAD_REQUEST
        );
    }
}
