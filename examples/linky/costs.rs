//! What each offer would have cost: the load curve a sync holds (or a recorded session's,
//! replayed), the bundled regulated prices and the user's own offers, the user's off-peak
//! hours for HP/HC, a colour calendar for Tempo, as a table. Shared by `linky costs` and
//! `cargo run --example costs`.

use std::fmt::Write as _;
use std::path::Path;

use chrono::NaiveDate;
use linky_core::{
    ColourCalendar, CompareSettings, Comparison, CompiledSchedule, Flow, HolidayZone, LeftOut,
    LoadCurve, Money, OffPeakConfig, OfferKind, PARIS, PriceBook, UsagePointId, compare_offers,
    costs_by_month,
};

use crate::lang::Language;
use linky_domoticz::StateStore;

/// Reads a colour file (see [`ColourCalendar::read`]).
///
/// # Errors
///
/// The first bad line, with its line and column.
pub fn read_colours(text: &str) -> Result<ColourCalendar, String> {
    ColourCalendar::read(text).map_err(|error| error.to_string())
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

/// Where a comparison's day colours come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColourOrigin {
    /// A colour file, named.
    File(String),
    /// The colours the sync kept (`tempo = true`).
    Kept,
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
    /// Which off-peak hours these are and where they come from, as the table says it.
    pub schedule_label: String,
    /// The usage point whose hours apply.
    pub usage_point: String,
    /// The day colours (for Tempo).
    pub colours: Option<ColourCalendar>,
    /// Where the colours come from, for the table's note on a day left out for want of a
    /// colour.
    pub colour_origin: Option<ColourOrigin>,
    /// The table's language.
    pub language: Language,
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
        match &options.colours {
            Some(colours) => CompareSettings::new(options.from, options.to, options.kva, &schedule)
                .with_colours(colours),
            None => CompareSettings::new(options.from, options.to, options.kva, &schedule),
        },
    )
}

/// A schedule's text on one line, cut at 100 characters.
pub fn schedule_summary(text: &str) -> String {
    let line = text
        .lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    if line.chars().count() > 100 {
        format!("{}…", line.chars().take(99).collect::<String>())
    } else {
        line
    }
}

/// An amount as `language` writes it: `1 234,56 €`, `1,234.56 €` (to the cent).
pub fn money(language: Language, amount: Money) -> String {
    let cents = amount.round_cents();
    let sign = if cents < 0 { "-" } else { "" };
    let euros = language.number((cents.abs() / 100) as f64, 0);
    let point = language.pick(",", ".");
    format!("{sign}{euros}{point}{:02} €", cents.abs() % 100)
}

/// An energy in kWh, one decimal, as `language` writes it.
fn kwh(language: Language, energy: linky_core::Energy) -> String {
    language.number(energy.as_wh_f64() / 1000.0, 1)
}

/// The names of an offer's classes, in the order of its prices.
fn class_names(language: Language, kind: OfferKind) -> Vec<&'static str> {
    match kind {
        OfferKind::Base => vec!["Base"],
        OfferKind::PeakOffPeak => vec!["HP", "HC"],
        OfferKind::Tempo => match language {
            Language::French => vec![
                "bleu HP", "bleu HC", "blanc HP", "blanc HC", "rouge HP", "rouge HC",
            ],
            Language::English => vec![
                "blue HP", "blue HC", "white HP", "white HC", "red HP", "red HC",
            ],
        },
        _ => Vec::new(),
    }
}

/// Why a day was left out, in `language`.
fn left_out(language: Language, reason: &LeftOut) -> String {
    if language == Language::English {
        return reason.to_string();
    }
    let fr = |date: NaiveDate| day(language, date);
    match reason {
        LeftOut::NoCompleteData => "données incomplètes".to_owned(),
        LeftOut::ColourUnknown {
            night: Some(night),
            day: Some(date),
        } => format!(
            "les couleurs Tempo du {} et du {} ne sont pas connues",
            fr(*night),
            fr(*date)
        ),
        LeftOut::ColourUnknown {
            night: Some(night),
            day: None,
        } => format!(
            "la couleur Tempo du {} n'est pas connue : la nuit suivante, jusqu'à 6 h, prend la couleur de la veille",
            fr(*night)
        ),
        LeftOut::ColourUnknown {
            day: Some(date), ..
        } => {
            format!("la couleur Tempo du {} n'est pas connue", fr(*date))
        }
        LeftOut::NoPrice {
            offer,
            kva,
            ended: Some(until),
        } => format!(
            "pas de prix à {kva} kVA pour {offer} : ses prix s'arrêtent le {}",
            fr(*until)
        ),
        LeftOut::NoPrice { offer, kva, .. } => format!("pas de prix à {kva} kVA pour {offer}"),
        other => other.to_string(),
    }
}

/// A day for a person: `16/09/2024` in French, `2024-09-16` in English.
fn day(language: Language, date: NaiveDate) -> String {
    match language {
        Language::French => date.format("%d/%m/%Y").to_string(),
        Language::English => date.to_string(),
    }
}

/// The comparison as a table for a person: per offer the subscription, the energy, the
/// total and the difference with the cheapest; per offer and class the kWh and their cost;
/// then per month; then what was left out, and why.
pub fn table(comparison: &Comparison, options: &CostOptions, book: &PriceBook) -> String {
    let language = options.language;
    let pick = |french, english| language.pick(french, english);
    let mut text = String::new();
    let days = comparison.days.len();
    let last = options.to.pred_opt().unwrap_or(options.to);
    match language {
        Language::French => writeln!(
            text,
            "{} kVA, du {} au {}\u{a0}: {days} jour{} comparé{}",
            options.kva,
            day(language, options.from),
            day(language, last),
            if days == 1 { "" } else { "s" },
            if days == 1 { "" } else { "s" }
        ),
        Language::English => writeln!(
            text,
            "{} kVA, {} to {}: {days} day{} compared",
            options.kva,
            options.from,
            last,
            if days == 1 { "" } else { "s" }
        ),
    }
    .ok();
    writeln!(
        text,
        "{}{} {}",
        pick("heures creuses", "off-peak hours"),
        language.colon(),
        options.schedule_label
    )
    .ok();
    if comparison.offers.is_empty() || days == 0 {
        writeln!(text, "{}", pick("rien à comparer", "nothing to compare")).ok();
    } else {
        let cheapest = comparison.offers[0].total();
        writeln!(
            text,
            "{:<14} {:>13} {:>13} {:>13} {:>12}",
            pick("offre", "offer"),
            pick("abonnement", "subscription"),
            pick("énergie", "energy"),
            "total",
            pick("écart", "vs cheapest")
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
                money(language, subscription),
                money(language, total - subscription),
                money(language, total),
                if extra == Money::ZERO {
                    "-".to_owned()
                } else {
                    format!("+{}", money(language, extra))
                }
            )
            .ok();
        }
        // Each offer's classes: the energy and what it cost.
        writeln!(text).ok();
        writeln!(
            text,
            "{:<14} {:<9} {:>10} {:>13}",
            pick("offre", "offer"),
            pick("classe", "class"),
            "kWh",
            pick("coût", "cost")
        )
        .ok();
        for offer in &comparison.offers {
            let names = class_names(language, offer.kind);
            let energies = offer.class_energies();
            let costs = offer.class_costs();
            for (index, ((name, energy), cost)) in
                names.iter().zip(&energies).zip(&costs).enumerate()
            {
                writeln!(
                    text,
                    "{:<14} {:<9} {:>10} {:>13}",
                    if index == 0 { offer.name.as_str() } else { "" },
                    name,
                    kwh(language, *energy),
                    money(language, *cost)
                )
                .ok();
            }
        }
        writeln!(text).ok();
        let months = costs_by_month(&comparison.offers[0].days);
        write!(text, "{:<8}", pick("mois", "month")).ok();
        for offer in &comparison.offers {
            write!(text, " {:>13}", offer.name).ok();
        }
        writeln!(text).ok();
        for (month, _) in months {
            write!(text, "{month} ").ok();
            for offer in &comparison.offers {
                let total = costs_by_month(&offer.days)
                    .into_iter()
                    .find(|(key, _)| *key == month)
                    .map_or(Money::ZERO, |(_, cost)| cost.total());
                write!(text, " {:>13}", money(language, total)).ok();
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
            "{}",
            pick(
                "Tempo : non chiffré sans les couleurs des jours (donnez un fichier de couleurs : AAAA-MM-JJ;bleu|blanc|rouge, ou tempo = true dans la configuration)",
                "Tempo: not costed without day colours (give a colour file: YYYY-MM-DD;blue|white|red, or tempo = true in the configuration)"
            )
        )
        .ok();
    }
    if !comparison.left_out.is_empty() {
        let mut reasons: Vec<(String, usize)> = Vec::new();
        for (_, reason) in &comparison.left_out {
            let reason = left_out(language, reason);
            match reasons.iter_mut().find(|(r, _)| *r == reason) {
                Some((_, count)) => *count += 1,
                None => reasons.push((reason, 1)),
            }
        }
        for (reason, count) in reasons {
            let plural = if count == 1 { "" } else { "s" };
            match language {
                Language::French => {
                    writeln!(text, "écarté{plural} : {count} jour{plural} ({reason})")
                }
                Language::English => writeln!(text, "left out: {count} day{plural} ({reason})"),
            }
            .ok();
        }
        let colourless = comparison
            .left_out
            .iter()
            .any(|(_, reason)| matches!(reason, LeftOut::ColourUnknown { .. }));
        if colourless
            && let (Some(colours), Some(origin)) = (&options.colours, &options.colour_origin)
        {
            let known: Vec<NaiveDate> = colours.days().map(|(date, _)| date).collect();
            if let (Some(first), Some(last)) = (known.first(), known.last()) {
                let (origin, hint) = match origin {
                    ColourOrigin::File(name) => (name.clone(), String::new()),
                    ColourOrigin::Kept => (
                        pick("gardées par la synchronisation", "kept by the sync").to_owned(),
                        pick(
                            " : RTE n'est interrogé que sur les jours que la synchronisation récupère ; donnez un fichier de couleurs (--colours) pour les jours d'avant",
                            ": RTE is asked only about the days the sync fetches; give a colour file (--colours) for the days before",
                        )
                        .to_owned(),
                    ),
                };
                match language {
                    Language::French => writeln!(
                        text,
                        "les couleurs connues ({origin}) vont du {} au {}{hint}",
                        day(language, *first),
                        day(language, *last),
                    ),
                    Language::English => writeln!(
                        text,
                        "the colours known ({origin}) run from {first} to {last}{hint}"
                    ),
                }
                .ok();
            }
        }
    }
    text
}
