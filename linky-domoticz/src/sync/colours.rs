//! Day colours: learned into the state, today's and tomorrow's told to the sink, a
//! refresh of the colours alone.

use std::collections::BTreeSet;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use linky_core::{ColourSource, PARIS, shift_days};

use crate::state::SyncMeta;

use super::*;

impl<'a> SyncRun<'a> {
    /// Asks `source` for the colours of `[from, to)` not known for good yet (unknown, or
    /// learned before they were final), keeps them (saved at once) with whether they are
    /// final at `now`, tells which are still unknown, and returns how many were learned or
    /// changed.
    pub(super) async fn learn_colours(
        &self,
        source: &dyn ColourSource,
        meta: &mut SyncMeta,
        (from, to): (NaiveDate, NaiveDate),
        now: NaiveDateTime,
        (errors, notes): (&mut Vec<SyncError>, &mut Vec<SyncError>),
    ) -> usize {
        let mut asked: BTreeSet<NaiveDate> = meta.colours.missing(from, to).into_iter().collect();
        asked.extend(meta.provisional_colours.range(from..to));
        let (Some(first), Some(last)) = (asked.first(), asked.last()) else {
            return 0;
        };
        let cancel = self.cancel.clone();
        let answer = tokio::select! {
            answer = source.colours(*first, shift_days(*last, 1)) => answer,
            () = cancel.cancelled() => return 0,
        };
        let mut learned = 0;
        match answer {
            Ok(found) => {
                for (date, colour) in found.days() {
                    if meta.colours.colour(date) != Some(colour) {
                        learned += 1;
                    }
                    meta.colours.set(date, colour);
                    // Before it is final, or given in a degraded mode: asked again.
                    if now < linky_core::colour_final_at(date) || found.is_degraded(date) {
                        meta.provisional_colours.insert(date);
                    } else {
                        meta.provisional_colours.remove(&date);
                    }
                }
                if let Err(error) = self.state.save_meta(meta) {
                    errors.push(SyncError::State(error));
                }
            }
            Err(error) => notes.push(SyncError::Colours {
                publisher: source.name().to_owned(),
                cause: error,
            }),
        }
        self.say(SyncEvent::Colours {
            learned,
            unknown: meta.colours.missing(from, to),
        });
        learned
    }

    /// Gives the sink today's and tomorrow's colours as the calendar knows them (unknown
    /// ones as unknown: a colour is never guessed), and returns them.
    pub(super) async fn write_forecast(
        &self,
        colours: &linky_core::ColourCalendar,
        today: NaiveDate,
        errors: &mut Vec<SyncError>,
    ) -> crate::ColourForecast {
        let forecast = forecast_of(colours, today);
        if let Err(error) = self.sink.write_colour_forecast(&forecast).await {
            errors.push(SyncError::Sink(error));
        }
        forecast
    }

    /// Asks the colour source for today's and tomorrow's colours when they are not known
    /// for good, keeps them and gives them to the sink: what a daemon does at
    /// [`SyncReport::next_colour_check`] (tomorrow's colour is published around 11:00,
    /// after the morning's run), without asking the readings' source anything. Calling
    /// hours do not apply (they are the readings' source's). Without a colour source, it
    /// only gives the sink what the state holds.
    pub async fn refresh_colours(self) -> ColourRefresh {
        let now = self.clock.local_now(PARIS);
        let today = now.date();
        let spread_minutes = self.spread_minutes.unwrap_or(self.drawn(now) % 60);
        let mut errors = Vec::new();
        let mut notes = Vec::new();
        let mut meta = match self.state.load_meta() {
            Ok(meta) => meta,
            Err(error) => {
                // Nothing is saved over a state that does not read, nor written to the
                // sink: the next run deals with it.
                return ColourRefresh {
                    forecast: forecast_of(
                        &linky_core::ColourCalendar::new(),
                        linky_core::colour_day(now),
                    ),
                    learned: 0,
                    errors: vec![SyncError::State(error)],
                    notes,
                    next_check: None,
                };
            }
        };
        let mut learned = 0;
        if let Some(source) = self.colour_source
            && !self.cancel.is_cancelled()
        {
            learned = self
                .learn_colours(
                    source,
                    &mut meta,
                    (linky_core::colour_day(now), shift_days(today, 2)),
                    now,
                    (&mut errors, &mut notes),
                )
                .await;
        }
        let forecast = self
            .write_forecast(&meta.colours, linky_core::colour_day(now), &mut errors)
            .await;
        ColourRefresh {
            forecast,
            learned,
            errors,
            notes,
            next_check: self
                .colour_source
                .and_then(|_| next_colour_check(now, &meta, spread_minutes)),
        }
    }
}

/// Today's and tomorrow's colours and the season's counts, as `colours` holds them;
/// `today` is the colour day running (see [`linky_core::colour_day`]).
pub(super) fn forecast_of(
    colours: &linky_core::ColourCalendar,
    today: NaiveDate,
) -> crate::ColourForecast {
    crate::ColourForecast {
        today,
        today_colour: colours.colour(today),
        tomorrow_colour: today
            .succ_opt()
            .and_then(|tomorrow| colours.colour(tomorrow)),
        season_used: colours.season_counts(today),
        season_unknown: u32::try_from(colours.season_missing(today)).unwrap_or(u32::MAX),
        calendar: colours.clone(),
    }
}

/// When to refresh the colours next: when the next colour day starts (06:00, plus the
/// spread minute up to 4, so that "today" moves on when the tariff does), and before that,
/// while tomorrow's colour is not known for good, when it becomes final (11:30, plus the
/// spread minute up to half an hour), then every hour until 20:00 (a late publication).
pub(super) fn next_colour_check(
    now: NaiveDateTime,
    meta: &SyncMeta,
    spread_minutes: u32,
) -> Option<NaiveDateTime> {
    let day_start = now.date().and_hms_opt(6, spread_minutes % 5, 0)?;
    let next_day_start = if now < day_start {
        day_start
    } else {
        day_start.checked_add_signed(Duration::days(1))?
    };
    let tomorrow = now.date().succ_opt()?;
    let settled =
        meta.colours.colour(tomorrow).is_some() && !meta.provisional_colours.contains(&tomorrow);
    let final_at = linky_core::colour_final_at(tomorrow);
    let ask = if settled {
        None
    } else if now < final_at {
        final_at.checked_add_signed(Duration::minutes(i64::from(spread_minutes % 30)))
    } else {
        let next = now.checked_add_signed(Duration::hours(1))?;
        let evening = now.date().and_hms_opt(20, 0, 0)?;
        (next <= evening).then_some(next)
    };
    Some(ask.map_or(next_day_start, |ask| ask.min(next_day_start)))
}
