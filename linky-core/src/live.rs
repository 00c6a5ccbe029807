//! The meter's own live output, host-neutral: what a reading of the meter says (its
//! indexes per class, powers, Tempo colours), and hour rows made from its indexes.
//!
//! The reader that makes [`LiveReading`]s (the TIC decoder of linky-enedis) and the
//! sinks that take them (MQTT, and every [`HourRow`] sink through the sync crate) meet
//! here, so that neither depends on the other.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use chrono_tz::Tz;

use crate::{DayColour, Energy, HourRow, MeterEnergies, TEMPO_CLASSES, Tariff, tariff_class};

/// A meter's drawn-energy indexes by the classes of its option, in Wh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClassIndexes {
    /// One index.
    Base(u64),
    /// Peak and off-peak, in [`tariff_class`] order (peak first).
    Tariffs([u64; 2]),
    /// Tempo's six, in [`TEMPO_CLASSES`] order.
    Tempo([u64; 6]),
}

impl ClassIndexes {
    /// The indexes, in their order.
    pub fn values(&self) -> &[u64] {
        match self {
            ClassIndexes::Base(value) => std::slice::from_ref(value),
            ClassIndexes::Tariffs(values) => values,
            ClassIndexes::Tempo(values) => values,
        }
    }

    /// Whether both are of the same kind (same classes).
    pub fn same_classes(&self, other: &ClassIndexes) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }

    /// Each class's short key, in order: `base`; `hp`, `hc`; `blue_hp`, `blue_hc`,
    /// `white_hp`... (stable: MQTT entity ids are made of them).
    pub fn keys(&self) -> &'static [&'static str] {
        match self {
            ClassIndexes::Base(_) => &["base"],
            ClassIndexes::Tariffs(_) => &["hp", "hc"],
            ClassIndexes::Tempo(_) => &[
                "blue_hp", "blue_hc", "white_hp", "white_hc", "red_hp", "red_hc",
            ],
        }
    }
}

/// What one reading of the meter's live output says. Every value is optional but the
/// meter and the time: a meter sends what its mode and contract call for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LiveReading {
    /// The meter: its address (ADS) as it says it.
    pub meter: String,
    /// The usage point (PDL), when the meter says it (standard mode).
    pub usage_point: Option<String>,
    /// When: the meter's own clock when it gives one and trusts it, else reception.
    pub at: DateTime<Utc>,
    /// Drawn energy by class, Wh (`None` when a class index is missing from the frame:
    /// never a partial set).
    pub indexes: Option<ClassIndexes>,
    /// Total drawn energy, Wh.
    pub total: Option<u64>,
    /// Total injected energy, Wh (producers).
    pub injected: Option<u64>,
    /// Apparent power drawn, VA.
    pub apparent_power: Option<u32>,
    /// Apparent power injected, VA.
    pub injected_power: Option<u32>,
    /// Currents per phase, A.
    pub currents: [Option<u16>; 3],
    /// Voltages per phase, V.
    pub voltages: [Option<u16>; 3],
    /// Reference (subscribed) power, kVA.
    pub reference_power_kva: Option<u16>,
    /// The class running (index into [`ClassIndexes::values`]).
    pub current_class: Option<u8>,
    /// The supplier's label of the running tariff, as the meter writes it.
    pub tariff_label: Option<String>,
    /// Today's Tempo colour.
    pub tempo_today: Option<DayColour>,
    /// Tomorrow's Tempo colour, once announced.
    pub tempo_tomorrow: Option<DayColour>,
    /// The meter says the reference power is exceeded.
    pub overpower: bool,
}

impl LiveReading {
    /// A reading of `meter` at `at` with nothing else known; set the fields that are.
    pub fn new(meter: impl Into<String>, at: DateTime<Utc>) -> LiveReading {
        LiveReading {
            meter: meter.into(),
            usage_point: None,
            at,
            indexes: None,
            total: None,
            injected: None,
            apparent_power: None,
            injected_power: None,
            currents: [None; 3],
            voltages: [None; 3],
            reference_power_kva: None,
            current_class: None,
            tariff_label: None,
            tempo_today: None,
            tempo_tomorrow: None,
            overpower: false,
        }
    }
}

/// One clock hour of energy from the meter's own indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexHour {
    /// When the hour ends.
    pub end_utc: DateTime<Utc>,
    /// Its local end.
    pub end: NaiveDateTime,
    /// Drawn energy per class, the meter's own classification (the classes of
    /// [`ClassIndexes`]).
    pub drawn: ClassEnergies,
    /// Injected energy, when the meter counts it.
    pub injected: Option<Energy>,
}

/// Energy per class, in the classes of a [`ClassIndexes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassEnergies {
    /// One class.
    Base(Energy),
    /// Peak and off-peak (peak first).
    Tariffs([Energy; 2]),
    /// Tempo's six classes ([`TEMPO_CLASSES`] order).
    Tempo([Energy; 6]),
}

impl ClassEnergies {
    /// The energies, in order.
    pub fn values(&self) -> &[Energy] {
        match self {
            ClassEnergies::Base(value) => std::slice::from_ref(value),
            ClassEnergies::Tariffs(values) => values,
            ClassEnergies::Tempo(values) => values,
        }
    }

    /// Peak and off-peak ([`tariff_class`] order): a single class counts as peak (a
    /// P1 meter's tariff 1), Tempo's colours are added up by tariff.
    pub fn by_tariff(&self) -> [Energy; 2] {
        match *self {
            ClassEnergies::Base(value) => [value, Energy::ZERO],
            ClassEnergies::Tariffs(values) => values,
            ClassEnergies::Tempo(values) => {
                let mut tariffs = [Energy::ZERO; 2];
                for (energy, (_, tariff)) in values.iter().zip(TEMPO_CLASSES) {
                    tariffs[usize::from(tariff_class(tariff))] += *energy;
                }
                tariffs
            }
        }
    }
}

impl IndexHour {
    /// The hour as the rows every sink takes: drawn energy by tariff (see
    /// [`ClassEnergies::by_tariff`]), injected as production at peak (one class).
    pub fn hour_row(&self) -> HourRow {
        HourRow {
            end_utc: self.end_utc,
            end: self.end,
            energies: MeterEnergies {
                consumption: self.drawn.by_tariff(),
                production: [self.injected.unwrap_or(Energy::ZERO), Energy::ZERO],
            },
        }
    }
}

/// Why a reading's indexes were not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexAnomaly {
    /// An index is below the one before it (a value garbled past its checksum, a reader
    /// that sent 0): the reading is ignored, never booked as a meter reset.
    WentBack {
        /// When.
        at: DateTime<Utc>,
    },
    /// Indexes grew faster than the meter can count (more than
    /// [`IndexHours::MAX_POWER_W`] since the reading before): ignored.
    Implausible {
        /// When.
        at: DateTime<Utc>,
    },
    /// The classes changed (a new option): hours start again from this reading.
    ClassesChanged {
        /// When.
        at: DateTime<Utc>,
    },
    /// Readings that went back kept agreeing with each other: the meter's indexes were
    /// replaced (a new meter, or the earlier ones were wrong); hours start again from
    /// here and the hour in between is not given.
    Rebased {
        /// When.
        at: DateTime<Utc>,
    },
}

/// A reading used: when, its class indexes, its injected index.
type Used = (DateTime<Utc>, ClassIndexes, Option<u64>);

/// Hour rows from the meter's own indexes: the energy of an hour is the indexes at the
/// first reading at or after its end minus those at the first reading at or after its
/// start, class by class: the meter's own classification. An hour is given only when both
/// readings came within [`IndexHours::BOUNDARY_TOLERANCE`] of its bounds (a reader that
/// was off for a while gives no hour it knows only in part: Enedis' curve fills them
/// later); so the first hour is given only when the first reading came close to its
/// start.
///
/// Indexes never go backwards in the hours: a reading below the last one used is
/// ignored and reported, and so is one implying more than [`IndexHours::MAX_POWER_W`].
///
/// ```
/// use chrono::{Duration, TimeZone, Utc};
/// use linky_core::{ClassIndexes, IndexHours, LiveReading, PARIS};
/// let mut hours = IndexHours::new(PARIS);
/// let start = Utc.with_ymd_and_hms(2026, 1, 15, 9, 59, 58).unwrap();
/// let mut given = Vec::new();
/// for second in (0..=7_210).step_by(2) {
///     let mut reading = LiveReading::new("041876543210", start + Duration::seconds(second));
///     // 1 kW of peak hours: one Wh every 3.6 s.
///     reading.indexes = Some(ClassIndexes::Tariffs([1_000_000 + second as u64 * 10 / 36, 500_000]));
///     given.extend(hours.push(&reading));
/// }
/// // The hours ending 11:00 and 12:00 UTC (the first reading came 2 s before 10:00).
/// assert_eq!(given.len(), 2);
/// assert_eq!(given[0].end_utc, Utc.with_ymd_and_hms(2026, 1, 15, 11, 0, 0).unwrap());
/// assert_eq!(given[1].end_utc, Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap());
/// for hour in &given {
///     assert_eq!(hour.hour_row().energies.consumption[0].as_wh_f64(), 1_000.0);
/// }
/// ```
#[derive(Debug, Clone)]
pub struct IndexHours {
    time_zone: Tz,
    /// The last reading used: when, and its indexes.
    last: Option<Used>,
    /// The reading that opened the current hour, when it came in time.
    opened: Option<Used>,
    /// Readings that went back, in a row, and the last of them.
    behind: (u32, Option<Used>),
    anomalies: Vec<IndexAnomaly>,
}

impl IndexHours {
    /// How far from an hour's bound its reading may be for the hour to be given.
    pub const BOUNDARY_TOLERANCE: Duration = Duration::minutes(2);
    /// The most power a meter can count (a 36 kVA meter with margin; three-phase
    /// meters go to 36 kVA as well).
    pub const MAX_POWER_W: u64 = 100_000;
    /// Readings that went back but agree with each other, in a row, that make their
    /// indexes the new reference.
    pub const READINGS_TO_REBASE: u32 = 30;

    /// Hours in `time_zone` (their local ends).
    pub fn new(time_zone: Tz) -> IndexHours {
        IndexHours {
            time_zone,
            last: None,
            opened: None,
            behind: (0, None),
            anomalies: Vec::new(),
        }
    }

    /// What was ignored so far, in order.
    pub fn anomalies(&self) -> &[IndexAnomaly] {
        &self.anomalies
    }

    /// Takes the anomalies reported so far.
    pub fn take_anomalies(&mut self) -> Vec<IndexAnomaly> {
        std::mem::take(&mut self.anomalies)
    }

    /// Adds a reading (in time order; an earlier one than the last is ignored), giving
    /// the hours it completes. A reading without class indexes is skipped.
    pub fn push(&mut self, reading: &LiveReading) -> Vec<IndexHour> {
        let Some(indexes) = reading.indexes else {
            return Vec::new();
        };
        let at = reading.at;
        let injected = reading.injected;
        let Some((last_at, last_indexes, last_injected)) = self.last else {
            self.restart(at, indexes, injected);
            return Vec::new();
        };
        if at <= last_at {
            return Vec::new();
        }
        if !indexes.same_classes(&last_indexes) {
            self.anomalies.push(IndexAnomaly::ClassesChanged { at });
            self.restart(at, indexes, injected);
            return Vec::new();
        }
        let went_back = indexes
            .values()
            .iter()
            .zip(last_indexes.values())
            .any(|(now, before)| now < before)
            || matches!((injected, last_injected), (Some(now), Some(before)) if now < before);
        if went_back {
            return self.behind(at, indexes, injected);
        }
        self.behind = (0, None);
        let grown: u64 = indexes.values().iter().sum::<u64>()
            - last_indexes.values().iter().sum::<u64>()
            + injected
                .zip(last_injected)
                .map_or(0, |(now, before)| now - before);
        let elapsed_ms = (at - last_at).num_milliseconds().max(1) as u64;
        // Wh over milliseconds against W: grown * 3 600 000 / elapsed_ms.
        if u128::from(grown) * 3_600_000
            > u128::from(Self::MAX_POWER_W) * u128::from(elapsed_ms) + 3_600_000
        {
            self.anomalies.push(IndexAnomaly::Implausible { at });
            return Vec::new();
        }
        let hour_of = |instant: DateTime<Utc>| instant.timestamp().div_euclid(3600);
        let mut given = Vec::new();
        if hour_of(at) != hour_of(last_at) {
            // This reading is the first at or after the bound that ends the hour of the
            // last one.
            let bound = DateTime::from_timestamp(hour_of(at) * 3600, 0).unwrap_or(at);
            let in_time = |when: DateTime<Utc>, bound: DateTime<Utc>| {
                when >= bound && when - bound <= Self::BOUNDARY_TOLERANCE
            };
            if let Some((opened_at, opened_indexes, opened_injected)) = self.opened
                && hour_of(at) == hour_of(opened_at) + 1
                && in_time(at, bound)
            {
                let delta = |now: u64, before: u64| {
                    Energy::from_wh(i64::try_from(now - before).unwrap_or(i64::MAX))
                };
                let values: Vec<Energy> = indexes
                    .values()
                    .iter()
                    .zip(opened_indexes.values())
                    .map(|(now, before)| delta(*now, *before))
                    .collect();
                let drawn = match indexes {
                    ClassIndexes::Base(_) => ClassEnergies::Base(values[0]),
                    ClassIndexes::Tariffs(_) => ClassEnergies::Tariffs([values[0], values[1]]),
                    ClassIndexes::Tempo(_) => {
                        let mut six = [Energy::ZERO; 6];
                        six.copy_from_slice(&values);
                        ClassEnergies::Tempo(six)
                    }
                };
                given.push(IndexHour {
                    end_utc: bound,
                    end: bound.with_timezone(&self.time_zone).naive_local(),
                    drawn,
                    injected: injected
                        .zip(opened_injected)
                        .map(|(now, before)| delta(now, before)),
                });
            }
            self.opened = in_time(at, bound).then_some((at, indexes, injected));
        }
        self.last = Some((at, indexes, injected));
        given
    }

    /// Starts again from a reading: it opens its hour when it came close enough to the
    /// hour's start.
    fn restart(&mut self, at: DateTime<Utc>, indexes: ClassIndexes, injected: Option<u64>) {
        self.last = Some((at, indexes, injected));
        let bound =
            DateTime::from_timestamp(at.timestamp().div_euclid(3600) * 3600, 0).unwrap_or(at);
        self.opened = (at - bound <= Self::BOUNDARY_TOLERANCE).then_some((at, indexes, injected));
        self.behind = (0, None);
    }

    fn behind(
        &mut self,
        at: DateTime<Utc>,
        indexes: ClassIndexes,
        injected: Option<u64>,
    ) -> Vec<IndexHour> {
        let agrees = self.behind.1.is_some_and(|(_, before, _)| {
            before.same_classes(&indexes)
                && indexes
                    .values()
                    .iter()
                    .zip(before.values())
                    .all(|(now, before)| now >= before)
        });
        let count = if agrees || self.behind.0 == 0 {
            self.behind.0 + 1
        } else {
            1
        };
        self.behind = (count, Some((at, indexes, injected)));
        if count >= Self::READINGS_TO_REBASE {
            self.anomalies.push(IndexAnomaly::Rebased { at });
            self.restart(at, indexes, injected);
        } else if count == 1 {
            self.anomalies.push(IndexAnomaly::WentBack { at });
        }
        Vec::new()
    }
}

/// One hour compared: the meter's own figures against Enedis' curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HourComparison {
    /// When the hour ends.
    pub end_utc: DateTime<Utc>,
    /// The meter's (from its indexes).
    pub meter: MeterEnergies,
    /// Enedis' (from its load curve).
    pub enedis: MeterEnergies,
}

impl HourComparison {
    /// The meter's total drawn energy (every class), Wh.
    pub fn meter_drawn_wh(&self) -> f64 {
        drawn(&self.meter).as_wh_f64()
    }

    /// Enedis' total drawn energy (every class), Wh.
    pub fn enedis_drawn_wh(&self) -> f64 {
        drawn(&self.enedis).as_wh_f64()
    }

    /// Enedis' total drawn energy minus the meter's, Wh.
    pub fn drawn_difference_wh(&self) -> f64 {
        self.enedis_drawn_wh() - self.meter_drawn_wh()
    }
}

/// The drawn energy of every class, exact.
fn drawn(energies: &MeterEnergies) -> Energy {
    energies.consumption.iter().copied().sum()
}

/// The hours both sources hold, compared, in time order: what the meter's live indexes
/// said against what Enedis published later. Enedis' hours are the reference (they are
/// what bills are made of): a sync that writes them rewrites the hours a live reader
/// wrote before, in every sink.
pub fn compare_hours(meter: &[HourRow], enedis: &[HourRow]) -> Vec<HourComparison> {
    let by_end: std::collections::HashMap<DateTime<Utc>, &HourRow> =
        enedis.iter().map(|row| (row.end_utc, row)).collect();
    let mut compared: Vec<HourComparison> = meter
        .iter()
        .filter_map(|row| {
            by_end.get(&row.end_utc).map(|enedis| HourComparison {
                end_utc: row.end_utc,
                meter: row.energies,
                enedis: enedis.energies,
            })
        })
        .collect();
    compared.sort_by_key(|comparison| comparison.end_utc);
    compared
}

/// Peak or off-peak of class `class` of `indexes`' kind (Tempo: its tariff).
pub fn class_tariff(indexes: &ClassIndexes, class: usize) -> Tariff {
    match indexes {
        ClassIndexes::Base(_) => Tariff::Peak,
        ClassIndexes::Tariffs(_) => {
            if class == 1 {
                Tariff::OffPeak
            } else {
                Tariff::Peak
            }
        }
        ClassIndexes::Tempo(_) => TEMPO_CLASSES
            .get(class)
            .map_or(Tariff::Peak, |(_, tariff)| *tariff),
    }
}
