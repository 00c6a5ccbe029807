//! A checked frame read into typed values.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use linky_core::{ClassIndexes, DayColour, LiveReading, Tariff};

use super::decoder::{Frame, TicMode};
use super::stge::StatusRegister;

/// The season letter of a standard-mode timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicSeason {
    /// Winter time, UTC+1 (`H`, or `h` with a degraded clock).
    Winter,
    /// Summer time, UTC+2 (`E`, or `e`).
    Summer,
    /// Not applicable (a space: mobile-peak stamps).
    Unstated,
}

/// A standard-mode timestamp, `SAAMMJJhhmmss`: a local time and the offset its season
/// letter states (which makes the repeated October hour unambiguous), and whether the
/// meter's clock said it was degraded (lowercase letter: not to be trusted).
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TicTimestamp {
    /// The local time written.
    pub local: NaiveDateTime,
    /// The season letter.
    pub season: TicSeason,
    /// The clock was degraded (lowercase season letter).
    pub degraded: bool,
}

impl TicTimestamp {
    /// The instant, from the offset the season letter states (`None` when unstated).
    pub fn utc(&self) -> Option<DateTime<Utc>> {
        let hours = match self.season {
            TicSeason::Winter => 1,
            TicSeason::Summer => 2,
            TicSeason::Unstated => return None,
        };
        Some((self.local - chrono::Duration::hours(hours)).and_utc())
    }
}

impl std::str::FromStr for TicTimestamp {
    type Err = ();

    /// Reads `SAAMMJJhhmmss` (years 2000-2099).
    fn from_str(text: &str) -> Result<Self, ()> {
        let bytes = text.as_bytes();
        if bytes.len() != 13 || !bytes[1..].iter().all(u8::is_ascii_digit) {
            return Err(());
        }
        let (season, degraded) = match bytes[0] {
            b'H' => (TicSeason::Winter, false),
            b'h' => (TicSeason::Winter, true),
            b'E' => (TicSeason::Summer, false),
            b'e' => (TicSeason::Summer, true),
            b' ' => (TicSeason::Unstated, false),
            _ => return Err(()),
        };
        let number = |at: usize| u32::from(bytes[at] - b'0') * 10 + u32::from(bytes[at + 1] - b'0');
        let local = NaiveDate::from_ymd_opt(2000 + number(1) as i32, number(3), number(5))
            .and_then(|date| date.and_hms_opt(number(7), number(9), number(11)))
            .ok_or(())?;
        Ok(TicTimestamp {
            local,
            season,
            degraded,
        })
    }
}

/// The tariff option of the contract the meter is programmed for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TariffOption {
    /// One price all day (`BASE`).
    Base,
    /// Peak and off-peak hours (`HC..`).
    PeakOffPeak,
    /// EJP (`EJP.`).
    Ejp,
    /// Tempo (`BBR(`, or a standard calendar named TEMPO).
    Tempo,
    /// Another option or calendar, as written (trimmed).
    Other(String),
}

impl TariffOption {
    /// Reads historic `OPTARIF`.
    fn historic(text: &str) -> TariffOption {
        match text {
            "BASE" => TariffOption::Base,
            "HC.." => TariffOption::PeakOffPeak,
            "EJP." => TariffOption::Ejp,
            _ if text.starts_with("BBR") => TariffOption::Tempo,
            other => TariffOption::Other(other.trim().to_owned()),
        }
    }

    /// Reads standard `NGTF`, the supplier calendar's name.
    fn standard(text: &str) -> TariffOption {
        let name = text.trim().to_ascii_uppercase();
        if name.contains("TEMPO") {
            TariffOption::Tempo
        } else if name.contains("EJP") {
            TariffOption::Ejp
        } else if name.contains("CREUSE") || name.contains("HC") || name.contains("HP") {
            TariffOption::PeakOffPeak
        } else if name.contains("BASE") {
            TariffOption::Base
        } else {
            TariffOption::Other(text.trim().to_owned())
        }
    }
}

impl std::fmt::Display for TariffOption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TariffOption::Base => f.write_str("Base"),
            TariffOption::PeakOffPeak => f.write_str("HP/HC"),
            TariffOption::Ejp => f.write_str("EJP"),
            TariffOption::Tempo => f.write_str("Tempo"),
            TariffOption::Other(name) => f.write_str(name),
        }
    }
}

impl std::fmt::Display for TicPeriod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tariff = |tariff: Tariff| match tariff {
            Tariff::Peak => "peak hours",
            Tariff::OffPeak => "off-peak hours",
        };
        match self {
            TicPeriod::Base => f.write_str("all hours"),
            TicPeriod::Tariff(t) => f.write_str(tariff(*t)),
            TicPeriod::EjpNormal => f.write_str("EJP normal hours"),
            TicPeriod::EjpPeak => f.write_str("EJP mobile peak"),
            TicPeriod::Tempo(colour, t) => write!(f, "Tempo {colour}, {}", tariff(*t)),
        }
    }
}

/// The tariff period running (historic `PTEC`, or the standard supplier index read with
/// the option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicPeriod {
    /// All hours (`TH..`).
    Base,
    /// A peak or off-peak hour (`HP..`, `HC..`).
    Tariff(Tariff),
    /// EJP's normal hours (`HN..`).
    EjpNormal,
    /// EJP's mobile peak (`PM..`).
    EjpPeak,
    /// A Tempo hour: the colour of the Tempo day and the tariff (`HPJB`...).
    Tempo(DayColour, Tariff),
}

/// Standard mode's supplier indexes 1-6 with Tempo, in the specification's order: HC
/// blue, HP blue, HC white, HP white, HC red, HP red.
const TEMPO_SUPPLIER_INDEXES: [(DayColour, Tariff); 6] = [
    (DayColour::Blue, Tariff::OffPeak),
    (DayColour::Blue, Tariff::Peak),
    (DayColour::White, Tariff::OffPeak),
    (DayColour::White, Tariff::Peak),
    (DayColour::Red, Tariff::OffPeak),
    (DayColour::Red, Tariff::Peak),
];

impl TicPeriod {
    fn historic(text: &str) -> Option<TicPeriod> {
        let tempo = |colour, tariff| Some(TicPeriod::Tempo(colour, tariff));
        match text {
            "TH.." => Some(TicPeriod::Base),
            "HC.." => Some(TicPeriod::Tariff(Tariff::OffPeak)),
            "HP.." => Some(TicPeriod::Tariff(Tariff::Peak)),
            "HN.." => Some(TicPeriod::EjpNormal),
            "PM.." => Some(TicPeriod::EjpPeak),
            "HCJB" => tempo(DayColour::Blue, Tariff::OffPeak),
            "HPJB" => tempo(DayColour::Blue, Tariff::Peak),
            "HCJW" => tempo(DayColour::White, Tariff::OffPeak),
            "HPJW" => tempo(DayColour::White, Tariff::Peak),
            "HCJR" => tempo(DayColour::Red, Tariff::OffPeak),
            "HPJR" => tempo(DayColour::Red, Tariff::Peak),
            _ => None,
        }
    }

    /// The period of supplier index `index` (1-10) under `option` (see
    /// [`MeterFrame::class_indexes`] for the mapping).
    fn standard(option: &TariffOption, index: u8) -> Option<TicPeriod> {
        match (option, index) {
            (TariffOption::Base, 1) => Some(TicPeriod::Base),
            (TariffOption::PeakOffPeak, 1) => Some(TicPeriod::Tariff(Tariff::OffPeak)),
            (TariffOption::PeakOffPeak, 2) => Some(TicPeriod::Tariff(Tariff::Peak)),
            (TariffOption::Ejp, 1) => Some(TicPeriod::EjpNormal),
            (TariffOption::Ejp, 2) => Some(TicPeriod::EjpPeak),
            (TariffOption::Tempo, 1..=6) => {
                let (colour, tariff) = TEMPO_SUPPLIER_INDEXES[usize::from(index - 1)];
                Some(TicPeriod::Tempo(colour, tariff))
            }
            _ => None,
        }
    }
}

/// The meter's energy indexes, in Wh, as the frame gave them.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Indexes {
    /// Total active energy drawn (`EAST`, standard).
    pub total: Option<u64>,
    /// `BASE` (historic).
    pub base: Option<u64>,
    /// `HCHC`, off-peak (historic).
    pub off_peak: Option<u64>,
    /// `HCHP`, peak (historic).
    pub peak: Option<u64>,
    /// `EJPHN`, EJP normal hours (historic).
    pub ejp_normal: Option<u64>,
    /// `EJPHPM`, EJP mobile peak (historic).
    pub ejp_peak: Option<u64>,
    /// `BBRHPJB`, `BBRHCJB`... in [`linky_core::TEMPO_CLASSES`] order (historic).
    pub tempo: [Option<u64>; 6],
    /// `EASF01`-`EASF10`, the supplier's indexes (standard).
    pub supplier: [Option<u64>; 10],
    /// `EASD01`-`EASD04`, the distributor's indexes (standard).
    pub distributor: [Option<u64>; 4],
    /// `EAIT`, total active energy injected (standard, producers).
    pub injected: Option<u64>,
}

/// A load-curve point the meter gives (`CCASN`, `CCASN-1`, `CCAIN`...): the end of its
/// period and its mean power in W.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurvePoint {
    /// The end of the period.
    pub end: TicTimestamp,
    /// The mean active power, W.
    pub watts: u32,
}

/// A value with the time it was reached (`SMAXSN`...).
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamped {
    /// When.
    pub at: Option<TicTimestamp>,
    /// The value (VA).
    pub value: u32,
}

/// A group whose checksum passed but whose data is not what its label's specification
/// says (a non-number index...): left out of the typed frame.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldError {
    /// The label.
    pub label: String,
    /// The data as written (at most 40 characters).
    pub data: String,
    /// What was expected.
    pub expected: &'static str,
}

/// A frame read into typed values. Every field is optional: a meter sends only what its
/// mode, phases, option and producer status call for, and a group dropped for its
/// checksum is missing. The checked [`Frame`] stays available for any other label.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MeterFrame {
    /// The mode.
    pub mode: TicMode,
    /// The meter's address (`ADCO`, `ADSC`).
    pub meter_id: Option<String>,
    /// The usage point, PDL (`PRM`, standard).
    pub usage_point: Option<String>,
    /// The meter's date and time (`DATE`, standard).
    pub time: Option<TicTimestamp>,
    /// The tariff option (`OPTARIF`; standard: from `NGTF`).
    pub option: Option<TariffOption>,
    /// The supplier calendar's name, trimmed (`NGTF`).
    pub calendar_name: Option<String>,
    /// The current supplier tariff's label, trimmed (`LTARF`).
    pub tariff_label: Option<String>,
    /// The current supplier index, 1 to 10 (`NTARF`).
    pub supplier_index: Option<u8>,
    /// The period running (`PTEC`; standard: the supplier index under the option).
    pub period: Option<TicPeriod>,
    /// Energy indexes.
    pub indexes: Indexes,
    /// Apparent power drawn, VA (`PAPP`, `SINSTS`).
    pub apparent_power: Option<u32>,
    /// Apparent power per phase, VA (`SINSTS1`-`3`).
    pub phase_powers: [Option<u32>; 3],
    /// Apparent power injected, VA (`SINSTI`).
    pub injected_power: Option<u32>,
    /// Currents per phase, A (`IINST`, `IINST1`-`3`, `IRMS1`-`3`).
    pub currents: [Option<u16>; 3],
    /// Voltages per phase, V (`URMS1`-`3`).
    pub voltages: [Option<u16>; 3],
    /// Subscribed current, A (`ISOUSC`, historic).
    pub subscribed_current: Option<u16>,
    /// Reference (subscribed) apparent power, kVA (`PREF`).
    pub reference_power_kva: Option<u16>,
    /// Cut-off apparent power, kVA (`PCOUP`).
    pub cut_power_kva: Option<u16>,
    /// Today's maximum apparent power drawn (`SMAXSN`; historic three-phase `PMAX`).
    pub max_power_today: Option<Stamped>,
    /// Yesterday's (`SMAXSN-1`).
    pub max_power_yesterday: Option<Stamped>,
    /// The last complete load-curve points drawn (`CCASN`, `CCASN-1`), latest first.
    pub curve_points: Vec<CurvePoint>,
    /// Tomorrow's Tempo colour (historic `DEMAIN`; `Some(None)` for `----`; standard:
    /// see [`StatusRegister::tempo_tomorrow`]).
    pub tomorrow: Option<Option<DayColour>>,
    /// The overpower warning (historic `ADPS`, or the largest `ADIR1`-`3`), A.
    pub overpower_current: Option<u16>,
    /// The status register (`STGE`).
    pub status: Option<StatusRegister>,
    /// The short message (`MSG1`), trimmed.
    pub message: Option<String>,
    /// A three-phase historic short frame (`ADIR1`-`3`): it carries no index, which says
    /// nothing of the indexes.
    pub short_frame: bool,
    /// Groups whose data did not read.
    pub errors: Vec<FieldError>,
}

impl MeterFrame {
    /// Reads a checked frame.
    pub fn from_frame(frame: &Frame) -> MeterFrame {
        let mut meter = MeterFrame {
            mode: frame.mode,
            meter_id: None,
            usage_point: None,
            time: None,
            option: None,
            calendar_name: None,
            tariff_label: None,
            supplier_index: None,
            period: None,
            indexes: Indexes::default(),
            apparent_power: None,
            phase_powers: [None; 3],
            injected_power: None,
            currents: [None; 3],
            voltages: [None; 3],
            subscribed_current: None,
            reference_power_kva: None,
            cut_power_kva: None,
            max_power_today: None,
            max_power_yesterday: None,
            curve_points: Vec::new(),
            tomorrow: None,
            overpower_current: None,
            status: None,
            message: None,
            short_frame: false,
            errors: Vec::new(),
        };
        for group in &frame.groups {
            meter.read_group(&group.label, group.timestamp.as_deref(), &group.data);
        }
        if meter.mode == TicMode::Standard
            && let (Some(option), Some(index)) = (&meter.option, meter.supplier_index)
        {
            meter.period = TicPeriod::standard(option, index);
        }
        meter
    }

    fn error(&mut self, label: &str, data: &str, expected: &'static str) {
        self.errors.push(FieldError {
            label: label.to_owned(),
            data: data.chars().take(40).collect(),
            expected,
        });
    }

    fn number<T: std::str::FromStr>(
        &mut self,
        label: &str,
        data: &str,
        expected: &'static str,
    ) -> Option<T> {
        let digits =
            !data.is_empty() && data.len() <= 12 && data.bytes().all(|b| b.is_ascii_digit());
        let value = digits.then(|| data.parse().ok()).flatten();
        if value.is_none() {
            self.error(label, data, expected);
        }
        value
    }

    fn stamp(&mut self, label: &str, stamp: Option<&str>) -> Option<TicTimestamp> {
        let stamp = stamp?;
        let parsed = stamp.parse().ok();
        if parsed.is_none() {
            self.error(label, stamp, "a timestamp SAAMMJJhhmmss");
        }
        parsed
    }

    fn read_group(&mut self, label: &str, stamp: Option<&str>, data: &str) {
        const INDEX: &str = "an index in Wh (digits)";
        const VA: &str = "an apparent power in VA (digits)";
        const AMPS: &str = "a current in A (digits)";
        let numbered = |prefix: &str, count: usize| -> Option<usize> {
            let rest = label.strip_prefix(prefix)?;
            let number: usize = rest.parse().ok()?;
            (rest.len() == if count >= 10 { 2 } else { 1 } && (1..=count).contains(&number))
                .then_some(number - 1)
        };
        match label {
            "ADCO" | "ADSC" => self.meter_id = Some(data.to_owned()),
            "PRM" => self.usage_point = Some(data.to_owned()),
            "DATE" => self.time = self.stamp(label, stamp),
            "OPTARIF" => self.option = Some(TariffOption::historic(data)),
            "NGTF" => {
                self.calendar_name = Some(data.trim().to_owned());
                self.option = Some(TariffOption::standard(data));
            }
            "LTARF" => self.tariff_label = Some(data.trim().to_owned()),
            "NTARF" => {
                self.supplier_index = self
                    .number::<u8>(label, data, "a supplier index 01-10")
                    .filter(|i| (1..=10).contains(i))
            }
            "PTEC" => {
                self.period = TicPeriod::historic(data);
                if self.period.is_none() {
                    self.error(
                        label,
                        data,
                        "a period (TH.., HC.., HP.., HN.., PM.., HCJB...)",
                    );
                }
            }
            "EAST" => self.indexes.total = self.number(label, data, INDEX),
            "BASE" => self.indexes.base = self.number(label, data, INDEX),
            "HCHC" => self.indexes.off_peak = self.number(label, data, INDEX),
            "HCHP" => self.indexes.peak = self.number(label, data, INDEX),
            "EJPHN" => self.indexes.ejp_normal = self.number(label, data, INDEX),
            "EJPHPM" => self.indexes.ejp_peak = self.number(label, data, INDEX),
            "EAIT" => self.indexes.injected = self.number(label, data, INDEX),
            "PAPP" | "SINSTS" => self.apparent_power = self.number(label, data, VA),
            "SINSTI" => self.injected_power = self.number(label, data, VA),
            "IINST" => self.currents[0] = self.number(label, data, AMPS),
            "ISOUSC" => self.subscribed_current = self.number(label, data, AMPS),
            "PREF" => {
                self.reference_power_kva = self.number(label, data, "a power in kVA (digits)")
            }
            "PCOUP" => self.cut_power_kva = self.number(label, data, "a power in kVA (digits)"),
            "ADPS" => self.overpower_current = self.number(label, data, AMPS),
            "SMAXSN" | "PMAX" => {
                let at = self.stamp(label, stamp);
                self.max_power_today = self
                    .number(label, data, VA)
                    .map(|value| Stamped { at, value });
            }
            "SMAXSN-1" => {
                let at = self.stamp(label, stamp);
                self.max_power_yesterday = self
                    .number(label, data, VA)
                    .map(|value| Stamped { at, value });
            }
            "CCASN" | "CCASN-1" => {
                let end = self.stamp(label, stamp);
                let watts = self.number(label, data, "a power in W (digits)");
                if let (Some(end), Some(watts)) = (end, watts) {
                    self.curve_points.push(CurvePoint { end, watts });
                } else if end.is_none() && stamp.is_none() {
                    self.error(label, data, "a timestamp");
                }
            }
            "DEMAIN" => {
                self.tomorrow = match data {
                    "----" => Some(None),
                    "BLEU" => Some(Some(DayColour::Blue)),
                    "BLAN" => Some(Some(DayColour::White)),
                    "ROUG" => Some(Some(DayColour::Red)),
                    _ => {
                        self.error(label, data, "----, BLEU, BLAN or ROUG");
                        None
                    }
                }
            }
            "STGE" => {
                let status = (data.len() == 8).then(|| data.parse().ok()).flatten();
                if status.is_none() {
                    self.error(label, data, "8 hexadecimal digits");
                }
                self.status = status;
            }
            "MSG1" => self.message = Some(data.trim().to_owned()),
            _ => {
                let tempo = [
                    ("BBRHPJB", 0),
                    ("BBRHCJB", 1),
                    ("BBRHPJW", 2),
                    ("BBRHCJW", 3),
                    ("BBRHPJR", 4),
                    ("BBRHCJR", 5),
                ];
                if let Some(&(_, slot)) = tempo.iter().find(|(name, _)| *name == label) {
                    self.indexes.tempo[slot] = self.number(label, data, INDEX);
                } else if let Some(slot) = numbered("EASF", 10) {
                    self.indexes.supplier[slot] = self.number(label, data, INDEX);
                } else if let Some(slot) = numbered("EASD", 4) {
                    self.indexes.distributor[slot] = self.number(label, data, INDEX);
                } else if let Some(slot) = numbered("IINST", 3).or_else(|| numbered("IRMS", 3)) {
                    self.currents[slot] = self.number(label, data, AMPS);
                } else if let Some(slot) = numbered("URMS", 3) {
                    self.voltages[slot] = self.number(label, data, "a voltage in V (digits)");
                } else if let Some(slot) = numbered("SINSTS", 3) {
                    self.phase_powers[slot] = self.number(label, data, VA);
                } else if numbered("ADIR", 3).is_some() {
                    self.short_frame = true;
                    let current = self.number(label, data, AMPS);
                    self.overpower_current = self.overpower_current.max(current);
                }
            }
        }
    }

    /// The drawn energy indexes by the classes of the option, in Wh; `None` when the
    /// frame lacks one of them (a dropped group: no partial set is ever given) or the
    /// option is unknown.
    ///
    /// Historic mode reads `BASE`, `HCHP`/`HCHC`, `BBRH*`. Standard mode reads the
    /// supplier indexes by the calendar's name: Tempo's 1-6 as the specification orders
    /// them, peak/off-peak as 02 (HP) and 01 (HC), base as 01; any other calendar gives the
    /// total `EAST` as one class. (EJP is given as peak/off-peak: mobile peak hours as
    /// peak.)
    pub fn class_indexes(&self) -> Option<ClassIndexes> {
        let i = &self.indexes;
        let both = |peak: Option<u64>, off_peak: Option<u64>| {
            Some(ClassIndexes::Tariffs([peak?, off_peak?]))
        };
        match (self.mode, self.option.as_ref()?) {
            (TicMode::Historic, TariffOption::Base) => i.base.map(ClassIndexes::Base),
            (TicMode::Historic, TariffOption::PeakOffPeak) => both(i.peak, i.off_peak),
            (TicMode::Historic, TariffOption::Ejp) => both(i.ejp_peak, i.ejp_normal),
            (TicMode::Historic, TariffOption::Tempo) => {
                let mut values = [0; 6];
                for (value, index) in values.iter_mut().zip(i.tempo) {
                    *value = index?;
                }
                Some(ClassIndexes::Tempo(values))
            }
            (TicMode::Historic, TariffOption::Other(_)) => None,
            (TicMode::Standard, TariffOption::Base) => i.supplier[0].map(ClassIndexes::Base),
            (TicMode::Standard, TariffOption::PeakOffPeak | TariffOption::Ejp) => {
                both(i.supplier[1], i.supplier[0])
            }
            (TicMode::Standard, TariffOption::Tempo) => {
                let mut values = [0; 6];
                for (slot, (colour, tariff)) in TEMPO_SUPPLIER_INDEXES.iter().enumerate() {
                    values[usize::from(linky_core::tempo_class(*colour, *tariff))] =
                        i.supplier[slot]?;
                }
                Some(ClassIndexes::Tempo(values))
            }
            (TicMode::Standard, TariffOption::Other(_)) => i.total.map(ClassIndexes::Base),
        }
    }

    /// Today's Tempo colour (the colour day running, 06:00 to 06:00), when the frame says
    /// it: standard `STGE`, else the colour of the Tempo period running (historic `PTEC`).
    pub fn tempo_today(&self) -> Option<DayColour> {
        self.status
            .and_then(StatusRegister::tempo_today)
            .or(match self.period {
                Some(TicPeriod::Tempo(colour, _)) => Some(colour),
                _ => None,
            })
    }

    /// Tomorrow's Tempo colour, when announced (historic `DEMAIN`, standard `STGE`).
    pub fn tempo_tomorrow(&self) -> Option<DayColour> {
        match self.mode {
            TicMode::Historic => self.tomorrow.flatten(),
            TicMode::Standard => self.status.and_then(StatusRegister::tempo_tomorrow),
        }
    }

    /// The frame as a host-neutral [`LiveReading`] (what sinks take): timed by the
    /// meter's own clock when it gives one and does not say it is degraded, else by
    /// `received` (when the frame's ETX came). The meter is its address, else its PDL;
    /// `None` without either.
    pub fn live_reading(&self, received: DateTime<Utc>) -> Option<LiveReading> {
        let meter = self.meter_id.clone().or_else(|| self.usage_point.clone())?;
        let at = self
            .time
            .filter(|time| !time.degraded)
            .and_then(|time| time.utc())
            .unwrap_or(received);
        let mut reading = LiveReading::new(meter, at);
        reading.usage_point = self.usage_point.clone();
        reading.indexes = self.class_indexes();
        reading.total = self
            .indexes
            .total
            .or_else(|| reading.indexes.map(|i| i.values().iter().sum()));
        reading.injected = self.indexes.injected;
        reading.apparent_power = self.apparent_power;
        reading.injected_power = self.injected_power;
        reading.currents = self.currents;
        reading.voltages = self.voltages;
        reading.reference_power_kva = self.reference_power_kva.or_else(|| {
            // Historic: the subscribed current is PREF / 200 V.
            self.subscribed_current
                .map(|amps| amps.saturating_mul(200) / 1000)
        });
        reading.current_class = self
            .period
            .and_then(|period| match (period, reading.indexes?) {
                (TicPeriod::Base, ClassIndexes::Base(_)) => Some(0),
                (TicPeriod::Tariff(tariff), ClassIndexes::Tariffs(_)) => {
                    Some(linky_core::tariff_class(tariff))
                }
                (TicPeriod::EjpNormal, ClassIndexes::Tariffs(_)) => Some(1),
                (TicPeriod::EjpPeak, ClassIndexes::Tariffs(_)) => Some(0),
                (TicPeriod::Tempo(colour, tariff), ClassIndexes::Tempo(_)) => {
                    Some(linky_core::tempo_class(colour, tariff))
                }
                _ => None,
            });
        reading.tariff_label = self.tariff_label.clone();
        reading.tempo_today = self.tempo_today();
        reading.tempo_tomorrow = self.tempo_tomorrow();
        reading.overpower = self.overpower();
        Some(reading)
    }

    /// Whether the meter says the reference power is exceeded (historic `ADPS`/`ADIR`,
    /// standard `STGE` bit 7).
    pub fn overpower(&self) -> bool {
        self.overpower_current.is_some()
            || self
                .status
                .is_some_and(StatusRegister::over_reference_power)
    }
}
