//! State between sync runs: the [`StateStore`] trait, and its two stores, [`StateDir`] (a
//! folder of small JSON files, each written atomically and sealed with a checksum) and
//! [`MemoryState`] (for one-off runs).
//!
//! Why files and not an embedded database: the state is small (two years of half-hours
//! is a few megabytes per usage point), written a month at a time, and readable by a
//! person filing a bug report; atomic renames give the crash safety a database would,
//! with no dependency. A file whose checksum does not match is reported and treated as
//! absent, so its days are fetched again.
//!
//! ```text
//! state/
//!   sync.json                                     history policy, "no data" facts
//!   readings/<pdl>/<consumption|production|peaks>/<YYYY-MM>.json
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use linky_core::{
    ApparentPower, DayBucket, Flow, HistoryState, LoadCurve, PARIS, Power, PowerPeak, Reading,
};
use serde::{Deserialize, Serialize};

/// A problem with the state folder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// A file cannot be read or written.
    #[error("state {path}: {detail}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        detail: String,
    },
    /// A file's checksum does not match its content: it is treated as absent.
    #[error("state {path} is corrupt ({detail}): its data will be fetched again")]
    Corrupt {
        /// The file.
        path: String,
        /// What was found.
        detail: String,
    },
}

/// What the sync remembers besides readings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SyncMeta {
    /// The history policy's memory.
    #[serde(default)]
    pub last_success: Option<NaiveDateTime>,
    /// When the next full-history grab is due.
    #[serde(default)]
    pub next_full_grab: Option<NaiveDateTime>,
    /// The `days` setting of the last run.
    #[serde(default)]
    pub days_setting: Option<i64>,
    /// `"<pdl>/<kind>"` for which Enedis answered that the meter has no such data, for
    /// good (ADAM-ERR0069).
    #[serde(default)]
    pub no_data: BTreeSet<String>,
    /// Per usage point, the off-peak hours its contract gave over time (see
    /// `SyncSettings::with_contract_hours`).
    #[serde(default)]
    pub contract_hours: std::collections::BTreeMap<String, ContractHoursHistory>,
    /// The day colours learned (Tempo), when the run has a colour source.
    #[serde(default)]
    pub colours: linky_core::ColourCalendar,
    /// The days of `colours` learned before their colour was final (see
    /// [`linky_core::colour_final_at`]): asked again until then.
    #[serde(default)]
    pub provisional_colours: BTreeSet<NaiveDate>,
}

/// The off-peak hours a usage point's contract gave, run after run: each text once, with
/// the day it holds from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContractHoursHistory {
    /// The last day the contract was asked.
    #[serde(default)]
    pub checked: Option<NaiveDate>,
    /// Each text, oldest first.
    #[serde(default)]
    pub entries: Vec<ContractHoursEntry>,
}

impl ContractHoursHistory {
    /// `base` with these hours for `pdl`, each text from its first day (see
    /// [`linky_core::OffPeakConfig::with_contract_hours`]). A text that cannot be read is
    /// left out (its days keep the hours before it) and returned, with whether hours were
    /// known before it.
    pub fn schedule(
        &self,
        base: &linky_core::OffPeakConfig,
        pdl: &str,
    ) -> (
        linky_core::OffPeakConfig,
        Vec<(linky_core::ContractHoursError, bool)>,
    ) {
        let mut known = Vec::new();
        let mut unreadable = Vec::new();
        for entry in &self.entries {
            match linky_core::parse_contract_hours(&entry.text) {
                Ok(ranges) => known.push((entry.since, ranges)),
                Err(error) => unreadable.push((error, !known.is_empty())),
            }
        }
        (base.with_contract_hours(pdl, &known), unreadable)
    }
}

/// One text of a contract's off-peak hours.
///
/// Plain data, kept open on purpose: its fields are what it is, and a program builds it
/// as a literal; a field added would be a new type (a breaking release).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractHoursEntry {
    /// As written, e.g. `HC (22H00-6H00)`.
    pub text: String,
    /// The first day it holds: `None` for the first text learned (it stands for the whole
    /// past: the hours before it are not known), else the contract's last tariff change
    /// or, when the contract does not say, the day the change was seen.
    pub since: Option<NaiveDate>,
    /// The day it was first seen.
    pub seen: NaiveDate,
}

impl SyncMeta {
    /// The history policy's part.
    pub fn history(&self) -> HistoryState {
        HistoryState {
            last_success: self.last_success,
            next_full_grab: self.next_full_grab,
            days_setting: self.days_setting,
        }
    }

    /// Stores the history policy's part.
    pub fn set_history(&mut self, history: HistoryState) {
        self.last_success = history.last_success;
        self.next_full_grab = history.next_full_grab;
        self.days_setting = history.days_setting;
    }

    /// Whether Enedis answered that `pdl` has no `kind` data, for good.
    pub fn lacks(&self, pdl: &str, kind: StoredKind) -> bool {
        self.no_data.contains(&no_data_key(pdl, kind))
    }

    /// Remembers that `pdl` has no `kind` data, for good.
    pub fn set_lacks(&mut self, pdl: &str, kind: StoredKind) {
        self.no_data.insert(no_data_key(pdl, kind));
    }
}

/// The key of a "no data" fact in [`SyncMeta::no_data`].
fn no_data_key(pdl: &str, kind: StoredKind) -> String {
    format!("{pdl}/{}", kind.as_str())
}

/// One stored value: a load-curve reading (its local end, its minutes, its milliwatts) or
/// a daily peak (its local time, 0, its VA).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredValue {
    /// The local time: a reading's end, a peak's time.
    pub at: NaiveDateTime,
    /// A reading's length in minutes (0 for a peak).
    pub minutes: i64,
    /// A reading's milliwatts, a peak's VA.
    pub value: i64,
}

/// Stored days, by local day: a day fetched with nothing in it is an empty list.
pub type StoredDays = BTreeMap<NaiveDate, Vec<StoredValue>>;

/// Where a sync keeps what it fetched and what it learned, between runs (and between two
/// requests of one run: every answer is stored before the next request).
///
/// Four primitives to implement ([`StateDir`] keeps them in files, [`MemoryState`] in
/// memory); the rest is provided on top of them.
pub trait StateStore: Send + Sync {
    /// The sync's memory; nothing stored yet is a first run.
    ///
    /// # Errors
    ///
    /// A [`StateError`]; the caller may start afresh.
    fn load_meta(&self) -> Result<SyncMeta, StateError>;

    /// Saves the sync's memory.
    ///
    /// # Errors
    ///
    /// A [`StateError`]: what was saved before stays.
    fn save_meta(&self, meta: &SyncMeta) -> Result<(), StateError>;

    /// The stored days of `kind` for `pdl` in `[from, to)`, with the warnings of parts
    /// that cannot be read (their days are left out, to be fetched again).
    fn read_days(
        &self,
        pdl: &str,
        kind: StoredKind,
        from: NaiveDate,
        to: NaiveDate,
    ) -> (StoredDays, Vec<StateError>);

    /// Replaces each of `days` (the other days stay).
    ///
    /// # Errors
    ///
    /// A [`StateError`]: what was stored before stays.
    fn write_days(&self, pdl: &str, kind: StoredKind, days: StoredDays) -> Result<(), StateError>;

    /// Stores what a request for the local days `[start, end)` brought: each of those days
    /// is replaced by the readings whose interval ends in it (a day without reading is
    /// stored empty: fetched, nothing there).
    ///
    /// # Errors
    ///
    /// As [`StateStore::write_days`].
    fn store_curve(
        &self,
        pdl: &str,
        flow: Flow,
        start: NaiveDate,
        end: NaiveDate,
        readings: &[Reading],
    ) -> Result<(), StateError> {
        let mut by_day = empty_days(start, end);
        for reading in readings {
            // A reading ending at the calendar's first minute has no day to be kept in.
            let Some(day) = reading
                .end
                .checked_sub_signed(Duration::minutes(1))
                .map(|last_minute| last_minute.date())
            else {
                continue;
            };
            if let Some(list) = by_day.get_mut(&day) {
                list.push(StoredValue {
                    at: reading.end,
                    minutes: reading.length_minutes,
                    value: reading.power.milliwatts(),
                });
            }
        }
        self.write_days(pdl, StoredKind::Curve(flow), by_day)
    }

    /// Stores daily peaks for the local days `[start, end)`.
    ///
    /// # Errors
    ///
    /// As [`StateStore::write_days`].
    fn store_peaks(
        &self,
        pdl: &str,
        start: NaiveDate,
        end: NaiveDate,
        peaks: &[PowerPeak],
    ) -> Result<(), StateError> {
        let mut by_day = empty_days(start, end);
        for peak in peaks {
            if let Some(list) = by_day.get_mut(&peak.at.date()) {
                list.push(StoredValue {
                    at: peak.at,
                    minutes: 0,
                    value: peak.power.va(),
                });
            }
        }
        self.write_days(pdl, StoredKind::Peaks, by_day)
    }

    /// The stored readings of a load curve over `[from, to)`, in time order.
    fn curve_readings(
        &self,
        pdl: &str,
        flow: Flow,
        from: NaiveDate,
        to: NaiveDate,
    ) -> (Vec<Reading>, Vec<StateError>) {
        let (_, readings, warnings) = self.stored_curve(pdl, flow, from, to);
        (readings, warnings)
    }

    /// What is stored of a load curve over `[from, to)`, read once: the days fetched
    /// (see [`StateStore::fetched_days`]), their readings in time order, and warnings.
    fn stored_curve(
        &self,
        pdl: &str,
        flow: Flow,
        from: NaiveDate,
        to: NaiveDate,
    ) -> (BTreeSet<NaiveDate>, Vec<Reading>, Vec<StateError>) {
        let (days, warnings) = self.read_days(pdl, StoredKind::Curve(flow), from, to);
        let readings = days.values().flatten().map(stored_reading).collect();
        (days.into_keys().collect(), readings, warnings)
    }

    /// The stored peaks over `[from, to)`.
    fn peaks(
        &self,
        pdl: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> (Vec<PowerPeak>, Vec<StateError>) {
        let (days, warnings) = self.read_days(pdl, StoredKind::Peaks, from, to);
        let peaks = days
            .values()
            .flatten()
            .map(|value| PowerPeak {
                at: value.at,
                power: ApparentPower::from_va(value.value),
            })
            .collect();
        (peaks, warnings)
    }

    /// The days of `[from, to)` already held: for a load curve, the days whose distinct
    /// intervals cover all of the day (a duplicate reading does not count twice, so a day
    /// with a hole and a duplicate is not complete); for peaks, the days with a peak. Days
    /// fetched but incomplete are not held, so they are asked for again while in the
    /// window. Unreadable parts come back as warnings: their days are not held.
    fn held_days(
        &self,
        pdl: &str,
        kind: StoredKind,
        from: NaiveDate,
        to: NaiveDate,
    ) -> (BTreeSet<NaiveDate>, Vec<StateError>) {
        let (days, warnings) = self.read_days(pdl, kind, from, to);
        let held = days
            .into_iter()
            .filter(|(day, stored)| match kind {
                StoredKind::Peaks => !stored.is_empty(),
                StoredKind::Curve(_) => is_complete_day(*day, stored),
            })
            .map(|(day, _)| day)
            .collect();
        (held, warnings)
    }

    /// The days of `[from, to)` fetched for `kind`, complete or not (a day an answer
    /// covered, even with no reading in it). A sync writes a device's rows only from days
    /// fetched for every flow the device shows.
    fn fetched_days(
        &self,
        pdl: &str,
        kind: StoredKind,
        from: NaiveDate,
        to: NaiveDate,
    ) -> BTreeSet<NaiveDate> {
        self.read_days(pdl, kind, from, to).0.into_keys().collect()
    }
}

/// One stored value in a month file: local time, minutes, value.
type FileValue = (String, i64, i64);

#[derive(Debug, Default, Serialize, Deserialize)]
struct MonthFile {
    /// Day -> its readings (load curves) or its peak (`[(time, 0, va)]`).
    days: BTreeMap<NaiveDate, Vec<FileValue>>,
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    checksum: String,
    payload: String,
}

/// FNV-1a, 64 bits: enough to detect a torn or edited file (not an attacker).
fn checksum(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// What is stored for a usage point: a load curve or the daily peaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StoredKind {
    /// A load curve.
    Curve(Flow),
    /// Daily maximum powers.
    Peaks,
}

impl StoredKind {
    /// The folder name.
    pub fn as_str(self) -> &'static str {
        match self {
            StoredKind::Curve(Flow::Consumption) => "consumption",
            StoredKind::Curve(Flow::Production) => "production",
            StoredKind::Peaks => "peaks",
        }
    }
}

/// The state in a folder of small JSON files, each written atomically and sealed with a
/// checksum (see the module documentation).
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

const DATE_TIME: &str = "%Y-%m-%d %H:%M:%S";

impl StateDir {
    /// Opens (creating) the state folder at `root`.
    ///
    /// # Errors
    ///
    /// [`StateError::Io`] when it cannot be created.
    ///
    /// ```
    /// use linky_core::{Flow, IntervalLength, Power, Reading};
    /// use linky_domoticz::{StateDir, StateStore};
    /// let folder = std::env::temp_dir().join(format!("linky-doc-state-{}", std::process::id()));
    /// let state = StateDir::open(&folder).unwrap();
    /// let day = chrono::NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
    /// let next = day.succ_opt().unwrap();
    /// let readings: Vec<Reading> = (1..=48)
    ///     .map(|n| {
    ///         let end = day.and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::minutes(30 * n);
    ///         Reading::new(end, IntervalLength::PT30M, Power::from_watts(400))
    ///     })
    ///     .collect();
    /// // An answer is kept as it arrives; the next run reads it back instead of asking.
    /// state.store_curve("22516914714270", Flow::Consumption, day, next, &readings).unwrap();
    /// let (kept, warnings) = state.curve_readings("22516914714270", Flow::Consumption, day, next);
    /// assert_eq!((kept.len(), warnings.len()), (48, 0));
    /// # std::fs::remove_dir_all(&folder).ok();
    /// ```
    pub fn open(root: impl Into<PathBuf>) -> Result<StateDir, StateError> {
        let root = root.into();
        fs::create_dir_all(root.join("readings")).map_err(|e| io_error(&root, e))?;
        Ok(StateDir { root })
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The usage points whose readings the folder holds, in order (what a command shows
    /// after a sync without being told which).
    pub fn usage_points(&self) -> Vec<String> {
        let Ok(entries) = fs::read_dir(self.root.join("readings")) else {
            return Vec::new();
        };
        let mut found: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|entry| entry.path().is_dir())
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| name.parse::<linky_core::UsagePointId>().is_ok())
            .collect();
        found.sort();
        found
    }

    /// The months stored for `pdl`'s `kind`, oldest first (`(year, month)`).
    pub fn stored_months(&self, pdl: &str, kind: StoredKind) -> Vec<(i32, u32)> {
        let folder = self.root.join("readings").join(pdl).join(kind.as_str());
        let Ok(entries) = fs::read_dir(folder) else {
            return Vec::new();
        };
        let mut months: Vec<(i32, u32)> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter_map(|name| {
                let (year, month) = name.strip_suffix(".json")?.split_once('-')?;
                let (year, month) = (year.parse().ok()?, month.parse().ok()?);
                NaiveDate::from_ymd_opt(year, month, 1).map(|_| (year, month))
            })
            .collect();
        months.sort_unstable();
        months
    }

    /// The days of `pdl`'s `kind` with data (at least one reading or a peak), in order,
    /// and what could not be read. Reads every month file: for a summary (`linky
    /// status`) or to find where the data lies, not for each request.
    pub fn days_with_data(
        &self,
        pdl: &str,
        kind: StoredKind,
    ) -> (BTreeSet<NaiveDate>, Vec<StateError>) {
        let mut days = BTreeSet::new();
        let mut warnings = Vec::new();
        for (year, month) in self.stored_months(pdl, kind) {
            let Some(first) = NaiveDate::from_ymd_opt(year, month, 1) else {
                continue;
            };
            let next = first
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(first);
            let (held, found_warnings) = self.read_days(pdl, kind, first, next);
            days.extend(
                held.into_iter()
                    .filter(|(_, values)| !values.is_empty())
                    .map(|(day, _)| day),
            );
            warnings.extend(found_warnings);
        }
        (days, warnings)
    }

    fn month_path(&self, pdl: &str, kind: StoredKind, year: i32, month: u32) -> PathBuf {
        self.root
            .join("readings")
            .join(pdl)
            .join(kind.as_str())
            .join(format!("{year:04}-{month:02}.json"))
    }
}

impl StateStore for StateDir {
    fn load_meta(&self) -> Result<SyncMeta, StateError> {
        Ok(read_sealed(&self.root.join("sync.json"))?.unwrap_or_default())
    }

    fn save_meta(&self, meta: &SyncMeta) -> Result<(), StateError> {
        write_sealed(&self.root.join("sync.json"), meta)
    }

    fn write_days(&self, pdl: &str, kind: StoredKind, days: StoredDays) -> Result<(), StateError> {
        let mut by_month: BTreeMap<(i32, u32), BTreeMap<NaiveDate, Vec<FileValue>>> =
            BTreeMap::new();
        for (day, values) in days {
            let values = values
                .into_iter()
                .map(|v| (v.at.format(DATE_TIME).to_string(), v.minutes, v.value))
                .collect();
            by_month
                .entry((day.year(), day.month()))
                .or_default()
                .insert(day, values);
        }
        for ((year, month), days) in by_month {
            let path = self.month_path(pdl, kind, year, month);
            // A corrupt month is rebuilt from what arrives now (its other days refetched).
            let mut file: MonthFile = read_sealed(&path).ok().flatten().unwrap_or_default();
            file.days.extend(days);
            write_sealed(&path, &file)?;
        }
        Ok(())
    }

    /// Corrupt files come back as warnings; their days are left out, to be fetched again.
    fn read_days(
        &self,
        pdl: &str,
        kind: StoredKind,
        from: NaiveDate,
        to: NaiveDate,
    ) -> (StoredDays, Vec<StateError>) {
        let mut days = BTreeMap::new();
        let mut warnings = Vec::new();
        let mut month = NaiveDate::from_ymd_opt(from.year(), from.month(), 1).unwrap_or(from);
        while month < to {
            match read_sealed::<MonthFile>(&self.month_path(pdl, kind, month.year(), month.month()))
            {
                Ok(Some(file)) => days.extend(
                    file.days
                        .into_iter()
                        .filter(|(d, _)| from <= *d && *d < to)
                        .map(|(day, values)| {
                            let values = values
                                .into_iter()
                                .filter_map(|(at, minutes, value)| {
                                    Some(StoredValue {
                                        at: NaiveDateTime::parse_from_str(&at, DATE_TIME).ok()?,
                                        minutes,
                                        value,
                                    })
                                })
                                .collect();
                            (day, values)
                        }),
                ),
                Ok(None) => {}
                Err(error) => warnings.push(error),
            }
            month = month
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(to);
        }
        (days, warnings)
    }
}

/// The state in memory: for one-off runs (a replay, a test) that need not remember
/// anything once done.
#[derive(Debug, Default)]
pub struct MemoryState {
    meta: Mutex<SyncMeta>,
    days: Mutex<BTreeMap<(String, StoredKind), StoredDays>>,
}

impl MemoryState {
    /// An empty state.
    pub fn new() -> MemoryState {
        MemoryState::default()
    }
}

impl StateStore for MemoryState {
    fn load_meta(&self) -> Result<SyncMeta, StateError> {
        Ok(self.meta.lock().map(|m| m.clone()).unwrap_or_default())
    }

    fn save_meta(&self, meta: &SyncMeta) -> Result<(), StateError> {
        if let Ok(mut stored) = self.meta.lock() {
            *stored = meta.clone();
        }
        Ok(())
    }

    fn read_days(
        &self,
        pdl: &str,
        kind: StoredKind,
        from: NaiveDate,
        to: NaiveDate,
    ) -> (StoredDays, Vec<StateError>) {
        let days = self
            .days
            .lock()
            .ok()
            .and_then(|all| {
                all.get(&(pdl.to_owned(), kind))
                    .filter(|_| from < to)
                    .map(|days| days.range(from..to).map(|(d, v)| (*d, v.clone())).collect())
            })
            .unwrap_or_default();
        (days, Vec::new())
    }

    fn write_days(&self, pdl: &str, kind: StoredKind, days: StoredDays) -> Result<(), StateError> {
        if let Ok(mut all) = self.days.lock() {
            all.entry((pdl.to_owned(), kind)).or_default().extend(days);
        }
        Ok(())
    }
}

/// Whether the stored readings of `day` cover all of it with distinct intervals: they are
/// placed on the time line (DST days included), duplicates and overlaps left out, and the
/// minutes of the day's intervals counted.
fn is_complete_day(day: NaiveDate, stored: &[StoredValue]) -> bool {
    let readings: Vec<Reading> = stored.iter().map(stored_reading).collect();
    let Some(next) = day.succ_opt() else {
        return false;
    };
    let (curve, _) = LoadCurve::builder(PARIS)
        .expected_period(day, next)
        .build(&readings);
    curve
        .days()
        .iter()
        .find(|bucket| bucket.date == day)
        .is_some_and(DayBucket::is_complete)
}

fn stored_reading(value: &StoredValue) -> Reading {
    Reading {
        end: value.at,
        length_minutes: value.minutes,
        power: Power::from_milliwatts(value.value),
    }
}

/// The local days `[start, end)`, each with no reading yet.
fn empty_days(start: NaiveDate, end: NaiveDate) -> StoredDays {
    start
        .iter_days()
        .take_while(|d| *d < end)
        .map(|d| (d, Vec::new()))
        .collect()
}

fn io_error(path: &Path, error: impl std::fmt::Display) -> StateError {
    StateError::Io {
        path: path.display().to_string(),
        detail: error.to_string(),
    }
}

fn read_sealed<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>, StateError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io_error(path, error)),
    };
    let corrupt = |detail: String| StateError::Corrupt {
        path: path.display().to_string(),
        detail,
    };
    let sealed: Sealed =
        serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("not a sealed file: {e}")))?;
    if checksum(&sealed.payload) != sealed.checksum {
        return Err(corrupt("checksum mismatch".to_owned()));
    }
    serde_json::from_str(&sealed.payload)
        .map(Some)
        .map_err(|e| corrupt(format!("unreadable content: {e}")))
}

fn write_sealed<T: Serialize>(path: &Path, value: &T) -> Result<(), StateError> {
    let payload = serde_json::to_string(value).map_err(|e| io_error(path, e))?;
    let sealed = serde_json::to_vec(&Sealed {
        checksum: checksum(&payload),
        payload,
    })
    .map_err(|e| io_error(path, e))?;
    let folder = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(folder).map_err(|e| io_error(folder, e))?;
    let temporary = folder.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let write = || -> std::io::Result<()> {
        let mut file = fs::File::create(&temporary)?;
        file.write_all(&sealed)?;
        file.sync_all()?;
        fs::rename(&temporary, path)?;
        if let Ok(directory) = fs::File::open(folder) {
            directory.sync_all().ok();
        }
        Ok(())
    };
    write().map_err(|error| {
        fs::remove_file(&temporary).ok();
        io_error(path, error)
    })
}
