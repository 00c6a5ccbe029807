//! Merged devices: a consumption-only PDL `C` and a production-only PDL `P` also make a
//! device `C / P`.

use super::dashboard::period_bounds;
use super::rows::{DeviceData, MeterEnergies, RunSettings};
use super::settings::Period;
use crate::{DeviceId, Flow};

/// A device's energies over the current year (after 1 January of yesterday's year).
pub fn year_totals(data: &DeviceData, settings: &RunSettings) -> MeterEnergies {
    let (after, _) = period_bounds(Period::Year, settings.today);
    data.hours()
        .into_iter()
        .filter(|hour| after.is_none_or(|after| hour.end > after))
        .fold(MeterEnergies::default(), |total, hour| {
            total + hour.energies
        })
}

/// The merged devices of `devices`: for every PDL with consumption but no production this
/// year and every PDL with production but no consumption this year, a device `C / P` with
/// `C`'s consumption (split by `C`'s schedule) and peaks, and `P`'s production (split by
/// `P`'s schedule). Every hour of either is kept: a day of production without consumption
/// is not dropped.
pub fn merged_devices(devices: &[DeviceData], settings: &RunSettings) -> Vec<DeviceData> {
    merged_pairs(devices, settings)
        .into_iter()
        .map(|(consumer, producer)| merge_device(&devices[consumer], &devices[producer]))
        .collect()
}

/// The pairs `(consumer, producer)` of indexes in `devices` that make the merged devices
/// of [`merged_devices`], in its order.
pub fn merged_pairs(devices: &[DeviceData], settings: &RunSettings) -> Vec<(usize, usize)> {
    let totals: Vec<MeterEnergies> = devices.iter().map(|d| year_totals(d, settings)).collect();
    let is_zero = |pair: [crate::Energy; 2]| pair.iter().all(|e| e.is_zero());
    let consumption_only = |t: &MeterEnergies| !is_zero(t.consumption) && is_zero(t.production);
    let production_only = |t: &MeterEnergies| is_zero(t.consumption) && !is_zero(t.production);
    let mut pairs = Vec::new();
    for (consumer, consumer_totals) in totals.iter().enumerate() {
        if !consumption_only(consumer_totals) {
            continue;
        }
        for (producer, producer_totals) in totals.iter().enumerate() {
            if production_only(producer_totals) {
                pairs.push((consumer, producer));
            }
        }
    }
    pairs
}

/// The device `C / P`: `consumer`'s consumption and peaks, `producer`'s production.
pub fn merge_device(consumer: &DeviceData, producer: &DeviceData) -> DeviceData {
    DeviceData {
        device: DeviceId::merged(
            consumer.device.usage_point(Flow::Consumption).clone(),
            producer.device.usage_point(Flow::Production).clone(),
        ),
        consumption: consumer.consumption.clone(),
        production: producer.production.clone(),
        peaks: consumer.peaks.clone(),
        two_tariffs: consumer.two_tariffs || producer.two_tariffs,
    }
}
