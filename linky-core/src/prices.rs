//! Prices with their history, exact money, costs per day, month and year, and the
//! comparison of offers over a load curve.
//!
//! **Money is exact.** [`Money`] counts whole 1/6 000 000 000 000 of a euro: an energy in
//! milliwatt-minutes times a price in hundred-thousandths of a euro per kWh (the five
//! decimals of the published prices) is a whole number of them, so costs add up without
//! rounding; a month's cost is the sum of its days', a year's of its months'. Amounts are
//! rounded to the cent only when printed.
//!
//! **Subscriptions are prorated by day**: a month's subscription (a twelfth of the yearly
//! one) is shared between its days so that they add up to it exactly (each day gets the
//! difference of `floor(month × d / days)` at its end and start).
//!
//! **Prices change on fixed dates** and changing one never rewrites the past: an offer is a
//! list of [`PricePeriod`]s, each holding from its first day until the next one's of the
//! same subscribed power. [`PriceBook::parse`] reads them from a text file (the bundled
//! French regulated prices, [`PriceBook::regulated`], and the user's own offers), each
//! mistake with its line and column.

use std::fmt;

use chrono::{Datelike, NaiveDate};

use crate::{ColourCalendar, CompiledSchedule, Energy, LoadCurve, SplitDay, recolour};

/// Units of [`Money`] in one euro: 10^5 (price decimals) × 6·10^7 (milliwatt-minutes in a
/// kWh).
pub const MONEY_UNITS_PER_EURO: i128 = 6_000_000_000_000;

/// An exact amount of money, in 1/[`MONEY_UNITS_PER_EURO`] of a euro.
///
/// ```
/// use linky_core::{Energy, EnergyPrice, Money};
/// let price: EnergyPrice = "0.19398".parse().unwrap();
/// let cost = price.cost(Energy::from_wh(1500));
/// assert_eq!(cost.to_string(), "0.29 €");
/// assert_eq!(cost, Money::from_euro_fraction(29097, 100_000));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i128);

impl Money {
    /// No money.
    pub const ZERO: Money = Money(0);

    /// `numerator / denominator` euros, when exact in money units (`denominator` a divisor
    /// of [`MONEY_UNITS_PER_EURO`], such as 100 or 100 000).
    pub const fn from_euro_fraction(numerator: i64, denominator: i64) -> Money {
        Money(numerator as i128 * (MONEY_UNITS_PER_EURO / denominator as i128))
    }

    /// Whole cents.
    pub const fn from_cents(cents: i64) -> Money {
        Money::from_euro_fraction(cents, 100)
    }

    /// The exact amount in money units.
    pub const fn units(self) -> i128 {
        self.0
    }

    /// From money units.
    pub const fn from_units(units: i128) -> Money {
        Money(units)
    }

    /// Rounded to the nearest cent (halves away from zero).
    pub fn round_cents(self) -> i64 {
        let per_cent = MONEY_UNITS_PER_EURO / 100;
        let rounded = (self.0.abs() + per_cent / 2) / per_cent;
        (if self.0 < 0 { -rounded } else { rounded }) as i64
    }

    /// In euros, as a float (for display and charts only; sums stay exact).
    pub fn as_euros(self) -> f64 {
        self.0 as f64 / MONEY_UNITS_PER_EURO as f64
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0 + other.0)
    }
}

impl std::ops::AddAssign for Money {
    fn add_assign(&mut self, other: Money) {
        self.0 += other.0;
    }
}

impl std::ops::Sub for Money {
    type Output = Money;
    fn sub(self, other: Money) -> Money {
        Money(self.0 - other.0)
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        Money(iter.map(|m| m.0).sum())
    }
}

impl fmt::Display for Money {
    /// Euros to the cent: `12.34 €`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cents = self.round_cents();
        let sign = if cents < 0 { "-" } else { "" };
        write!(f, "{sign}{}.{:02} €", cents.abs() / 100, cents.abs() % 100)
    }
}

/// A price per kWh, taxes included, in hundred-thousandths of a euro (`0.19398` €/kWh).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnergyPrice(i64);

impl EnergyPrice {
    /// From hundred-thousandths of a euro per kWh.
    pub const fn from_e5(value: i64) -> EnergyPrice {
        EnergyPrice(value)
    }

    /// In hundred-thousandths of a euro per kWh.
    pub const fn e5(self) -> i64 {
        self.0
    }

    /// The exact cost of `energy` at this price.
    pub fn cost(self, energy: Energy) -> Money {
        Money(i128::from(energy.milliwatt_minutes()) * i128::from(self.0))
    }
}

impl std::str::FromStr for EnergyPrice {
    type Err = String;

    /// `0.19398` or `0,19398` (euros per kWh, at most five decimals).
    fn from_str(text: &str) -> Result<EnergyPrice, String> {
        decimal(text, 5).map(EnergyPrice)
    }
}

impl fmt::Display for EnergyPrice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:05}", self.0 / 100_000, self.0 % 100_000)
    }
}

/// A non-negative decimal with at most `places` decimals (`.` or `,`), scaled by
/// 10^places.
fn decimal(text: &str, places: u32) -> Result<i64, String> {
    let text = text.trim();
    let (whole, fraction) = match text.split_once(['.', ',']) {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || whole.len() > 9 {
        return Err(format!("{text:?} is not an amount"));
    }
    if fraction.len() > places as usize {
        return Err(format!("{text:?} has more than {places} decimals"));
    }
    let scale = 10_i64.pow(places);
    let whole: i64 = whole
        .parse()
        .map_err(|_| format!("{text:?} is not an amount"))?;
    let fraction_value: i64 = if fraction.is_empty() {
        0
    } else {
        fraction
            .parse::<i64>()
            .map_err(|_| format!("{text:?} is not an amount"))?
            * 10_i64.pow(places - fraction.len() as u32)
    };
    Ok(whole * scale + fraction_value)
}

/// A subscription's price, as published: per year (the CRE files) or per month (EDF's
/// grids).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscription {
    /// Euros per year, in cents.
    PerYear(i64),
    /// Euros per month, in cents.
    PerMonth(i64),
}

impl Subscription {
    /// A month's subscription.
    pub fn per_month(self) -> Money {
        match self {
            Subscription::PerYear(cents) => {
                Money(i128::from(cents) * (MONEY_UNITS_PER_EURO / 100) / 12)
            }
            Subscription::PerMonth(cents) => Money::from_cents(cents),
        }
    }

    /// `date`'s share of its month's subscription: the days of a month add up to it
    /// exactly.
    pub fn on(self, date: NaiveDate) -> Money {
        let month = self.per_month().0;
        let days = i128::from(days_in_month(date));
        let day = i128::from(date.day());
        Money(month * day / days - month * (day - 1) / days)
    }
}

impl fmt::Display for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subscription::PerYear(cents) => write!(f, "{}.{:02}/year", cents / 100, cents % 100),
            Subscription::PerMonth(cents) => {
                write!(f, "{}.{:02}/month", cents / 100, cents % 100)
            }
        }
    }
}

fn days_in_month(date: NaiveDate) -> u32 {
    let (year, month) = (date.year(), date.month());
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    next.and_then(|next| next.pred_opt())
        .map_or(30, |last| last.day())
}

/// How an offer divides the hours: its number of energy prices. Non-exhaustive: EJP and
/// Zen Flex are announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OfferKind {
    /// One price at every hour.
    Base,
    /// Peak and off-peak hours (the user's schedule): peak price, then off-peak.
    PeakOffPeak,
    /// Tempo: blue peak, blue off-peak, white peak, white off-peak, red peak, red off-peak.
    Tempo,
}

impl OfferKind {
    /// How many energy prices it has.
    pub const fn classes(self) -> usize {
        match self {
            OfferKind::Base => 1,
            OfferKind::PeakOffPeak => 2,
            OfferKind::Tempo => 6,
        }
    }

    /// The word in price files.
    pub const fn as_str(self) -> &'static str {
        match self {
            OfferKind::Base => "base",
            OfferKind::PeakOffPeak => "hphc",
            OfferKind::Tempo => "tempo",
        }
    }
}

/// The prices of an offer from a day on, for one subscribed power.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricePeriod {
    /// The first day they hold.
    pub from: NaiveDate,
    /// The last day they hold, when the source says (the CRE's `DATE_FIN`): after it, and
    /// without a later period of the same power, no price holds. `None`: until the next
    /// period of the same power.
    pub until: Option<NaiveDate>,
    /// The subscribed power, in kVA.
    pub kva: u32,
    /// The subscription.
    pub subscription: Subscription,
    /// The energy prices, one per class of the offer's kind.
    pub prices: Vec<EnergyPrice>,
    /// Where the figures come from, or why they are not sure (free text).
    pub note: String,
}

/// An offer: its name, kind, and prices over time.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// Its name (`Base`, `HP/HC`, `Tempo`, or the user's).
    pub name: String,
    /// How it divides the hours.
    pub kind: OfferKind,
    /// Its prices, by first day (a period holds until the next one of the same power).
    pub periods: Vec<PricePeriod>,
}

impl Offer {
    /// The prices in force on `date` for `kva`: the latest period begun by then, unless it
    /// ended before (its `until`).
    pub fn period_on(&self, date: NaiveDate, kva: u32) -> Option<&PricePeriod> {
        self.periods
            .iter()
            .filter(|p| p.kva == kva && p.from <= date)
            .max_by_key(|p| p.from)
            .filter(|p| p.until.is_none_or(|until| date <= until))
    }

    /// The last day of the latest prices for `kva` begun by `date`, when they ended before
    /// it: why `date` has no price.
    pub fn ended_before(&self, date: NaiveDate, kva: u32) -> Option<NaiveDate> {
        self.periods
            .iter()
            .filter(|p| p.kva == kva && p.from <= date)
            .max_by_key(|p| p.from)
            .and_then(|p| p.until)
            .filter(|until| *until < date)
    }

    /// The cost of local day `date` with `energies` per class (as many as the kind has),
    /// its subscription included; `None` when no price holds that day for `kva`.
    pub fn day_cost(&self, date: NaiveDate, kva: u32, energies: &[Energy]) -> Option<DayCost> {
        let period = self.period_on(date, kva)?;
        let energy: Vec<Money> = period
            .prices
            .iter()
            .zip(energies)
            .map(|(price, energy)| price.cost(*energy))
            .collect();
        Some(DayCost {
            date,
            subscription: period.subscription.on(date),
            energy,
            energies: energies.to_vec(),
        })
    }
}

/// What one day costs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DayCost {
    /// The local day.
    pub date: NaiveDate,
    /// Its share of the subscription.
    pub subscription: Money,
    /// The energy's cost per class.
    pub energy: Vec<Money>,
    /// The energy consumed per class, as priced (the offer's classes, in the order of
    /// its prices).
    pub energies: Vec<Energy>,
}

impl DayCost {
    /// Day `date`'s cost: its share of the subscription, each class's energy cost and
    /// energy (the offer's classes, in the order of its prices).
    pub fn new(
        date: NaiveDate,
        subscription: Money,
        energy: Vec<Money>,
        energies: Vec<Energy>,
    ) -> DayCost {
        DayCost {
            date,
            subscription,
            energy,
            energies,
        }
    }

    /// Subscription and energy.
    pub fn total(&self) -> Money {
        self.subscription + self.energy.iter().copied().sum::<Money>()
    }
}

/// What a period (a month, a year) cost: its subscription and its energy per class.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PeriodCost {
    /// The subscription's part.
    pub subscription: Money,
    /// The energy's cost per class (the offer's classes).
    pub energy: Vec<Money>,
}

impl PeriodCost {
    /// Subscription and energy.
    pub fn total(&self) -> Money {
        self.subscription + self.energy.iter().copied().sum::<Money>()
    }

    fn add(&mut self, day: &DayCost) {
        self.subscription += day.subscription;
        if self.energy.len() < day.energy.len() {
            self.energy.resize(day.energy.len(), Money::ZERO);
        }
        for (total, energy) in self.energy.iter_mut().zip(&day.energy) {
            *total += *energy;
        }
    }
}

/// A calendar month: `2024-09`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    year: i32,
    month: u32,
}

impl YearMonth {
    /// The month holding `date`.
    pub fn of(date: NaiveDate) -> YearMonth {
        YearMonth {
            year: date.year(),
            month: date.month(),
        }
    }

    /// The year.
    pub const fn year(self) -> i32 {
        self.year
    }

    /// The month, 1 to 12.
    pub const fn month(self) -> u32 {
        self.month
    }

    /// Its first day.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }
}

impl fmt::Display for YearMonth {
    /// `2024-09`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:02}", self.year, self.month)
    }
}

/// Costs per local month, per class (the sum of its days: exact), months in the order of
/// the days.
///
/// ```
/// use chrono::NaiveDate;
/// use linky_core::{costs_by_month, DayCost, Energy, Money};
/// let day = |d: u32| NaiveDate::from_ymd_opt(2024, 9, d).unwrap();
/// let days = [
///     DayCost::new(day(29), Money::from_cents(40), vec![Money::from_cents(300)], vec![Energy::from_wh(1_500)]),
///     DayCost::new(day(30), Money::from_cents(40), vec![Money::from_cents(250)], vec![Energy::from_wh(1_250)]),
/// ];
/// let months = costs_by_month(&days);
/// assert_eq!(months[0].0.to_string(), "2024-09");
/// assert_eq!(months[0].1.total(), Money::from_cents(630));
/// ```
pub fn costs_by_month(days: &[DayCost]) -> Vec<(YearMonth, PeriodCost)> {
    let mut months: Vec<(YearMonth, PeriodCost)> = Vec::new();
    for day in days {
        let key = YearMonth::of(day.date);
        if months.last().is_none_or(|(last, _)| *last != key) {
            months.push((key, PeriodCost::default()));
        }
        if let Some((_, month)) = months.last_mut() {
            month.add(day);
        }
    }
    months
}

/// Costs per year, per class (the sum of its days, hence of its months: exact).
pub fn costs_by_year(days: &[DayCost]) -> Vec<(i32, PeriodCost)> {
    let mut years: Vec<(i32, PeriodCost)> = Vec::new();
    for day in days {
        let year = day.date.year();
        if years.last().is_none_or(|(last, _)| *last != year) {
            years.push((year, PeriodCost::default()));
        }
        if let Some((_, total)) = years.last_mut() {
            total.add(day);
        }
    }
    years
}

/// A mistake in a price file, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PriceFileError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters) of the offending field.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PriceFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for PriceFileError {}

/// Offers and their prices over time.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriceBook {
    /// The offers, in the order of the file.
    pub offers: Vec<Offer>,
}

/// The bundled French regulated prices (see `prices/SOURCE.md` beside this crate).
const REGULATED: &str = include_str!("../prices/regulated.csv");

impl PriceBook {
    /// The French regulated prices (EDF's "Tarif Bleu": Base, HP/HC, Tempo), taxes
    /// included, from February 2021, bundled with the crate with the source of each
    /// figure (`prices/SOURCE.md`).
    pub fn regulated() -> PriceBook {
        PriceBook::parse(REGULATED).unwrap_or_default()
    }

    /// The offer called `name`.
    pub fn offer(&self, name: &str) -> Option<&Offer> {
        self.offers
            .iter()
            .find(|o| o.name.eq_ignore_ascii_case(name))
    }

    /// Adds the offers of `other`: an offer of the same name and kind gets its periods,
    /// and a period of `other` replaces one of the same first day and power (so that a
    /// newer file of prices corrects the bundled ones).
    ///
    /// ```
    /// use linky_core::PriceBook;
    /// let mut book = PriceBook::regulated();
    /// book.extend(PriceBook::read("Base;base;2025-08-01;6;185.94/year;0.2000;fixed\n").unwrap());
    /// let base = book.offer("Base").unwrap();
    /// let september = chrono::NaiveDate::from_ymd_opt(2025, 9, 1).unwrap();
    /// assert_eq!(base.period_on(september, 6).unwrap().prices[0].to_string(), "0.20000");
    /// let august = chrono::NaiveDate::from_ymd_opt(2025, 8, 1).unwrap();
    /// assert_eq!(base.periods.iter().filter(|p| p.from == august && p.kva == 6).count(), 1);
    /// ```
    pub fn extend(&mut self, other: PriceBook) {
        for offer in other.offers {
            match self
                .offers
                .iter_mut()
                .find(|o| o.name == offer.name && o.kind == offer.kind)
            {
                Some(known) => {
                    for period in offer.periods {
                        known
                            .periods
                            .retain(|p| !(p.from == period.from && p.kva == period.kva));
                        known.periods.push(period);
                    }
                }
                None => self.offers.push(offer),
            }
        }
    }

    /// Reads a price file in either format: the CRE's open-data CSV (recognised by its
    /// `DATE_DEBUT` header, see [`PriceBook::parse_open_data`]) or this crate's own (see
    /// [`PriceBook::parse`]).
    ///
    /// # Errors
    ///
    /// The first mistake, with its line and column.
    pub fn read(text: &str) -> Result<PriceBook, PriceFileError> {
        let first = text
            .trim_start_matches('\u{feff}')
            .lines()
            .map(|line| line.split('#').next().unwrap_or("").trim())
            .find(|line| !line.is_empty());
        if first.is_some_and(|line| line.to_ascii_uppercase().starts_with("DATE_DEBUT")) {
            PriceBook::parse_open_data(text)
        } else {
            PriceBook::parse(text)
        }
    }

    /// Reads one of the CRE's open-data files of French regulated prices (data.gouv.fr,
    /// "Historique des tarifs réglementés de vente d'électricité pour les consommateurs
    /// résidentiels": `Option_Base.csv`, `Option_HPHC.csv`, `Option_Tempo.csv`) into the
    /// offer `Base`, `HP/HC` or `Tempo`, the names of [`PriceBook::regulated`]: with
    /// [`PriceBook::extend`], a newer download updates the bundled prices.
    ///
    /// The header names the columns (`DATE_DEBUT`, `P_SOUSCRITE`, `PART_FIXE_TTC` in euros
    /// per year, and the `PART_VARIABLE_..._TTC` prices in euros per kWh); fields are
    /// separated by `;`, decimals written with a comma or a point, dates `DD/MM/YYYY` (or
    /// `YYYY-MM-DD`). A row without prices (the file has some) is skipped. A period holds
    /// until the next one of the same power, and never after its `DATE_FIN` when it has
    /// one: a power the CRE stopped pricing has no price after that day.
    ///
    /// ```
    /// use linky_core::PriceBook;
    /// let csv = "DATE_DEBUT;DATE_FIN;P_SOUSCRITE;PART_FIXE_HT;PART_FIXE_TTC;PART_VARIABLE_HT;PART_VARIABLE_TTC\r\n\
    ///            01/08/2025;;6;125,04;185,94;0,1208;0,1952\r\n\
    ///            01/08/2016;31/07/2017;3;;;;\r\n";
    /// let book = PriceBook::parse_open_data(csv).unwrap();
    /// let base = &book.offers[0];
    /// assert_eq!((base.name.as_str(), base.periods.len()), ("Base", 1));
    /// assert_eq!(base.periods[0].prices[0].to_string(), "0.19520");
    /// let error = PriceBook::parse_open_data("DATE_DEBUT;P_SOUSCRITE;PART_FIXE_TTC\n").unwrap_err();
    /// assert_eq!(error.to_string(), "line 1, column 1: no price column: expected PART_VARIABLE_TTC (Base), PART_VARIABLE_HP_TTC and PART_VARIABLE_HC_TTC (HP/HC) or the six PART_VARIABLE_HP|HC<colour>_TTC (Tempo)");
    /// ```
    ///
    /// # Errors
    ///
    /// The first mistake, with its line and column.
    pub fn parse_open_data(text: &str) -> Result<PriceBook, PriceFileError> {
        let text = text.trim_start_matches('\u{feff}');
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty());
        let Some((header_index, header)) = lines.next() else {
            return Err(PriceFileError {
                line: 1,
                column: 1,
                message: "empty file: expected the CRE's header (DATE_DEBUT;...)".to_owned(),
            });
        };
        let header_error = |message: String| PriceFileError {
            line: header_index + 1,
            column: 1,
            message,
        };
        let names: Vec<String> = header
            .split(';')
            .map(|name| name.trim().to_ascii_uppercase())
            .collect();
        let column = |name: &str| names.iter().position(|n| n == name);
        let required =
            |name: &str| column(name).ok_or_else(|| header_error(format!("no {name} column")));
        let from_column = required("DATE_DEBUT")?;
        let until_column = column("DATE_FIN");
        let kva_column = required("P_SOUSCRITE")?;
        let fixed_column = required("PART_FIXE_TTC")?;
        let tempo: Option<Vec<usize>> = ["BLEU", "BLANC", "ROUGE"]
            .iter()
            .flat_map(|colour| ["HP", "HC"].map(|hour| format!("PART_VARIABLE_{hour}{colour}_TTC")))
            .map(|name| column(&name))
            .collect();
        let peak_off_peak: Option<Vec<usize>> = ["PART_VARIABLE_HP_TTC", "PART_VARIABLE_HC_TTC"]
            .iter()
            .map(|name| column(name))
            .collect();
        let (name, kind, price_columns) = match (tempo, peak_off_peak, column("PART_VARIABLE_TTC"))
        {
            (Some(columns), _, _) => ("Tempo", OfferKind::Tempo, columns),
            (None, Some(columns), _) => ("HP/HC", OfferKind::PeakOffPeak, columns),
            (None, None, Some(base)) => ("Base", OfferKind::Base, vec![base]),
            (None, None, None) => {
                return Err(header_error(
                    "no price column: expected PART_VARIABLE_TTC (Base), PART_VARIABLE_HP_TTC and \
                     PART_VARIABLE_HC_TTC (HP/HC) or the six PART_VARIABLE_HP|HC<colour>_TTC (Tempo)"
                        .to_owned(),
                ));
            }
        };
        let mut offer = Offer {
            name: name.to_owned(),
            kind,
            periods: Vec::new(),
        };
        for (index, raw) in lines {
            let line = index + 1;
            let fields = fields_with_columns(raw);
            let error = |column: usize, message: String| PriceFileError {
                line,
                column,
                message,
            };
            let field = |index: usize| {
                fields
                    .get(index)
                    .map_or((raw.chars().count() + 1, ""), |(column, text)| {
                        (*column, text.trim())
                    })
            };
            let (from_at, from) = field(from_column);
            let (until_at, until) = until_column.map_or((0, ""), field);
            let (kva_at, kva) = field(kva_column);
            let (fixed_at, fixed) = field(fixed_column);
            let prices: Vec<(usize, &str)> = price_columns.iter().map(|c| field(*c)).collect();
            if from.is_empty() && kva.is_empty() {
                continue;
            }
            if fixed.is_empty() && prices.iter().all(|(_, price)| price.is_empty()) {
                // A row the file keeps for a power without prices then.
                continue;
            }
            let from = NaiveDate::parse_from_str(from, "%d/%m/%Y")
                .or_else(|_| NaiveDate::parse_from_str(from, "%Y-%m-%d"))
                .map_err(|_| error(from_at, format!("{from:?} is not a date (DD/MM/YYYY)")))?;
            let until = match until {
                "" => None,
                until => Some(
                    NaiveDate::parse_from_str(until, "%d/%m/%Y")
                        .or_else(|_| NaiveDate::parse_from_str(until, "%Y-%m-%d"))
                        .map_err(|_| {
                            error(until_at, format!("{until:?} is not a date (DD/MM/YYYY)"))
                        })?,
                ),
            };
            if until.is_some_and(|until| until < from) {
                return Err(error(
                    until_at,
                    format!(
                        "DATE_FIN {} is before DATE_DEBUT {from}",
                        until.unwrap_or(from)
                    ),
                ));
            }
            let kva: u32 = kva
                .parse()
                .ok()
                .filter(|k| (1..=36).contains(k))
                .ok_or_else(|| error(kva_at, format!("{kva:?} is not a power in kVA (1 to 36)")))?;
            let subscription = decimal(fixed, 2)
                .map(Subscription::PerYear)
                .map_err(|message| error(fixed_at, format!("PART_FIXE_TTC: {message}")))?;
            let mut parsed = Vec::with_capacity(prices.len());
            for (column, price) in prices {
                parsed.push(price.parse::<EnergyPrice>().map_err(|m| error(column, m))?);
            }
            if offer.periods.iter().any(|p| p.from == from && p.kva == kva) {
                return Err(error(
                    from_at,
                    format!("{kva} kVA prices from {from} twice"),
                ));
            }
            offer.periods.push(PricePeriod {
                from,
                until,
                kva,
                subscription,
                prices: parsed,
                note: "CRE open data".to_owned(),
            });
        }
        Ok(PriceBook {
            offers: vec![offer],
        })
    }

    /// Reads a price file: one period a line, fields separated by `;`, `#` starts a
    /// comment, blank lines ignored.
    ///
    /// ```text
    /// offer;kind;from;kva;subscription;prices...;note
    /// Tempo;tempo;2025-08-01;6;186.46/year;0.1494;0.1232;0.1730;0.1391;0.6468;0.1460;CRE
    /// My offer;hphc;2026-01-01;9;19.50/month;0.2100;0.1600;
    /// ```
    ///
    /// `kind` is `base` (one price), `hphc` (peak then off-peak) or `tempo` (blue peak,
    /// blue off-peak, white peak, white off-peak, red peak, red off-peak); `from` a date
    /// (`YYYY-MM-DD`); the subscription in euros `/year` or `/month`; prices in euros per
    /// kWh, taxes included, at most five decimals; the last field a free note (may be
    /// empty). A period holds until the next one of the same offer and power.
    ///
    /// ```
    /// use linky_core::PriceBook;
    /// let book = PriceBook::parse("Mine;base;2026-01-01;6;15.00/month;0.2000;\n").unwrap();
    /// assert_eq!(book.offers[0].periods[0].prices[0].to_string(), "0.20000");
    /// let error = PriceBook::parse("Mine;base;2026-02-30;6;15.00/month;0.2000;\n").unwrap_err();
    /// assert_eq!(error.to_string(), "line 1, column 11: \"2026-02-30\" is not a date (YYYY-MM-DD)");
    /// ```
    ///
    /// # Errors
    ///
    /// The first mistake, with its line and column.
    pub fn parse(text: &str) -> Result<PriceBook, PriceFileError> {
        let mut book = PriceBook::default();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let content = raw.split('#').next().unwrap_or("");
            if content.trim().is_empty() {
                continue;
            }
            let fields = fields_with_columns(content);
            let error = |column: usize, message: String| PriceFileError {
                line,
                column,
                message,
            };
            if fields.len() < 6 {
                return Err(error(
                    content.chars().count() + 1,
                    format!(
                        "expected offer;kind;from;kva;subscription;prices...;note, found {} fields",
                        fields.len()
                    ),
                ));
            }
            let (name_column, name) = fields[0];
            let name = name.trim();
            if name.is_empty() {
                return Err(error(name_column, "the offer has no name".to_owned()));
            }
            let (kind_column, kind) = fields[1];
            let kind = match kind.trim().to_ascii_lowercase().as_str() {
                "base" => OfferKind::Base,
                "hphc" | "hp/hc" => OfferKind::PeakOffPeak,
                "tempo" => OfferKind::Tempo,
                other => {
                    return Err(error(
                        kind_column,
                        format!("unknown kind {other:?}: expected base, hphc or tempo"),
                    ));
                }
            };
            let (from_column, from) = fields[2];
            let from = NaiveDate::parse_from_str(from.trim(), "%Y-%m-%d").map_err(|_| {
                error(
                    from_column,
                    format!("{:?} is not a date (YYYY-MM-DD)", from.trim()),
                )
            })?;
            let (kva_column, kva) = fields[3];
            let kva: u32 = kva
                .trim()
                .parse()
                .ok()
                .filter(|k| (1..=36).contains(k))
                .ok_or_else(|| {
                    error(
                        kva_column,
                        format!("{:?} is not a power in kVA (1 to 36)", kva.trim()),
                    )
                })?;
            let (subscription_column, subscription) = fields[4];
            let subscription = parse_subscription(subscription.trim())
                .map_err(|message| error(subscription_column, message))?;
            let wanted = kind.classes();
            // The prices, then the note (the last field, possibly empty).
            let price_fields = &fields[5..fields.len() - 1];
            if price_fields.len() != wanted {
                let column = fields
                    .get(5 + wanted)
                    .map_or(fields[fields.len() - 1].0, |f| f.0);
                return Err(error(
                    column,
                    format!(
                        "a {} offer has {wanted} price{}, found {} (the last field is the note: \
                         end the line with ; when there is none)",
                        kind.as_str(),
                        if wanted == 1 { "" } else { "s" },
                        price_fields.len()
                    ),
                ));
            }
            let mut prices = Vec::with_capacity(wanted);
            for (column, price) in price_fields {
                prices.push(
                    price
                        .parse::<EnergyPrice>()
                        .map_err(|m| error(*column, m))?,
                );
            }
            let note = fields[fields.len() - 1].1.trim().to_owned();
            let offer = match book.offers.iter_mut().find(|o| o.name == name) {
                Some(offer) if offer.kind != kind => {
                    return Err(error(
                        kind_column,
                        format!("{name} is a {} offer above", offer.kind.as_str()),
                    ));
                }
                Some(offer) => offer,
                None => {
                    book.offers.push(Offer {
                        name: name.to_owned(),
                        kind,
                        periods: Vec::new(),
                    });
                    book.offers.last_mut().expect("just pushed")
                }
            };
            if offer.periods.iter().any(|p| p.from == from && p.kva == kva) {
                return Err(error(
                    from_column,
                    format!("{name} already has {kva} kVA prices from {from}"),
                ));
            }
            offer.periods.push(PricePeriod {
                from,
                until: None,
                kva,
                subscription,
                prices,
                note,
            });
        }
        Ok(book)
    }
}

/// The `;`-separated fields of `line`, each with the (1-based, in characters) column
/// where it starts.
fn fields_with_columns(line: &str) -> Vec<(usize, &str)> {
    let mut fields = Vec::new();
    let mut start = 0;
    for part in line.split(';') {
        fields.push((line[..start].chars().count() + 1, part));
        start += part.len() + 1;
    }
    fields
}

fn parse_subscription(text: &str) -> Result<Subscription, String> {
    let (amount, per) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?}: expected euros /year or /month, e.g. 186.46/year"))?;
    let cents = decimal(amount, 2)?;
    match per.trim().to_ascii_lowercase().as_str() {
        "year" | "an" | "yr" => Ok(Subscription::PerYear(cents)),
        "month" | "mois" => Ok(Subscription::PerMonth(cents)),
        other => Err(format!(
            "{other:?}: a subscription is per year or per month"
        )),
    }
}

/// What one offer would have cost over the compared days.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OfferCost {
    /// The offer's name.
    pub name: String,
    /// Its kind.
    pub kind: OfferKind,
    /// The cost of each compared day.
    pub days: Vec<DayCost>,
}

impl OfferCost {
    /// Subscription and energy over the compared days.
    pub fn total(&self) -> Money {
        self.days.iter().map(DayCost::total).sum()
    }

    /// The subscription's part.
    pub fn subscription(&self) -> Money {
        self.days.iter().map(|d| d.subscription).sum()
    }

    /// The energy's cost per class over the compared days (the offer's classes, in the
    /// order of its prices).
    pub fn class_costs(&self) -> Vec<Money> {
        let mut costs = vec![Money::ZERO; self.kind.classes()];
        for day in &self.days {
            for (total, cost) in costs.iter_mut().zip(&day.energy) {
                *total += *cost;
            }
        }
        costs
    }

    /// The energy per class over the compared days, exact (the offer's classes, in the
    /// order of its prices).
    pub fn class_energies(&self) -> Vec<Energy> {
        let mut energies = vec![Energy::ZERO; self.kind.classes()];
        for day in &self.days {
            for (total, energy) in energies.iter_mut().zip(&day.energies) {
                *total += *energy;
            }
        }
        energies
    }
}

/// What a set of offers would have cost over the same days.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Comparison {
    /// Each offer that could be costed, cheapest first.
    pub offers: Vec<OfferCost>,
    /// The days compared: every offer has a price and the data it needs on each.
    pub days: Vec<NaiveDate>,
    /// Days of the period left out, and why (no data, no price, a colour unknown).
    pub left_out: Vec<(NaiveDate, LeftOut)>,
}

/// Why [`compare_offers`] left a day out; its `Display` says it in English.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeftOut {
    /// The curve does not cover the whole day.
    NoCompleteData,
    /// A colour a Tempo day needs is not known: the day before's (its night, 00:00 to
    /// 06:00, takes the day before's colour), its own, or both (each `Some` when missing).
    ColourUnknown {
        /// The day before, when its colour is missing.
        night: Option<NaiveDate>,
        /// The day itself, when its colour is missing.
        day: Option<NaiveDate>,
    },
    /// An offer has no price for the subscribed power that day.
    NoPrice {
        /// The offer's name.
        offer: String,
        /// The subscribed power.
        kva: u32,
        /// The last day of its prices, when they ended before the day.
        ended: Option<NaiveDate>,
    },
}

impl fmt::Display for LeftOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeftOut::NoCompleteData => f.write_str("no complete data"),
            LeftOut::ColourUnknown {
                night: Some(night),
                day: Some(day),
            } => write!(f, "the Tempo colours of {night} and {day} are not known"),
            LeftOut::ColourUnknown {
                night: Some(night),
                day: None,
            } => write!(
                f,
                "the Tempo colour of {night} is not known: the next day's night, to 06:00, takes the day before's colour"
            ),
            LeftOut::ColourUnknown { day, .. } => match day {
                Some(day) => write!(f, "the Tempo colour of {day} is not known"),
                None => f.write_str("a Tempo colour is not known"),
            },
            LeftOut::NoPrice {
                offer,
                kva,
                ended: Some(until),
            } => write!(
                f,
                "no {kva} kVA price for {offer}: its prices end on {until}"
            ),
            LeftOut::NoPrice { offer, kva, .. } => write!(f, "no {kva} kVA price for {offer}"),
        }
    }
}

/// Which colours a Tempo day lacks.
fn tempo_colour_missing(date: NaiveDate, colours: &ColourCalendar) -> LeftOut {
    let [night, day] = crate::TempoClassifier::needs(date);
    LeftOut::ColourUnknown {
        night: colours.colour(night).is_none().then_some(night),
        day: colours.colour(day).is_none().then_some(day),
    }
}

/// What [`compare_offers`] compares: build it with [`CompareSettings::new`] (fields may
/// be added).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct CompareSettings<'a> {
    /// The first day.
    pub from: NaiveDate,
    /// The day after the last.
    pub to: NaiveDate,
    /// The subscribed power, in kVA.
    pub kva: u32,
    /// The user's peak and off-peak hours, for HP/HC offers.
    pub schedule: &'a CompiledSchedule,
    /// The day colours, for Tempo offers (none: Tempo cannot be costed).
    pub colours: Option<&'a ColourCalendar>,
}

impl<'a> CompareSettings<'a> {
    /// The days `[from, to)` at `kva`, HP/HC offers split by `schedule`; no colours (Tempo
    /// is left out until [`CompareSettings::with_colours`]).
    pub fn new(
        from: NaiveDate,
        to: NaiveDate,
        kva: u32,
        schedule: &'a CompiledSchedule,
    ) -> CompareSettings<'a> {
        CompareSettings {
            from,
            to,
            kva,
            schedule,
            colours: None,
        }
    }

    /// With the day colours Tempo offers need.
    pub fn with_colours(mut self, colours: &'a ColourCalendar) -> CompareSettings<'a> {
        self.colours = Some(colours);
        self
    }
}

/// What every offer of `book` would have cost for `curve` over `[from, to)`, day by day,
/// on the days that all of them can cost (a day with data whose colour is unknown, or
/// without a price for one offer, is left out for all, so that the totals compare the
/// same days). A day counts when its data cover it (23, 24 or 25 hours).
///
/// ```
/// use chrono::NaiveDate;
/// use linky_core::{
///     compare_offers, CompareSettings, CompiledSchedule, Flow, HolidayZone, IntervalLength,
///     LoadCurve, OffPeakConfig, Power, PriceBook, Reading, PARIS,
/// };
/// // A week of a flat kilowatt, every half hour.
/// let first = NaiveDate::from_ymd_opt(2025, 3, 3).unwrap();
/// let readings: Vec<Reading> = (1..=7 * 48)
///     .map(|n| Reading::new(first.and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::minutes(30 * n),
///                           IntervalLength::PT30M, Power::from_watts(1000)))
///     .collect();
/// let curve = LoadCurve::builder(PARIS).build(&readings).0;
/// // A schedule without PDL sections applies to any usage point: give any.
/// let config: OffPeakConfig = "22h00-6h00".parse().unwrap();
/// let schedule = CompiledSchedule::new(&config, "", Flow::Consumption, HolidayZone::Metropole);
/// let to = first + chrono::Duration::days(7);
/// let comparison = compare_offers(&curve, &PriceBook::regulated(), CompareSettings::new(first, to, 6, &schedule));
/// assert_eq!(comparison.days.len(), 7);
/// // Without colours, Tempo is not costed: Base and HP/HC, cheapest first.
/// let names: Vec<&str> = comparison.offers.iter().map(|o| o.name.as_str()).collect();
/// assert_eq!(names.len(), 2);
/// ```
pub fn compare_offers(
    curve: &LoadCurve,
    book: &PriceBook,
    settings: CompareSettings<'_>,
) -> Comparison {
    let in_period = |date: NaiveDate| settings.from <= date && date < settings.to;
    let complete = |day: &SplitDay<2>| day.minutes == day.hours_in_day * 60;
    // One split serves every offer: Base takes its days' totals, and Tempo re-colours its
    // hours (exact: Tempo's classes change on the hour).
    let split = curve.split(settings.schedule);
    let hphc: Vec<SplitDay<2>> = split
        .days()
        .into_iter()
        .filter(|d| in_period(d.date))
        .collect();
    let tempo_days: Vec<SplitDay<6>> = settings
        .colours
        .map(|colours| {
            recolour(&split, colours)
                .split
                .days()
                .into_iter()
                .filter(|d| in_period(d.date))
                .collect()
        })
        .unwrap_or_default();
    let mut left_out: Vec<(NaiveDate, LeftOut)> = Vec::new();
    let mut days: Vec<NaiveDate> = Vec::new();
    let uses_tempo = book.offers.iter().any(|o| o.kind == OfferKind::Tempo);
    for date in settings.from.iter_days().take_while(|d| *d < settings.to) {
        if !hphc.iter().any(|d| d.date == date && complete(d)) {
            left_out.push((date, LeftOut::NoCompleteData));
            continue;
        }
        if uses_tempo
            && let Some(colours) = settings.colours
            && !tempo_days.iter().any(|d| d.date == date)
        {
            left_out.push((date, tempo_colour_missing(date, colours)));
            continue;
        }
        if let Some(offer) = book
            .offers
            .iter()
            .filter(|o| o.kind != OfferKind::Tempo || settings.colours.is_some())
            .find(|o| o.period_on(date, settings.kva).is_none())
        {
            let reason = LeftOut::NoPrice {
                offer: offer.name.clone(),
                kva: settings.kva,
                ended: offer.ended_before(date, settings.kva),
            };
            left_out.push((date, reason));
            continue;
        }
        days.push(date);
    }
    let mut offers: Vec<OfferCost> = book
        .offers
        .iter()
        .filter(|o| o.kind != OfferKind::Tempo || settings.colours.is_some())
        .map(|offer| {
            let costs = days
                .iter()
                .filter_map(|date| {
                    let energies: Vec<Energy> = match offer.kind {
                        OfferKind::Base => {
                            let day = hphc.iter().find(|d| d.date == *date)?;
                            vec![day.energy.iter().copied().sum()]
                        }
                        OfferKind::PeakOffPeak => {
                            hphc.iter().find(|d| d.date == *date)?.energy.to_vec()
                        }
                        OfferKind::Tempo => {
                            tempo_days.iter().find(|d| d.date == *date)?.energy.to_vec()
                        }
                    };
                    offer.day_cost(*date, settings.kva, &energies)
                })
                .collect();
            OfferCost {
                name: offer.name.clone(),
                kind: offer.kind,
                days: costs,
            }
        })
        .collect();
    offers.sort_by_key(OfferCost::total);
    Comparison {
        offers,
        days,
        left_out,
    }
}
