//! The CLI's candle file reader (CSV or JSON): any text either parses into a valid, strictly
//! increasing series or fails with a row-numbered error; it never panics, and every candle it
//! returns satisfies detection.md §1.
#![no_main]

// The reader lives in the CLI binary crate (it keeps serde_json out of the domain); it has
// no `crate::` references, so it is compiled here as a module of its own.
#[allow(dead_code, clippy::all)]
#[path = "../../crates/cli/src/input.rs"]
mod input;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(series) = input::parse(text) {
        let candles = series.as_slice();
        for pair in candles.windows(2) {
            assert!(
                pair[0].ts() < pair[1].ts(),
                "series must be strictly increasing"
            );
        }
        for c in candles {
            assert!(c.low() <= c.open() && c.low() <= c.close());
            assert!(c.high() >= c.open() && c.high() >= c.close());
            assert!(c.volume() >= 0.0 && c.volume().is_finite());
        }
    }
});
