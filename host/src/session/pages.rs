//! Following a list activity through every page, for the front ends that
//! offer it (`run --all-pages`, `serve`'s NDJSON pages). The convention list
//! activities keep: the input has a `cursor`, the output has `next_cursor`
//! and exactly one array of records.

use std::collections::VecDeque;

use futures::Stream;
use serde_json::Value;

use super::{Session, SessionError};

/// Where a walk through the pages is.
struct Walk {
    /// The next page's input; `None` once the last page was read.
    input: Option<Value>,
    /// Records of the current page not handed out yet.
    records: VecDeque<Value>,
}

impl Session {
    /// Every record of `activity`'s pages, starting from `input`; the stream
    /// ends after the last page, or with the first error.
    ///
    /// # Errors
    ///
    /// [`SessionError::NotPaged`] when the activity has no `cursor` input (at
    /// once) or a page has no single array of records (in the stream); any
    /// error of [`Session::call`] in the stream.
    pub fn records<'a>(
        &'a self,
        activity: &'a str,
        input: Value,
    ) -> Result<impl Stream<Item = Result<Value, SessionError>> + 'a, SessionError> {
        self.check_paged(activity, &input)?;
        let walk = Walk {
            input: Some(input),
            records: VecDeque::new(),
        };
        Ok(futures::stream::unfold(walk, move |mut walk| async move {
            loop {
                if let Some(record) = walk.records.pop_front() {
                    return Some((Ok(record), walk));
                }
                let input = walk.input.take()?;
                match self.page(activity, input).await {
                    Ok((records, next)) => {
                        walk.records = records.into();
                        walk.input = next;
                    }
                    Err(error) => return Some((Err(error), walk)),
                }
            }
        }))
    }

    /// Whether `activity` pages, known before any call: its input has a
    /// `cursor` and `input` is an object to put one in.
    ///
    /// # Errors
    ///
    /// [`SessionError::NotPaged`] when it does not.
    pub fn check_paged(&self, activity: &str, input: &Value) -> Result<(), SessionError> {
        let schema = self.connector().input_schema(activity).unwrap_or_default();
        if schema.pointer("/properties/cursor").is_some() && input.is_object() {
            return Ok(());
        }
        Err(SessionError::NotPaged {
            activity: activity.to_owned(),
            reason: "its input has no `cursor` (or the input is not an object)".into(),
        })
    }

    /// One page: its records and the next page's input, if there is one.
    async fn page(
        &self,
        activity: &str,
        mut input: Value,
    ) -> Result<(Vec<Value>, Option<Value>), SessionError> {
        let page = self.call(activity, &input).await?;
        let not_a_page = || SessionError::NotPaged {
            activity: activity.to_owned(),
            reason: "a page is an object with `next_cursor` and exactly one array of records"
                .into(),
        };
        let mut arrays = page
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
            .filter_map(Value::as_array);
        let (Some(records), None) = (arrays.next(), arrays.next()) else {
            return Err(not_a_page());
        };
        let next = match page.get("next_cursor") {
            Some(Value::String(cursor)) => {
                input["cursor"] = Value::String(cursor.clone());
                Some(input)
            }
            _ => None,
        };
        Ok((records.clone(), next))
    }
}
