//! Pure formatting helpers shared by the pages: prices, UTC times, symbols in URLs.
//! No web dependencies, so they are unit-tested on the host.

/// `BTC/USDT` → `BTC-USDT` (the URL form product.md accepts and the app links with).
pub fn symbol_to_url(symbol: &str) -> String {
    symbol.replacen('/', "-", 1)
}

/// `BTC-USDT` (or `BTC/USDT`, any case) → `BTC/USDT`.
pub fn symbol_from_url(raw: &str) -> String {
    raw.trim().to_ascii_uppercase().replacen('-', "/", 1)
}

/// The path of the chart page of a symbol and TF, optionally selecting a pattern.
pub fn chart_href(symbol: &str, tf: &str, pattern: Option<i64>) -> String {
    let base = format!("/chart/{}/{tf}", symbol_to_url(symbol));
    match pattern {
        Some(id) => format!("{base}?pattern={id}"),
        None => base,
    }
}

/// A price with the product's precision (product.md §5): thousands separators and 2 decimals
/// from 1000, 4 decimals from 1, else 6 significant digits.
pub fn price(p: f64) -> String {
    if !p.is_finite() {
        return String::from("—");
    }
    let abs = p.abs();
    if abs >= 1000.0 {
        let s = format!("{abs:.2}");
        let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
        let mut grouped = String::new();
        for (i, ch) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        let sign = if p < 0.0 { "-" } else { "" };
        format!("{sign}{grouped}.{frac}")
    } else if abs >= 1.0 {
        format!("{p:.4}")
    } else if abs == 0.0 {
        String::from("0")
    } else {
        // 6 significant digits below 1.
        let decimals = (5 - abs.log10().floor() as i32).clamp(0, 12) as usize;
        let s = format!("{p:.decimals$}");
        trim_zeros(&s)
    }
}

/// A compact price for axis labels: fewer decimals on large values.
pub fn axis_price(p: f64, step: f64) -> String {
    if !p.is_finite() {
        return String::new();
    }
    let decimals = if step >= 1.0 {
        0
    } else {
        ((-step.log10()).ceil() as i32).clamp(0, 10) as usize
    };
    let s = format!("{p:.decimals$}");
    if p.abs() >= 1000.0 && decimals == 0 {
        price(p).trim_end_matches(".00").to_owned()
    } else {
        s
    }
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s.to_owned()
    }
}

/// A percentage with one decimal.
pub fn percent(v: f64) -> String {
    format!("{v:.1} %")
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Splits UTC ms into (y, mo, d, h, mi).
fn parts(ms: i64) -> (i64, u32, u32, i64, i64) {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    (y, mo, d, rem / 3600, (rem % 3600) / 60)
}

/// `DD/MM/YYYY HH:MM UTC` (the product's date format).
pub fn datetime(ms: i64) -> String {
    let (y, mo, d, h, mi) = parts(ms);
    format!("{d:02}/{mo:02}/{y} {h:02}:{mi:02} UTC")
}

/// `DD/MM HH:MM` (UTC; for dense tables whose header says so).
pub fn short_datetime(ms: i64) -> String {
    let (_, mo, d, h, mi) = parts(ms);
    format!("{d:02}/{mo:02} {h:02}:{mi:02}")
}

/// A short axis label: `HH:MM` for intraday TFs, `DD/MM` for daily ones (and at midnight).
pub fn axis_time(ms: i64, daily: bool) -> String {
    let (_, mo, d, h, mi) = parts(ms);
    if daily || (h == 0 && mi == 0) {
        format!("{d:02}/{mo:02}")
    } else {
        format!("{h:02}:{mi:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_round_trip_through_urls() {
        assert_eq!(symbol_to_url("BTC/USDT"), "BTC-USDT");
        assert_eq!(symbol_from_url("btc-usdt"), "BTC/USDT");
        assert_eq!(symbol_from_url("ETH/USDT"), "ETH/USDT");
        assert_eq!(chart_href("SOL/USDT", "1h", None), "/chart/SOL-USDT/1h");
        assert_eq!(
            chart_href("SOL/USDT", "5m", Some(42)),
            "/chart/SOL-USDT/5m?pattern=42"
        );
    }

    #[test]
    fn prices_follow_the_product_precision() {
        assert_eq!(price(67_012.456), "67,012.46");
        assert_eq!(price(1_234_567.0), "1,234,567.00");
        assert_eq!(price(-1500.0), "-1,500.00");
        assert_eq!(price(3.5), "3.5000");
        assert_eq!(price(0.523_456_78), "0.523457");
        assert_eq!(price(0.000_123_4), "0.0001234");
        assert_eq!(price(0.0), "0");
        assert_eq!(price(f64::NAN), "—");
        assert_eq!(axis_price(67_000.0, 100.0), "67,000");
        assert_eq!(axis_price(0.52, 0.01), "0.52");
        assert_eq!(percent(12.345), "12.3 %");
    }

    #[test]
    fn utc_dates() {
        // 2024-06-01T00:00:00Z
        assert_eq!(datetime(1_717_200_000_000), "01/06/2024 00:00 UTC");
        assert_eq!(
            datetime(1_717_200_000_000 + 13 * 3_600_000 + 5 * 60_000),
            "01/06/2024 13:05 UTC"
        );
        assert_eq!(datetime(0), "01/01/1970 00:00 UTC");
        assert_eq!(datetime(951_782_400_000), "29/02/2000 00:00 UTC");
        assert_eq!(
            short_datetime(1_717_200_000_000 + 90 * 60_000),
            "01/06 01:30"
        );
        assert_eq!(axis_time(1_717_200_000_000 + 90 * 60_000, false), "01:30");
        assert_eq!(axis_time(1_717_200_000_000, false), "01/06");
        assert_eq!(axis_time(1_717_200_000_000 + 3_600_000, true), "01/06");
    }
}
