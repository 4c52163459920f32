//! `multipart/form-data` bodies (RFC 7578), for the few endpoints that take a file
//! upload instead of JSON.
//!
//! ```
//! use connector_sdk::multipart::Form;
//!
//! let form = Form::new()
//!     .file("file", "contacts.csv", "text/csv", b"email\nann@example.com\n")
//!     .text("list_ids", "a,b");
//! let (content_type, body) = form.finish();
//! assert!(content_type.starts_with("multipart/form-data; boundary="));
//! assert!(body.ends_with(b"--\r\n"));
//! ```
//!
//! The boundary is chosen so that it occurs in no part: a part cannot end the body
//! early or smuggle in a part of its own. Names and file names are the connector's
//! own constants or checked by it; a `"`, CR or LF in them is replaced, so they
//! cannot break out of their header line either.

/// A form being built: its parts, in order.
#[derive(Default)]
pub struct Form {
    parts: Vec<Part>,
}

struct Part {
    name: String,
    file: Option<(String, String)>,
    body: Vec<u8>,
}

impl Form {
    /// An empty form.
    pub fn new() -> Form {
        Form::default()
    }

    /// Adds a text field.
    pub fn text(mut self, name: &str, value: &str) -> Form {
        self.parts.push(Part {
            name: header_safe(name),
            file: None,
            body: value.as_bytes().to_vec(),
        });
        self
    }

    /// Adds a file: its field name, file name, media type and content.
    pub fn file(mut self, name: &str, filename: &str, media_type: &str, content: &[u8]) -> Form {
        self.parts.push(Part {
            name: header_safe(name),
            file: Some((header_safe(filename), header_safe(media_type))),
            body: content.to_vec(),
        });
        self
    }

    /// The `Content-Type` (with its boundary) and the body.
    pub fn finish(self) -> (String, Vec<u8>) {
        let boundary = self.boundary();
        let mut body = Vec::new();
        for part in &self.parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            let mut head = format!("Content-Disposition: form-data; name=\"{}\"", part.name);
            if let Some((filename, media_type)) = &part.file {
                head.push_str(&format!(
                    "; filename=\"{filename}\"\r\nContent-Type: {media_type}"
                ));
            }
            body.extend_from_slice(head.as_bytes());
            body.extend_from_slice(b"\r\n\r\n");
            body.extend_from_slice(&part.body);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        (format!("multipart/form-data; boundary={boundary}"), body)
    }

    /// A boundary that no part contains: a fixed stem and the first counter that fits.
    fn boundary(&self) -> String {
        (0u64..)
            .map(|n| format!("connector-sdk-form-{n:016x}"))
            .find(|b| !self.parts.iter().any(|p| contains(&p.body, b.as_bytes())))
            .unwrap_or_default() // the range is endless: `find` returns a value
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `value` with `"`, CR and LF replaced, fit for a quoted header parameter.
fn header_safe(value: &str) -> String {
    value.replace(['"', '\r', '\n'], "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_framed_by_a_boundary_they_do_not_contain() {
        let tricky = b"--connector-sdk-form-0000000000000000\r\n";
        let (content_type, body) = Form::new()
            .file("file", "a\".csv", "text/csv", tricky)
            .text("list_ids", "x,y")
            .finish();
        let boundary = content_type.split("boundary=").nth(1).unwrap();
        assert_eq!(boundary, "connector-sdk-form-0000000000000001");
        let text = String::from_utf8(body).unwrap();
        assert!(text.starts_with(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a_.csv\"\r\nContent-Type: text/csv\r\n\r\n")));
        assert!(text.contains("name=\"list_ids\"\r\n\r\nx,y\r\n"));
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
    }
}
