//! VictoriaMetrics: what a write would change is read first, missing points are
//! imported, a series holding another value is corrected (exported whole, deleted,
//! imported again with the new values), and what was written is read back. See the
//! parent module's documentation for why.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Field, LineProtocolSink, Point, SINK, encode, gzip};
use crate::SinkError;

/// A series: its metric name (`<measurement>_<field>`) and its labels, sorted by name.
type Series = (String, Vec<(String, String)>);

/// What the server holds, by series and time (ms): every value it answers at that time
/// (several when it keeps duplicates).
type Held = BTreeMap<Series, BTreeMap<i64, Vec<f64>>>;

/// The values written, by series and time (ms).
type Written = BTreeMap<Series, BTreeMap<i64, Field>>;

/// Samples per line of an import (a series longer than this takes several lines).
const SAMPLES_PER_LINE: usize = 10_000;

fn series_of(point: &Point, field: &str) -> Series {
    let mut labels: Vec<(String, String)> = point
        .tags
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.clone()))
        .collect();
    labels.sort();
    (format!("{}_{field}", point.measurement), labels)
}

/// A label value inside double quotes.
fn quoted(value: &str) -> String {
    let escaped = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("\"{escaped}\"")
}

/// A day in milliseconds.
const MS_PER_DAY: i64 = 86_400_000;

/// A selector of exactly `series`'s name and labels.
fn exact_selector(series: &Series) -> String {
    let mut parts = vec![format!("__name__={}", quoted(&series.0))];
    parts.extend(
        series
            .1
            .iter()
            .map(|(name, value)| format!("{name}={}", quoted(value))),
    );
    format!("{{{}}}", parts.join(","))
}

/// A selector of a point's field over every series of its device (its periods, flows
/// and classes): one export answers for the whole write.
fn broad_selector(point: &Point, field: &str) -> String {
    let name = format!(
        "__name__={}",
        quoted(&format!("{}_{field}", point.measurement))
    );
    match point.tags.iter().find(|(tag, _)| *tag == "device") {
        Some((_, device)) => format!("{{{name},device={}}}", quoted(device)),
        None => format!("{{{name}}}"),
    }
}

/// A time in ms as the seconds VictoriaMetrics' `start` and `end` take.
fn seconds(millis: i64) -> String {
    format!("{}.{:03}", millis.div_euclid(1000), millis.rem_euclid(1000))
}

/// Whether a value held is the one written: integers exactly, floats to the precision
/// VictoriaMetrics keeps (about 14 significant digits).
fn same(held: f64, written: Field) -> bool {
    match written {
        Field::Integer(value) => held == value as f64,
        Field::Float(value) => (held - value).abs() <= 1e-9 * value.abs().max(held.abs()).max(1.0),
    }
}

fn as_number(value: Field) -> Value {
    match value {
        Field::Integer(value) => Value::from(value),
        Field::Float(value) => {
            serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
        }
    }
}

/// How a series written compares with what the server holds.
enum Difference {
    /// Every value is there.
    Same,
    /// Some times have no value yet: these are to be imported.
    Missing(Vec<(i64, Field)>),
    /// A time holds another value (or several): the series is to be corrected.
    Changed,
}

fn difference(
    written: &BTreeMap<i64, Field>,
    held: Option<&BTreeMap<i64, Vec<f64>>>,
) -> Difference {
    let mut missing = Vec::new();
    for (&time, &value) in written {
        match held.and_then(|held| held.get(&time)) {
            None => missing.push((time, value)),
            Some(values) if values.iter().all(|held| same(*held, value)) => {}
            Some(_) => return Difference::Changed,
        }
    }
    if missing.is_empty() {
        Difference::Same
    } else {
        Difference::Missing(missing)
    }
}

impl LineProtocolSink {
    /// Writes `points` into VictoriaMetrics so that it holds exactly them (see the module
    /// documentation): nothing unchanged is written again.
    pub(super) async fn victoria_write(&self, points: &[Point]) -> Result<(), SinkError> {
        let mut written = Written::new();
        let mut selectors = BTreeSet::new();
        for point in points {
            for (field, value) in &point.fields {
                written
                    .entry(series_of(point, field))
                    .or_default()
                    .insert(point.time.div_euclid(1_000_000), *value);
                selectors.insert(broad_selector(point, field));
            }
        }
        let times = written.values().flat_map(|samples| samples.keys().copied());
        let (Some(first), Some(last)) = (times.clone().min(), times.max()) else {
            return Ok(());
        };
        let selectors: Vec<String> = selectors.into_iter().collect();
        let held = self.export(&selectors, Some((first, last))).await?;
        let mut missing = Vec::new();
        let mut changed = Vec::new();
        for (series, samples) in &written {
            match difference(samples, held.get(series)) {
                Difference::Same => {}
                Difference::Missing(samples) => missing.push((series.clone(), samples)),
                Difference::Changed => changed.push(series.clone()),
            }
        }
        if missing.is_empty() && changed.is_empty() {
            return Ok(());
        }
        self.import(&missing).await?;
        for series in &changed {
            self.correct(series, &written[series]).await?;
        }
        if !changed.is_empty() {
            tracing::info!(
                series = changed.len(),
                "victoria metrics held other values: series corrected"
            );
        }
        // Read back what was written. New series may take a moment to be found by a
        // search, and VictoriaMetrics caches which series a filter matched, by filter and
        // days searched: a search that ran while the new series were not yet indexed is
        // remembered until other new series come (seen with 1.79, under load). So each
        // read searches one day more before the first written (older samples of the same
        // series are ignored), a question it has not cached; a few reads, further and
        // further apart (6 s in all), before anything is said to be missing.
        let mut pause = std::time::Duration::from_millis(100);
        let mut reads = 0;
        let wrong = loop {
            self.force_flush().await;
            let from = first.saturating_sub(reads * MS_PER_DAY);
            reads += 1;
            let held = self.export(&selectors, Some((from, last))).await?;
            let mut wrong = Vec::new();
            for (series, samples) in &written {
                for (&time, &value) in samples {
                    let values = held.get(series).and_then(|held| held.get(&time));
                    if !values.is_some_and(|values| values.iter().all(|held| same(*held, value))) {
                        wrong.push((series, time, value, values.cloned()));
                    }
                }
            }
            if wrong.is_empty() || pause > std::time::Duration::from_secs(3) {
                break wrong;
            }
            tokio::time::sleep(pause).await;
            pause *= 2;
        };
        let Some((series, time, value, values)) = wrong.first() else {
            return Ok(());
        };
        let at = chrono::DateTime::from_timestamp_millis(*time)
            .map_or_else(|| time.to_string(), |at| at.to_rfc3339());
        let all_missing = wrong.iter().all(|(_, _, _, values)| values.is_none());
        let written_text = match value {
            Field::Integer(value) => value.to_string(),
            Field::Float(value) => value.to_string(),
        };
        let first_text = match values {
            None => format!(
                "{} at {at} is missing (wrote {written_text})",
                exact_selector(series)
            ),
            Some(values) => format!(
                "{} at {at} holds {values:?} (wrote {written_text})",
                exact_selector(series)
            ),
        };
        let what_to_do = if all_missing {
            "it drops points older than its -retentionPeriod (one month by default) while \
             answering OK: run it with -retentionPeriod=100y, then run again"
        } else {
            "its series were deleted and written again, and still differ: check that no other \
             program writes these series, or delete them by hand (/api/v1/admin/tsdb/delete_series) \
             and run again"
        };
        Err(SinkError::NotKept {
            sink: SINK,
            detail: format!(
                "victoria metrics at {}: {} of {} point(s) read back other than written, first {first_text}; {what_to_do}",
                self.base(),
                wrong.len(),
                written.values().map(BTreeMap::len).sum::<usize>(),
            ),
        })
    }

    /// Corrects `series`: its whole history exported, deleted, and imported again with
    /// `written`'s values (the other times as they were).
    async fn correct(
        &self,
        series: &Series,
        written: &BTreeMap<i64, Field>,
    ) -> Result<(), SinkError> {
        let selector = exact_selector(series);
        let held = self.export(std::slice::from_ref(&selector), None).await?;
        if let Some(other) = held.keys().find(|other| *other != series) {
            return Err(SinkError::NotKept {
                sink: SINK,
                detail: format!(
                    "victoria metrics at {}: {selector} holds other values than written, and \
                     correcting it would delete {} too (same labels and more): delete one of \
                     them by hand, then run again",
                    self.base(),
                    exact_selector(other)
                ),
            });
        }
        // The last value answered for each time, then the new ones over them.
        let mut merged: BTreeMap<i64, Field> = held
            .get(series)
            .into_iter()
            .flatten()
            .filter_map(|(time, values)| Some((*time, Field::Float(*values.last()?))))
            .collect();
        merged.extend(written.iter().map(|(time, value)| (*time, *value)));
        let url = format!(
            "{}/api/v1/admin/tsdb/delete_series?match[]={}",
            self.base(),
            encode(&selector)
        );
        self.get_json(reqwest::Method::POST, &url).await?;
        self.import(&[(series.clone(), merged.into_iter().collect())])
            .await
    }

    /// Every value of the series `selectors` match, over `[from, to]` (ms) or all time.
    async fn export(
        &self,
        selectors: &[String],
        range: Option<(i64, i64)>,
    ) -> Result<Held, SinkError> {
        let mut url = format!("{}/api/v1/export?", self.base());
        for (index, selector) in selectors.iter().enumerate() {
            if index > 0 {
                url.push('&');
            }
            url.push_str(&format!("match[]={}", encode(selector)));
        }
        if let Some((from, to)) = range {
            url.push_str(&format!("&start={}&end={}", seconds(from), seconds(to)));
        }
        let text = match self.get_json(reqwest::Method::GET, &url).await? {
            Value::String(text) => text,
            single => single.to_string(),
        };
        let mut held = Held::new();
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            let series: Value =
                serde_json::from_str(line).map_err(|error| SinkError::Unexpected {
                    sink: SINK,
                    detail: format!("an export line cannot be read: {error}"),
                })?;
            let Some(metric) = series["metric"].as_object() else {
                continue;
            };
            let name = metric
                .get("__name__")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let mut labels: Vec<(String, String)> = metric
                .iter()
                .filter(|(label, _)| *label != "__name__")
                .map(|(label, value)| {
                    (label.clone(), value.as_str().unwrap_or_default().to_owned())
                })
                .collect();
            labels.sort();
            let entry = held.entry((name, labels)).or_default();
            let values = series["values"].as_array().into_iter().flatten();
            let times = series["timestamps"].as_array().into_iter().flatten();
            for (value, time) in values.zip(times) {
                if let (Some(value), Some(time)) = (value.as_f64(), time.as_i64()) {
                    entry.entry(time).or_default().push(value);
                }
            }
        }
        Ok(held)
    }

    /// Imports samples (`/api/v1/import`, JSON lines, gzip-compressed), in batches.
    async fn import(&self, samples: &[(Series, Vec<(i64, Field)>)]) -> Result<(), SinkError> {
        let url = format!("{}/api/v1/import", self.base());
        let mut body = String::new();
        let mut in_body = 0;
        for (series, values) in samples {
            for chunk in values.chunks(SAMPLES_PER_LINE) {
                let mut metric = serde_json::Map::new();
                metric.insert("__name__".to_owned(), Value::from(series.0.as_str()));
                for (label, value) in &series.1 {
                    metric.insert(label.clone(), Value::from(value.as_str()));
                }
                let line = serde_json::json!({
                    "metric": metric,
                    "values": chunk.iter().map(|(_, value)| as_number(*value)).collect::<Vec<_>>(),
                    "timestamps": chunk.iter().map(|(time, _)| *time).collect::<Vec<_>>(),
                });
                body.push_str(&line.to_string());
                body.push('\n');
                in_body += chunk.len();
                if in_body >= self.config.batch_lines * 4 {
                    self.post_import(&url, std::mem::take(&mut body)).await?;
                    in_body = 0;
                }
            }
        }
        if !body.is_empty() {
            self.post_import(&url, body).await?;
        }
        Ok(())
    }

    async fn post_import(&self, url: &str, body: String) -> Result<(), SinkError> {
        let first = body
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        let compressed = gzip(body.as_bytes()).map_err(|error| SinkError::Unexpected {
            sink: SINK,
            detail: format!("cannot compress an import: {error}"),
        })?;
        self.post_with_retries(url, "application/json", compressed, &[first])
            .await
    }

    /// Makes what was just written searchable.
    pub(super) async fn force_flush(&self) {
        let _ = self
            .http
            .get(format!("{}/internal/force_flush", self.base()))
            .send()
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_name_every_label_quoted() {
        let series: Series = (
            "linky_cost_eur".to_owned(),
            vec![
                ("device".to_owned(), "1".to_owned()),
                ("offer".to_owned(), "Mon \"offre\"".to_owned()),
            ],
        );
        assert_eq!(
            exact_selector(&series),
            r#"{__name__="linky_cost_eur",device="1",offer="Mon \"offre\""}"#
        );
        assert_eq!(seconds(1_700_000_000_123), "1700000000.123");
        assert_eq!(seconds(-1), "-1.999");
    }

    #[test]
    fn values_compare_exactly_or_to_the_kept_precision() {
        assert!(same(1_234_567.0, Field::Integer(1_234_567)));
        assert!(!same(1_234_568.0, Field::Integer(1_234_567)));
        assert!(same(
            1_234.566_666_666_6,
            Field::Float(1_234.566_666_666_666_7)
        ));
        assert!(!same(1_234.58, Field::Float(1_234.566_666_666_666_7)));
        let written = BTreeMap::from([(1, Field::Integer(5)), (2, Field::Integer(6))]);
        let held = BTreeMap::from([(1, vec![5.0])]);
        assert!(
            matches!(difference(&written, Some(&held)), Difference::Missing(m) if m == [(2, Field::Integer(6))])
        );
        let twice = BTreeMap::from([(1, vec![5.0, 4.0]), (2, vec![6.0])]);
        assert!(matches!(
            difference(&written, Some(&twice)),
            Difference::Changed
        ));
    }
}
