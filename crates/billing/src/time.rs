//! Time constants and the strict RFC 3339 reader for provider timestamps. Times are `i64` UTC
//! milliseconds, as everywhere in the project; nothing here reads a clock.

/// One second in milliseconds.
pub const SECOND_MS: i64 = 1_000;
/// One minute in milliseconds.
pub const MINUTE_MS: i64 = 60 * SECOND_MS;
/// One hour in milliseconds.
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
/// One day in milliseconds.
pub const DAY_MS: i64 = 24 * HOUR_MS;
/// The largest timestamp the stores keep exactly (2^53 ms, product.md §10).
pub const MAX_TIMESTAMP_MS: i64 = 1 << 53;

const DAYS_PER_400_YEARS: i64 = 146_097;
const DAYS_FROM_0000_TO_1970: i64 = 719_468;
const MAX_MONTH: u32 = 12;
const MAX_HOUR: u32 = 23;
const MAX_MINUTE: u32 = 59;
/// Leap seconds are not accepted.
const MAX_SECOND: u32 = 59;
/// Fraction digits beyond milliseconds are read but dropped (truncated).
const MAX_FRACTION_DIGITS: usize = 9;
const MILLI_DIGITS: usize = 3;

/// A timestamp that is not strict RFC 3339 (`YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3339 timestamp")]
pub struct TimestampError;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * DAYS_PER_400_YEARS + doe - DAYS_FROM_0000_TO_1970
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Reads `n` ASCII digits at `at`.
fn digits(bytes: &[u8], at: usize, n: usize) -> Result<u32, TimestampError> {
    let slice = bytes.get(at..at + n).ok_or(TimestampError)?;
    slice.iter().try_fold(0u32, |acc, b| {
        if b.is_ascii_digit() {
            Ok(acc * 10 + u32::from(b - b'0'))
        } else {
            Err(TimestampError)
        }
    })
}

fn expect(bytes: &[u8], at: usize, allowed: &[u8]) -> Result<(), TimestampError> {
    match bytes.get(at) {
        Some(b) if allowed.contains(b) => Ok(()),
        _ => Err(TimestampError),
    }
}

/// Parses a strict RFC 3339 timestamp into UTC milliseconds (sub-millisecond digits truncated).
///
/// # Errors
/// [`TimestampError`] for any other shape, an impossible date or time, or a value outside
/// `0..=2^53` ms.
pub fn parse_rfc3339_ms(text: &str) -> Result<i64, TimestampError> {
    // Fixed layout: byte offsets 0 YYYY, 4 '-', 5 MM, 7 '-', 8 DD, 10 'T', 11 HH, 13 ':', 14 MM,
    // 16 ':', 17 SS, then 19: optional fraction, then the offset.
    let b = text.as_bytes();
    let year = i64::from(digits(b, 0, 4)?);
    expect(b, 4, b"-")?;
    let month = digits(b, 5, 2)?;
    expect(b, 7, b"-")?;
    let day = digits(b, 8, 2)?;
    expect(b, 10, b"Tt")?;
    let hour = digits(b, 11, 2)?;
    expect(b, 13, b":")?;
    let minute = digits(b, 14, 2)?;
    expect(b, 16, b":")?;
    let second = digits(b, 17, 2)?;
    if !(1..=MAX_MONTH).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > MAX_HOUR
        || minute > MAX_MINUTE
        || second > MAX_SECOND
    {
        return Err(TimestampError);
    }
    let mut pos = 19;
    let mut millis: i64 = 0;
    if b.get(pos) == Some(&b'.') {
        pos += 1;
        let start = pos;
        while b.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        }
        let count = pos - start;
        if count == 0 || count > MAX_FRACTION_DIGITS {
            return Err(TimestampError);
        }
        let take = count.min(MILLI_DIGITS);
        let value = i64::from(digits(b, start, take)?);
        let scale = 10_i64.pow(u32::try_from(MILLI_DIGITS - take).map_err(|_| TimestampError)?);
        millis = value * scale;
    }
    let offset_ms = match b.get(pos) {
        Some(b'Z' | b'z') => {
            pos += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            let sign = if *sign == b'+' { 1 } else { -1 };
            let oh = digits(b, pos + 1, 2)?;
            expect(b, pos + 3, b":")?;
            let om = digits(b, pos + 4, 2)?;
            if oh > MAX_HOUR || om > MAX_MINUTE {
                return Err(TimestampError);
            }
            pos += 6;
            sign * (i64::from(oh) * HOUR_MS + i64::from(om) * MINUTE_MS)
        }
        _ => return Err(TimestampError),
    };
    if pos != b.len() {
        return Err(TimestampError);
    }
    let days = days_from_civil(year, month, day);
    let ms = days * DAY_MS
        + i64::from(hour) * HOUR_MS
        + i64::from(minute) * MINUTE_MS
        + i64::from(second) * SECOND_MS
        + millis
        - offset_ms;
    if (0..=MAX_TIMESTAMP_MS).contains(&ms) {
        Ok(ms)
    } else {
        Err(TimestampError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lemonsqueezy_microsecond_timestamps_parse_to_milliseconds() {
        // 2021-08-11T13:47:30Z is 1628689650 s since the epoch.
        assert_eq!(
            parse_rfc3339_ms("2021-08-11T13:47:30.123456Z"),
            Ok(1_628_689_650_123)
        );
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(
            parse_rfc3339_ms("2000-03-01T00:00:00.5Z"),
            Ok(951_868_800_500)
        );
    }

    #[test]
    fn offsets_are_applied() {
        assert_eq!(
            parse_rfc3339_ms("2021-08-11T15:47:30+02:00"),
            parse_rfc3339_ms("2021-08-11T13:47:30Z")
        );
        assert_eq!(
            parse_rfc3339_ms("2021-08-11T11:17:30-02:30"),
            parse_rfc3339_ms("2021-08-11T13:47:30Z")
        );
    }

    #[test]
    fn leap_days_are_checked() {
        assert!(parse_rfc3339_ms("2024-02-29T00:00:00Z").is_ok());
        assert!(parse_rfc3339_ms("2023-02-29T00:00:00Z").is_err());
        assert!(parse_rfc3339_ms("1900-02-29T00:00:00Z").is_err());
        assert!(parse_rfc3339_ms("2000-02-29T00:00:00Z").is_ok());
    }

    #[test]
    fn malformed_timestamps_are_rejected() {
        for bad in [
            "",
            "2021-08-11",
            "2021-08-11 13:47:30Z",
            "2021-08-11T13:47:30",
            "2021-13-11T13:47:30Z",
            "2021-08-11T24:00:00Z",
            "2021-08-11T13:60:00Z",
            "2021-08-11T13:47:60Z",
            "2021-08-11T13:47:30.Z",
            "2021-08-11T13:47:30.1234567890Z",
            "2021-08-11T13:47:30Zjunk",
            "1969-12-31T23:59:59Z",
            "2021-08-11T13:47:30+0200",
            "２０21-08-11T13:47:30Z",
        ] {
            assert_eq!(parse_rfc3339_ms(bad), Err(TimestampError), "{bad}");
        }
    }
}
