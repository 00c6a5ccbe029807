//! A direct reader for the common case of a v5 body: the `meter_reading` object (wrapped
//! or not) with strings written without escapes, as Enedis and every gateway write them.
//!
//! It reads the bytes once, with no generic deserializer in between, into the same
//! [`Series`] as the serde reader. It is a fast path, not a second parser with opinions:
//! anything it does not read exactly as the serde reader would — an escape in a string,
//! a number where Enedis writes a string, a known key written twice, a 2026 key, an
//! array where an object is expected, trailing bytes, a nesting deeper than it follows —
//! makes it **decline** (`None`), and the serde reader reads the body and says what is
//! wrong with it. What it accepts is valid JSON that the serde reader reads to the same
//! series, which a property test checks on bodies made to stress the difference.

use std::borrow::Cow;

use super::{Point, Scalar, Series, Text, identifier_text, period_of};

/// How deep unknown values may nest before the fast path declines (serde_json refuses
/// beyond 128; the serde reader then says so).
const MAX_DEPTH: usize = 64;

/// Reads `text` (a whole body, already checked to be UTF-8) as a v5 series, or declines.
pub(super) fn v5_series(text: &str) -> Option<Series<'_>> {
    let mut scan = Scan {
        bytes: text.as_bytes(),
        text,
        at: 0,
    };
    scan.space();
    let mut top = Fields::default();
    scan.object(|scan, key| scan.meter_reading_field(key, &mut top, true))?;
    scan.space();
    if scan.at != scan.bytes.len() {
        return None;
    }
    let fields = match top.meter_reading {
        Some(Some(inner)) => *inner,
        // `"meter_reading": null` and an unwrapped body: the serde reader's order of
        // choice (the wrapped object first, then the unwrapped readings).
        _ if matches!(top.points, Some(Some(_))) => Fields {
            meter_reading: None,
            ..top
        },
        _ => return None,
    };
    let points = fields.points.flatten().unwrap_or_default();
    let (unit, default_length) = match fields.reading_type {
        Some(Some((unit, length))) => (unit, length),
        _ => (None, None),
    };
    Some(Series {
        usage_point: fields
            .usage_point
            .flatten()
            .as_ref()
            .and_then(identifier_text),
        period: period_of(fields.start.flatten(), fields.end.flatten()),
        unit: unit.map(borrowed),
        default_length: default_length.map(borrowed),
        points,
    })
}

fn borrowed(text: &str) -> Text<'_> {
    Text(Cow::Borrowed(text))
}

/// The fields of a `meter_reading` object (or of the top level of an unwrapped body):
/// the outer `Option` is whether the key was seen (twice declines), the inner one its
/// value (`null` is `None`, as serde reads an `Option`).
#[derive(Default)]
struct Fields<'a> {
    meter_reading: Option<Option<Box<Fields<'a>>>>,
    usage_point: Option<Option<Scalar<'a>>>,
    start: Option<Option<&'a str>>,
    end: Option<Option<&'a str>>,
    reading_type: Option<Option<(Option<&'a str>, Option<&'a str>)>>,
    points: Option<Option<Vec<Point<'a>>>>,
}

/// Sets a field seen for the first time; a second time declines (serde's `duplicate
/// field` error).
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

/// A mask whose lowest set bit is the high bit of the first byte of `word` (little
/// endian) that is a quote, a backslash or below 0x20; 0 when none is. (Each term flags
/// its first such byte exactly; bits above it may be false alarms, which only the
/// lowest bit makes harmless.)
fn special_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_in = |value: u64| value.wrapping_sub(ONES) & !value & HIGHS;
    let quote = word ^ (ONES * b'"' as u64);
    let backslash = word ^ (ONES * b'\\' as u64);
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    zero_in(quote) | zero_in(backslash) | control
}

struct Scan<'a> {
    bytes: &'a [u8],
    text: &'a str,
    at: usize,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Skips JSON white space.
    fn space(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek() == Some(byte)).then(|| self.at += 1)
    }

    /// A string without escapes (declines on a backslash or a control character, which
    /// the serde reader then reads or refuses).
    #[inline(always)]
    fn string(&mut self) -> Option<&'a str> {
        let bytes = self.bytes;
        if bytes.get(self.at) != Some(&b'"') {
            return None;
        }
        let start = self.at + 1;
        let mut at = start;
        // Eight bytes at a time up to the first that is a quote, a backslash or a control
        // character; the body's last bytes one at a time.
        let end = loop {
            if let Some(chunk) = bytes
                .get(at..at + 8)
                .and_then(|c| <[u8; 8]>::try_from(c).ok())
            {
                let special = special_bytes(u64::from_le_bytes(chunk));
                if special == 0 {
                    at += 8;
                    continue;
                }
                at += (special.trailing_zeros() / 8) as usize;
            } else {
                while bytes
                    .get(at)
                    .is_some_and(|&b| b != b'"' && b != b'\\' && b >= 0x20)
                {
                    at += 1;
                }
            }
            break at;
        };
        if bytes.get(end) != Some(&b'"') {
            return None;
        }
        self.at = end + 1;
        // The quotes are ASCII, so both ends are character boundaries.
        self.text.get(start..end)
    }

    /// `null`, or declines.
    fn null(&mut self) -> Option<()> {
        self.literal(b"null")
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at.checked_add(word.len())?;
        (self.bytes.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// `null` as `None`, or what `read` reads.
    fn nullable<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.peek() == Some(b'n') {
            self.null()?;
            Some(None)
        } else {
            read(self).map(Some)
        }
    }

    /// An object: `field` reads each value (after its key and colon); declines when it
    /// does. Keys are strings without escapes.
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        self.space();
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            let key = self.string()?;
            self.space();
            self.eat(b':')?;
            self.space();
            field(self, key)?;
            self.space();
            match self.peek()? {
                b',' => {
                    self.at += 1;
                    self.space();
                }
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// An array: `element` reads each element.
    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        self.space();
        if self.eat(b']').is_some() {
            return Some(());
        }
        loop {
            element(self)?;
            self.space();
            match self.peek()? {
                b',' => {
                    self.at += 1;
                    self.space();
                }
                b']' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Any JSON value, checked and ignored (what serde's `IgnoredAny` does with a key it
    /// does not know).
    fn skip(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' if depth < MAX_DEPTH => self.object(|scan, _| scan.skip(depth + 1)),
            b'[' if depth < MAX_DEPTH => self.array(|scan| scan.skip(depth + 1)),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.null(),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// A number as JSON writes it: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Option<()> {
        self.eat(b'-');
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.eat(b'.').is_some() {
            self.peek().filter(u8::is_ascii_digit)?;
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            self.peek().filter(u8::is_ascii_digit)?;
            self.digits();
        }
        Some(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
    }

    /// One field of a `meter_reading` object; `top` is whether it is the body's top
    /// level (where `meter_reading` may wrap the others, and 2026's keys may be).
    fn meter_reading_field(
        &mut self,
        key: &'a str,
        fields: &mut Fields<'a>,
        top: bool,
    ) -> Option<()> {
        match key {
            "meter_reading" if top => {
                let inner = self.nullable(|scan| {
                    let mut inner = Fields::default();
                    scan.object(|scan, key| scan.meter_reading_field(key, &mut inner, false))?;
                    Some(Box::new(inner))
                })?;
                once(&mut fields.meter_reading, inner)
            }
            "usage_point_id" => {
                let value = self
                    .nullable(|scan| scan.string().map(|text| Scalar::Text(Cow::Borrowed(text))))?;
                once(&mut fields.usage_point, value)
            }
            "start" => {
                let value = self.nullable(Self::string)?;
                once(&mut fields.start, value)
            }
            "end" => {
                let value = self.nullable(Self::string)?;
                once(&mut fields.end, value)
            }
            "reading_type" => {
                let value = self.nullable(Self::reading_type)?;
                once(&mut fields.reading_type, value)
            }
            "interval_reading" => {
                let value = self.nullable(Self::points)?;
                once(&mut fields.points, value)
            }
            // The 2026 shape is the serde reader's.
            "idPrm" | "periode" | "pas" | "grandeur" if top => None,
            _ => self.skip(1),
        }
    }

    /// `reading_type`: its unit and default interval length.
    fn reading_type(&mut self) -> Option<(Option<&'a str>, Option<&'a str>)> {
        let (mut unit, mut length) = (None, None);
        self.object(|scan, key| match key {
            "unit" => {
                let value = scan.nullable(Self::string)?;
                once(&mut unit, value)
            }
            "interval_length" => {
                let value = scan.nullable(Self::string)?;
                once(&mut length, value)
            }
            _ => scan.skip(2),
        })?;
        Some((unit.flatten(), length.flatten()))
    }

    /// `interval_reading`: the points.
    fn points(&mut self) -> Option<Vec<Point<'a>>> {
        // A point takes at least 60 bytes as gateways write them: room for the rest of
        // the body's (no more memory than the body's size).
        let mut points = Vec::with_capacity((self.bytes.len() - self.at) / 80);
        self.array(|scan| {
            points.push(scan.point()?);
            Some(())
        })?;
        Some(points)
    }

    /// One point: `{value, date, interval_length}` (or `{v, d, p}`).
    fn point(&mut self) -> Option<Point<'a>> {
        let (mut value, mut date, mut length) = (None, None, None);
        self.object(|scan, key| match key {
            "value" | "v" => {
                let text = scan.nullable(Self::string)?;
                once(&mut value, text)
            }
            "date" | "d" => {
                let text = scan.nullable(Self::string)?;
                once(&mut date, text)
            }
            "interval_length" | "p" => {
                let text = scan.nullable(Self::string)?;
                once(&mut length, text)
            }
            _ => scan.skip(3),
        })?;
        Some(Point {
            value: value
                .flatten()
                .map(|text| Scalar::Text(Cow::Borrowed(text))),
            date: date.flatten().map(borrowed),
            interval_length: length.flatten().map(borrowed),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::serde_series;
    use super::*;
    use linky_core::Flow;
    use proptest::prelude::*;

    /// A small random source driven by proptest's seed.
    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        /// True `percent` times in a hundred.
        fn chance(&mut self, percent: usize) -> bool {
            self.below(100) < percent
        }

        fn pick<'b>(&mut self, choices: &[&'b str]) -> &'b str {
            choices[self.below(choices.len())]
        }
    }

    /// Makes bodies: clean ones as gateways write them, and, when `odd`, ones with what
    /// the fast path must decline or read exactly as serde does.
    struct Maker {
        random: Random,
        odd: bool,
    }

    impl Maker {
        fn space(&mut self) -> &'static str {
            self.random.pick(&["", " ", "\n  ", "\t", "\r\n"])
        }

        fn odd(&mut self, percent: usize) -> bool {
            self.odd && self.random.chance(percent)
        }

        /// Any JSON value, for keys nobody reads.
        fn any(&mut self, depth: usize) -> String {
            let kind = self.random.below(if depth > 3 { 5 } else { 7 });
            match kind {
                0 => self.string("BRUT"),
                1 => self
                    .random
                    .pick(&[
                        "0",
                        "-1",
                        "12.5",
                        "1e3",
                        "-0.5E-2",
                        "123456789012345678901234567890",
                    ])
                    .to_owned(),
                2 => "true".to_owned(),
                3 => "false".to_owned(),
                4 => "null".to_owned(),
                5 => {
                    let items: Vec<String> = (0..self.random.below(3))
                        .map(|_| self.any(depth + 1))
                        .collect();
                    format!("[{}]", items.join(","))
                }
                _ => {
                    let fields = (0..self.random.below(3))
                        .map(|i| (format!("k{i}"), self.any(depth + 1)))
                        .collect();
                    self.object(fields)
                }
            }
        }

        /// A string holding `text`, now and then written with an escape.
        fn string(&mut self, text: &str) -> String {
            if self.odd(5) && !text.is_empty() {
                let first = text.chars().next().map_or(0, u32::from);
                return format!("\"\\u{first:04x}{}\"", &text[1..]);
            }
            format!("\"{text}\"")
        }

        /// Where a string is expected: now and then null, a number or another value.
        fn text(&mut self, text: &str) -> String {
            if self.odd(4) {
                return "null".to_owned();
            }
            if self.odd(3) {
                return self.any(2);
            }
            if self.odd(2) {
                return "540".to_owned();
            }
            self.string(text)
        }

        fn object(&mut self, mut fields: Vec<(String, String)>) -> String {
            if self.odd(30) {
                let count = fields.len();
                for i in (1..count).rev() {
                    fields.swap(i, self.random.below(i + 1));
                }
            }
            if self.odd(20) {
                let value = self.any(2);
                fields.insert(
                    self.random.below(fields.len() + 1),
                    ("extra".to_owned(), value),
                );
            }
            if self.odd(3) && !fields.is_empty() {
                let copy = fields[self.random.below(fields.len())].clone();
                fields.push(copy);
            }
            let mut out = String::from("{");
            for (i, (key, value)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let (before, after) = (self.space(), self.space());
                out.push_str(&format!("{before}\"{key}\"{after}:{}{value}", self.space()));
            }
            out.push_str(self.space());
            out.push('}');
            out
        }

        fn point(&mut self, index: usize) -> String {
            let short = self.odd(10);
            let key = |long: &str, short_key: &str| if short { short_key } else { long }.to_owned();
            let value = self.random.pick(&["540", "0", "12.5", "abc", "-3", ""]);
            let date = format!("2024-06-01 {:02}:{:02}:00", index / 2 % 24, index % 2 * 30);
            let mut fields = vec![
                (key("value", "v"), self.text(value)),
                (key("date", "d"), self.text(&date)),
            ];
            if !self.odd(10) {
                let length = self.random.pick(&["PT30M", "PT10M", "pt1h", "x"]);
                fields.push((key("interval_length", "p"), self.text(length)));
            }
            fields.push(("measure_type".to_owned(), self.string("B")));
            self.object(fields)
        }

        fn meter_reading(&mut self) -> Vec<(String, String)> {
            let count = self.random.below(6);
            let points: Vec<String> = (0..count).map(|i| self.point(i)).collect();
            let points = format!(
                "[{}{}]",
                points.join(&format!(",{}", self.space())),
                self.space()
            );
            let unit = self.random.pick(&["W", "kW", "Wh"]);
            let mut reading_type = vec![
                ("unit".to_owned(), self.text(unit)),
                ("measurement_kind".to_owned(), self.string("power")),
            ];
            if self.random.chance(50) {
                reading_type.push(("interval_length".to_owned(), self.text("PT30M")));
            }
            let reading_type = self.object(reading_type);
            let mut fields = vec![
                ("usage_point_id".to_owned(), self.text("22516914714270")),
                ("start".to_owned(), self.text("2024-06-01")),
                ("end".to_owned(), self.text("2024-06-02")),
                ("quality".to_owned(), self.string("BRUT")),
                (
                    "reading_type".to_owned(),
                    if self.odd(3) {
                        "null".to_owned()
                    } else {
                        reading_type
                    },
                ),
                (
                    "interval_reading".to_owned(),
                    if self.odd(3) {
                        "null".to_owned()
                    } else {
                        points
                    },
                ),
            ];
            if self.odd(5) {
                fields.remove(self.random.below(fields.len()));
            }
            fields
        }

        fn body(&mut self) -> String {
            let mut top = if self.random.chance(50) {
                let inner = self.meter_reading();
                let inner = if self.odd(5) {
                    "null".to_owned()
                } else {
                    self.object(inner)
                };
                vec![("meter_reading".to_owned(), inner)]
            } else {
                self.meter_reading()
            };
            if self.odd(5) {
                top.push(("grandeur".to_owned(), "[]".to_owned()));
            }
            if self.odd(5) {
                top.extend(self.meter_reading());
            }
            let mut body = format!("{}{}{}", self.space(), self.object(top), self.space());
            if self.odd(3) {
                body.push_str(self.random.pick(&["x", "}", "{}", " 1"]));
            }
            // A byte cut, added or taken away.
            if self.odd(15) && !body.is_empty() {
                let at = self.random.below(body.len());
                match self.random.below(3) {
                    0 => body.truncate(at),
                    1 => body.insert(
                        at,
                        self.random
                            .pick(&["{", "}", "[", "]", ",", ":", "\"", "\\", "n", "0", "\u{1}"])
                            .chars()
                            .next()
                            .unwrap_or(' '),
                    ),
                    _ => {
                        body.remove(at);
                    }
                }
            }
            body
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// What the fast path reads, the serde reader reads the same; clean bodies are
        /// all read by the fast path.
        #[test]
        fn the_fast_path_reads_what_serde_reads(seed in 1..u64::MAX, odd in any::<bool>()) {
            let mut maker = Maker { random: Random(seed), odd };
            let body = maker.body();
            let fast = v5_series(&body);
            if let Some(fast) = &fast {
                let general = serde_series(body.as_bytes(), &body, Flow::Consumption);
                prop_assert_eq!(general.as_ref().ok(), Some(fast), "{}", body);
            }
            if !odd {
                prop_assert!(fast.is_some(), "declined: {}", body);
            }
        }
    }

    proptest! {
        /// The eight-byte test finds the first quote, backslash or control character,
        /// whatever follows it.
        #[test]
        fn special_bytes_finds_the_first_one(bytes in proptest::array::uniform8(prop_oneof![
            Just(b'"'), Just(b'\\'), Just(0u8), Just(0x1f), Just(0x20), Just(0x21), Just(b'a'), Just(0x80), Just(0xff), any::<u8>()
        ])) {
            let first = bytes.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            let mask = special_bytes(u64::from_le_bytes(bytes));
            prop_assert_eq!(first, (mask != 0).then(|| (mask.trailing_zeros() / 8) as usize));
        }
    }

    /// Every v5 sample in the repository's test data (a gateway's `content` envelope taken
    /// off) takes the fast path and reads as through serde.
    #[test]
    fn the_real_v5_samples_take_the_fast_path() {
        let samples = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/enedis");
        let mut read = 0;
        for entry in std::fs::read_dir(samples).expect("the test data") {
            let path = entry.expect("an entry").path();
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            if !text.contains("interval_reading") {
                continue;
            }
            let value: serde_json::Value = serde_json::from_str(&text).expect("json");
            let text = match value.get("content") {
                Some(content) => serde_json::to_string_pretty(content).expect("json"),
                None => text,
            };
            let fast = v5_series(&text);
            let general = serde_series(text.as_bytes(), &text, Flow::Consumption).ok();
            assert!(fast.is_some(), "{} declined", path.display());
            assert_eq!(fast, general, "{}", path.display());
            read += 1;
        }
        assert!(read >= 8, "{read} samples read");
    }
}
