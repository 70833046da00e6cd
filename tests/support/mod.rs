//! Helpers shared by the integration tests.

pub mod postgres;

/// A port on 127.0.0.1 that is free now, for a server that binds it itself. It is taken below
/// the kernel's ephemeral range (`ip_local_port_range`), where outgoing connections get their
/// ports: a port from there (what binding port 0 gives) can be taken by any test's next
/// connection between this probe and the server's bind.
pub fn free_port() -> u16 {
    let start: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768);
    let low = 10_000u16.min(start / 2);
    let span = u64::from(start - low).max(1);
    let seed = u64::from(std::process::id())
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::from(d.subsec_nanos()));
    (0..1000u64)
        .map(|i| low + ((seed + i * 7919) % span) as u16)
        .find(|&port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok())
        .unwrap_or_else(|| panic!("no free port on 127.0.0.1 from {low} to {start}"))
}
