//! The one trait every backend implements.

use async_trait::async_trait;
use chrono::NaiveDate;
use linky_core::{Flow, Measurement, UsagePointId};

#[cfg(feature = "client")]
use super::{Client, Observer};
use crate::wire::{
    DailyEnergy, DailyMaxPower, DailySeries, LoadCurvePayload, UsagePointCheck, parse_daily_energy,
    parse_daily_max_power, parse_load_curve,
};
use crate::{Error, ErrorCategory};

/// A fetched result: data, or Enedis' word that there is none there (before activation,
/// wrong direction, not collected). "No data" is a result to remember, not a failure.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Fetched<T> {
    /// The data.
    Data(T),
    /// No data there.
    NoData {
        /// Whether it will never change (`ADAM-ERR0069`: the meter has no such direction).
        permanent: bool,
        /// Enedis' code, as sent.
        code: Option<String>,
    },
}

impl<T> Fetched<T> {
    /// The data, if any.
    pub fn data(self) -> Option<T> {
        match self {
            Fetched::Data(data) => Some(data),
            Fetched::NoData { .. } => None,
        }
    }

    /// The data as `data` makes it, or the sync's "no data".
    fn into_source(self, data: impl FnOnce(T) -> linky_core::SourceData) -> linky_core::SourceData {
        match self {
            Fetched::Data(value) => data(value),
            Fetched::NoData { permanent, .. } => linky_core::SourceData::NoData { permanent },
        }
    }
}

/// Where Linky data comes from: any backend, the same readings and the same errors.
#[async_trait]
pub trait MeterSource: Send + Sync {
    /// The usage points this source may read.
    ///
    /// # Errors
    ///
    /// [`Error::NoConsent`] when no consent lists them yet.
    async fn usage_points(&self) -> Result<Vec<UsagePointId>, Error>;

    /// The load curve of `flow` over the local days `[start, end)` (at most 7 days).
    ///
    /// # Errors
    ///
    /// Any [`Error`]; its [`Error::category`] says whether to retry, refresh or stop.
    async fn load_curve(
        &self,
        usage_point: &UsagePointId,
        flow: Flow,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Fetched<LoadCurvePayload>, Error>;

    /// Daily energies of `flow` over `[start, end)`.
    ///
    /// # Errors
    ///
    /// As [`MeterSource::load_curve`].
    async fn daily_energy(
        &self,
        usage_point: &UsagePointId,
        flow: Flow,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Fetched<DailySeries<DailyEnergy>>, Error>;

    /// Daily maximum power over `[start, end)`.
    ///
    /// # Errors
    ///
    /// As [`MeterSource::load_curve`].
    async fn daily_max_power(
        &self,
        usage_point: &UsagePointId,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Fetched<DailySeries<DailyMaxPower>>, Error>;
}

/// "No data" answers become results; everything else stays an error.
#[cfg(feature = "client")]
fn no_data_or<T>(result: Result<T, Error>) -> Result<Fetched<T>, Error> {
    match result {
        Ok(data) => Ok(Fetched::Data(data)),
        Err(Error::Api(api)) if api.category() == ErrorCategory::NoData => Ok(Fetched::NoData {
            permanent: api.is_permanent(),
            code: api.code().map(str::to_owned),
        }),
        Err(error) => Err(error),
    }
}

#[cfg(feature = "client")]
impl Client {
    /// Fetches `measurement` and parses it with `parse` (given the body and the usage
    /// point to check), turning "no data" answers into results.
    async fn fetch_parsed<T>(
        &self,
        measurement: Measurement,
        usage_point: &UsagePointId,
        (start, end): (NaiveDate, NaiveDate),
        parse: impl FnOnce(&[u8], UsagePointCheck<'_>) -> Result<T, Error>,
        observer: Option<&Observer<'_>>,
    ) -> Result<Fetched<T>, Error> {
        if start >= end {
            return Err(Error::Config {
                detail: format!("empty date range {start}..{end}: start must be before end"),
            });
        }
        let parsed = match self
            .fetch_body(measurement, usage_point.as_str(), (start, end), observer)
            .await
        {
            Ok(body) => parse(&body, UsagePointCheck::Expect(usage_point)),
            Err(error) => Err(error),
        };
        no_data_or(parsed)
    }
}

#[cfg(feature = "client")]
#[async_trait]
impl MeterSource for Client {
    async fn usage_points(&self) -> Result<Vec<UsagePointId>, Error> {
        let configured = self.backend().configured_usage_points();
        let listed: Vec<String> = if configured.is_empty() {
            match self.token_store().load()? {
                Some(tokens) if !tokens.usage_points.is_empty() => tokens.usage_points,
                _ => {
                    return Err(Error::NoConsent {
                        detail: format!(
                            "the {} backend lists no usage point yet",
                            self.backend().name()
                        ),
                    });
                }
            }
        } else {
            configured.to_vec()
        };
        listed
            .iter()
            .map(|id| {
                id.parse()
                    .map_err(|error: linky_core::Error| Error::Config {
                        detail: error.to_string(),
                    })
            })
            .collect()
    }

    async fn load_curve(
        &self,
        usage_point: &UsagePointId,
        flow: Flow,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Fetched<LoadCurvePayload>, Error> {
        let parse = |body: &[u8], check: UsagePointCheck<'_>| parse_load_curve(body, flow, check);
        self.fetch_parsed(
            Measurement::LoadCurve(flow),
            usage_point,
            (start, end),
            parse,
            None,
        )
        .await
    }

    async fn daily_energy(
        &self,
        usage_point: &UsagePointId,
        flow: Flow,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Fetched<DailySeries<DailyEnergy>>, Error> {
        let parse = |body: &[u8], check: UsagePointCheck<'_>| parse_daily_energy(body, flow, check);
        self.fetch_parsed(
            Measurement::DailyEnergy(flow),
            usage_point,
            (start, end),
            parse,
            None,
        )
        .await
    }

    async fn daily_max_power(
        &self,
        usage_point: &UsagePointId,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Result<Fetched<DailySeries<DailyMaxPower>>, Error> {
        self.fetch_parsed(
            Measurement::DailyMaxPower,
            usage_point,
            (start, end),
            parse_daily_max_power,
            None,
        )
        .await
    }
}

/// The client as linky-core's [`linky_core::ReadingSource`], for a sync run: retries and
/// token renewals are told to the observer; errors keep this crate's [`Error`] as their
/// cause.
#[cfg(feature = "client")]
#[async_trait]
impl linky_core::ReadingSource for Client {
    async fn usage_points(&self) -> Result<Vec<UsagePointId>, linky_core::SourceError> {
        MeterSource::usage_points(self).await.map_err(source_error)
    }

    async fn fetch(
        &self,
        usage_point: &UsagePointId,
        request: &linky_core::FetchRequest,
    ) -> Result<linky_core::SourceData, linky_core::SourceError> {
        self.source_data(usage_point, request, None).await
    }

    async fn fetch_observed(
        &self,
        usage_point: &UsagePointId,
        request: &linky_core::FetchRequest,
        observer: &(dyn Fn(linky_core::SourceEvent) + Send + Sync),
    ) -> Result<linky_core::SourceData, linky_core::SourceError> {
        self.source_data(usage_point, request, Some(observer)).await
    }

    async fn contract_hours(
        &self,
        usage_point: &UsagePointId,
    ) -> Result<Option<linky_core::ContractHours>, linky_core::SourceError> {
        let contract = match self.contract(usage_point).await {
            Ok(contract) => contract,
            // "No such data" (a meter without contract data, a gateway without the
            // endpoint): nothing to tell, not a failure.
            Err(Error::Api(api)) if api.category() == ErrorCategory::NoData => None,
            Err(error) => return Err(source_error(error)),
        };
        Ok(contract.and_then(|contract| {
            contract
                .offpeak_hours
                .map(|text| linky_core::ContractHours::new(text, contract.last_tariff_change))
        }))
    }
}

#[cfg(feature = "client")]
impl Client {
    /// The contract of `usage_point` (subscribed power, Enedis' off-peak hours, dates), or
    /// `None` when the backend serves no contract. One request, with the client's rate
    /// limit, token renewal and retries.
    ///
    /// # Errors
    ///
    /// As a measurement's request; [`Error::Malformed`] for a body that is no contract.
    pub async fn contract(
        &self,
        usage_point: &UsagePointId,
    ) -> Result<Option<crate::Contract>, Error> {
        let backend = self.backend();
        let Some(path) = backend.contract_path(usage_point.as_str()) else {
            return Ok(None);
        };
        let url = format!("{}{path}", backend.base_url());
        let span = tracing::info_span!(
            "enedis_contract",
            backend = backend.name(),
            usage_point = usage_point.as_str()
        );
        let body = tracing::Instrument::instrument(self.get_with_retries(&url, None), span).await?;
        let contracts = crate::parse_contracts(&body)?;
        // A v5 body may list several usage points: take this one's, else the only one.
        let mine = contracts
            .iter()
            .position(|c| c.usage_point.as_deref() == Some(usage_point.as_str()))
            .or((contracts.len() == 1).then_some(0));
        Ok(mine.map(|index| contracts[index].clone()))
    }
}

#[cfg(feature = "client")]
impl Client {
    async fn source_data(
        &self,
        usage_point: &UsagePointId,
        request: &linky_core::FetchRequest,
        observer: Option<&Observer<'_>>,
    ) -> Result<linky_core::SourceData, linky_core::SourceError> {
        use linky_core::SourceData;
        let range = (request.start, request.end);
        let measurement = request.measurement;
        let answer = match measurement {
            Measurement::LoadCurve(flow) => self
                .fetch_parsed(
                    measurement,
                    usage_point,
                    range,
                    |body: &[u8], check: UsagePointCheck<'_>| parse_load_curve(body, flow, check),
                    observer,
                )
                .await
                .map(|fetched| {
                    fetched.into_source(|payload| SourceData::Curve {
                        readings: payload.readings,
                        report: payload.report,
                    })
                }),
            Measurement::DailyEnergy(flow) => self
                .fetch_parsed(
                    measurement,
                    usage_point,
                    range,
                    |body: &[u8], check: UsagePointCheck<'_>| parse_daily_energy(body, flow, check),
                    observer,
                )
                .await
                .map(|fetched| {
                    fetched.into_source(|series| {
                        SourceData::DailyEnergy(
                            series.values.iter().map(|v| (v.date, v.energy)).collect(),
                        )
                    })
                }),
            Measurement::DailyMaxPower => self
                .fetch_parsed(
                    measurement,
                    usage_point,
                    range,
                    parse_daily_max_power,
                    observer,
                )
                .await
                .map(|fetched| fetched.into_source(|series| SourceData::Peaks(series.values))),
        };
        answer.map_err(source_error)
    }
}

#[cfg(feature = "client")]
pub(crate) fn source_error(error: Error) -> linky_core::SourceError {
    use linky_core::SourceErrorKind;
    let kind = match error.category() {
        ErrorCategory::Transient => SourceErrorKind::Transient,
        ErrorCategory::ConsentLost
        | ErrorCategory::TokenExpired
        | ErrorCategory::AuthorizationPending => SourceErrorKind::ConsentLost,
        _ => SourceErrorKind::Unexpected,
    };
    let retry_after = error.retry_after();
    let source_error = linky_core::SourceError::new(kind, error.to_string()).with_cause(error);
    match retry_after {
        Some(wait) => source_error.with_retry_after(wait),
        None => source_error,
    }
}
