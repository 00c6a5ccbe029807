//! A sync for real users: fetch from a real backend, write to a real Domoticz (or print).
//!
//! ```text
//! cargo run --release --example sync -- --state DIR [--domoticz URL [--user U --password P
//!     [--allow-plain-basic]] [--bearer T]] [--victoria URL | --influx URL [--influx-db NAME]
//!     [--influx-user U --influx-password P] [--influx-token T --influx-org O --influx-bucket B]]
//!     [--offpeak "22h00-6h00"] [--days N] [--hours-days N]
//!     [--backend proxy|conso-api|myelectricaldata|data-connect|data-connect-v5]
//!     [--token T] [--client-id ID --client-secret S] [--pdl N]... [--base-url URL]
//!     [--record FILE] [--hide-usage-points] [--now "YYYY-MM-DD HH:MM"]
//! ```
//!
//! With the default backend (the DomoticzLinky proxy), the first run asks for consent:
//! it prints an address and a code, and waits while you consent on Enedis' site. Tokens
//! and the fetched readings are kept in the state folder. `--record FILE` saves what went
//! over the wire (tokens and secrets redacted; `--hide-usage-points` also replaces your
//! PDLs) as a session to attach to a bug report; `cargo run --example replay -- --session
//! FILE` replays it. `--now` runs at that local time on a clock that moves only on waits
//! (tests, reproducing a run).

use std::process::ExitCode;

fn main() -> ExitCode {
    linky_examples::run_main(linky_examples::live_sync(std::env::args().skip(1)))
}
