//! The end-to-end baseline: a minimal serde_json + csv program doing the same
//! flattening as `scanhist convert --format csv`, for `benches/compare.sh`.
//! `cargo run --release --example baseline_csv -- FILE > rows.csv`

#[path = "support/baseline.rs"]
mod baseline;

use std::io::{self, BufWriter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: baseline_csv FILE")?;
    let bytes = std::fs::read(&path)?;
    let out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    baseline::to_csv(&bytes, &path, out)?;
    Ok(())
}
