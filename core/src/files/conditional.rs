//! Validators and conditional requests (RFC 9110 sections 8.8 and 13).

use http::header::HeaderName;
use http::HeaderMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The first second `httpdate` cannot write (year 10000).
const MAX_HTTP_DATE: u64 = 253_402_300_800;

/// A file's validators: its strong entity tag and its modification time in whole seconds,
/// both derived from its metadata alone. `None` when the time is unknown, before 1970 or
/// after 9999 (no HTTP-date can say it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Validators {
    /// `"<len>-<seconds>.<nanoseconds>"` in hex, quotes included.
    pub(super) etag: String,
    /// The modification time, truncated to seconds as an HTTP-date holds it.
    pub(super) last_modified: SystemTime,
}

impl Validators {
    pub(super) fn new(len: u64, modified: Option<SystemTime>) -> Option<Self> {
        let since = modified?.duration_since(UNIX_EPOCH).ok()?;
        if since.as_secs() >= MAX_HTTP_DATE {
            return None;
        }
        Some(Self {
            etag: format!("\"{len:x}-{:x}.{:x}\"", since.as_secs(), since.subsec_nanos()),
            last_modified: UNIX_EPOCH + Duration::from_secs(since.as_secs()),
        })
    }

    pub(super) fn http_date(&self) -> String {
        httpdate::fmt_http_date(self.last_modified)
    }
}

/// Whether a list of entity tags (`If-Match`, `If-None-Match`: every field line of `name`)
/// holds `ours` or `*`: `None` when the request has no such field. `strong` compares as
/// `If-Match` must (a weak tag never matches); otherwise `W/` is ignored on both sides.
/// A list that does not parse matches nothing.
pub(super) fn list_matches(headers: &HeaderMap, name: &HeaderName, ours: Option<&str>, strong: bool) -> Option<bool> {
    let mut values = headers.get_all(name).iter().peekable();
    values.peek()?;
    let mut matched = false;
    for value in values {
        let Ok(value) = value.to_str() else { return Some(false) };
        if value.trim() == "*" {
            matched = true;
            continue;
        }
        let Some(tags) = entity_tags(value) else { return Some(false) };
        matched |= tags.iter().any(|&(weak, tag)| !(strong && weak) && ours.is_some_and(|ours| ours == tag));
    }
    Some(matched)
}

/// Whether an `If-Range` value holds: a strong entity tag equal to ours, or an HTTP-date equal
/// to the file's `Last-Modified`. A weak tag or an unparsable value never holds.
pub(super) fn if_range_holds(value: &str, validators: Option<&Validators>) -> bool {
    let Some(validators) = validators else { return false };
    let value = value.trim();
    if value.starts_with('"') || value.starts_with("W/") {
        return matches!(entity_tags(value).as_deref(), Some([(false, tag)]) if *tag == validators.etag);
    }
    http_date(value) == Some(validators.last_modified)
}

/// An HTTP-date in any of the three forms of RFC 9110 section 5.6.7; `None` if invalid, as a
/// server then ignores the field.
pub(super) fn http_date(value: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(value.trim()).ok()
}

/// The tags of one field line: `W/"x", "y"` -> `[(true, "\"x\""), (false, "\"y\"")]`, quotes
/// kept so that they compare with ours as written. Empty elements (`a, , b`) are skipped.
fn entity_tags(value: &str) -> Option<Vec<(bool, &str)>> {
    let mut tags = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return Some(tags);
        }
        let (weak, tagged) = match rest.strip_prefix("W/") {
            Some(tagged) => (true, tagged),
            None => (false, rest),
        };
        let inner = tagged.strip_prefix('"')?;
        let end = inner.find('"')?;
        tags.push((weak, &tagged[..end + 2]));
        rest = &inner[end + 1..];
        if !(rest.is_empty() || rest.starts_with([' ', '\t', ','])) {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_tag_lists() {
        assert_eq!(
            entity_tags(r#""a", W/"b",,"c,d""#),
            Some(vec![(false, "\"a\""), (true, "\"b\""), (false, "\"c,d\"")])
        );
        assert_eq!(entity_tags(""), Some(vec![]));
        assert_eq!(entity_tags("a"), None);
        assert_eq!(entity_tags("\"a"), None);
        assert_eq!(entity_tags("\"a\"b"), None);
        assert_eq!(entity_tags("W/a"), None);
    }

    #[test]
    fn validators_only_for_dates_an_http_date_can_say() {
        assert!(Validators::new(1, None).is_none());
        assert!(Validators::new(1, Some(UNIX_EPOCH - Duration::from_secs(1))).is_none());
        assert!(Validators::new(1, Some(UNIX_EPOCH + Duration::from_secs(MAX_HTTP_DATE))).is_none());
        let last = Validators::new(1, Some(UNIX_EPOCH + Duration::from_secs(MAX_HTTP_DATE - 1))).unwrap();
        assert_eq!(last.http_date(), "Fri, 31 Dec 9999 23:59:59 GMT");
        let v = Validators::new(0x10, Some(UNIX_EPOCH + Duration::new(0x20, 0x30))).unwrap();
        assert_eq!(v.etag, "\"10-20.30\"");
        assert_eq!(v.last_modified, UNIX_EPOCH + Duration::from_secs(0x20));
    }
}
