//! What each offer would have cost: a recorded session replayed offline, its consumption
//! priced with the bundled French regulated prices (Base, HP/HC with the session's
//! off-peak hours, Tempo with a colour file) and your own offers, as a table.
//!
//! ```text
//! cargo run --release --example costs -- [--session FILE] [--kva N] [--prices FILE]...
//!     [--colours FILE]
//! ```
//!
//! By default it replays the bundled main session (a week of November 2024, 6 kVA).
//! `--prices FILE` adds offers in the bundled format (`linky-core/prices/regulated.csv`)
//! or newer regulated prices from the CRE's open-data CSV files;
//! `--colours FILE` gives Tempo's day colours (`YYYY-MM-DD;blue|white|red` a line). The
//! `linky costs` command does the same on what a sync holds.

use std::path::PathBuf;
use std::process::ExitCode;

use linky_examples::costs;

const USAGE: &str = "usage: costs [--session FILE] [--kva N] [--prices FILE]... [--colours FILE]";

fn main() -> ExitCode {
    let mut session = None;
    let mut kva = 6;
    let mut prices: Vec<PathBuf> = Vec::new();
    let mut colours = None;
    let mut arguments = std::env::args().skip(1);
    while let Some(argument) = arguments.next() {
        let value = arguments.next();
        let Some(value) = value else {
            eprintln!("{argument} needs a value\n{USAGE}");
            return ExitCode::from(2);
        };
        match argument.as_str() {
            "--session" => session = Some(PathBuf::from(value)),
            "--kva" => match value.parse() {
                Ok(value) => kva = value,
                Err(error) => {
                    eprintln!("--kva: {error}\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--prices" => prices.push(PathBuf::from(value)),
            "--colours" => colours = Some(PathBuf::from(value)),
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let job = async move {
        let session = match &session {
            Some(path) => linky_enedis::Session::from_json(
                &std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?,
            )
            .map_err(|e| format!("{}: {e}", path.display()))?,
            None => linky_examples::main_session(),
        };
        let colours = match &colours {
            Some(path) => Some(
                costs::read_colours(
                    &std::fs::read_to_string(path)
                        .map_err(|e| format!("{}: {e}", path.display()))?,
                )
                .map_err(|e| format!("{}: {e}", path.display()))?,
            ),
            None => None,
        };
        let paths: Vec<&std::path::Path> = prices.iter().map(PathBuf::as_path).collect();
        let book = costs::price_book(&paths)?;
        let text = linky_examples::session_costs(session, kva, colours, &book).await?;
        print!("{text}");
        Ok(true)
    };
    linky_examples::run_main(job)
}
