//! Time as triggers compare it: milliseconds since 1970, UTC, read from and
//! written as RFC 3339, with no calendar crate (a component stays small).

/// The guest's wall clock (`wasi:clocks/wall-clock`), in ms since 1970.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Milliseconds since 1970 as `2026-11-23T10:00:00.000Z`.
pub fn format_ms(ms: i64) -> String {
    let (days, rest) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    let (h, min, s, milli) = (
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000,
    );
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z")
}

/// An RFC 3339 date-time (`Z` or `±hh:mm`, any fraction, cut to milliseconds)
/// or a date (midnight UTC) as milliseconds since 1970; `None` otherwise.
pub fn parse_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let valid = text.get(4..5) == Some("-") && text.get(7..8) == Some("-");
    if !valid || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let day_ms = days_from_civil(y, m, d) * 86_400_000;
    if text.len() == 10 {
        return Some(day_ms);
    }
    let sep = text.get(10..11)?;
    if !sep.eq_ignore_ascii_case("t") || text.get(13..14)? != ":" || text.get(16..17)? != ":" {
        return None;
    }
    let (h, min, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || min > 59 || s > 60 {
        return None;
    }
    let (milli, zone) = fraction(&text[19..])?;
    Some(day_ms + ((h * 60 + min - offset_minutes(zone)?) * 60 + s) * 1000 + milli)
}

/// `.123456Z` → (123 ms, `Z`): an optional fraction, cut to milliseconds.
fn fraction(rest: &str) -> Option<(i64, &str)> {
    let Some(digits) = rest.strip_prefix('.') else {
        return Some((0, rest));
    };
    let count = digits.bytes().take_while(u8::is_ascii_digit).count();
    if count == 0 {
        return None;
    }
    let milli = format!("{:0<3}", &digits[..count.min(3)]).parse().ok()?;
    Some((milli, &digits[count..]))
}

/// `Z` → 0, `+01:30` → 90, `-05:00` → -300.
fn offset_minutes(zone: &str) -> Option<i64> {
    if zone.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let sign = match zone.get(0..1)? {
        "+" => 1,
        "-" => -1,
        _ => return None,
    };
    if zone.len() != 6 || zone.get(3..4) != Some(":") {
        return None;
    }
    let (h, m): (i64, i64) = (zone[1..3].parse().ok()?, zone[4..6].parse().ok()?);
    Some(sign * (h * 60 + m))
}

// Howard Hinnant's civil calendar algorithms (proleptic Gregorian, exact for
// every i64 day we meet): <https://howardhinnant.github.io/date_algorithms.html>.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}
