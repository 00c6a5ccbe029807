//! Where each backend serves each measurement, and how it wants to be authenticated.

use chrono::NaiveDate;
use linky_core::{Flow, Measurement};

use crate::secret::{ApiToken, ClientSecret};

/// A backend and its settings. Base URLs are
/// settings, so tests point them at a local server.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Backend {
    /// The DomoticzLinky device-flow proxy: v5 paths under `/data/proxy`, tokens from its
    /// device flow (see [`crate::DeviceFlow`]), kept in the client's token store.
    Proxy {
        /// e.g. `https://enedis.domoticz.russandol.pro`.
        base_url: String,
        /// The proxy's client id.
        client_id: String,
    },
    /// Enedis Data Connect 2026 with the user's own application (client credentials).
    DataConnect2026 {
        /// The API gateway's base URL.
        base_url: String,
        /// The application's client id.
        client_id: String,
        /// The application's client secret.
        client_secret: ClientSecret,
        /// The usage points the application may read.
        usage_points: Vec<String>,
    },
    /// Enedis Data Connect v5 (legacy), with the user's own application.
    DataConnectV5 {
        /// The API gateway's base URL.
        base_url: String,
        /// The application's client id.
        client_id: String,
        /// The application's client secret.
        client_secret: ClientSecret,
        /// The usage points the application may read.
        usage_points: Vec<String>,
    },
    /// The Conso API (conso.boris.sh): a personal bearer token, unwrapped v5 bodies.
    ConsoApi {
        /// e.g. `https://conso.boris.sh`.
        base_url: String,
        /// The personal token.
        token: ApiToken,
        /// The usage points the token covers.
        usage_points: Vec<String>,
    },
    /// MyElectricalData v1: a raw `Authorization` token, its own URL scheme, 50 calls a day.
    MyElectricalData {
        /// e.g. `https://www.myelectricaldata.fr`.
        base_url: String,
        /// The personal token.
        token: ApiToken,
        /// The usage points the token covers.
        usage_points: Vec<String>,
        /// Whether to ask for the gateway's cached answers (`/cache/`).
        use_cache: bool,
    },
}

impl Backend {
    /// A short name for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Proxy { .. } => "proxy",
            Backend::DataConnect2026 { .. } => "data connect 2026",
            Backend::DataConnectV5 { .. } => "data connect v5",
            Backend::ConsoApi { .. } => "conso api",
            Backend::MyElectricalData { .. } => "myelectricaldata",
        }
    }

    pub(crate) fn base_url(&self) -> &str {
        let base = match self {
            Backend::Proxy { base_url, .. }
            | Backend::DataConnect2026 { base_url, .. }
            | Backend::DataConnectV5 { base_url, .. }
            | Backend::ConsoApi { base_url, .. }
            | Backend::MyElectricalData { base_url, .. } => base_url,
        };
        base.trim_end_matches('/')
    }

    /// The path (and query) of a measurement for a usage point over `[start, end)`.
    pub(crate) fn data_path(
        &self,
        measurement: Measurement,
        usage_point: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> String {
        match self {
            Backend::Proxy { .. } => format!(
                "/data/proxy/{}?start={start}&end={end}&usage_point_id={usage_point}",
                v5_path(measurement)
            ),
            Backend::DataConnectV5 { .. } => format!(
                "/{}?usage_point_id={usage_point}&start={start}&end={end}",
                v5_path(measurement)
            ),
            Backend::DataConnect2026 { .. } => {
                let extra = if measurement == Measurement::DailyMaxPower {
                    "&mesuresPas=P1D&grandeurPhysique=PMA"
                } else {
                    ""
                };
                format!(
                    "/mesure_synchrone_auto/v2/{}?pointId={usage_point}&dateDebut={start}&dateFin={end}{extra}",
                    name_2026(measurement)
                )
            }
            Backend::ConsoApi { .. } => format!(
                "/api/{}?prm={usage_point}&start={start}&end={end}",
                conso_api_name(measurement)
            ),
            Backend::MyElectricalData { use_cache, .. } => format!(
                "/{}/{usage_point}/start/{start}/end/{end}/{}",
                med_name(measurement),
                if *use_cache { "cache/" } else { "" }
            ),
        }
    }

    /// The path of a usage point's contract (where its off-peak hours are), when the
    /// backend serves one: v5 `customers_upc` (the proxy forwards v5 paths; MyElectricalData
    /// passes the v5 body through), Data Connect 2026 `comptage_auto/v1/{prm}`. The Conso
    /// API documents no contract endpoint.
    pub(crate) fn contract_path(&self, usage_point: &str) -> Option<String> {
        const V5: &str = "customers_upc/v5/usage_points/contracts";
        match self {
            Backend::Proxy { .. } => Some(format!("/data/proxy/{V5}?usage_point_id={usage_point}")),
            Backend::DataConnectV5 { .. } => Some(format!("/{V5}?usage_point_id={usage_point}")),
            Backend::DataConnect2026 { .. } => Some(format!("/comptage_auto/v1/{usage_point}")),
            Backend::MyElectricalData { use_cache, .. } => Some(format!(
                "/contracts/{usage_point}/{}",
                if *use_cache { "cache/" } else { "" }
            )),
            Backend::ConsoApi { .. } => None,
        }
    }

    /// The usage points the configuration names (the proxy's come from the consent).
    pub(crate) fn configured_usage_points(&self) -> &[String] {
        match self {
            Backend::Proxy { .. } => &[],
            Backend::DataConnect2026 { usage_points, .. }
            | Backend::DataConnectV5 { usage_points, .. }
            | Backend::ConsoApi { usage_points, .. }
            | Backend::MyElectricalData { usage_points, .. } => usage_points,
        }
    }
}

/// Enedis v5 paths.
pub fn v5_path(measurement: Measurement) -> &'static str {
    match measurement {
        Measurement::LoadCurve(Flow::Consumption) => "metering_data_clc/v5/consumption_load_curve",
        Measurement::LoadCurve(Flow::Production) => "metering_data_plc/v5/production_load_curve",
        Measurement::DailyEnergy(Flow::Consumption) => "metering_data_dc/v5/daily_consumption",
        Measurement::DailyEnergy(Flow::Production) => "metering_data_dp/v5/daily_production",
        Measurement::DailyMaxPower => "metering_data_dcmp/v5/daily_consumption_max_power",
    }
}

fn name_2026(measurement: Measurement) -> &'static str {
    match measurement {
        Measurement::LoadCurve(Flow::Consumption) => "courbe_de_charge_consommation",
        Measurement::LoadCurve(Flow::Production) => "courbe_de_charge_production",
        Measurement::DailyEnergy(Flow::Consumption) => "consommation_quotidienne",
        Measurement::DailyEnergy(Flow::Production) => "production_quotidienne",
        Measurement::DailyMaxPower => "puissance_conso_max_quotidienne",
    }
}

fn conso_api_name(measurement: Measurement) -> &'static str {
    match measurement {
        Measurement::LoadCurve(Flow::Consumption) => "consumption_load_curve",
        Measurement::LoadCurve(Flow::Production) => "production_load_curve",
        Measurement::DailyEnergy(Flow::Consumption) => "daily_consumption",
        Measurement::DailyEnergy(Flow::Production) => "daily_production",
        Measurement::DailyMaxPower => "consumption_max_power",
    }
}

fn med_name(measurement: Measurement) -> &'static str {
    match measurement {
        Measurement::LoadCurve(Flow::Consumption) => "consumption_load_curve",
        Measurement::LoadCurve(Flow::Production) => "production_load_curve",
        Measurement::DailyEnergy(Flow::Consumption) => "daily_consumption",
        Measurement::DailyEnergy(Flow::Production) => "daily_production",
        Measurement::DailyMaxPower => "daily_consumption_max_power",
    }
}
