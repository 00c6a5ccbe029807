//! Reads an off-peak schedule ("Heures creuses") and explains it: the canonical form and
//! the weekly timetable, or the error with a caret under the offending word.
//!
//! ```text
//! cargo run --example offpeak -- "<schedule>" [--pdl N] [--production] [--zone ZONE]
//! ```
//!
//! Without `--pdl`, it prints the timetable of every PDL section and of any other PDL.

use std::process::ExitCode;

use linky_core::{Flow, HolidayZone, OffPeakConfig};

const USAGE: &str =
    "usage: offpeak \"<schedule>\" [--pdl N] [--production] [--zone metropole|alsace-moselle|...]";

struct Options {
    schedule: String,
    pdl: Option<String>,
    flow: Flow,
    zone: HolidayZone,
}

fn options() -> Result<Options, String> {
    let mut arguments = std::env::args().skip(1);
    let mut schedule = None;
    let mut pdl = None;
    let mut flow = Flow::Consumption;
    let mut zone = HolidayZone::Metropole;
    while let Some(argument) = arguments.next() {
        match argument.as_str() {
            "--pdl" => pdl = Some(arguments.next().ok_or("--pdl needs a value")?),
            "--production" => flow = Flow::Production,
            "--zone" => {
                let name = arguments.next().ok_or("--zone needs a value")?;
                zone = name.parse().map_err(|e| format!("{e}"))?;
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            _ if schedule.is_none() => schedule = Some(argument),
            other => return Err(format!("unexpected argument {other:?}\n{USAGE}")),
        }
    }
    Ok(Options {
        schedule: schedule.ok_or(USAGE)?,
        pdl,
        flow,
        zone,
    })
}

fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let config: OffPeakConfig = match options.schedule.parse() {
        Ok(config) => config,
        Err(error) => {
            // The caret goes under the offending word (columns count characters).
            let indent = " ".repeat(error.column() - 1);
            let carets = "^".repeat(error.word().chars().count().max(1));
            eprintln!("{}\n{indent}{carets}\nerror: {error}", options.schedule);
            return ExitCode::FAILURE;
        }
    };
    println!("canonical: {config}");
    println!("holidays: {}", options.zone);
    if config.is_empty() {
        println!("no off-peak hours: every minute is peak, for every PDL");
        return ExitCode::SUCCESS;
    }
    let devices: Vec<(String, String)> = match &options.pdl {
        Some(pdl) => vec![(pdl.clone(), pdl.clone())],
        None => config
            .usage_points
            .iter()
            .map(|(pdl, _)| (pdl.clone(), pdl.clone()))
            .chain([(String::new(), "any other PDL".to_owned())])
            .collect(),
    };
    for (device, label) in devices {
        let mut timetable = config.timetable(&device, options.flow);
        timetable.device = label;
        println!();
        print!("{timetable}");
        if !config.has_two_tariffs(&device) {
            println!("  (a single tariff: no section applies)");
        }
    }
    ExitCode::SUCCESS
}
