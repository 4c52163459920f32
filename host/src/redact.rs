//! Making text safe to show: what a guest or a remote server wrote, URLs that
//! may carry credentials, and parser messages that may quote a secret.
//!
//! Invariants (DESIGN §5.4):
//! - text from a guest or a server never reaches a terminal or a log raw:
//!   control characters (ESC, CR, LF, …) and invisible or direction-changing
//!   Unicode are shown as `\u{…}` escapes, so no such text can clear a screen,
//!   rewrite a line or forge a `hint:` line (only the host writes those);
//! - a URL in an error shows scheme, host and port only: credentials, path,
//!   query and fragment may hold secrets (a Vault userpass login puts the
//!   user name in the path);
//! - a parser message never quotes the value it choked on.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};

use aho_corasick::AhoCorasick;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

/// The most characters of untrusted text shown in one place.
const MAX_SHOWN: usize = 2000;

/// Untrusted text, escaped and shortened for display: `{}` renders it safe.
pub struct Untrusted<'a>(pub &'a str);

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (shown, c) in self.0.chars().enumerate() {
            if shown == MAX_SHOWN {
                let rest = self.0.chars().count() - MAX_SHOWN;
                return write!(f, "… ({rest} more characters)");
            }
            match c {
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if is_unsafe(c) => write!(f, "\\u{{{:x}}}", c as u32)?,
                c => fmt::Write::write_char(f, c)?,
            }
        }
        Ok(())
    }
}

/// [`Untrusted`] as an owned string.
pub fn untrusted(text: &str) -> String {
    Untrusted(text).to_string()
}

/// `text` with every absolute file path cut to its last part
/// (`/srv/connections/acme.toml` → `acme.toml`), for answers that leave the
/// server: its layout is nobody's business but the operator's. A path is a
/// `/` that starts a word (not one inside a URL), up to the next space or
/// quote; `/api/`, `/mcp`, `/oauth/` and `/openapi.json` are routes and stay.
pub fn without_paths(text: &str) -> String {
    const ROUTES: [&str; 4] = ["/api/", "/mcp", "/oauth/", "/openapi.json"];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('/') {
        let starts_word = rest[..at]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || "(\"'`=,".contains(c));
        out.push_str(&rest[..at]);
        let end = rest[at..]
            .find(|c: char| c.is_whitespace() || "\"'`),".contains(c))
            .map_or(rest.len(), |e| at + e);
        let word = &rest[at..end];
        if starts_word && !ROUTES.iter().any(|r| word.starts_with(r)) && word.len() > 1 {
            out.push_str(word.rsplit('/').find(|p| !p.is_empty()).unwrap_or_default());
        } else {
            out.push_str(word);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Characters that must not reach a terminal, a page or an agent as they
/// are: C0 and C1 controls, DEL, and every character that is invisible or
/// changes how text around it reads: Unicode's Default_Ignorable_Code_Point
/// set (zero-width characters, the soft hyphen, Hangul fillers, variation
/// selectors, the tag block U+E0000–E007F, which can spell hidden text to a
/// language model) and the other format characters (bidirectional marks,
/// overrides and isolates, the interlinear annotation marks, Arabic and
/// Egyptian format signs), plus the line and paragraph separators.
/// Whether [`untrusted`] would change `text`.
fn needs_escaping(text: &str) -> bool {
    text.len() > MAX_SHOWN && text.chars().count() > MAX_SHOWN || text.chars().any(is_unsafe)
}

fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00ad}'
            | '\u{034f}'
            | '\u{061c}'
            | '\u{0600}'..='\u{0605}'
            | '\u{06dd}'
            | '\u{070f}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08e2}'
            | '\u{115f}'..='\u{1160}'
            | '\u{17b4}'..='\u{17b5}'
            | '\u{180b}'..='\u{180f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{3164}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff0}'..='\u{fffb}'
            | '\u{110bd}'
            | '\u{110cd}'
            | '\u{13430}'..='\u{1343f}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e0fff}')
}

/// Escapes unsafe characters in a line the host composed from parts, keeping
/// its own line breaks: the last guard before a terminal or a log.
pub fn terminal(text: &str) -> String {
    text.split('\n')
        .map(|line| {
            line.chars()
                .map(|c| match c {
                    '\t' => "\t".to_owned(),
                    c if is_unsafe(c) => format!("\\u{{{:x}}}", c as u32),
                    c => c.to_string(),
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// How many secrets the log guard remembers (the oldest are forgotten).
const REMEMBERED: usize = 1024;
/// Shorter values are not remembered: blanking every `1` or `yes` in the
/// logs would hide everything and protect nothing.
const SHORTEST_REMEMBERED: usize = 8;

/// The secret values this process holds, so the log writer can blank them
/// whatever library logs them (belt and braces: libraries known to log
/// bodies are silenced outright, see `logging`).
#[derive(Default)]
struct Remembered {
    values: VecDeque<Zeroizing<String>>,
    matcher: Option<Arc<AhoCorasick>>,
}

static REMEMBERED_SECRETS: Mutex<Option<Remembered>> = Mutex::new(None);

/// Remembers a secret value so that [`secrets_removed`] blanks it.
pub fn remember(secret: &SecretString) {
    let value = secret.expose_secret();
    if value.len() < SHORTEST_REMEMBERED {
        return;
    }
    let mut guard = REMEMBERED_SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    let known = guard.get_or_insert_with(Remembered::default);
    if known.values.iter().any(|v| v.as_str() == value) {
        return;
    }
    if known.values.len() == REMEMBERED {
        known.values.pop_front();
    }
    known.values.push_back(Zeroizing::new(value.to_owned()));
    known.matcher = AhoCorasick::new(known.values.iter().map(|v| v.as_str()))
        .ok()
        .map(Arc::new);
}

/// The secrets remembered now, to look for in many strings without taking
/// the process-wide lock for each (a call's result has thousands).
#[derive(Clone, Default)]
pub struct SecretScan(Option<Arc<AhoCorasick>>);

impl SecretScan {
    /// The secrets remembered at this moment.
    pub fn now() -> SecretScan {
        let guard = REMEMBERED_SECRETS.lock().unwrap_or_else(|e| e.into_inner());
        SecretScan(guard.as_ref().and_then(|k| k.matcher.clone()))
    }

    /// Whether `text` holds one of them.
    pub fn finds(&self, text: &str) -> bool {
        self.0.as_ref().is_some_and(|m| m.is_match(text))
    }

    /// `text` with each of them replaced by `[redacted]`.
    pub fn removed(&self, text: &str) -> String {
        match &self.0 {
            Some(matcher) => {
                let replacements = vec!["[redacted]"; matcher.patterns_len()];
                matcher.replace_all(text, &replacements)
            }
            None => text.to_owned(),
        }
    }
}

/// `text` with every remembered secret replaced by `[redacted]`.
pub fn secrets_removed(text: &str) -> String {
    SecretScan::now().removed(text)
}

/// Escapes every string inside `value` (keys too), e.g. a connector's
/// self-description, which is shown to people and agents. The artifact
/// cache keeps descriptions escaped: a change to what this escapes must
/// bump the version in `invoke::artifact::described_name`.
pub fn escape_strings(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) if needs_escaping(s) => {
            *s = untrusted(s);
        }
        Value::Array(items) => items.iter_mut().for_each(escape_strings),
        // Keys are almost always plain: rebuild the map only when one is not.
        Value::Object(map) if map.keys().all(|k| !needs_escaping(k)) => {
            map.values_mut().for_each(escape_strings);
        }
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut item) in entries {
                escape_strings(&mut item);
                map.insert(untrusted(&key), item);
            }
        }
        _ => {}
    }
}

/// A URL for an error message: `scheme://host[:port]`, with `/…` when a path
/// or query was there. Anything unparseable is not shown at all.
pub fn url(text: &str) -> String {
    let Ok(parsed) = url::Url::parse(text) else {
        return "(a value that is not a URL)".into();
    };
    let Some(host) = parsed.host_str() else {
        return format!("{}:…", parsed.scheme());
    };
    let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
    let more = parsed.path() != "/" || parsed.query().is_some() || parsed.fragment().is_some();
    let tail = if more { "/…" } else { "" };
    untrusted(&format!("{}://{host}{port}{tail}", parsed.scheme()))
}

/// A URL for a description (a store's address, an endpoint): the whole
/// URL but its user name and password, which may be credentials. Anything
/// unparseable is not shown at all.
pub fn without_userinfo(text: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(text) else {
        return "(a value that is not a URL)".into();
    };
    if parsed.username().is_empty() && parsed.password().is_none() {
        return untrusted(text.trim_end_matches('/'));
    }
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    untrusted(parsed.as_str().trim_end_matches('/'))
}

/// `text` with every `http://…` or `https://…` in it cut down by [`url`]:
/// for messages of libraries that quote the URL they failed on.
pub fn urls_in(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = ["http://", "https://"]
        .iter()
        .filter_map(|p| rest.find(p))
        .min()
    {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>' | ','))
            .unwrap_or(tail.len());
        out.push_str(&url(&tail[..end]));
        rest = &tail[end..];
    }
    out.push_str(rest);
    untrusted(&out)
}

/// A serde or TOML message with the offending value taken out.
///
/// serde's own messages quote values (`invalid type: string "…", expected
/// f64`, `unknown variant `…``); keys (`missing field `x``) are kept, since a
/// person needs them to find the line.
pub fn parser_message(message: &str) -> String {
    let first = message.lines().next().unwrap_or_default();
    let keeps_keys = [
        "missing field",
        "unknown field",
        "duplicate field",
        "duplicate key",
    ];
    if keeps_keys.iter().any(|k| first.starts_with(k)) {
        return untrusted(first);
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = first.strip_prefix(prefix) {
            let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
            // serde's `Unexpected` is a kind, then the value in quotes.
            let kind = found.split(['"', '`', '\'']).next().unwrap_or_default();
            let expected = if expected.is_empty() {
                String::new()
            } else {
                format!(", expected {}", unquoted(expected))
            };
            return untrusted(&format!("{prefix}{}{expected}", kind.trim()));
        }
    }
    untrusted(&unquoted(first))
}

/// Removes every `"…"`, `'…'` and `` `…` `` span (and what follows an
/// unclosed quote), the places parser messages put values.
fn unquoted(text: &str) -> String {
    let mut out = String::new();
    let mut open: Option<char> = None;
    for c in text.chars() {
        match open {
            Some(q) if c == q => open = None,
            Some(_) => {}
            None if matches!(c, '"' | '`' | '\'') => {
                open = Some(c);
                out.push('…');
            }
            None => out.push(c),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_invisible_characters_are_made_visible() {
        let forged = "oops\u{1b}[2J\r\nhint: run rm -rf\u{202e}\u{200b}";
        let shown = untrusted(forged);
        assert_eq!(
            shown,
            "oops\\u{1b}[2J\\r\\nhint: run rm -rf\\u{202e}\\u{200b}"
        );
        assert!(!shown.contains('\n') && !shown.contains('\u{1b}'));
        assert_eq!(
            untrusted("plain text, ünïcode ok"),
            "plain text, ünïcode ok"
        );
    }

    #[test]
    fn invisible_characters_that_hide_text_from_people_are_made_visible() {
        // Tag characters spelling "IGNORE", a soft hyphen, a Hangul filler,
        // a variation selector, a word joiner, an isolate, a Mongolian vowel
        // separator: each shows as an escape.
        let hidden: String = "IGNORE"
            .chars()
            .map(|c| char::from_u32(0xe0000 + c as u32).unwrap())
            .collect();
        let text = format!("a{hidden}b\u{ad}c\u{3164}d\u{fe0f}e\u{2060}f\u{2066}g\u{180e}h");
        let shown = untrusted(&text);
        assert_eq!(
            shown,
            "a\\u{e0049}\\u{e0047}\\u{e004e}\\u{e004f}\\u{e0052}\\u{e0045}b\\u{ad}c\\u{3164}d\\u{fe0f}e\\u{2060}f\\u{2066}g\\u{180e}h"
        );
        assert!(shown.chars().all(|c| c.is_ascii_graphic()), "{shown}");
        // Letters of other scripts, accents and emoji stay as they are.
        assert_eq!(untrusted("café 東京 😀 Ωmega"), "café 東京 😀 Ωmega");
    }

    #[test]
    fn long_untrusted_text_is_cut() {
        let shown = untrusted(&"x".repeat(MAX_SHOWN + 10));
        assert!(shown.ends_with("… (10 more characters)"), "{shown}");
    }

    #[test]
    fn terminal_keeps_the_hosts_line_breaks_only() {
        assert_eq!(terminal("a\u{1b}b\nhint: c\r"), "a\\u{1b}b\nhint: c\\u{d}");
    }

    #[test]
    fn urls_lose_credentials_paths_and_queries() {
        assert_eq!(
            url("https://user:pa55@vault.example:8200/v1/auth/userpass/login/alice?x=1"),
            "https://vault.example:8200/…"
        );
        assert_eq!(url("http://127.0.0.1:8911"), "http://127.0.0.1:8911");
        assert_eq!(
            url("not a url with secret-1"),
            "(a value that is not a URL)"
        );
    }

    #[test]
    fn remembered_secrets_are_blanked_and_short_values_are_not_remembered() {
        remember(&SecretString::from("canary-remembered-7f3a".to_owned()));
        remember(&SecretString::from("short".to_owned()));
        assert_eq!(
            secrets_removed("body {\"token\": \"canary-remembered-7f3a\"} short"),
            "body {\"token\": \"[redacted]\"} short"
        );
    }

    #[test]
    fn described_urls_lose_only_their_credentials() {
        assert_eq!(
            without_userinfo("http://user:pa55word@vault.example:8200"),
            "http://vault.example:8200"
        );
        assert_eq!(
            without_userinfo("https://vault.example/prefix"),
            "https://vault.example/prefix"
        );
        assert_eq!(without_userinfo("pa55word"), "(a value that is not a URL)");
    }

    #[test]
    fn urls_inside_messages_are_cut() {
        assert_eq!(
            urls_in("error sending request for url (http://v:8200/v1/auth/userpass/login/alice): refused"),
            "error sending request for url (http://v:8200/…): refused"
        );
    }

    #[test]
    fn parser_messages_keep_keys_and_drop_values() {
        assert_eq!(
            parser_message("invalid type: string \"CANARY\", expected f64"),
            "invalid type: string, expected f64"
        );
        assert_eq!(
            parser_message("invalid value: integer `77`, expected u8"),
            "invalid value: integer, expected u8"
        );
        assert_eq!(
            parser_message("unknown variant `CANARY`, expected `a` or `b`"),
            "unknown variant …, expected … or …"
        );
        assert_eq!(
            parser_message("missing field `connector`"),
            "missing field `connector`"
        );
        assert_eq!(
            parser_message("invalid basic string \"CAN"),
            "invalid basic string …"
        );
    }

    #[test]
    fn server_paths_are_cut_to_their_last_part_and_routes_and_urls_stay() {
        use super::without_paths;
        assert_eq!(
            without_paths("connection file /srv/x/connections/acme.toml: [fields] id is needed"),
            "connection file acme.toml: [fields] id is needed"
        );
        assert_eq!(
            without_paths("cannot use file '/home/op/.vault-token' (see /tmp/a/b/)"),
            "cannot use file '.vault-token' (see b)"
        );
        assert_eq!(
            without_paths("POST /api/connections/x/connect, https://api.cc.email/v3/x and 3/4"),
            "POST /api/connections/x/connect, https://api.cc.email/v3/x and 3/4"
        );
        assert_eq!(without_paths("/"), "/");
    }
}
