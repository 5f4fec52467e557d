//! The bridge configs the benchmarks run on, built from a few parts: the `[bridge]` section,
//! the three cities (one contact each) and a two-member partnership.

use std::net::SocketAddr;

/// `[bridge]` listening on `addr` (with `bridge_extra` lines), the webhook connector, and the
/// `connectors` sections given.
pub fn bridge(addr: SocketAddr, bridge_extra: &str, connectors: &str) -> String {
    format!(
        "[bridge]\nname = \"bench\"\ndata_dir = \"data\"\nlisten = \"{addr}\"\nadmin_token_env = \"C2C_BENCH_ADMIN_TOKEN\"\n{bridge_extra}\n\n[connectors.webhook]\n{connectors}\n"
    )
}

/// The admin token of benchmark daemons (`/metrics` needs it).
pub const ADMIN_TOKEN: &str = "bench-admin-token-0123456789abcdef";

/// A city's webhook line, delivering to the sink at `sink`.
pub fn webhook(sink: SocketAddr, city: &str) -> String {
    format!("webhook = {{ url = \"http://{sink}/{city}\", secret_env = \"C2C_BENCH_WHSEC\" }}")
}

/// One of the bench cities (`leeds`, `hangzhou`, `gifu`) with its one contact; `city_extra` goes
/// into the city (e.g. its webhook), `contact_extra` into the contact (an email or Matrix id).
pub fn city(id: &str, city_extra: &str, contact_extra: &str) -> String {
    let (name, country, languages, contact, person, role) = match id {
        "leeds" => ("Leeds", "GB", "\"en\"", "leeds-jo", "Jo Smith", "International Relations"),
        "hangzhou" => ("Hangzhou", "CN", "\"zh\", \"en\"", "hz-li", "Li Wei", "Foreign Affairs Office"),
        "gifu" => ("Gifu", "JP", "\"ja\", \"en\"", "gifu-sato", "Sato Hana", "International Exchange Division"),
        other => panic!("no bench city {other}"),
    };
    format!(
        "\n[[cities]]\nid = \"{id}\"\nname = \"{name}\"\ncountry = \"{country}\"\nlanguages = [{languages}]\n{city_extra}\n  \
         [[cities.contacts]]\n  id = \"{contact}\"\n  name = \"{person}\"\n  role = \"{role}\"\n  {contact_extra}\n"
    )
}

/// The partnership `bench` between two cities, each on its channel.
pub fn partnership((a, a_channel): (&str, &str), (b, b_channel): (&str, &str)) -> String {
    format!(
        "\n[[partnerships]]\nid = \"bench\"\nkind = \"city-city\"\nmembers = [\"{a}\", \"{b}\"]\nobjective = \"benchmark\"\n\
         language = \"en\"\nreply_within = \"5d\"\nchannels = {{ {a} = \"{a_channel}\", {b} = \"{b_channel}\" }}\n"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_parts_make_a_config_the_bridge_accepts() {
        let sink: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
        let text = [
            super::bridge(sink, "commit = \"group\"", ""),
            super::city("leeds", &super::webhook(sink, "leeds"), ""),
            super::city("hangzhou", &super::webhook(sink, "hangzhou"), ""),
            super::partnership(("leeds", "webhook"), ("hangzhou", "webhook")),
        ]
        .concat();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bench.toml");
        std::fs::write(&path, &text).unwrap();
        let config = c2c_config::Config::load(&path);
        assert!(config.is_ok(), "{text}\n{:?}", config.err());
    }
}
