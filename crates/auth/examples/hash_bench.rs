//! Times PBKDF2-HMAC-SHA256 at the OWASP setting on this machine.
//!
//! `cargo run --release -p cl-auth --example hash_bench [iterations] [rounds]`

use std::time::Instant;

use cl_auth::password::{hash_password, Pbkdf2Params, DEFAULT_PBKDF2_ITERATIONS};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let iterations = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(DEFAULT_PBKDF2_ITERATIONS);
    let rounds: u32 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(5);
    let params = Pbkdf2Params::new(iterations)?;

    let mut timings_ms = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        let hash = hash_password("Correct7HorseBatteryStaple", &params)?;
        timings_ms.push(start.elapsed().as_secs_f64() * 1_000.0);
        std::hint::black_box(hash);
    }
    timings_ms.sort_by(f64::total_cmp);
    let median = timings_ms
        .get(timings_ms.len() / 2)
        .copied()
        .unwrap_or(f64::NAN);
    println!(
        "pbkdf2-sha256 i={iterations}: median {median:.1} ms, min {:.1} ms, max {:.1} ms over {rounds} runs",
        timings_ms.first().copied().unwrap_or(f64::NAN),
        timings_ms.last().copied().unwrap_or(f64::NAN),
    );
    Ok(())
}
