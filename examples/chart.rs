//! Charts of what a sync holds (`linky chart`, `linky replay --chart`): the daily peak and
//! off-peak energy as stacked bars with the production below the axis, and the average
//! hourly profile of a week, in SVG or PNG (by the file's extension), labels in French or
//! English. The PNG's text is drawn with the bundled DejaVu Sans, so that it looks the same
//! on a machine without fonts.

use std::path::Path;

use chrono::{Datelike, Duration, NaiveDate, Timelike};
use linky_core::{DeviceData, DeviceId, Flow, HolidayZone, OffPeakConfig, UsagePointId};
use linky_domoticz::StateStore;
use plotters::coord::Shift;
use plotters::prelude::*;

/// The chart's size in pixels (SVG and PNG alike).
pub const SIZE: (u32, u32) = (1200, 800);

const FONT: &str = "sans-serif";
const PEAK: RGBColor = RGBColor(0xd9, 0x5f, 0x0e);
const OFF_PEAK: RGBColor = RGBColor(0x31, 0x82, 0xbd);
const PRODUCTION: RGBColor = RGBColor(0x31, 0xa3, 0x54);

/// The language of the labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// French.
    French,
    /// English.
    English,
}

impl Language {
    /// French when `LANG` (or `LC_ALL`) says so, else English.
    pub fn from_environment() -> Language {
        let lang = std::env::var("LC_ALL")
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| std::env::var("LANG").ok())
            .unwrap_or_default();
        if lang.starts_with("fr") {
            Language::French
        } else {
            Language::English
        }
    }

    fn month(self, month: u32) -> &'static str {
        const FR: [&str; 12] = [
            "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
            "nov.", "déc.",
        ];
        const EN: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let index = (month.clamp(1, 12) - 1) as usize;
        match self {
            Language::French => FR[index],
            Language::English => EN[index],
        }
    }

    fn weekday(self, day: usize) -> &'static str {
        const FR: [&str; 7] = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."];
        const EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        match self {
            Language::French => FR[day % 7],
            Language::English => EN[day % 7],
        }
    }

    fn text(self, key: Text) -> &'static str {
        match (self, key) {
            (Language::French, Text::DailyTitle) => "Énergie par jour",
            (Language::English, Text::DailyTitle) => "Energy per day",
            (Language::French, Text::ProfileTitle) => "Profil moyen d'une semaine",
            (Language::English, Text::ProfileTitle) => "Average profile of a week",
            (Language::French, Text::Peak) => "Heures pleines",
            (Language::English, Text::Peak) => "Peak hours",
            (Language::French, Text::OffPeak) => "Heures creuses",
            (Language::English, Text::OffPeak) => "Off-peak hours",
            (Language::French, Text::Production) => "Production",
            (Language::English, Text::Production) => "Production",
            (Language::French, Text::Consumption) => "Consommation",
            (Language::English, Text::Consumption) => "Consumption",
            (Language::French, Text::AverageKw) => "kW moyens",
            (Language::English, Text::AverageKw) => "average kW",
        }
    }

    /// A date as an axis label: `3 janv. 2024`, `Jan 3, 2024`.
    pub fn date(self, date: NaiveDate) -> String {
        match self {
            Language::French => {
                format!(
                    "{} {} {}",
                    date.day(),
                    self.month(date.month()),
                    date.year()
                )
            }
            Language::English => {
                format!(
                    "{} {}, {}",
                    self.month(date.month()),
                    date.day(),
                    date.year()
                )
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Text {
    DailyTitle,
    ProfileTitle,
    Peak,
    OffPeak,
    Production,
    Consumption,
    AverageKw,
}

/// One day's energies, in Wh.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayBar {
    /// The local day.
    pub date: NaiveDate,
    /// Consumption in peak hours.
    pub peak_wh: f64,
    /// Consumption in off-peak hours.
    pub off_peak_wh: f64,
    /// Production.
    pub production_wh: f64,
}

/// What a chart shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartData {
    /// What it is about (the usage points).
    pub title: String,
    /// Each day with data, in order.
    pub days: Vec<DayBar>,
    /// Mean consumption of each hour of the week (Monday 00:00-01:00 first), in Wh, and
    /// mean production; `None` where no hour had data.
    pub week: [[Option<f64>; 2]; 168],
}

impl ChartData {
    /// Whether there is nothing to draw.
    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }
}

/// The chart's data from a sync's state: the usage points' stored readings over
/// `[from, to)`, split by `schedule` (consumption of every usage point summed, production
/// likewise).
pub fn chart_data(
    state: &dyn StateStore,
    usage_points: &[UsagePointId],
    schedule: &OffPeakConfig,
    zone: HolidayZone,
    from: NaiveDate,
    to: NaiveDate,
) -> ChartData {
    let mut days: std::collections::BTreeMap<NaiveDate, DayBar> = Default::default();
    let mut week = [[(0.0_f64, 0_u32); 2]; 168];
    for usage_point in usage_points {
        let pdl = usage_point.as_str();
        let (consumption, _) = state.curve_readings(pdl, Flow::Consumption, from, to);
        let (production, _) = state.curve_readings(pdl, Flow::Production, from, to);
        let (data, _) = DeviceData::builder(DeviceId::meter(usage_point.clone()), schedule, zone)
            .period(from, to)
            .consumption(&consumption)
            .production(&production)
            .build();
        add_days(&data, &mut days);
        for hour in data.hours() {
            let start = hour.end - Duration::hours(1);
            let slot = start.weekday().num_days_from_monday() as usize * 24 + start.hour() as usize;
            let flows = [
                (data.has_consumption(), hour.energies.consumption),
                (data.has_production(), hour.energies.production),
            ];
            for (flow, (present, energies)) in flows.into_iter().enumerate() {
                if present {
                    let wh: f64 = energies.iter().map(|e| e.as_wh()).sum();
                    week[slot][flow].0 += wh;
                    week[slot][flow].1 += 1;
                }
            }
        }
    }
    let week = week.map(|slot| slot.map(|(sum, n)| (n > 0).then(|| sum / f64::from(n))));
    ChartData {
        title: usage_points
            .iter()
            .map(UsagePointId::as_str)
            .collect::<Vec<_>>()
            .join(" + "),
        days: days.into_values().collect(),
        week,
    }
}

fn add_days(data: &DeviceData, days: &mut std::collections::BTreeMap<NaiveDate, DayBar>) {
    let bar = |date| DayBar {
        date,
        peak_wh: 0.0,
        off_peak_wh: 0.0,
        production_wh: 0.0,
    };
    if let Some(curve) = &data.consumption {
        for day in curve.days() {
            let entry = days.entry(day.date).or_insert_with(|| bar(day.date));
            entry.peak_wh += day.energy[0].as_wh();
            entry.off_peak_wh += day.energy[1].as_wh();
        }
    }
    if let Some(curve) = &data.production {
        for day in curve.days() {
            let entry = days.entry(day.date).or_insert_with(|| bar(day.date));
            entry.production_wh += day.energy.iter().map(|e| e.as_wh()).sum::<f64>();
        }
    }
}

/// Writes the chart to `path`: SVG or PNG by its extension.
///
/// # Errors
///
/// A message for another extension, an empty chart, or a file that cannot be written.
pub fn write_chart(data: &ChartData, language: Language, path: &Path) -> Result<(), String> {
    if data.is_empty() {
        return Err("nothing to draw: no day with data in that period".to_owned());
    }
    register_font()?;
    writable(path)?;
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let failed = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    match extension.as_deref() {
        Some("svg") => {
            let root = SVGBackend::new(path, SIZE).into_drawing_area();
            draw(&root, data, language).map_err(|e| failed(&e))?;
            root.present().map_err(|e| failed(&e))
        }
        Some("png") => {
            let root = BitMapBackend::new(path, SIZE).into_drawing_area();
            draw(&root, data, language).map_err(|e| failed(&e))?;
            root.present().map_err(|e| failed(&e))
        }
        _ => Err(format!(
            "{}: a chart is written as .svg or .png",
            path.display()
        )),
    }
}

/// Whether a chart can be written at `path`, said as a sentence when it cannot (before
/// plotters, whose errors read `ImageError(IoError(...))`).
fn writable(path: &Path) -> Result<(), String> {
    let parent = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err(format!(
            "cannot write the chart to {}: the folder {} does not exist",
            path.display(),
            parent.display()
        ));
    }
    if path.is_dir() {
        return Err(format!(
            "cannot write the chart to {}: it is a folder; give a file name ending in .svg or .png",
            path.display()
        ));
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map(drop)
        .map_err(|error| {
            let why = match error.kind() {
                std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
                std::io::ErrorKind::ReadOnlyFilesystem => "the file system is read-only".to_owned(),
                _ => error.to_string(),
            };
            format!("cannot write the chart to {}: {why}", path.display())
        })
}

/// A chart's output as the command line gives it: a file ending in `.svg` or `.png`.
///
/// # Errors
///
/// A sentence for any other name (a usage error).
pub fn parse_output(text: &str) -> Result<std::path::PathBuf, String> {
    let path = std::path::PathBuf::from(text);
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("svg" | "png") => Ok(path),
        _ => Err(format!(
            "{text}: a chart is written as .svg or .png (give a file name ending in one of them)"
        )),
    }
}

fn register_font() -> Result<(), String> {
    static FONT_BYTES: &[u8] = include_bytes!("assets/DejaVuSans.ttf");
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err("the bundled font cannot be read".to_owned())
    }
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &ChartData,
    language: Language,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(SIZE.1 * 11 / 20);
    draw_days(&top, data, language)?;
    draw_week(&bottom, data, language)?;
    Ok(())
}

fn draw_days<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    data: &ChartData,
    language: Language,
) -> DrawResult<DB> {
    let first = data.days[0].date;
    let last = data.days[data.days.len() - 1].date;
    let span = (last - first).num_days() + 1;
    let kwh = |wh: f64| wh / 1000.0;
    let high = data
        .days
        .iter()
        .map(|d| kwh(d.peak_wh + d.off_peak_wh))
        .fold(0.0, f64::max)
        .max(0.1)
        * 1.1;
    let low = data
        .days
        .iter()
        .map(|d| kwh(d.production_wh))
        .fold(0.0, f64::max)
        * 1.1;
    let title = format!(
        "{} — {} ({} → {})",
        language.text(Text::DailyTitle),
        data.title,
        language.date(first),
        language.date(last)
    );
    // Days from 0 (the first) to span; a key point (label and grid line) each day, or on
    // the first of each month over a longer period.
    let keys: Vec<i64> = (0..span)
        .filter(|x| span <= 62 || (first + Duration::days(*x)).day() == 1)
        .collect();
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 22))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d((0_i64..span).with_key_points(keys), -low..high * 1.3)?;
    let label = move |x: &i64| {
        let date = first + Duration::days(*x);
        match (span > 62, language) {
            (true, _) => format!("{} {}", language.month(date.month()), date.year()),
            (false, Language::French) => format!("{} {}", date.day(), language.month(date.month())),
            (false, Language::English) => {
                format!("{} {}", language.month(date.month()), date.day())
            }
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_label_formatter(&label)
        .y_desc("kWh")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .draw()?;
    // Bars in a finer coordinate: a tenth of a day's gap on each side.
    let mut chart = chart.set_secondary_coord(0.0..span as f64, -low..high * 1.3);
    let day_x = |date: NaiveDate| (date - first).num_days() as f64;
    let bar = |x: f64, from: f64, to: f64, color: RGBColor| {
        Rectangle::new([(x + 0.1, from), (x + 0.9, to)], color.filled())
    };
    chart
        .draw_secondary_series(
            data.days
                .iter()
                .filter(|d| d.off_peak_wh > 0.0)
                .map(|d| bar(day_x(d.date), 0.0, kwh(d.off_peak_wh), OFF_PEAK)),
        )?
        .label(language.text(Text::OffPeak))
        .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 12, y + 6)], OFF_PEAK.filled()));
    chart
        .draw_secondary_series(data.days.iter().filter(|d| d.peak_wh > 0.0).map(|d| {
            let base = kwh(d.off_peak_wh);
            bar(day_x(d.date), base, base + kwh(d.peak_wh), PEAK)
        }))?
        .label(language.text(Text::Peak))
        .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 12, y + 6)], PEAK.filled()));
    if low > 0.0 {
        chart
            .draw_secondary_series(
                data.days
                    .iter()
                    .filter(|d| d.production_wh > 0.0)
                    .map(|d| bar(day_x(d.date), -kwh(d.production_wh), 0.0, PRODUCTION)),
            )?
            .label(language.text(Text::Production))
            .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 12, y + 6)], PRODUCTION.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 14))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    Ok(())
}

fn draw_week<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    data: &ChartData,
    language: Language,
) -> DrawResult<DB> {
    // A mean energy over an hour, in kWh, is that hour's mean power in kW.
    let kw = |wh: f64| wh / 1000.0;
    let high = data
        .week
        .iter()
        .flatten()
        .flatten()
        .map(|wh| kw(*wh))
        .fold(0.0, f64::max)
        .max(0.1)
        * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(language.text(Text::ProfileTitle), (FONT, 22))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d(
            (0_i64..168).with_key_points((0..7).map(|day| day * 24 + 12).collect()),
            0.0..high * 1.2,
        )?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_label_formatter(&|x: &i64| language.weekday((*x / 24) as usize).to_owned())
        .y_desc(language.text(Text::AverageKw))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .draw()?;
    let flows = [
        (0, Text::Consumption, OFF_PEAK),
        (1, Text::Production, PRODUCTION),
    ];
    for (flow, text, color) in flows {
        let points: Vec<(i64, f64)> = data
            .week
            .iter()
            .enumerate()
            .filter_map(|(slot, values)| values[flow].map(|wh| (slot as i64, kw(wh))))
            .collect();
        if points.is_empty() {
            continue;
        }
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(language.text(text))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 14, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 14))
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    Ok(())
}
