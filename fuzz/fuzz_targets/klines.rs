//! The exchange kline parser: arbitrary bytes from the upstream never panic, and every candle
//! it keeps is valid, strictly increasing and inside the requested range.
#![no_main]

use libfuzzer_sys::fuzz_target;

const START: i64 = 1_700_000_000_000;
const END: i64 = START + 1_000 * 60_000;

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = cl_outbound::exchange::parse_klines(data, START, END) {
        for pair in page.candles.windows(2) {
            assert!(pair[0].ts() < pair[1].ts());
        }
        for c in &page.candles {
            assert!(
                (START..END).contains(&c.ts()),
                "candle outside the asked range"
            );
            assert!(c.low() <= c.high());
        }
        assert!(page.candles.len() + page.skipped.len() <= page.rows);
    }
});
