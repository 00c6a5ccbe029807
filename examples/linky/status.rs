//! `linky status`: what a state folder holds, per usage point and flow (days with data,
//! first and last, holes), the last run and the next, the consent's tokens (never the
//! secrets) and the outputs configured. The last run is what `linky sync` leaves in
//! `last-run.json` beside the readings.

use crate::lang::Language;
use std::collections::BTreeSet;
use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};
use linky_core::Flow;
use linky_domoticz::{StateDir, StateStore, StoredKind, SyncReport};
use linky_enedis::{FileTokenStore, TokenStore};
use serde_json::{Value, json};

/// The file a sync leaves in its state folder.
const LAST_RUN: &str = "last-run.json";

/// What the last `linky sync` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastRun {
    /// When it started (local time).
    pub at: NaiveDateTime,
    /// Its outcome: success, retry later, consent lost, failure.
    pub outcome: String,
    /// When the next run is due (local time).
    pub next_run: NaiveDateTime,
    /// Day rows written, over every device.
    pub days_written: usize,
    /// Errors said, over every device and the run.
    pub errors: usize,
}

impl LastRun {
    /// What `report`, started at `at`, did.
    pub fn of(report: &SyncReport, at: NaiveDateTime) -> LastRun {
        LastRun {
            at,
            outcome: crate::outcome_of(report).to_string(),
            next_run: report.next_run,
            days_written: report.devices.iter().map(|d| d.days_written).sum(),
            errors: report.errors.len()
                + report.devices.iter().map(|d| d.errors.len()).sum::<usize>(),
        }
    }

    /// Saves it in `state` (written aside, then renamed: never half a file).
    ///
    /// # Errors
    ///
    /// The file cannot be written: a sentence naming it.
    pub fn save(&self, state: &Path) -> Result<(), String> {
        let path = state.join(LAST_RUN);
        let aside = state.join(format!("{LAST_RUN}.tmp"));
        let text =
            serde_json::to_string_pretty(&self.to_json()).map_err(|error| error.to_string())?;
        std::fs::write(&aside, text)
            .and_then(|()| std::fs::rename(&aside, &path))
            .map_err(|error| format!("{}: {error}", path.display()))
    }

    /// The last run saved in `state`, if one was (an unreadable file counts as none).
    pub fn load(state: &Path) -> Option<LastRun> {
        let text = std::fs::read_to_string(state.join(LAST_RUN)).ok()?;
        let value: Value = serde_json::from_str(&text).ok()?;
        let time = |key: &str| {
            NaiveDateTime::parse_from_str(value[key].as_str()?, "%Y-%m-%dT%H:%M:%S").ok()
        };
        let count = |key: &str| value[key].as_u64().and_then(|n| usize::try_from(n).ok());
        Some(LastRun {
            at: time("at")?,
            outcome: value["outcome"].as_str()?.to_owned(),
            next_run: time("next_run")?,
            days_written: count("days_written")?,
            errors: count("errors")?,
        })
    }

    /// As JSON (what the file holds).
    pub fn to_json(&self) -> Value {
        json!({
            "at": self.at.format("%Y-%m-%dT%H:%M:%S").to_string(),
            "outcome": self.outcome,
            "next_run": self.next_run.format("%Y-%m-%dT%H:%M:%S").to_string(),
            "days_written": self.days_written,
            "errors": self.errors,
        })
    }
}

/// What is held of one usage point's flow (or its peaks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// `consumption`, `production` or `peaks`.
    pub kind: &'static str,
    /// The days with data.
    pub days: usize,
    /// The first and last of them.
    pub span: Option<(NaiveDate, NaiveDate)>,
    /// The runs of days without data between them, first and last day of each.
    pub holes: Vec<(NaiveDate, NaiveDate)>,
    /// Enedis said the meter has no such data, for good.
    pub none_for_good: bool,
    /// Files that could not be read (their days are fetched again by the next sync).
    pub unreadable: usize,
}

/// `linky status`'s findings.
#[derive(Debug, Clone)]
pub struct Status {
    /// The state folder.
    pub folder: String,
    /// Per usage point, what is held.
    pub usage_points: Vec<(String, Vec<Held>)>,
    /// The last run, when a sync left one.
    pub last_run: Option<LastRun>,
    /// The last successful run the history policy remembers.
    pub last_success: Option<NaiveDateTime>,
    /// The consent's tokens: when the access token expires, whether a refresh token is
    /// kept, how many usage points they open (never a secret).
    pub tokens: Option<(chrono::DateTime<chrono::Utc>, bool, usize)>,
    /// A token file that cannot be read.
    pub tokens_error: Option<String>,
    /// The outputs, as `linky config check` says them.
    pub outputs: Vec<String>,
}

/// The runs of missing days in `[first, last]` of `days`.
fn holes(days: &BTreeSet<NaiveDate>) -> Vec<(NaiveDate, NaiveDate)> {
    let mut holes = Vec::new();
    let mut previous: Option<NaiveDate> = None;
    for day in days {
        if let Some(previous) = previous
            && let (Some(start), Some(end)) = (previous.succ_opt(), day.pred_opt())
            && start <= end
        {
            holes.push((start, end));
        }
        previous = Some(*day);
    }
    holes
}

/// What `folder` holds for `usage_points` (and for those it holds readings of), with the
/// configuration's outputs.
pub fn status(folder: &Path, usage_points: &[String], outputs: Vec<String>) -> Status {
    let state = StateDir::open(folder).ok();
    let meta = state
        .as_ref()
        .and_then(|state| state.load_meta().ok())
        .unwrap_or_default();
    let mut points: BTreeSet<String> = usage_points.iter().cloned().collect();
    if let Some(state) = &state {
        points.extend(state.usage_points());
    }
    let token_store = FileTokenStore::new(folder.join("tokens.json"));
    let (tokens, tokens_error) = match token_store.load() {
        Ok(Some(set)) => {
            points.extend(set.usage_points.iter().cloned());
            (
                Some((
                    chrono::DateTime::<chrono::Utc>::from(set.expires_at),
                    set.refresh_token.is_some(),
                    set.usage_points.len(),
                )),
                None,
            )
        }
        Ok(None) => (None, None),
        Err(error) => (None, Some(error.to_string())),
    };
    let usage_points = points
        .into_iter()
        .map(|pdl| {
            let held = [
                StoredKind::Curve(Flow::Consumption),
                StoredKind::Curve(Flow::Production),
                StoredKind::Peaks,
            ]
            .into_iter()
            .map(|kind| {
                let (days, unreadable) = match &state {
                    Some(state) => state.days_with_data(&pdl, kind),
                    None => Default::default(),
                };
                Held {
                    kind: kind.as_str(),
                    days: days.len(),
                    span: days.first().copied().zip(days.last().copied()),
                    holes: holes(&days),
                    none_for_good: meta.lacks(&pdl, kind),
                    unreadable: unreadable.len(),
                }
            })
            .collect();
            (pdl, held)
        })
        .collect();
    Status {
        folder: folder.display().to_string(),
        usage_points,
        last_run: LastRun::load(folder),
        last_success: meta.last_success,
        tokens,
        tokens_error,
        outputs,
    }
}

impl Status {
    /// As a person reads it, in English.
    pub fn table(&self, now: chrono::DateTime<chrono::Utc>) -> String {
        self.text(now, Language::English)
    }

    /// As a person reads it, in `language`.
    pub fn text(&self, now: chrono::DateTime<chrono::Utc>, language: Language) -> String {
        let pick = |french: &'static str, english: &'static str| language.pick(french, english);
        let colon = language.colon();
        let plural = |count: usize| if count == 1 { "" } else { "s" };
        let mut lines = vec![format!("{}{colon} {}", pick("état", "state"), self.folder)];
        if self.usage_points.is_empty() {
            lines.push(
                pick(
                    "aucun point de livraison encore : lancez `linky sync` une fois dans un terminal",
                    "no usage point yet: run `linky sync` once in a terminal",
                )
                .to_owned(),
            );
        }
        for (pdl, held) in &self.usage_points {
            lines.push(format!(
                "{} {pdl}",
                pick("point de livraison", "usage point")
            ));
            for held in held {
                let what = match (held.span, held.none_for_good) {
                    (_, true) => pick(
                        "aucune (Enedis : le compteur n'a pas ces données)",
                        "none (Enedis: the meter has no such data)",
                    )
                    .to_owned(),
                    (None, false) => pick("rien encore", "nothing yet").to_owned(),
                    (Some((first, last)), false) => {
                        let holes = match held.holes.len() {
                            0 => pick("aucun trou", "no hole").to_owned(),
                            count => {
                                let shown: Vec<String> = held
                                    .holes
                                    .iter()
                                    .take(3)
                                    .map(|(from, to)| {
                                        if from == to {
                                            from.to_string()
                                        } else {
                                            format!("{from} {} {to}", pick("au", "to"))
                                        }
                                    })
                                    .collect();
                                format!(
                                    "{count} {}{}{colon} {}{}",
                                    pick("trou", "hole"),
                                    plural(count),
                                    shown.join(", "),
                                    if count > 3 { ", ..." } else { "" }
                                )
                            }
                        };
                        match language {
                            Language::French => format!(
                                "{} jour{} du {first} au {last}, {holes}",
                                held.days,
                                plural(held.days)
                            ),
                            Language::English => format!(
                                "{} day{} from {first} to {last}, {holes}",
                                held.days,
                                plural(held.days)
                            ),
                        }
                    }
                };
                let unreadable = if held.unreadable > 0 {
                    match language {
                        Language::French => format!(
                            " ({} fichier(s) illisible(s) : récupérés de nouveau par la prochaine synchronisation)",
                            held.unreadable
                        ),
                        Language::English => format!(
                            " ({} unreadable file(s): fetched again by the next sync)",
                            held.unreadable
                        ),
                    }
                } else {
                    String::new()
                };
                let kind = match (language, held.kind) {
                    (Language::French, "consumption") => "consommation",
                    (Language::French, "peaks") => "pointes",
                    (_, kind) => kind,
                };
                lines.push(format!("  {kind:<12} {what}{unreadable}"));
            }
        }
        lines.push(match &self.last_run {
            Some(run) => match language {
                Language::French => format!(
                    "dernière exécution : {} ({}, {} lignes de jours écrites, {} erreur{}) ; prochaine : {}",
                    run.at.format("%Y-%m-%d %H:%M"),
                    run.outcome,
                    run.days_written,
                    run.errors,
                    plural(run.errors),
                    run.next_run.format("%Y-%m-%d %H:%M")
                ),
                Language::English => format!(
                    "last run: {} ({}, {} day rows written, {} error{}); next run: {}",
                    run.at.format("%Y-%m-%d %H:%M"),
                    run.outcome,
                    run.days_written,
                    run.errors,
                    plural(run.errors),
                    run.next_run.format("%Y-%m-%d %H:%M")
                ),
            },
            None => pick(
                "dernière exécution : aucune enregistrée",
                "last run: none recorded",
            )
            .to_owned(),
        });
        if let Some(success) = self.last_success {
            lines.push(format!(
                "{}{colon} {}",
                pick("dernier succès", "last success"),
                success.format("%Y-%m-%d %H:%M")
            ));
        }
        let consent = pick("consentement", "consent");
        lines.push(match (&self.tokens, &self.tokens_error) {
            (_, Some(error)) => format!(
                "{consent}{colon} {}{colon} {error}",
                pick(
                    "le fichier des jetons est illisible",
                    "the token file cannot be read"
                )
            ),
            (None, None) => format!(
                "{consent}{colon} {}",
                pick(
                    "aucun jeton gardé (un jeton du proxy dans la configuration, ou aucun encore donné)",
                    "no tokens kept (a proxy token from the configuration, or none given yet)"
                )
            ),
            (Some((expires, refresh, points)), None) => format!(
                "{consent}{colon} {} {points} {}{}; {} {} {}, {}",
                pick("donné pour", "given for"),
                pick("point de livraison", "usage point"),
                plural(*points),
                pick("jeton d'accès", "access token"),
                if *expires > now {
                    pick("valable jusqu'au", "valid until")
                } else {
                    pick("expiré le", "expired at")
                },
                expires.format("%Y-%m-%d %H:%M UTC"),
                if *refresh {
                    pick(
                        "un jeton de renouvellement gardé (renouvelé sans redemander)",
                        "a refresh token kept (renewed without asking)",
                    )
                } else {
                    pick(
                        "pas de jeton de renouvellement (le consentement est redemandé à l'expiration)",
                        "no refresh token (the consent is asked again when it expires)",
                    )
                }
            ),
        });
        lines.extend(self.outputs.iter().map(|line| {
            match language {
                Language::French => line
                    .replacen("output: printed", "sortie : à l'écran", 1)
                    .replacen("output: ", "sortie : ", 1)
                    .replacen(" at http", " à http", 1),
                Language::English => line.clone(),
            }
        }));
        lines.join("\n")
    }

    /// As JSON (`--json`).
    pub fn json(&self, now: chrono::DateTime<chrono::Utc>) -> Value {
        let usage_points: Vec<Value> = self
            .usage_points
            .iter()
            .map(|(pdl, held)| {
                let flows: serde_json::Map<String, Value> = held
                    .iter()
                    .map(|held| {
                        (
                            held.kind.to_owned(),
                            json!({
                                "days": held.days,
                                "first": held.span.map(|(first, _)| first.to_string()),
                                "last": held.span.map(|(_, last)| last.to_string()),
                                "holes": held.holes.iter().map(|(from, to)| json!([from.to_string(), to.to_string()])).collect::<Vec<_>>(),
                                "none_for_good": held.none_for_good,
                                "unreadable_files": held.unreadable,
                            }),
                        )
                    })
                    .collect();
                json!({"usage_point": pdl, "held": flows})
            })
            .collect();
        json!({
            "state": self.folder,
            "usage_points": usage_points,
            "last_run": self.last_run.as_ref().map(LastRun::to_json),
            "last_success": self.last_success.map(|at| at.to_string()),
            "consent": self.tokens.map(|(expires, refresh, points)| json!({
                "access_token_expires": expires.to_rfc3339(),
                "access_token_valid": expires > now,
                "refresh_token_kept": refresh,
                "usage_points": points,
            })),
            "consent_error": self.tokens_error,
            "outputs": self.outputs,
        })
    }
}
