//! What each offer would have cost: the load curve a sync holds (or a recorded session's,
//! replayed), the bundled regulated prices and the user's own offers, the user's off-peak
//! hours for HP/HC, a colour calendar for Tempo, as a table. Shared by `linky costs` and
//! `cargo run --example costs`.

use std::fmt::Write as _;
use std::path::Path;

use chrono::NaiveDate;
use linky_core::{
    ColourCalendar, CompareSettings, Comparison, CompiledSchedule, DayColour, Flow, HolidayZone,
    LoadCurve, Money, OffPeakConfig, PARIS, PriceBook, UsagePointId, compare_offers,
    costs_by_month,
};
use linky_domoticz::StateStore;

/// Reads a colour file: one `YYYY-MM-DD;colour` a line (`blue`, `white`, `red`, or
/// `bleu`, `blanc`, `rouge`), `#` comments.
///
/// # Errors
///
/// The first bad line, with its line and column.
pub fn read_colours(text: &str) -> Result<ColourCalendar, String> {
    let mut calendar = ColourCalendar::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (day, colour) = line
            .split_once([';', ',', ' '])
            .ok_or_else(|| format!("line {}, column 1: expected YYYY-MM-DD;colour", index + 1))?;
        let date: NaiveDate = day.trim().parse().map_err(|_| {
            format!(
                "line {}, column 1: {:?} is not a date",
                index + 1,
                day.trim()
            )
        })?;
        let colour = match colour.trim().to_lowercase().as_str() {
            "blue" | "bleu" | "1" => DayColour::Blue,
            "white" | "blanc" | "2" => DayColour::White,
            "red" | "rouge" | "3" => DayColour::Red,
            other => {
                return Err(format!(
                    "line {}, column {}: unknown colour {other:?} (blue, white or red)",
                    index + 1,
                    day.chars().count() + 2
                ));
            }
        };
        calendar.set(date, colour);
    }
    Ok(calendar)
}

/// The price book: the regulated prices, and the offers of `extra` files (the CRE's
/// open-data CSV files or the bundled format, see [`PriceBook::read`]).
///
/// # Errors
///
/// A file that cannot be read, or its first mistake with line and column.
pub fn price_book(extra: &[&Path]) -> Result<PriceBook, String> {
    let mut book = PriceBook::regulated();
    for path in extra {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let offers = PriceBook::read(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        book.extend(offers);
    }
    Ok(book)
}

/// The consumption of `usage_points` over `[from, to)` from a sync's state, as one curve.
pub fn consumption_curve(
    state: &dyn StateStore,
    usage_points: &[UsagePointId],
    from: NaiveDate,
    to: NaiveDate,
) -> LoadCurve {
    let mut readings = Vec::new();
    for usage_point in usage_points {
        let (found, _) = state.curve_readings(usage_point.as_str(), Flow::Consumption, from, to);
        readings.extend(found);
    }
    LoadCurve::builder(PARIS).build(&readings).0
}

/// What to compare.
#[derive(Debug, Clone)]
pub struct CostOptions {
    /// The first day.
    pub from: NaiveDate,
    /// The day after the last.
    pub to: NaiveDate,
    /// The subscribed power, in kVA.
    pub kva: u32,
    /// The user's off-peak hours (for HP/HC offers).
    pub schedule: OffPeakConfig,
    /// The usage point whose hours apply.
    pub usage_point: String,
    /// The day colours (for Tempo).
    pub colours: Option<ColourCalendar>,
}

/// The comparison of `book`'s offers for `curve`.
pub fn compare(curve: &LoadCurve, book: &PriceBook, options: &CostOptions) -> Comparison {
    let schedule = CompiledSchedule::new(
        &options.schedule,
        &options.usage_point,
        Flow::Consumption,
        HolidayZone::Metropole,
    );
    compare_offers(
        curve,
        book,
        CompareSettings {
            from: options.from,
            to: options.to,
            kva: options.kva,
            schedule: &schedule,
            colours: options.colours.as_ref(),
        },
    )
}

/// The comparison as a table for a person: per offer the subscription, the energy, the
/// total and the difference with the cheapest; then per month; then what was left out.
pub fn table(comparison: &Comparison, options: &CostOptions, book: &PriceBook) -> String {
    let mut text = String::new();
    let days = comparison.days.len();
    writeln!(
        text,
        "{} kVA, {} to {}: {days} day{} compared",
        options.kva,
        options.from,
        options.to.pred_opt().unwrap_or(options.to),
        if days == 1 { "" } else { "s" }
    )
    .ok();
    if comparison.offers.is_empty() || days == 0 {
        writeln!(text, "nothing to compare").ok();
    } else {
        let cheapest = comparison.offers[0].total();
        writeln!(
            text,
            "{:<14} {:>13} {:>13} {:>13} {:>12}",
            "offer", "subscription", "energy", "total", "vs cheapest"
        )
        .ok();
        for offer in &comparison.offers {
            let total = offer.total();
            let subscription = offer.subscription();
            let extra = total - cheapest;
            writeln!(
                text,
                "{:<14} {:>13} {:>13} {:>13} {:>12}",
                offer.name,
                subscription.to_string(),
                (total - subscription).to_string(),
                total.to_string(),
                if extra == Money::ZERO {
                    "-".to_owned()
                } else {
                    format!("+{extra}")
                }
            )
            .ok();
        }
        writeln!(text).ok();
        let months = costs_by_month(&comparison.offers[0].days);
        write!(text, "{:<8}", "month").ok();
        for offer in &comparison.offers {
            write!(text, " {:>13}", offer.name).ok();
        }
        writeln!(text).ok();
        for ((year, month), _) in months {
            write!(text, "{year}-{month:02} ").ok();
            for offer in &comparison.offers {
                let total = costs_by_month(&offer.days)
                    .into_iter()
                    .find(|(key, _)| *key == (year, month))
                    .map_or(Money::ZERO, |(_, cost)| cost.total());
                write!(text, " {:>13}", total.to_string()).ok();
            }
            writeln!(text).ok();
        }
    }
    let tempo_listed = book
        .offers
        .iter()
        .any(|o| o.kind == linky_core::OfferKind::Tempo);
    if tempo_listed && options.colours.is_none() {
        writeln!(
            text,
            "Tempo: not costed without day colours (give a colour file: YYYY-MM-DD;blue|white|red)"
        )
        .ok();
    }
    if !comparison.left_out.is_empty() {
        let mut reasons: Vec<(String, usize)> = Vec::new();
        for (_, reason) in &comparison.left_out {
            match reasons.iter_mut().find(|(r, _)| r == reason) {
                Some((_, count)) => *count += 1,
                None => reasons.push((reason.clone(), 1)),
            }
        }
        for (reason, count) in reasons {
            writeln!(
                text,
                "left out: {count} day{} ({reason})",
                if count == 1 { "" } else { "s" }
            )
            .ok();
        }
    }
    text
}
