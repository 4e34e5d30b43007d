//! Throughput of every stage, each group with serde_json baselines measured
//! in the same run: `serde_json::from_slice::<Value>`, and a typed decode with
//! borrowed strings (what a careful serde user would write; see
//! `support/baseline.rs`). Inputs come from the seeded corpus generator.

#[path = "support/baseline.rs"]
mod baseline;
#[path = "support/corpus.rs"]
mod corpus;

use std::hint::black_box;
use std::time::Duration;

use corpus::Kind;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use scanhist::emit::{EmitOptions, Format, RowWriter};
use scanhist::{read, read_each, repair, RepairOptions, ScanDuration, Timestamp};

const BYTES: usize = 4 << 20;

fn configure<M: criterion::measurement::Measurement>(group: &mut BenchmarkGroup<'_, M>, bytes: usize) {
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(6));
    group.warm_up_time(Duration::from_secs(1));
}

fn serde_baselines<M: criterion::measurement::Measurement>(group: &mut BenchmarkGroup<'_, M>, input: &[u8]) {
    group.bench_function("serde_json Value", |b| {
        b.iter(|| black_box(serde_json::from_slice::<serde_json::Value>(black_box(input)).unwrap()))
    });
    group.bench_function("serde_json typed borrowed", |b| b.iter(|| black_box(baseline::decode(black_box(input)))));
}

/// What `scanhist convert` does with one input, writing to memory.
fn convert(input: &[u8], format: Format) -> Vec<u8> {
    let options = EmitOptions { format, ..EmitOptions::default() };
    let mut rows = RowWriter::new(Vec::with_capacity(input.len()), options).unwrap();
    let mut storage = String::new();
    read_each(input, &RepairOptions::default(), &mut storage, |session| {
        rows.write_session("bench.json", &session).unwrap();
    })
    .unwrap();
    rows.finish().unwrap()
}

fn repair_group(c: &mut Criterion) {
    let valid = corpus::generate(Kind::ValidCompact, BYTES, 1);
    let damaged = corpus::generate(Kind::SampleDamage, BYTES, 1);
    let mixed = corpus::generate(Kind::MixedDamage, BYTES, 1);
    let mut group = c.benchmark_group("repair");
    configure(&mut group, valid.len());
    serde_baselines(&mut group, valid.as_bytes());
    group.bench_function("scanhist valid", |b| {
        b.iter(|| black_box(repair(black_box(valid.as_bytes()), &RepairOptions::default()).unwrap()))
    });
    group.throughput(Throughput::Bytes(damaged.len() as u64));
    group.bench_function("scanhist sample damage", |b| {
        b.iter(|| black_box(repair(black_box(damaged.as_bytes()), &RepairOptions::default()).unwrap()))
    });
    group.throughput(Throughput::Bytes(mixed.len() as u64));
    group.bench_function("scanhist mixed damage", |b| {
        b.iter(|| black_box(repair(black_box(mixed.as_bytes()), &RepairOptions::default()).unwrap()))
    });
    group.finish();
}

fn typed_group(c: &mut Criterion) {
    let valid = corpus::generate(Kind::ValidCompact, BYTES, 2);
    let damaged = corpus::generate(Kind::SampleDamage, BYTES, 2);
    let mut group = c.benchmark_group("typed decode");
    configure(&mut group, valid.len());
    serde_baselines(&mut group, valid.as_bytes());
    group.bench_function("scanhist valid", |b| {
        b.iter(|| {
            let mut storage = String::new();
            black_box(&read(black_box(valid.as_bytes()), &RepairOptions::default(), &mut storage).unwrap());
        })
    });
    group.throughput(Throughput::Bytes(damaged.len() as u64));
    group.bench_function("scanhist sample damage", |b| {
        b.iter(|| {
            let mut storage = String::new();
            black_box(&read(black_box(damaged.as_bytes()), &RepairOptions::default(), &mut storage).unwrap());
        })
    });
    group.finish();
}

fn convert_groups(c: &mut Criterion) {
    let valid = corpus::generate(Kind::ValidCompact, BYTES, 3);
    let damaged = corpus::generate(Kind::SampleDamage, BYTES, 3);
    for (name, format) in [("convert csv", Format::Csv), ("convert ndjson", Format::Ndjson)] {
        let mut group = c.benchmark_group(name);
        configure(&mut group, valid.len());
        serde_baselines(&mut group, valid.as_bytes());
        if format == Format::Csv {
            group.bench_function("serde_json + csv flattening", |b| {
                b.iter(|| {
                    let mut out = Vec::with_capacity(valid.len());
                    baseline::to_csv(black_box(valid.as_bytes()), "bench.json", &mut out).unwrap();
                    black_box(out)
                })
            });
        }
        group.bench_function("scanhist valid", |b| b.iter(|| black_box(convert(black_box(valid.as_bytes()), format))));
        group.throughput(Throughput::Bytes(damaged.len() as u64));
        group.bench_function("scanhist sample damage", |b| {
            b.iter(|| black_box(convert(black_box(damaged.as_bytes()), format)))
        });
        group.finish();
    }
}

fn time_values(c: &mut Criterion) {
    let mut group = c.benchmark_group("time values");
    group.sample_size(50);
    for text in ["00:08:30", "1.02:03:04.5000000", "PT8M30.1234567S"] {
        group
            .bench_function(format!("duration {text}"), |b| b.iter(|| black_box(ScanDuration::parse(black_box(text)))));
    }
    for text in ["2022-12-19T15:14:24.5561791Z", "2022-12-19T17:14:24+02:00", "/Date(1671462864556)/"] {
        group.bench_function(format!("timestamp {text}"), |b| b.iter(|| black_box(Timestamp::parse(black_box(text)))));
    }
    group.finish();
}

criterion_group!(benches, repair_group, typed_group, convert_groups, time_values);
criterion_main!(benches);
