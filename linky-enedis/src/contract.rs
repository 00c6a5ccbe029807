//! Contract data: what prefills the off-peak schedule and bounds the history.
//!
//! Enedis v5's `customers_upc/v5/usage_points/contracts` body and Data Connect 2026's
//! `situation_contrat_auto/v1` (a list) and `synth_contrat_auto/v1` (the activation date).

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::Value;

use crate::Error;
use crate::wire::parse_local_date;

/// What a contract says about one usage point. Every field is optional: gateways and API
/// versions leave different ones out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Contract {
    /// The usage point, as written (may be anonymised).
    pub usage_point: Option<String>,
    /// The subscribed power in kVA (`"6 kVA"`, or `{unit: "kVA", value: "12"}`).
    pub subscribed_power_kva: Option<u32>,
    /// Enedis' off-peak hours as written, e.g. `"HC (22H00-6H00)"`.
    pub offpeak_hours: Option<String>,
    /// The distribution tariff code or label (`BTINFCUST`, `BTINFMUDT`...).
    pub distribution_tariff: Option<String>,
    /// The customer segment (`C5` for households).
    pub segment: Option<String>,
    /// The meter's last activation date: nothing can be asked before it.
    pub last_activation_date: Option<NaiveDate>,
    /// The last change of the distribution tariff (v5
    /// `last_distribution_tariff_change_date`): since when the off-peak hours hold, as far
    /// as the contract tells.
    pub last_tariff_change: Option<NaiveDate>,
}

#[derive(Deserialize)]
struct V5Contracts {
    customer: V5Customer,
}

#[derive(Deserialize)]
struct V5Customer {
    #[serde(default)]
    usage_points: Vec<V5UsagePointEntry>,
}

#[derive(Deserialize)]
struct V5UsagePointEntry {
    usage_point: Option<V5UsagePoint>,
    contracts: Option<V5ContractFields>,
}

#[derive(Deserialize)]
struct V5UsagePoint {
    usage_point_id: Option<Value>,
}

#[derive(Deserialize)]
struct V5ContractFields {
    subscribed_power: Option<Value>,
    offpeak_hours: Option<String>,
    distribution_tariff: Option<String>,
    segment: Option<String>,
    last_activation_date: Option<String>,
    last_distribution_tariff_change_date: Option<String>,
}

#[derive(Deserialize)]
struct Contract2026 {
    usage_point_id: Option<Value>,
    subscribed_power: Option<Value>,
    distribution_tariff: Option<String>,
    segment: Option<String>,
}

#[derive(Deserialize)]
struct Metering2026 {
    relais: Option<Relay2026>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Relay2026 {
    plage_heures_creuses: Option<String>,
}

#[derive(Deserialize)]
struct Summary2026 {
    consumption_last_activation_date: Option<String>,
}

/// Parses a contracts body: v5 (`{"customer": {"usage_points": [...]}}`), 2026
/// (`[{usage_point_id, subscribed_power, ...}]`), the 2026 summary (activation date
/// only) or the 2026 metering data (`comptage_auto/v1`: `relais.plageHeuresCreuses`, the
/// off-peak hours only).
///
/// ```
/// let body = br#"{"customer":{"usage_points":[{"usage_point":{"usage_point_id":"20000000000000"},
///   "contracts":{"subscribed_power":"6 kVA","offpeak_hours":"HC (0H54-6H54;11H54-13H54)",
///   "last_activation_date":"2000-02-17+01:00"}}]}}"#;
/// let contracts = linky_enedis::parse_contracts(body).unwrap();
/// assert_eq!(contracts[0].subscribed_power_kva, Some(6));
/// assert_eq!(contracts[0].offpeak_hours.as_deref(), Some("HC (0H54-6H54;11H54-13H54)"));
/// ```
///
/// # Errors
///
/// [`Error::Malformed`] for a body of none of these shapes.
pub fn parse_contracts(body: &[u8]) -> Result<Vec<Contract>, Error> {
    let malformed = |format: &'static str| {
        move |error: serde_json::Error| Error::Malformed {
            format,
            detail: error.to_string(),
        }
    };
    let value: Value = serde_json::from_slice(body).map_err(malformed("json"))?;
    if value.get("customer").is_some() {
        let parsed: V5Contracts =
            serde_json::from_value(value).map_err(malformed("enedis v5 contracts"))?;
        return Ok(parsed
            .customer
            .usage_points
            .into_iter()
            .map(|entry| {
                let fields = entry.contracts;
                let fields = fields.as_ref();
                Contract {
                    usage_point: entry
                        .usage_point
                        .and_then(|point| point.usage_point_id)
                        .as_ref()
                        .and_then(text_of),
                    subscribed_power_kva: fields
                        .and_then(|f| f.subscribed_power.as_ref())
                        .and_then(kva_of),
                    offpeak_hours: fields.and_then(|f| f.offpeak_hours.clone()),
                    distribution_tariff: fields.and_then(|f| f.distribution_tariff.clone()),
                    segment: fields.and_then(|f| f.segment.clone()),
                    last_activation_date: fields
                        .and_then(|f| f.last_activation_date.as_deref())
                        .and_then(parse_local_date),
                    last_tariff_change: fields
                        .and_then(|f| f.last_distribution_tariff_change_date.as_deref())
                        .and_then(parse_local_date),
                }
            })
            .collect());
    }
    if value.is_array() {
        let parsed: Vec<Contract2026> =
            serde_json::from_value(value).map_err(malformed("data connect 2026 contracts"))?;
        return Ok(parsed
            .into_iter()
            .map(|entry| Contract {
                usage_point: entry.usage_point_id.as_ref().and_then(text_of),
                subscribed_power_kva: entry.subscribed_power.as_ref().and_then(kva_of),
                distribution_tariff: entry.distribution_tariff,
                segment: entry.segment,
                ..Contract::default()
            })
            .collect());
    }
    if value.get("relais").is_some() {
        let parsed: Metering2026 =
            serde_json::from_value(value).map_err(malformed("data connect 2026 metering"))?;
        return Ok(vec![Contract {
            offpeak_hours: parsed.relais.and_then(|relay| relay.plage_heures_creuses),
            ..Contract::default()
        }]);
    }
    if value.get("consumption_last_activation_date").is_some() {
        let parsed: Summary2026 =
            serde_json::from_value(value).map_err(malformed("data connect 2026 summary"))?;
        return Ok(vec![Contract {
            last_activation_date: parsed
                .consumption_last_activation_date
                .as_deref()
                .and_then(parse_local_date),
            ..Contract::default()
        }]);
    }
    Err(Error::Malformed {
        format: "json",
        detail:
            "not a contracts body (customer, a list, relais, or consumption_last_activation_date)"
                .to_owned(),
    })
}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// `"6 kVA"`, `"9"` or `{"unit": "kVA", "value": "12"}` as whole kVA.
fn kva_of(value: &Value) -> Option<u32> {
    let text = match value {
        Value::Object(object) => {
            let unit = object.get("unit").and_then(Value::as_str).unwrap_or("kVA");
            if !unit.eq_ignore_ascii_case("kva") {
                return None;
            }
            text_of(object.get("value")?)?
        }
        other => text_of(other)?,
    };
    let lower = text.trim().to_ascii_lowercase();
    lower
        .strip_suffix("kva")
        .unwrap_or(&lower)
        .trim()
        .parse()
        .ok()
}
