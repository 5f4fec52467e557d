use std::time::Instant;
fn cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let rest = stat.rsplit(')').next().unwrap();
    let f: Vec<f64> = rest.split_whitespace().map(|v| v.parse().unwrap_or(0.0)).collect();
    (f[11] + f[12]) / 100.0
}
fn wb() -> f64 {
    let io = std::fs::read_to_string("/proc/self/io").unwrap();
    io.lines().find_map(|l| l.strip_prefix("write_bytes:")).and_then(|v| v.trim().parse().ok()).unwrap()
}
fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().unwrap()).collect();
    let (keys, size, group, n) = (args[0], args[1], args[2], 20000usize);
    let dir = tempfile::tempdir().unwrap();
    let db =
        sled::Config::new().path(dir.path()).cache_capacity(64 << 20).mode(sled::Mode::HighThroughput).open().unwrap();
    let val = vec![b'x'; size];
    let (c0, w0, t0) = (cpu(), wb(), Instant::now());
    let mut rng = 12345u64;
    let mut i = 0;
    while i < n {
        let mut b = sled::Batch::default();
        for _ in 0..group {
            i += 1;
            for k in 0..keys {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let key = if k == 0 || std::env::var("SEQ").is_ok() {
                    format!("{k}/{i:016x}")
                } else {
                    format!("{k}/{:016x}", rng >> 20)
                };
                b.insert(key.as_bytes(), &val[..]);
            }
        }
        db.apply_batch(b).unwrap();
        db.flush().unwrap();
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "keys {keys} size {size} group {group}: {:.0} msg/s, {:.0} us cpu/msg, {:.1} KiB written/msg",
        n as f64 / secs,
        (cpu() - c0) * 1e6 / n as f64,
        (wb() - w0) / 1024.0 / n as f64
    );
}
