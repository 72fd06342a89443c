//! The JSON shapes the CLI prints. Numbers are written by serde_json (shortest round-trip
//! form), so output is byte-for-byte deterministic.

use cl_domain::{Candle, Detection, Timeframe};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use std::cell::Cell;
use std::io::{self, Write};

/// One detection in `detect`'s output.
#[derive(Debug, Serialize)]
struct PatternOut {
    index: usize,
    detected_at: i64,
    #[serde(rename = "type")]
    pattern_type: &'static str,
    direction: &'static str,
    zone_low: f64,
    zone_high: f64,
    swept_level: Option<f64>,
}

impl From<&Detection> for PatternOut {
    fn from(d: &Detection) -> Self {
        Self {
            index: d.index,
            detected_at: d.detected_at,
            pattern_type: d.pattern_type.as_str(),
            direction: d.direction.as_str(),
            zone_low: d.zone.low(),
            zone_high: d.zone.high(),
            swept_level: d.swept_level,
        }
    }
}

/// Writes `{"patterns":[...]}` and a newline.
///
/// # Errors
/// The writer's I/O error.
pub fn write_patterns<'a, W: Write>(
    out: W,
    detections: impl Iterator<Item = &'a Detection>,
) -> io::Result<()> {
    let mut ser = serde_json::Serializer::new(out);
    let mut map = ser.serialize_map(Some(1)).map_err(io::Error::other)?;
    map.serialize_entry("patterns", &Seq::new(detections.map(PatternOut::from)))
        .map_err(io::Error::other)?;
    map.end().map_err(io::Error::other)?;
    ser.into_inner().write_all(b"\n")
}

/// Writes `{"<tf>":[[ts,o,h,l,c,v],...],...}` in the given order, and a newline.
///
/// # Errors
/// The writer's I/O error.
pub fn write_aggregates<W: Write>(out: W, per_tf: &[(Timeframe, Vec<Candle>)]) -> io::Result<()> {
    let mut ser = serde_json::Serializer::new(out);
    let mut map = ser
        .serialize_map(Some(per_tf.len()))
        .map_err(io::Error::other)?;
    for (tf, candles) in per_tf {
        map.serialize_entry(tf.as_str(), &Seq::new(candles.iter().map(Candle::to_row)))
            .map_err(io::Error::other)?;
    }
    map.end().map_err(io::Error::other)?;
    ser.into_inner().write_all(b"\n")
}

/// Serializes an iterator as a JSON array without collecting it. Serializing takes the
/// iterator, so a second serialization writes an empty array.
struct Seq<I>(Cell<Option<I>>);

impl<I> Seq<I> {
    fn new(iter: I) -> Self {
        Self(Cell::new(Some(iter)))
    }
}

impl<I> Serialize for Seq<I>
where
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.take().into_iter().flatten())
    }
}
