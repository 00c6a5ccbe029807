//! Writing: each device's rows, Tempo and costs beside them, through the sink.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use linky_core::{DeviceData, DeviceRows, RunSettings, device_rows};

use crate::{Sink, SinkError};

use super::*;

impl<'a> SyncRun<'a> {
    /// Writes every device's rows, stopping at a sink that is down or refuses us, or at a
    /// cancellation.
    pub(super) async fn write_all(
        &self,
        devices: &[DeviceData],
        run: &RunSettings,
        colours: Option<&linky_core::ColourCalendar>,
        report: &mut SyncReport,
    ) {
        for (data, device_report) in devices.iter().zip(report.devices.iter_mut()) {
            if self.cancel.is_cancelled() {
                break;
            }
            let rows = device_rows(data, run);
            self.say(SyncEvent::Writing {
                device: rows.device.clone(),
                days: rows.days.len(),
                hours: rows.hours.len(),
            });
            let extra = extra_rows(
                data,
                &rows,
                colours,
                self.settings.costs.as_ref(),
                self.sink.keeps_all_hours(),
            );
            let written = write_rows(self.sink, &rows, &extra, device_report).await;
            let stop = match written {
                Ok(()) => false,
                Err(error) => {
                    // The sink is down or refuses us: the others would fail the same way.
                    let stop = error.is_retryable()
                        || matches!(
                            error,
                            SinkError::Unauthorized { .. } | SinkError::Config { .. }
                        );
                    if stop {
                        report.errors.push(SyncError::StoppedWriting(error.clone()));
                    }
                    device_report.errors.push(SyncError::Sink(error));
                    stop
                }
            };
            self.say(SyncEvent::DeviceDone {
                report: Box::new(device_report.clone()),
            });
            if stop {
                break;
            }
        }
    }
}

/// A meter's Tempo and cost rows, for the days of its day rows (a merged device has none:
/// they would repeat its consumer's), and for a sink that keeps all hours the same by hour;
/// what the device shows.
#[derive(Debug)]
pub(super) struct ExtraRows {
    info: crate::DeviceInfo,
    colours: Vec<crate::ColourDayRow>,
    costs: Vec<crate::CostDayRow>,
    colour_hours: Vec<crate::ColourHourRow>,
    cost_hours: Vec<crate::CostHourRow>,
}

pub(super) fn extra_rows(
    data: &DeviceData,
    rows: &DeviceRows,
    colours: Option<&linky_core::ColourCalendar>,
    costs: Option<&(linky_core::Offer, u32)>,
    all_hours: bool,
) -> ExtraRows {
    use linky_core::{Energy, OfferKind};
    let mut extra = ExtraRows {
        info: crate::DeviceInfo::new(
            data.two_tariffs,
            data.has_consumption(),
            data.has_production(),
        ),
        colours: Vec::new(),
        costs: Vec::new(),
        colour_hours: Vec::new(),
        cost_hours: Vec::new(),
    };
    // A merged device shows its consumer's consumption: the consumer's own device has its
    // Tempo counters and costs already.
    if data.device.is_merged() {
        return extra;
    }
    let Some(consumption) = &data.consumption else {
        return extra;
    };
    extra.info.tempo = colours.is_some();
    if let Some((offer, _)) = costs {
        let classes = match offer.kind {
            OfferKind::Tempo => crate::CostClasses::Tempo,
            _ => crate::CostClasses::PeakOffPeak,
        };
        extra.info.costs = Some((offer.name.clone(), classes));
    }
    if all_hours {
        hourly_extra_rows(&mut extra, consumption, rows, colours, costs);
    }
    let wanted: BTreeSet<NaiveDate> = rows.days.iter().map(|d| d.date).collect();
    let tempo_days: Vec<linky_core::SplitDay<6>> = colours
        .map(|calendar| {
            linky_core::recolour(consumption, calendar)
                .split
                .days()
                .into_iter()
                .filter(|d| wanted.contains(&d.date))
                .collect()
        })
        .unwrap_or_default();
    extra.colours = tempo_days
        .iter()
        .map(|day| crate::ColourDayRow {
            date: day.date,
            energies: day.energy,
        })
        .collect();
    if let Some((offer, kva)) = costs {
        for day in &rows.days {
            let energies: Option<Vec<Energy>> = match offer.kind {
                OfferKind::Base => Some(vec![day.totals.consumption.iter().copied().sum()]),
                OfferKind::PeakOffPeak => Some(day.totals.consumption.to_vec()),
                OfferKind::Tempo => tempo_days
                    .iter()
                    .find(|t| t.date == day.date)
                    .map(|t| t.energy.to_vec()),
                // A kind this sync cannot cost yet (EJP, Zen Flex): no cost row.
                _ => None,
            };
            if let Some(cost) =
                energies.and_then(|energies| offer.day_cost(day.date, *kva, &energies))
            {
                extra.costs.push(crate::CostDayRow {
                    date: day.date,
                    cost: cost.total(),
                    offer: offer.name.clone(),
                });
            }
        }
    }
    extra
}

/// The Tempo and cost rows of the hours of `rows` (see [`crate::ColourHourRow`] and
/// [`crate::CostHourRow`]): the same energies and prices as the day rows, hour by hour.
pub(super) fn hourly_extra_rows(
    extra: &mut ExtraRows,
    consumption: &linky_core::SplitCurve<2>,
    rows: &DeviceRows,
    colours: Option<&linky_core::ColourCalendar>,
    costs: Option<&(linky_core::Offer, u32)>,
) {
    use linky_core::{Money, OfferKind};
    let wanted: BTreeSet<DateTime<Utc>> = rows.hours.iter().map(|hour| hour.end_utc).collect();
    if let Some(calendar) = colours {
        let tempo = linky_core::recolour(consumption, calendar).split;
        let time_zone = tempo.time_zone();
        extra.colour_hours = tempo
            .hours()
            .into_iter()
            .filter_map(|hour| {
                let end = hour.end(time_zone);
                let end_utc = end.with_timezone(&Utc);
                wanted.contains(&end_utc).then(|| crate::ColourHourRow {
                    end_utc,
                    end: end.naive_local(),
                    energies: hour.energy,
                })
            })
            .collect();
    }
    let Some((offer, kva)) = costs else {
        return;
    };
    // Each hour's classes at its day's prices; the subscription in each day's first hour.
    let day_of = |end: NaiveDateTime| (end - Duration::minutes(1)).date();
    let hours: Vec<(DateTime<Utc>, NaiveDateTime, Vec<linky_core::Energy>)> = match offer.kind {
        OfferKind::Tempo => extra
            .colour_hours
            .iter()
            .map(|hour| (hour.end_utc, hour.end, hour.energies.to_vec()))
            .collect(),
        _ => rows
            .hours
            .iter()
            .map(|hour| (hour.end_utc, hour.end, hour.energies.consumption.to_vec()))
            .collect(),
    };
    let mut last_day = None;
    for (end_utc, end, energies) in hours {
        let date = day_of(end);
        let Some(period) = offer.period_on(date, *kva) else {
            continue;
        };
        let classes: Vec<Money> = energies
            .iter()
            .enumerate()
            .map(|(class, energy)| {
                // Base has one price for every class.
                let price = period.prices.get(class).or(period.prices.first());
                price.map_or(Money::ZERO, |price| price.cost(*energy))
            })
            .collect();
        let subscription = if last_day == Some(date) {
            Money::ZERO
        } else {
            period.subscription.on(date)
        };
        last_day = Some(date);
        extra.cost_hours.push(crate::CostHourRow {
            end_utc,
            end,
            classes,
            subscription,
        });
    }
}

pub(super) async fn write_rows(
    sink: &dyn Sink,
    rows: &DeviceRows,
    extra: &ExtraRows,
    report: &mut DeviceReport,
) -> Result<(), SinkError> {
    if rows.days.is_empty() && rows.hours.is_empty() && rows.dashboard.is_none() {
        return Ok(());
    }
    let device = sink.ensure_device(&rows.device).await?;
    sink.describe_device(&device, &extra.info).await?;
    // A write the sink took in part does not stop the device's other writes: the first
    // such error is returned once they are done.
    let mut partly: Option<SinkError> = None;
    let mut go_on = |written: Result<(), SinkError>| -> Result<bool, SinkError> {
        match written {
            Ok(()) => Ok(true),
            Err(error @ SinkError::PartlyWritten { .. }) => {
                partly.get_or_insert(error);
                Ok(false)
            }
            Err(error) => Err(error),
        }
    };
    if go_on(sink.write_hours(&device, &rows.hours).await)? {
        report.hours_written = rows.hours.len();
    }
    if go_on(sink.write_days(&device, &rows.days).await)? {
        report.days_written = rows.days.len();
    }
    if !extra.colours.is_empty() {
        go_on(sink.write_colour_days(&device, &extra.colours).await)?;
    }
    if !extra.costs.is_empty() {
        go_on(sink.write_cost_days(&device, &extra.costs).await)?;
    }
    if !extra.colour_hours.is_empty() {
        go_on(sink.write_colour_hours(&device, &extra.colour_hours).await)?;
    }
    if !extra.cost_hours.is_empty() {
        go_on(sink.write_cost_hours(&device, &extra.cost_hours).await)?;
    }
    if let Some(dashboard) = &rows.dashboard {
        report.dashboard_written = go_on(sink.write_dashboard(&device, dashboard).await)?;
    }
    let mismatches = sink.verify_days(&device, &rows.days).await?;
    if !mismatches.is_empty() {
        report.errors.push(SyncError::NotStored {
            dates: mismatches.iter().map(|m| m.date).collect(),
        });
    }
    match partly {
        Some(error) => Err(error),
        None => Ok(()),
    }
}
