//! Writes the benchmark corpus to a directory, for `benches/compare.sh`:
//! `cargo run --release --example gen_corpus -- DIR [MEGABYTES]`.

#[path = "../benches/support/corpus.rs"]
mod corpus;

use std::{env, fs, path::PathBuf};

use corpus::Kind;

fn main() -> std::io::Result<()> {
    let mut args = env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "target/corpus".to_owned()));
    let megabytes: usize = args.next().map_or(50, |m| m.parse().expect("MEGABYTES is a number"));
    let bytes = megabytes << 20;
    fs::create_dir_all(dir.join("small"))?;
    for (name, kind) in [
        ("valid-compact.json", Kind::ValidCompact),
        ("valid-pretty.json", Kind::ValidPretty),
        ("sample-damage.json", Kind::SampleDamage),
        ("mixed-damage.json", Kind::MixedDamage),
        ("dump.ndjson", Kind::Ndjson),
    ] {
        fs::write(dir.join(name), corpus::generate(kind, bytes, 42))?;
    }
    let pretty = corpus::generate(Kind::ValidPretty, bytes / 4, 42);
    fs::write(dir.join("powershell-utf16.json"), corpus::utf16_export(&pretty))?;
    for (i, file) in corpus::small_files(2000, 42).iter().enumerate() {
        fs::write(dir.join("small").join(format!("{i:04}.json")), file)?;
    }
    eprintln!("wrote {megabytes} MB corpora to {}", dir.display());
    Ok(())
}
