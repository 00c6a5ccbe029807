//! Charts of what a sync holds (`linky chart`, `linky replay --chart`): the energy per day,
//! week or month (by the span: days up to 62 days, weeks up to 26 weeks, months beyond) as
//! stacked bars, peak over off-peak (by day colour for Tempo: the six classes), the
//! production below the axis, and the average hourly profile of a week; in SVG or PNG (by
//! the file's extension), in French or English.
//!
//! What a reader gets at any span: date labels thinned until none overlaps (by measuring
//! them in the bundled font), weekends and public holidays shaded on day charts, the legend
//! in its own rows above the plot (it never covers a bar) with each class's total, numbers
//! as the language writes them (`20,0` in French), the usage points masked in the title
//! (`PDL …4270`) unless asked, the schedule that split the days under the title, lines that
//! break where hours are missing, and weeks or months with days missing drawn pale.
//!
//! The PNG's text is drawn with the bundled DejaVu Sans by this module (plotters' own
//! bitmap text places each glyph without its side bearing, which spaces letters
//! unevenly), so that it looks the same on a machine without fonts.

use std::path::Path;

use ab_glyph::{Font as _, FontRef, PxScale, ScaleFont as _};
use chrono::{Datelike, Duration, NaiveDate, Timelike, Weekday};
use linky_core::{
    ColourCalendar, DeviceData, DeviceId, Flow, HolidayZone, OffPeakConfig, UsagePointId,
    is_holiday, recolour,
};
use linky_domoticz::StateStore;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters_backend::{BackendColor, BackendCoord, BackendTextStyle, DrawingErrorKind};

pub use crate::lang::Language;

/// The chart's size in pixels (SVG and PNG alike).
pub const SIZE: (u32, u32) = (1200, 800);

const FONT: &str = "sans-serif";
const PEAK: RGBColor = RGBColor(0xd9, 0x5f, 0x0e);
const OFF_PEAK: RGBColor = RGBColor(0x31, 0x82, 0xbd);
const PRODUCTION: RGBColor = RGBColor(0x31, 0xa3, 0x54);
/// Weekends and public holidays, behind the bars of a day chart.
const SHADE: RGBColor = RGBColor(0xee, 0xec, 0xe4);
/// Tempo's classes: peak then off-peak of blue, white and red days.
const TEMPO: [[RGBColor; 2]; 3] = [
    [RGBColor(0x1d, 0x4e, 0x89), RGBColor(0x8f, 0xb8, 0xe6)],
    [RGBColor(0x80, 0x80, 0x80), RGBColor(0xc8, 0xc8, 0xc8)],
    [RGBColor(0xb2, 0x18, 0x2b), RGBColor(0xf4, 0xa5, 0x82)],
];

/// The colour of a class: `slot` 0 for days split by the schedule, 1 to 3 for Tempo's
/// blue, white and red days; `class` 0 for peak, 1 for off-peak.
fn class_colour(slot: usize, class: usize) -> RGBColor {
    match slot {
        0 => [PEAK, OFF_PEAK][class.min(1)],
        _ => TEMPO[(slot - 1).min(2)][class.min(1)],
    }
}

#[derive(Debug, Clone, Copy)]
enum Text {
    ProfileTitle,
    Peak,
    OffPeak,
    Production,
    Consumption,
    AverageKw,
    Shaded,
    Pale,
    Schedule,
    UnknownColour,
}

fn text(language: Language, key: Text) -> &'static str {
    let (french, english) = match key {
        Text::ProfileTitle => ("Profil moyen d'une semaine", "Average profile of a week"),
        Text::Peak => ("Heures pleines", "Peak hours"),
        Text::OffPeak => ("Heures creuses", "Off-peak hours"),
        Text::Production => ("Production", "Production"),
        Text::Consumption => ("Consommation", "Consumption"),
        Text::AverageKw => ("kW moyens", "average kW"),
        Text::Shaded => ("week-ends et jours fériés", "weekends and holidays"),
        Text::Pale => ("pâle : jours manquants", "pale: days missing"),
        Text::Schedule => ("Heures creuses", "Off-peak hours"),
        Text::UnknownColour => ("couleur inconnue", "colour unknown"),
    };
    language.pick(french, english)
}

/// A class's name in the legend.
fn class_name(language: Language, slot: usize, class: usize, tempo: bool) -> String {
    let tariff = if class == 0 {
        Text::Peak
    } else {
        Text::OffPeak
    };
    match slot {
        0 if tempo => format!(
            "{} ({})",
            text(language, tariff),
            text(language, Text::UnknownColour)
        ),
        0 => text(language, tariff).to_owned(),
        _ => {
            let colour = match slot {
                1 => language.pick("Bleu", "Blue"),
                2 => language.pick("Blanc", "White"),
                _ => language.pick("Rouge", "Red"),
            };
            let class = match class {
                0 => language.pick("HP", "peak"),
                _ => language.pick("HC", "off-peak"),
            };
            format!("{colour} {class}")
        }
    }
}

/// One day's energies, in Wh.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayBar {
    /// The local day.
    pub date: NaiveDate,
    /// Consumption per slot and class: slot 0 is split by the schedule, slots 1 to 3 are
    /// Tempo's blue, white and red classes (a day's night belongs to the day before's
    /// colour); class 0 is peak, 1 off-peak.
    pub consumption: [[f64; 2]; 4],
    /// Production.
    pub production_wh: f64,
}

impl DayBar {
    fn empty(date: NaiveDate) -> DayBar {
        DayBar {
            date,
            consumption: [[0.0; 2]; 4],
            production_wh: 0.0,
        }
    }

    /// Consumption in peak hours, all colours.
    pub fn peak_wh(&self) -> f64 {
        self.consumption.iter().map(|slot| slot[0]).sum()
    }

    /// Consumption in off-peak hours, all colours.
    pub fn off_peak_wh(&self) -> f64 {
        self.consumption.iter().map(|slot| slot[1]).sum()
    }
}

/// What a chart shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartData {
    /// The usage points it is about.
    pub usage_points: Vec<String>,
    /// Which off-peak hours split the days, for the reader (see [`ChartSource`]).
    pub schedule: String,
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

    /// Whether days are split by Tempo's colours.
    pub fn is_tempo(&self) -> bool {
        self.days
            .iter()
            .any(|day| day.consumption[1..].iter().flatten().any(|wh| *wh > 0.0))
    }
}

/// What a chart is drawn from, besides the state: the usage points, the schedule that
/// splits their days (and how to name it), the holidays' zone, Tempo's colours.
#[derive(Debug, Clone)]
pub struct ChartSource<'a> {
    /// The usage points (their consumption summed, their production likewise).
    pub usage_points: &'a [UsagePointId],
    /// The off-peak schedule.
    pub schedule: &'a OffPeakConfig,
    /// What the chart says of the schedule (its text and where it comes from).
    pub schedule_label: String,
    /// The zone of public holidays (shaded, and the schedule's holiday sections).
    pub zone: HolidayZone,
    /// Day colours: when given, consumption is split into Tempo's six classes on the days
    /// whose colours (and their night's) are known.
    pub colours: Option<&'a ColourCalendar>,
}

/// The chart's data from a sync's state: the usage points' stored readings over
/// `[from, to)`.
pub fn chart_data(
    state: &dyn StateStore,
    source: &ChartSource<'_>,
    from: NaiveDate,
    to: NaiveDate,
) -> ChartData {
    let mut days: std::collections::BTreeMap<NaiveDate, DayBar> = Default::default();
    let mut week = [[(0.0_f64, 0_u32); 2]; 168];
    let colours = source.colours.filter(|colours| !colours.is_empty());
    for usage_point in source.usage_points {
        let pdl = usage_point.as_str();
        let (consumption, _) = state.curve_readings(pdl, Flow::Consumption, from, to);
        let (production, _) = state.curve_readings(pdl, Flow::Production, from, to);
        let (data, _) = DeviceData::builder(
            DeviceId::meter(usage_point.clone()),
            source.schedule,
            source.zone,
        )
        .period(from, to)
        .consumption(&consumption)
        .production(&production)
        .build();
        add_days(&data, colours, &mut days);
        for hour in data.hours() {
            let start = hour.end - Duration::hours(1);
            let slot = start.weekday().num_days_from_monday() as usize * 24 + start.hour() as usize;
            let flows = [
                (data.has_consumption(), hour.energies.consumption),
                (data.has_production(), hour.energies.production),
            ];
            for (flow, (present, energies)) in flows.into_iter().enumerate() {
                if present {
                    let wh: f64 = energies.iter().map(|e| e.as_wh_f64()).sum();
                    week[slot][flow].0 += wh;
                    week[slot][flow].1 += 1;
                }
            }
        }
    }
    let week = week.map(|slot| slot.map(|(sum, n)| (n > 0).then(|| sum / f64::from(n))));
    ChartData {
        usage_points: source
            .usage_points
            .iter()
            .map(|point| point.as_str().to_owned())
            .collect(),
        schedule: source.schedule_label.clone(),
        days: days.into_values().collect(),
        week,
    }
}

/// Adds a usage point's days to the bars: its consumption in Tempo's six classes on the
/// days whose colours (and their night's) `colours` knows, by the schedule otherwise.
fn add_days(
    data: &DeviceData,
    colours: Option<&ColourCalendar>,
    days: &mut std::collections::BTreeMap<NaiveDate, DayBar>,
) {
    if let Some(curve) = &data.consumption {
        // The split curve's hours recoloured (exact: Tempo's classes change on the hour).
        let tempo: std::collections::BTreeMap<NaiveDate, [linky_core::Energy; 6]> = colours
            .map(|colours| {
                recolour(curve, colours)
                    .split
                    .days()
                    .into_iter()
                    .map(|day| (day.date, day.energy))
                    .collect()
            })
            .unwrap_or_default();
        for day in curve.days() {
            let entry = days
                .entry(day.date)
                .or_insert_with(|| DayBar::empty(day.date));
            match tempo.get(&day.date) {
                Some(classes) => {
                    for (class, energy) in classes.iter().enumerate() {
                        entry.consumption[1 + class / 2][class % 2] += energy.as_wh_f64();
                    }
                }
                None => {
                    entry.consumption[0][0] += day.energy[0].as_wh_f64();
                    entry.consumption[0][1] += day.energy[1].as_wh_f64();
                }
            }
        }
    }
    if let Some(curve) = &data.production {
        for day in curve.days() {
            let entry = days
                .entry(day.date)
                .or_insert_with(|| DayBar::empty(day.date));
            entry.production_wh += day.energy.iter().map(|e| e.as_wh_f64()).sum::<f64>();
        }
    }
}

/// How a chart's bars are grouped: by day up to 62 days, by week (Monday first) up to 26
/// weeks, by month beyond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// A bar a day.
    Day,
    /// A bar a week.
    Week,
    /// A bar a month.
    Month,
}

impl Grouping {
    /// The grouping of a span of `days` days.
    pub fn for_span(days: i64) -> Grouping {
        match days {
            ..=62 => Grouping::Day,
            63..=182 => Grouping::Week,
            _ => Grouping::Month,
        }
    }

    /// The first day of the group holding `date`.
    fn start(self, date: NaiveDate) -> NaiveDate {
        match self {
            Grouping::Day => date,
            Grouping::Week => {
                date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
            }
            Grouping::Month => date.with_day(1).unwrap_or(date),
        }
    }

    /// The first day of the next group after the one starting on `start`.
    fn next(self, start: NaiveDate) -> NaiveDate {
        match self {
            Grouping::Day => start + Duration::days(1),
            Grouping::Week => start + Duration::days(7),
            Grouping::Month => start
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(start + Duration::days(31)),
        }
    }
}

/// One bar: the days `[first, end)` of a group (cut to the chart's period) and their
/// energies summed.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Its first day.
    pub first: NaiveDate,
    /// The day after its last.
    pub end: NaiveDate,
    /// How many of its days have data.
    pub days_with_data: i64,
    /// Consumption per slot and class, as in [`DayBar::consumption`].
    pub consumption: [[f64; 2]; 4],
    /// Production.
    pub production_wh: f64,
}

impl Bar {
    /// Whether a day of it has no data.
    pub fn is_incomplete(&self) -> bool {
        self.days_with_data < (self.end - self.first).num_days()
    }
}

/// The days of `data` grouped into bars over `[first, end)`.
pub fn bars(days: &[DayBar], grouping: Grouping, first: NaiveDate, end: NaiveDate) -> Vec<Bar> {
    let mut bars: Vec<Bar> = Vec::new();
    for day in days
        .iter()
        .filter(|day| first <= day.date && day.date < end)
    {
        let start = grouping.start(day.date).max(first);
        if bars.last().is_none_or(|bar| bar.first != start) {
            bars.push(Bar {
                first: start,
                end: grouping.next(grouping.start(day.date)).min(end),
                days_with_data: 0,
                consumption: [[0.0; 2]; 4],
                production_wh: 0.0,
            });
        }
        if let Some(bar) = bars.last_mut() {
            bar.days_with_data += 1;
            for (slot, classes) in day.consumption.iter().enumerate() {
                for (class, wh) in classes.iter().enumerate() {
                    bar.consumption[slot][class] += wh;
                }
            }
            bar.production_wh += day.production_wh;
        }
    }
    bars
}

/// How a chart is drawn.
#[derive(Debug, Clone, Copy)]
pub struct ChartOptions {
    /// The labels' language.
    pub language: Language,
    /// Whether the title shows the usage points in full (else `PDL …4270`).
    pub show_pdl: bool,
    /// The zone whose public holidays are shaded.
    pub zone: HolidayZone,
}

impl ChartOptions {
    /// In `language`, usage points masked, metropolitan holidays.
    pub fn new(language: Language) -> ChartOptions {
        ChartOptions {
            language,
            show_pdl: false,
            zone: HolidayZone::Metropole,
        }
    }
}

/// A usage point as a title shows it: its last four digits unless `show`.
pub fn masked_pdl(pdl: &str, show: bool) -> String {
    if show {
        return format!("PDL {pdl}");
    }
    let digits: Vec<char> = pdl.chars().collect();
    let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
    format!("PDL …{tail}")
}

/// Writes the chart to `path`: SVG or PNG by its extension.
///
/// # Errors
///
/// A message for another extension, an empty chart, or a file that cannot be written.
pub fn write_chart(data: &ChartData, options: &ChartOptions, path: &Path) -> Result<(), String> {
    if data.is_empty() {
        return Err(options
            .language
            .pick(
                "rien à dessiner : aucun jour avec des données sur cette période",
                "nothing to draw: no day with data in that period",
            )
            .to_owned());
    }
    register_font()?;
    writable(path, options.language)?;
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let failed = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    match extension.as_deref() {
        Some("svg") => {
            let root = SVGBackend::new(path, SIZE).into_drawing_area();
            draw(&root, data, options).map_err(|e| failed(&e))?;
            root.present().map_err(|e| failed(&e))
        }
        Some("png") => {
            let root = PngBackend::new(path, SIZE).into_drawing_area();
            draw(&root, data, options).map_err(|e| failed(&e))?;
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
fn writable(path: &Path, language: Language) -> Result<(), String> {
    let cannot = language.pick(
        "impossible d'écrire le graphique dans",
        "cannot write the chart to",
    );
    let parent = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err(format!(
            "{cannot} {}{} {} {}",
            path.display(),
            language.pick(" : le dossier", ": the folder"),
            parent.display(),
            language.pick("n'existe pas", "does not exist"),
        ));
    }
    if path.is_dir() {
        return Err(format!(
            "{cannot} {}{}",
            path.display(),
            language.pick(
                " : c'est un dossier ; donnez un nom de fichier en .svg ou .png",
                ": it is a folder; give a file name ending in .svg or .png"
            ),
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
                std::io::ErrorKind::PermissionDenied => language
                    .pick("permission refusée", "permission denied")
                    .to_owned(),
                std::io::ErrorKind::ReadOnlyFilesystem => language
                    .pick(
                        "le système de fichiers est en lecture seule",
                        "the file system is read-only",
                    )
                    .to_owned(),
                _ => error.to_string(),
            };
            format!("{cannot} {}{} {why}", path.display(), language.colon())
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

static FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

fn register_font() -> Result<(), String> {
    static REGISTERED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok()
            && bundled_font().is_some()
    });
    if ok {
        Ok(())
    } else {
        Err("the bundled font cannot be read".to_owned())
    }
}

/// The bundled font, read once.
fn bundled_font() -> Option<&'static FontRef<'static>> {
    static FONT_REF: std::sync::OnceLock<Option<FontRef<'static>>> = std::sync::OnceLock::new();
    FONT_REF
        .get_or_init(|| FontRef::try_from_slice(FONT_BYTES).ok())
        .as_ref()
}

/// The width and height in pixels of `text` at `size` in the bundled font, as the PNG
/// draws it (the SVG's reader draws it a little smaller).
fn text_size(text: &str, size: f64) -> (f64, f64) {
    let Some(font) = bundled_font() else {
        return (text.chars().count() as f64 * size * 0.6, size);
    };
    let scaled = font.as_scaled(PxScale::from(size as f32));
    let (_, width) = pen_positions(&scaled, text);
    (
        f64::from(width),
        f64::from(scaled.ascent() - scaled.descent()),
    )
}

/// Each glyph of `text` and where the pen stands when it is drawn (kerning applied), and
/// the width of the whole line: the one layout that measures text and draws it.
fn pen_positions<F: ab_glyph::Font>(
    scaled: &ab_glyph::PxScaleFont<F>,
    text: &str,
) -> (Vec<(ab_glyph::GlyphId, f32)>, f32) {
    let mut caret = 0.0_f32;
    let mut previous = None;
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(previous) = previous {
            caret += scaled.kern(previous, id);
        }
        previous = Some(id);
        glyphs.push((id, caret));
        caret += scaled.h_advance(id);
    }
    (glyphs, caret)
}

/// plotters' bitmap backend, with text laid out glyph by glyph from each glyph's own
/// bounds (kerning and side bearings kept), so that letters are evenly spaced.
struct PngBackend<'a> {
    inner: BitMapBackend<'a>,
}

impl<'a> PngBackend<'a> {
    fn new(path: &'a Path, size: (u32, u32)) -> PngBackend<'a> {
        PngBackend {
            inner: BitMapBackend::new(path, size),
        }
    }
}

type BitmapError<'a> = <BitMapBackend<'a> as DrawingBackend>::ErrorType;

impl<'a> DrawingBackend for PngBackend<'a> {
    type ErrorType = BitmapError<'a>;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: plotters_backend::BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: plotters_backend::BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: plotters_backend::BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: plotters_backend::BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: plotters_backend::BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        let (width, height) = text_size(text, style.size());
        Ok((width.ceil() as u32, height.ceil() as u32))
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let color = style.color();
        let Some(font) = bundled_font() else {
            return Ok(());
        };
        if color.alpha == 0.0 {
            return Ok(());
        }
        let scale = PxScale::from(style.size() as f32);
        let scaled = font.as_scaled(scale);
        let (width, height) = text_size(text, style.size());
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -width / 2.0,
            HPos::Right => -width,
        } as f32;
        let dy = match anchor.v_pos {
            VPos::Top => 0.0,
            VPos::Center => -height / 2.0,
            VPos::Bottom => -height,
        } as f32;
        let transform = style.transform();
        let mut pixels = Vec::new();
        for (id, pen) in pen_positions(&scaled, text).0 {
            let glyph =
                id.with_scale_and_position(scale, ab_glyph::point(pen + dx, scaled.ascent() + dy));
            if let Some(outlined) = font.outline_glyph(glyph) {
                let bounds = outlined.px_bounds();
                let (left, top) = (bounds.min.x as i32, bounds.min.y as i32);
                outlined.draw(|x, y, coverage| {
                    if coverage > 0.0 {
                        pixels.push((left + x as i32, top + y as i32, coverage.min(1.0)));
                    }
                });
            }
        }
        for (x, y, coverage) in pixels {
            let (x, y) = transform.transform(x, y);
            self.inner.draw_pixel(
                (pos.0 + x, pos.1 + y),
                BackendColor {
                    alpha: color.alpha * f64::from(coverage),
                    rgb: color.rgb,
                },
            )?;
        }
        Ok(())
    }
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    data: &ChartData,
    options: &ChartOptions,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(SIZE.1 * 3 / 5);
    draw_bars(&top, data, options)?;
    draw_week(&bottom, data, options)?;
    Ok(())
}

/// A legend's entry: its swatch (a filled square, or a line) and its text.
struct LegendItem {
    colour: RGBColor,
    line: bool,
    pale: bool,
    label: String,
}

const TITLE_SIZE: f64 = 22.0;
const LABEL_SIZE: f64 = 14.0;
const LEGEND_ROW: i32 = 22;

/// Draws a title, an optional line under it and the legend's rows at the top of `area`,
/// centred; returns the area left below them.
fn head<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: Option<&str>,
    legend: &[LegendItem],
) -> Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<DB::ErrorType>> {
    let (width, _) = area.dim_in_pixel();
    let width = width as i32;
    let centred = |size: f64| {
        TextStyle::from((FONT, size).into_font())
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Top))
    };
    let mut y = 8;
    area.draw_text(title, &centred(TITLE_SIZE), (width / 2, y))?;
    y += 30;
    if let Some(subtitle) = subtitle {
        area.draw_text(subtitle, &centred(LABEL_SIZE), (width / 2, y))?;
        y += 22;
    }
    // The legend in rows, each centred: a swatch, its text, a gap.
    let item_width =
        |item: &LegendItem| 18 + text_size(&item.label, LABEL_SIZE).0.ceil() as i32 + 22;
    let mut rows: Vec<Vec<&LegendItem>> = Vec::new();
    let mut row_width = 0;
    for item in legend {
        let w = item_width(item);
        if rows.is_empty() || row_width + w > width - 40 {
            rows.push(Vec::new());
            row_width = 0;
        }
        row_width += w;
        if let Some(row) = rows.last_mut() {
            row.push(item);
        }
    }
    let left = TextStyle::from((FONT, LABEL_SIZE).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for row in &rows {
        let total: i32 = row.iter().map(|item| item_width(item)).sum::<i32>() - 22;
        let mut x = (width - total) / 2;
        let middle = y + LEGEND_ROW / 2;
        for item in row {
            let colour = if item.pale {
                item.colour.mix(0.45)
            } else {
                item.colour.mix(1.0)
            };
            if item.line {
                area.draw(&PathElement::new(
                    [(x, middle), (x + 14, middle)],
                    colour.stroke_width(3),
                ))?;
            } else {
                area.draw(&Rectangle::new(
                    [(x, middle - 7), (x + 14, middle + 7)],
                    colour.filled(),
                ))?;
            }
            area.draw_text(&item.label, &left, (x + 18, middle))?;
            x += item_width(item);
        }
        y += LEGEND_ROW;
    }
    Ok(area.split_vertically(y + 4).1)
}

/// The y axis' labels: a whole number when the axis goes above 20, else one decimal;
/// unsigned.
fn axis_number(language: Language, high: f64) -> impl Fn(&f64) -> String {
    // Production is drawn below the axis: its values are read as positive.
    move |value: &f64| language.number(value.abs(), if high > 20.0 { 0 } else { 1 })
}

/// Which of `candidates` (x in pixels, text) get a label: the first step among `steps`
/// whose chosen labels (those `keep(index, step)` accepts) do not overlap, with a gap of
/// 12 pixels; the largest step's otherwise.
fn thin_labels(
    candidates: &[(f64, String)],
    steps: &[usize],
    keep: impl Fn(usize, usize) -> bool,
) -> Vec<usize> {
    let choose = |step: usize| -> Vec<usize> {
        (0..candidates.len())
            .filter(|index| keep(*index, step))
            .collect()
    };
    let fits = |chosen: &[usize]| {
        chosen.windows(2).all(|pair| {
            let (a, b) = (&candidates[pair[0]], &candidates[pair[1]]);
            let half = (text_size(&a.1, LABEL_SIZE).0 + text_size(&b.1, LABEL_SIZE).0) / 2.0;
            b.0 - a.0 >= half + 12.0
        })
    };
    for step in steps {
        let chosen = choose(*step);
        if fits(&chosen) {
            return chosen;
        }
    }
    let mut chosen = choose(steps.last().copied().unwrap_or(1));
    chosen.truncate(1);
    chosen
}

fn draw_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    data: &ChartData,
    options: &ChartOptions,
) -> DrawResult<DB> {
    let language = options.language;
    let first = data.days[0].date;
    let last = data.days[data.days.len() - 1].date;
    let end = last + Duration::days(1);
    let span = (end - first).num_days();
    let grouping = Grouping::for_span(span);
    let bars = bars(&data.days, grouping, first, end);
    let tempo = data.is_tempo();
    let kwh = |wh: f64| wh / 1000.0;

    // The legend: each class with its total, production, then what the shades mean.
    let mut totals = [[0.0_f64; 2]; 4];
    let mut produced = 0.0;
    for day in &data.days {
        for (slot, classes) in day.consumption.iter().enumerate() {
            for (class, wh) in classes.iter().enumerate() {
                totals[slot][class] += wh;
            }
        }
        produced += day.production_wh;
    }
    let total_text = |wh: f64| {
        let kwh = kwh(wh);
        format!(
            "{} kWh",
            language.number(kwh, if kwh >= 1000.0 { 0 } else { 1 })
        )
    };
    let mut legend = Vec::new();
    for (slot, classes) in totals.iter().enumerate() {
        for class in [1, 0] {
            if classes[class] > 0.0 {
                legend.push(LegendItem {
                    colour: class_colour(slot, class),
                    line: false,
                    pale: false,
                    label: format!(
                        "{}{} {}",
                        class_name(language, slot, class, tempo),
                        language.colon(),
                        total_text(classes[class])
                    ),
                });
            }
        }
    }
    if produced > 0.0 {
        legend.push(LegendItem {
            colour: PRODUCTION,
            line: false,
            pale: false,
            label: format!(
                "{}{} {}",
                text(language, Text::Production),
                language.colon(),
                total_text(produced)
            ),
        });
    }
    let shaded = |date: NaiveDate| {
        matches!(date.weekday(), Weekday::Sat | Weekday::Sun) || is_holiday(date, options.zone)
    };
    if grouping == Grouping::Day {
        legend.push(LegendItem {
            colour: SHADE,
            line: false,
            pale: false,
            label: text(language, Text::Shaded).to_owned(),
        });
    } else if bars.iter().any(Bar::is_incomplete) {
        legend.push(LegendItem {
            colour: class_colour(0, 1),
            line: false,
            pale: true,
            label: text(language, Text::Pale).to_owned(),
        });
    }
    let (title, unit) = match grouping {
        Grouping::Day => (
            language.pick("Énergie par jour", "Energy per day"),
            language.pick("kWh par jour", "kWh per day"),
        ),
        Grouping::Week => (
            language.pick("Énergie par semaine", "Energy per week"),
            language.pick("kWh par semaine", "kWh per week"),
        ),
        Grouping::Month => (
            language.pick("Énergie par mois", "Energy per month"),
            language.pick("kWh par mois", "kWh per month"),
        ),
    };
    let who = data
        .usage_points
        .iter()
        .map(|pdl| masked_pdl(pdl, options.show_pdl))
        .collect::<Vec<_>>()
        .join(" + ");
    let title = format!(
        "{title} — {who} ({} → {})",
        language.date(first),
        language.date(last)
    );
    let subtitle = format!(
        "{}{} {}",
        text(language, Text::Schedule),
        language.colon(),
        data.schedule
    );
    let plot = head(area, &title, Some(&subtitle), &legend)?;

    let consumption = |bar: &Bar| bar.consumption.iter().flatten().sum::<f64>();
    let high = bars
        .iter()
        .map(|bar| kwh(consumption(bar)))
        .fold(0.0, f64::max)
        .max(0.1)
        * 1.08;
    let low = bars
        .iter()
        .map(|bar| kwh(bar.production_wh))
        .fold(0.0, f64::max)
        * 1.08;
    let mut chart = ChartBuilder::on(&plot)
        .margin_left(12)
        .margin_right(20)
        .margin_bottom(6)
        .x_label_area_size(30)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..span as f64, -low..high)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_label_formatter(&axis_number(language, high))
        .y_desc(unit)
        .label_style((FONT, LABEL_SIZE))
        .axis_desc_style((FONT, 15))
        .draw()?;
    let x_of = |date: NaiveDate| (date - first).num_days() as f64;
    if grouping == Grouping::Day {
        let shades = (0..span)
            .map(|offset| first + Duration::days(offset))
            .filter(|date| shaded(*date))
            .map(|date| {
                Rectangle::new(
                    [(x_of(date), -low), (x_of(date) + 1.0, high)],
                    SHADE.filled(),
                )
            });
        chart.draw_series(shades)?;
    }
    // The bars: each class stacked, off-peak under peak, blue under white under red.
    let inset = match grouping {
        Grouping::Day => 0.12,
        Grouping::Week => 0.6,
        Grouping::Month => 2.5,
    };
    for bar in &bars {
        let (left, right) = (x_of(bar.first) + inset, x_of(bar.end) - inset);
        let opacity = if bar.is_incomplete() && grouping != Grouping::Day {
            0.45
        } else {
            1.0
        };
        let mut base = 0.0;
        let mut pieces = Vec::new();
        for (slot, classes) in bar.consumption.iter().enumerate() {
            for class in [1, 0] {
                if classes[class] > 0.0 {
                    let top = base + kwh(classes[class]);
                    pieces.push(Rectangle::new(
                        [(left, base), (right, top)],
                        class_colour(slot, class).mix(opacity).filled(),
                    ));
                    base = top;
                }
            }
        }
        if bar.production_wh > 0.0 {
            pieces.push(Rectangle::new(
                [(left, -kwh(bar.production_wh)), (right, 0.0)],
                PRODUCTION.mix(opacity).filled(),
            ));
        }
        chart.draw_series(pieces)?;
    }
    // The date labels, thinned until none overlaps.
    let pixel = |x: f64| chart.backend_coord(&(x, -low));
    let candidates: Vec<(f64, String, NaiveDate)> = match grouping {
        Grouping::Day => (0..span)
            .map(|offset| {
                let date = first + Duration::days(offset);
                (offset as f64 + 0.5, language.day_month(date), date)
            })
            .collect(),
        Grouping::Week => bars
            .iter()
            .map(|bar| {
                let start = grouping.start(bar.first);
                (
                    (x_of(bar.first) + x_of(bar.end)) / 2.0,
                    language.day_month(start),
                    start,
                )
            })
            .collect(),
        Grouping::Month => bars
            .iter()
            .map(|bar| {
                (
                    (x_of(bar.first) + x_of(bar.end)) / 2.0,
                    language.month_year(bar.first),
                    bar.first,
                )
            })
            .collect(),
    };
    let placed: Vec<(f64, String)> = candidates
        .iter()
        .map(|(x, label, _)| (f64::from(pixel(*x).0), label.clone()))
        .collect();
    let chosen = match grouping {
        Grouping::Day => {
            let monday = (0..7)
                .map(|offset| first + Duration::days(offset))
                .find(|date| date.weekday() == Weekday::Mon)
                .unwrap_or(first);
            thin_labels(&placed, &[1, 2, 3, 7, 14, 28], |index, step| {
                let date = candidates[index].2;
                if step < 7 {
                    index % step == 0
                } else {
                    let weeks = (date - monday).num_days();
                    weeks >= 0 && weeks % step as i64 == 0
                }
            })
        }
        Grouping::Week => thin_labels(&placed, &[1, 2, 4, 8, 13], |index, step| index % step == 0),
        Grouping::Month => thin_labels(&placed, &[1, 2, 3, 6, 12], |index, step| {
            let date = candidates[index].2;
            (i64::from(date.year()) * 12 + i64::from(date.month0())).rem_euclid(step as i64) == 0
        }),
    };
    let base = plot.get_base_pixel();
    let style = TextStyle::from((FONT, LABEL_SIZE).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    for index in chosen {
        let (x, label) = &placed[index];
        let (_, y) = pixel(0.0);
        let (x, y) = (*x as i32 - base.0, y - base.1);
        plot.draw(&PathElement::new(
            [(x, y), (x, y + 5)],
            BLACK.stroke_width(1),
        ))?;
        plot.draw_text(label, &style, (x, y + 8))?;
    }
    Ok(())
}

fn draw_week<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    data: &ChartData,
    options: &ChartOptions,
) -> DrawResult<DB> {
    let language = options.language;
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
    let flows = [
        (0, Text::Consumption, OFF_PEAK),
        (1, Text::Production, PRODUCTION),
    ];
    let legend: Vec<LegendItem> = flows
        .iter()
        .filter(|(flow, _, _)| data.week.iter().any(|slot| slot[*flow].is_some()))
        .map(|(_, key, colour)| LegendItem {
            colour: *colour,
            line: true,
            pale: false,
            label: text(language, *key).to_owned(),
        })
        .collect();
    let plot = head(area, text(language, Text::ProfileTitle), None, &legend)?;
    let mut chart = ChartBuilder::on(&plot)
        .margin_left(12)
        .margin_right(20)
        .margin_bottom(6)
        .x_label_area_size(30)
        .y_label_area_size(64)
        .build_cartesian_2d(
            (0_i64..168).with_key_points((0..7).map(|day| day * 24 + 12).collect()),
            0.0..high,
        )?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_label_formatter(&|x: &i64| language.weekday((*x / 24) as usize).to_owned())
        .y_label_formatter(&axis_number(language, high))
        .y_desc(text(language, Text::AverageKw))
        .label_style((FONT, LABEL_SIZE))
        .axis_desc_style((FONT, 15))
        .draw()?;
    for (flow, _, colour) in flows {
        // A line per run of hours with data: it breaks where hours are missing.
        let mut runs: Vec<Vec<(i64, f64)>> = Vec::new();
        let mut previous = None;
        for (slot, values) in data.week.iter().enumerate() {
            let Some(wh) = values[flow] else {
                previous = None;
                continue;
            };
            if previous != Some(slot.wrapping_sub(1)) {
                runs.push(Vec::new());
            }
            if let Some(run) = runs.last_mut() {
                run.push((slot as i64, kw(wh)));
            }
            previous = Some(slot);
        }
        for run in runs {
            if run.len() == 1 {
                chart.draw_series(
                    run.iter()
                        .map(|point| Circle::new(*point, 2, colour.filled())),
                )?;
            } else {
                chart.draw_series(LineSeries::new(run, colour.stroke_width(2)))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The columns where each run of ink starts, in a row band of an RGB buffer.
    fn ink_starts(buffer: &[u8], width: usize, height: usize) -> Vec<usize> {
        let inked = |x: usize| (0..height).any(|y| buffer[(y * width + x) * 3] < 128);
        let mut starts = Vec::new();
        let mut previous = false;
        for x in 0..width {
            let now = inked(x);
            if now && !previous {
                starts.push(x);
            }
            previous = now;
        }
        starts
    }

    #[test]
    fn png_text_places_each_glyph_by_its_own_bearing() {
        // Stems with gaps between them: each glyph's ink starts at its pen position plus
        // its left side bearing (plotters' bitmap text drops the bearing: `l` after `H`
        // then sits about 3 pixels too far left at this size).
        let (width, height) = (400_usize, 80_usize);
        let mut buffer = vec![255_u8; width * height * 3];
        let text = "HlHl";
        let size = 48.0;
        {
            let root = PngBackend {
                inner: BitMapBackend::with_buffer(&mut buffer, (width as u32, height as u32)),
            }
            .into_drawing_area();
            let style = TextStyle::from((FONT, size).into_font()).color(&BLACK);
            register_font().unwrap();
            root.draw_text(text, &style, (10, 10)).unwrap();
            root.present().unwrap();
        }
        let font = bundled_font().unwrap();
        let scale = PxScale::from(size as f32);
        let scaled = font.as_scaled(scale);
        let mut caret = 10.0_f32;
        let mut expected = Vec::new();
        let mut previous = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(previous) = previous {
                caret += scaled.kern(previous, id);
            }
            previous = Some(id);
            expected.push(caret + scaled.h_side_bearing(id));
            caret += scaled.h_advance(id);
        }
        let starts = ink_starts(&buffer, width, height);
        // One run of ink per glyph (`H`'s bar joins its stems).
        assert_eq!(starts.len(), 4, "{starts:?}");
        let glyph_starts = [starts[0], starts[1], starts[2], starts[3]];
        for (found, wanted) in glyph_starts.iter().zip(&expected) {
            assert!(
                (*found as f32 - wanted).abs() <= 1.0,
                "ink at {found}, the font says {wanted}: {glyph_starts:?} vs {expected:?}"
            );
        }
    }

    #[test]
    fn labels_are_thinned_until_none_overlaps() {
        let labels: Vec<(f64, String)> = (0..60)
            .map(|day| (day as f64 * 18.0, format!("{} sept.", day % 30 + 1)))
            .collect();
        let chosen = thin_labels(&labels, &[1, 2, 3, 7, 14], |index, step| index % step == 0);
        assert!(chosen.len() > 5 && chosen.len() < 20, "{chosen:?}");
        for pair in chosen.windows(2) {
            let (a, b) = (&labels[pair[0]], &labels[pair[1]]);
            let half = (text_size(&a.1, LABEL_SIZE).0 + text_size(&b.1, LABEL_SIZE).0) / 2.0;
            assert!(b.0 - a.0 >= half, "{a:?} and {b:?}");
        }
    }

    #[test]
    fn bars_group_days_into_weeks_and_months_cut_to_the_period() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2024, 1, d).unwrap();
        let days: Vec<DayBar> = (3..=31)
            .filter(|d| *d != 10)
            .map(|d| DayBar {
                consumption: [[1000.0, 500.0], [0.0; 2], [0.0; 2], [0.0; 2]],
                ..DayBar::empty(day(d))
            })
            .collect();
        let end = NaiveDate::from_ymd_opt(2024, 2, 1).unwrap();
        let weeks = bars(&days, Grouping::Week, day(3), end);
        // Wednesday the 3rd to Sunday the 7th, then whole weeks, then Monday the 29th on.
        assert_eq!(weeks.len(), 5);
        assert_eq!((weeks[0].first, weeks[0].end), (day(3), day(8)));
        assert_eq!(weeks[1].days_with_data, 6, "the 10th is missing");
        assert!(weeks[1].is_incomplete() && !weeks[0].is_incomplete());
        assert_eq!((weeks[4].first, weeks[4].end), (day(29), end));
        let months = bars(&days, Grouping::Month, day(3), end);
        assert_eq!(months.len(), 1);
        assert_eq!(months[0].consumption[0], [28_000.0, 14_000.0]);
        assert_eq!(Grouping::for_span(62), Grouping::Day);
        assert_eq!(Grouping::for_span(63), Grouping::Week);
        assert_eq!(Grouping::for_span(183), Grouping::Month);
    }

    #[test]
    fn a_usage_point_is_masked_unless_asked() {
        assert_eq!(masked_pdl("22516914714270", false), "PDL …4270");
        assert_eq!(masked_pdl("22516914714270", true), "PDL 22516914714270");
    }
}
