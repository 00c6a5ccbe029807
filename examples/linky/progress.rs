//! What `linky` shows while a sync runs: bars on a terminal (requests done of planned, a
//! quota's or a retry's wait shown as such), plain lines elsewhere, the typed events as
//! JSON lines for other programs, or nothing; and the summary table at the end.

use crate::lang::Language;
use std::io::Write;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use linky_core::{TEMPO_RED_DAYS, TEMPO_WHITE_DAYS};
use linky_domoticz::{SyncEvent, SyncReport};
use serde_json::{Value, json};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Bars (a terminal).
    Bars,
    /// One line per event (a log, a pipe).
    Lines,
    /// One JSON object per event.
    Json,
    /// Nothing but errors.
    Quiet,
}

/// Shows a run's events as they come.
pub struct Reporter {
    mode: Mode,
    bar: Option<ProgressBar>,
    planned: u64,
    done: u64,
    /// Per usage point and kind: requests planned, and done.
    kinds: std::collections::HashMap<(String, &'static str), (u64, u64)>,
    /// The summary's language.
    language: Language,
}

impl Reporter {
    /// A reporter; bars draw on standard error.
    pub fn new(mode: Mode) -> Reporter {
        Reporter {
            mode,
            bar: None,
            planned: 0,
            done: 0,
            kinds: Default::default(),
            language: Language::English,
        }
    }

    /// The same, its summary in `language`.
    pub fn with_language(mut self, language: Language) -> Reporter {
        self.language = language;
        self
    }

    /// How it shows progress.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    fn bar(&mut self) -> &ProgressBar {
        self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} requests {pos}/{len} [{bar:30}] {elapsed} {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        })
    }

    /// Shows one event.
    pub fn event(&mut self, event: &SyncEvent) {
        self.count(event);
        match self.mode {
            Mode::Quiet => {}
            Mode::Json => {
                let mut out = std::io::stdout().lock();
                writeln!(out, "{}", event_json(event)).ok();
                out.flush().ok();
            }
            Mode::Lines => println!("  {event}"),
            Mode::Bars => self.draw(event),
        }
    }

    /// Requests done and planned so far (the plan of a direction a meter lacks is
    /// dropped from it once the meter says so).
    pub fn progress(&self) -> (u64, u64) {
        (self.done, self.planned)
    }

    /// Counts requests planned and done, whatever the mode.
    fn count(&mut self, event: &SyncEvent) {
        match event {
            SyncEvent::Planned {
                usage_point,
                kind,
                requests,
            } => {
                let requests = *requests as u64;
                self.kinds
                    .insert((usage_point.to_string(), kind.as_str()), (requests, 0));
                self.planned += requests;
            }
            SyncEvent::RequestAnswered {
                usage_point, kind, ..
            }
            | SyncEvent::NoData {
                usage_point, kind, ..
            } => {
                self.done += 1;
                let key = (usage_point.to_string(), kind.as_str());
                let entry = self.kinds.entry(key).or_default();
                entry.1 += 1;
                // A meter without that direction: the rest of its plan is not asked.
                if matches!(
                    event,
                    SyncEvent::NoData {
                        permanent: true,
                        ..
                    }
                ) {
                    self.planned -= entry.0.saturating_sub(entry.1);
                    entry.0 = entry.1;
                }
            }
            _ => {}
        }
    }

    fn draw(&mut self, event: &SyncEvent) {
        match event {
            SyncEvent::Planned { .. } => {
                let planned = self.planned;
                self.bar().set_length(planned);
            }
            SyncEvent::RequestSent {
                usage_point,
                kind,
                request,
            } => {
                let message = format!(
                    "{usage_point} {} {}..{}",
                    kind.as_str(),
                    request.start,
                    request.end
                );
                self.bar().set_message(message);
            }
            SyncEvent::RequestAnswered { .. } | SyncEvent::NoData { .. } => {
                let (done, planned) = (self.done, self.planned);
                let bar = self.bar();
                bar.set_length(planned);
                bar.set_position(done);
            }
            SyncEvent::Retrying {
                wait,
                reason,
                rate_limited,
                attempt,
                ..
            } => {
                let what = if *rate_limited {
                    "quota reached"
                } else {
                    "server error"
                };
                let message = format!(
                    "{what}: waiting {} before attempt {} ({reason})",
                    human_wait(*wait),
                    attempt + 1
                );
                // Above the bar, so that it stays once the wait is over.
                self.bar().println(format!("  {message}"));
                self.bar().set_message(message);
            }
            SyncEvent::Writing { device, .. } => {
                let message = format!("writing {device}");
                self.bar().set_message(message);
            }
            SyncEvent::Stopped { reason } => {
                let line = format!("stopped: {reason}");
                self.bar().println(line);
            }
            SyncEvent::StateWarning { .. } | SyncEvent::ScheduleWarning { .. } => {
                let line = format!("warning: {event}");
                self.bar().println(line);
            }
            SyncEvent::ContractHours { .. } | SyncEvent::Colours { .. } => {
                let line = format!("  {event}");
                self.bar().println(line);
            }
            _ => {}
        }
    }

    /// Ends the bars (the summary comes after).
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    /// Prints a line for a person (not in JSON or quiet mode).
    pub fn say(&self, line: &str) {
        match self.mode {
            Mode::Json | Mode::Quiet => {}
            Mode::Bars => match &self.bar {
                Some(bar) => bar.println(line),
                None => println!("{line}"),
            },
            Mode::Lines => println!("{line}"),
        }
    }

    /// What a colour refresh between two runs found: the colours (and errors); in JSON
    /// mode, one `colours_refreshed` object.
    pub fn refreshed(&mut self, refresh: &linky_domoticz::ColourRefresh) {
        self.finish();
        match self.mode {
            Mode::Quiet => {
                for error in &refresh.errors {
                    eprintln!("error: {error}");
                }
            }
            Mode::Json => println!("{}", refresh_json(refresh)),
            Mode::Bars | Mode::Lines => {
                for error in refresh.errors.iter().chain(&refresh.notes) {
                    println!("error: {error}");
                }
                println!(
                    "{}",
                    forecast_line(&refresh.forecast, refresh.next_check, self.language)
                );
            }
        }
    }

    /// The run's summary: a table of devices, the errors, the next run. In JSON mode, one
    /// `finished` object.
    pub fn summary(&mut self, report: &SyncReport) {
        self.finish();
        match self.mode {
            Mode::Quiet => {
                for error in report.errors() {
                    eprintln!("error: {error}");
                }
            }
            Mode::Json => println!("{}", report_json(report)),
            Mode::Bars | Mode::Lines => print!("{}", summary_table(report, self.language)),
        }
    }
}

/// A wait as a person reads it.
pub fn human_wait(wait: Duration) -> String {
    let seconds = wait.as_secs();
    match seconds {
        0..60 => format!("{:.0} s", wait.as_secs_f64().ceil()),
        60..3600 => format!("{} min {} s", seconds / 60, seconds % 60),
        _ => format!("{} h {} min", seconds / 3600, seconds / 60 % 60),
    }
}

/// The summary table of a run.
pub fn summary_table(report: &SyncReport, language: Language) -> String {
    let pick = |french: &'static str, english: &'static str| language.pick(french, english);
    let mut rows = vec![[
        pick("appareil", "device").to_owned(),
        pick("jours", "days").to_owned(),
        pick("heures", "hours").to_owned(),
        pick("tableau de bord", "dashboard").to_owned(),
        "anomalies".to_owned(),
        pick("en attente", "waiting").to_owned(),
        pick("erreurs", "errors").to_owned(),
    ]];
    for device in &report.devices {
        rows.push([
            device.device.to_string(),
            device.days_written.to_string(),
            device.hours_written.to_string(),
            if device.dashboard_written {
                pick("écrit", "written")
            } else {
                "-"
            }
            .to_owned(),
            device.anomalies.to_string(),
            device.days_waiting.to_string(),
            device.errors.len().to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut text = String::new();
    for (n, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, width))| {
                if c == 0 {
                    format!("{cell:<width$}")
                } else {
                    format!("{cell:>width$}")
                }
            })
            .collect();
        text.push_str(cells.join("  ").trim_end());
        text.push('\n');
        if n == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            text.push_str(&rule.join("  "));
            text.push('\n');
        }
    }
    // A sink that stopped the writing is one error, said once (the device's own error is
    // the same): "stopped writing: ..." says the devices after it were not written.
    let stopped: Vec<String> = report
        .errors
        .iter()
        .filter_map(|error| match error {
            linky_domoticz::SyncError::StoppedWriting(sink) => Some(sink.to_string()),
            _ => None,
        })
        .collect();
    for error in report.errors() {
        if let linky_domoticz::SyncError::Sink(sink) = error
            && stopped.contains(&sink.to_string())
        {
            continue;
        }
        text.push_str(&format!("{}{error}\n", pick("erreur : ", "error: ")));
    }
    if let Some(forecast) = &report.forecast {
        text.push_str(&forecast_line(forecast, report.next_colour_check, language));
        text.push('\n');
    }
    text.push_str(&format!(
        "{} {}{} {}\n{}{} {}\n",
        report.requests,
        pick("requêtes traitées", "requests answered"),
        pick(" ;", ";"),
        match &report.stopped {
            Some(reason) => format!("{}{} {reason}", pick("arrêté", "stopped"), language.colon()),
            None if report.is_success() => pick("succès", "success").to_owned(),
            None => pick("terminé avec des erreurs", "finished with errors").to_owned(),
        },
        pick("prochaine exécution", "next run"),
        language.colon(),
        report.next_run
    ));
    text
}

/// Today's and tomorrow's colours as a person reads them: `Tempo: today blue, tomorrow
/// unknown (asked again at 2024-06-20 11:37:00)`.
pub fn forecast_line(
    forecast: &linky_domoticz::ColourForecast,
    next_check: Option<chrono::NaiveDateTime>,
    language: Language,
) -> String {
    let word = |colour| colour_word(language, colour);
    let mut line = match language {
        Language::French => format!(
            "Tempo : aujourd'hui {}, demain {}",
            word(forecast.today_colour),
            word(forecast.tomorrow_colour)
        ),
        Language::English => format!(
            "Tempo: today {}, tomorrow {}",
            word(forecast.today_colour),
            word(forecast.tomorrow_colour)
        ),
    };
    if let Some(at) = next_check {
        line.push_str(&format!(
            " ({} {at})",
            language.pick("redemandé à", "asked again at")
        ));
    }
    line
}

/// A day colour's word in `language` (`bleu`, `blue`), `inconnue`/`unknown` when unknown.
pub fn colour_word(language: Language, colour: Option<linky_core::DayColour>) -> &'static str {
    use linky_core::DayColour;
    match (language, colour) {
        (Language::French, Some(DayColour::Blue)) => "bleu",
        (Language::French, Some(DayColour::White)) => "blanc",
        (Language::French, Some(DayColour::Red)) => "rouge",
        (Language::French, None) => "inconnue",
        (Language::English, Some(colour)) => colour.as_str(),
        (Language::English, None) => "unknown",
    }
}

/// Today's and tomorrow's colours as JSON (`null` when unknown).
fn forecast_json(
    forecast: Option<&linky_domoticz::ColourForecast>,
    next_check: Option<chrono::NaiveDateTime>,
) -> Value {
    match forecast {
        None => Value::Null,
        Some(forecast) => json!({
            "today": forecast.today.to_string(),
            "today_colour": forecast.today_colour.map(|c| c.as_str()),
            "tomorrow_colour": forecast.tomorrow_colour.map(|c| c.as_str()),
            "next_check": next_check.map(|at| at.to_string()),
        }),
    }
}

/// A colour refresh's outcome as a JSON object (`event`: `colours_refreshed`).
pub fn refresh_json(refresh: &linky_domoticz::ColourRefresh) -> Value {
    json!({
        "event": "colours_refreshed",
        "learned": refresh.learned,
        "forecast": forecast_json(Some(&refresh.forecast), refresh.next_check),
        "errors": refresh.errors.iter().chain(&refresh.notes).map(ToString::to_string).collect::<Vec<_>>(),
    })
}

/// Tempo as a person checks it (`linky colours`): a day's colour and the next day's, and
/// the days of each colour the Tempo season (1 September to 31 August) has used up to
/// that day, from the colours a sync kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TempoStatus {
    /// The day shown.
    pub date: chrono::NaiveDate,
    /// Its colour, if kept.
    pub colour: Option<linky_core::DayColour>,
    /// The next day's colour, if kept.
    pub next: Option<linky_core::DayColour>,
    /// Whether the next day's colour was learned before it was final.
    pub next_provisional: bool,
    /// The season's first day (1 September).
    pub season_start: chrono::NaiveDate,
    /// How many days the season has (365 or 366).
    pub season_days: u32,
    /// Days of each colour (blue, white, red) from the season's start to the day shown.
    pub used: [u32; 3],
    /// Days of the season up to the day shown whose colour was not kept.
    pub unknown: usize,
}

impl TempoStatus {
    /// The status on `date` from a sync's memory.
    pub fn new(meta: &linky_domoticz::SyncMeta, date: chrono::NaiveDate) -> TempoStatus {
        use chrono::Datelike;
        let season_start = linky_core::tempo_season_start(date);
        let season_end =
            chrono::NaiveDate::from_ymd_opt(season_start.year() + 1, 9, 1).unwrap_or(season_start);
        let next_day = date.succ_opt().unwrap_or(date);
        TempoStatus {
            date,
            colour: meta.colours.colour(date),
            next: meta.colours.colour(next_day),
            next_provisional: meta.provisional_colours.contains(&next_day),
            season_start,
            season_days: u32::try_from((season_end - season_start).num_days()).unwrap_or(365),
            used: meta.colours.season_counts(date),
            unknown: meta.colours.season_missing(date),
        }
    }

    /// The status as one JSON object.
    pub fn json(&self) -> Value {
        use chrono::Datelike;
        let word = |colour: Option<linky_core::DayColour>| colour.map(|c| c.as_str());
        let [blue, white, red] = self.used;
        json!({
            "date": self.date.to_string(),
            "colour": word(self.colour),
            "next_date": self.date.succ_opt().map(|d| d.to_string()),
            "next_colour": word(self.next),
            "next_provisional": self.next_provisional,
            "season": format!("{}-{}", self.season_start.year(), self.season_start.year() + 1),
            "blue_used": blue,
            "white_used": white,
            "white_left": TEMPO_WHITE_DAYS.saturating_sub(white),
            "red_used": red,
            "red_left": TEMPO_RED_DAYS.saturating_sub(red),
            "unknown_days": self.unknown,
        })
    }
}

impl TempoStatus {
    /// The status for a person, in `language`.
    pub fn text(&self, language: Language) -> String {
        use chrono::Datelike;
        use std::fmt::Write as _;
        let word = |colour| colour_word(language, colour);
        let pick = |french: &'static str, english: &'static str| language.pick(french, english);
        let next_day = self.date.succ_opt().unwrap_or(self.date);
        let next_note = match (self.next, self.next_provisional) {
            (None, _) => pick(
                " (RTE la publie vers 11 h)",
                " (RTE publishes it around 11:00)",
            ),
            (Some(_), true) => pick(
                " (apprise avant 11 h 30 : peut encore changer)",
                " (learned before 11:30: may still change)",
            ),
            (Some(_), false) => "",
        };
        let mut f = String::new();
        match language {
            Language::French => writeln!(
                f,
                "Tempo le {} : {} ; le {} : {}{next_note}",
                self.date,
                word(self.colour),
                next_day,
                word(self.next)
            ),
            Language::English => writeln!(
                f,
                "Tempo on {}: {}; on {}: {}{next_note}",
                self.date,
                word(self.colour),
                next_day,
                word(self.next)
            ),
        }
        .ok();
        match language {
            Language::French => writeln!(
                f,
                "saison {}-{} (1er septembre au 31 août), jusqu'au {} :",
                self.season_start.year(),
                self.season_start.year() + 1,
                self.date
            ),
            Language::English => writeln!(
                f,
                "season {}-{} (1 September to 31 August), up to {}:",
                self.season_start.year(),
                self.season_start.year() + 1,
                self.date
            ),
        }
        .ok();
        let [blue, white, red] = self.used;
        let (of, used, left) = (
            pick("sur", "of"),
            pick("utilisés", "used"),
            pick("restants", "left"),
        );
        let names = [
            pick("rouge", "red"),
            pick("blanc", "white"),
            pick("bleu", "blue"),
        ];
        writeln!(
            f,
            "  {:<6} {red:>3} {of} {TEMPO_RED_DAYS} {used}, {} {left}",
            names[0],
            TEMPO_RED_DAYS.saturating_sub(red)
        )
        .ok();
        writeln!(
            f,
            "  {:<6} {white:>3} {of} {TEMPO_WHITE_DAYS} {used}, {} {left}",
            names[1],
            TEMPO_WHITE_DAYS.saturating_sub(white)
        )
        .ok();
        writeln!(
            f,
            "  {:<6} {blue:>3} {of} {}",
            names[2],
            self.season_days - TEMPO_RED_DAYS - TEMPO_WHITE_DAYS
        )
        .ok();
        if self.unknown > 0 {
            match language {
                Language::French => writeln!(
                    f,
                    "  {} jour(s) de la saison sans couleur gardée : les comptes ci-dessus les manquent \
                     (une synchronisation avec tempo = true garde les couleurs de sa fenêtre d'historique)",
                    self.unknown
                ),
                Language::English => writeln!(
                    f,
                    "  {} day(s) of the season without a kept colour: the counts above miss them \
                     (a sync with tempo = true keeps the colours of its history window)",
                    self.unknown
                ),
            }
            .ok();
        }
        f
    }
}

impl std::fmt::Display for TempoStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text(Language::English))
    }
}

/// A typed event as a JSON object (`event` names it; times are local ISO).
pub fn event_json(event: &SyncEvent) -> Value {
    match event {
        SyncEvent::Planned {
            usage_point,
            kind,
            requests,
        } => json!({"event": "planned", "usage_point": usage_point.as_str(),
                    "kind": kind.as_str(), "requests": requests}),
        SyncEvent::RequestSent {
            usage_point,
            kind,
            request,
        } => json!({"event": "request_sent", "usage_point": usage_point.as_str(),
                    "kind": kind.as_str(), "start": request.start.to_string(),
                    "end": request.end.to_string()}),
        SyncEvent::RequestAnswered {
            usage_point,
            kind,
            request,
            values,
            anomalies,
        } => json!({"event": "request_answered", "usage_point": usage_point.as_str(),
                    "kind": kind.as_str(), "start": request.start.to_string(),
                    "end": request.end.to_string(), "values": values,
                    "anomalies": anomalies}),
        SyncEvent::NoData {
            usage_point,
            kind,
            permanent,
        } => json!({"event": "no_data", "usage_point": usage_point.as_str(),
                    "kind": kind.as_str(), "permanent": permanent}),
        SyncEvent::Retrying {
            usage_point,
            kind,
            attempt,
            wait,
            reason,
            rate_limited,
        } => json!({"event": "retrying", "usage_point": usage_point.as_str(),
                    "kind": kind.as_str(), "attempt": attempt,
                    "wait_seconds": wait.as_secs_f64(), "reason": reason,
                    "rate_limited": rate_limited}),
        SyncEvent::TokenRenewed { usage_point } => {
            json!({"event": "token_renewed", "usage_point": usage_point.as_str()})
        }
        SyncEvent::Stopped { reason } => {
            json!({"event": "stopped", "reason": reason.to_string()})
        }
        SyncEvent::StateWarning {
            usage_point,
            warning,
        } => json!({"event": "state_warning", "usage_point": usage_point.as_str(),
                    "warning": warning}),
        SyncEvent::Colours { learned, unknown } => json!({"event": "colours",
                    "learned": learned,
                    "unknown": unknown.iter().map(ToString::to_string).collect::<Vec<_>>()}),
        SyncEvent::ScheduleWarning {
            usage_point,
            warning,
        } => json!({"event": "schedule_warning", "usage_point": usage_point.as_str(),
                    "warning": warning}),
        SyncEvent::ContractHours {
            usage_point,
            text,
            since,
        } => json!({"event": "contract_hours", "usage_point": usage_point.as_str(),
                    "text": text, "since": since.map(|d| d.to_string())}),
        SyncEvent::Writing {
            device,
            days,
            hours,
        } => json!({"event": "writing", "device": device.to_string(), "days": days,
                    "hours": hours}),
        SyncEvent::DeviceDone { report } => json!({
            "event": "device_done", "device": report.device.to_string(),
            "days_written": report.days_written, "hours_written": report.hours_written,
            "dashboard_written": report.dashboard_written, "anomalies": report.anomalies,
            "days_waiting": report.days_waiting,
            "errors": report.errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
        }),
        other => json!({"event": "other", "text": other.to_string()}),
    }
}

/// A run's report as one JSON object (`"event": "finished"`).
pub fn report_json(report: &SyncReport) -> Value {
    json!({
        "event": "finished",
        "success": report.is_success(),
        "requests": report.requests,
        "full_grab": report.full_grab,
        "stopped": report.stopped.as_ref().map(ToString::to_string),
        "next_run": report.next_run.to_string(),
        "forecast": forecast_json(report.forecast.as_ref(), report.next_colour_check),
        "errors": report.errors().map(ToString::to_string).collect::<Vec<_>>(),
        "devices": report.devices.iter().map(|d| json!({
            "device": d.device.to_string(), "days_written": d.days_written,
            "hours_written": d.hours_written, "dashboard_written": d.dashboard_written,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_colours_read_as_words() {
        let forecast = linky_domoticz::ColourForecast {
            today: chrono::NaiveDate::from_ymd_opt(2024, 6, 20).unwrap(),
            today_colour: Some(linky_core::DayColour::Red),
            tomorrow_colour: None,
            season_used: [200, 40, 20],
            season_unknown: 0,
            calendar: linky_core::ColourCalendar::new(),
        };
        let check = chrono::NaiveDate::from_ymd_opt(2024, 6, 20)
            .unwrap()
            .and_hms_opt(11, 37, 0);
        assert_eq!(
            forecast_line(&forecast, check, Language::English),
            "Tempo: today red, tomorrow unknown (asked again at 2024-06-20 11:37:00)"
        );
        assert_eq!(
            forecast_line(&forecast, check, Language::French),
            "Tempo : aujourd'hui rouge, demain inconnue (redemandé à 2024-06-20 11:37:00)"
        );
        let json = forecast_json(Some(&forecast), None);
        assert_eq!(json["today_colour"], "red");
        assert_eq!(json["tomorrow_colour"], Value::Null);
    }

    /// Done of planned reaches planned, exactly, over the two-year replay (whose consumer
    /// lacks production and producer lacks consumption: their plans are dropped).
    #[test]
    fn a_backfill_ends_with_every_planned_request_done() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut reporter = Reporter::new(Mode::Quiet);
        let mut out = Vec::new();
        let state = linky_domoticz::MemoryState::new();
        let replayed = runtime.block_on(async {
            let mut progress = |event: &SyncEvent| reporter.event(event);
            crate::replay_into(
                crate::two_year_session(7),
                crate::Target::Memory,
                &state,
                &mut out,
                Some(&mut progress),
            )
            .await
            .unwrap()
        });
        assert!(replayed.as_recorded);
        assert_eq!(reporter.progress(), (215, 215));
    }

    #[test]
    fn waits_read_as_a_person_reads_them() {
        assert_eq!(human_wait(Duration::from_millis(1500)), "2 s");
        assert_eq!(human_wait(Duration::from_secs(90)), "1 min 30 s");
        assert_eq!(human_wait(Duration::from_secs(7260)), "2 h 1 min");
    }
}
