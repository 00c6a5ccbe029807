//! The grammar of the off-peak text, in two layers: nom productions
//! that cut the text into words (ranges, days, holiday, production, PDLs), and a
//! recursive descent over those words for the structure. Each function has its
//! production written above it.
//!
//! ```text
//! text      = blank* ( token blank+ )* token? blank*        ; blank = white space , ;
//! token     = range | pdl | letters
//! range     = time sep time
//! time      = hour ( ("h" | "H") minute? | ":" minute )
//! hour      = digit+                   ; 0 to 24
//! minute    = digit+                   ; 0 to 59
//! sep       = space* ( "-" | "_" | "à" | "to" | "a" ) space*
//! pdl       = digit+                   ; followed by a blank or the end
//! date      = digit{4} "-" digit{1,2} "-" digit{1,2} | digit{1,2} "/" digit{1,2} "/" digit{4}
//! letters   = day | holiday | production | connector | from | until | season
//!
//! config    = body season-part* period*
//! body      = section? ( PDL section )*
//! section   = flow-part ( production flow-part )?
//! flow-part = range* ( (day | holiday) range+ )*
//! season-part = season body            ; the body does not start with a season
//! period    = ( from DATE ( until DATE )? | until DATE ) body season-part*
//! ```

use chrono::{NaiveDate, Weekday};
use nom::branch::alt;
use nom::bytes::complete::{tag, tag_no_case, take_till1, take_while, take_while_m_n, take_while1};
use nom::character::complete::{char, digit1, one_of};
use nom::combinator::{opt, recognize};
use nom::sequence::{pair, preceded};
use nom::{IResult, Parser};

use super::error::{ScheduleError, ScheduleErrorKind};
use super::model::{DatedPart, END_OF_DAY, OffPeakConfig, Part, Season, Section, TimeRange};

/// One word of the text, with where it starts (a byte offset into the text).
#[derive(Debug, Clone, PartialEq)]
struct Token<'a> {
    offset: usize,
    text: &'a str,
    kind: TokenKind,
}

#[derive(Debug, Clone, PartialEq)]
enum TokenKind {
    Range(Option<TimeRange>),
    Day(Weekday),
    Holiday,
    Production,
    Pdl(String),
    Date(NaiveDate),
    From,
    Until,
    Season(Season),
}

/// What a nom production found wrong, and where (the input left at that point).
#[derive(Debug)]
struct WordError<'a> {
    at: &'a str,
    word: &'a str,
    kind: ScheduleErrorKind,
}

impl<'a> nom::error::ParseError<&'a str> for WordError<'a> {
    fn from_error_kind(input: &'a str, _kind: nom::error::ErrorKind) -> Self {
        WordError {
            at: input,
            word: first_word(input),
            kind: ScheduleErrorKind::UnknownWord,
        }
    }

    fn append(_input: &'a str, _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

type Parsed<'a, T> = IResult<&'a str, T, WordError<'a>>;

fn is_blank(c: char) -> bool {
    c.is_whitespace() || c == ',' || c == ';'
}

/// The word starting at `input`, for error messages.
fn first_word(input: &str) -> &str {
    let end = input.find(is_blank).unwrap_or(input.len());
    &input[..end]
}

fn failure<'a, T>(at: &'a str, word: &'a str, kind: ScheduleErrorKind) -> Parsed<'a, T> {
    Err(nom::Err::Failure(WordError { at, word, kind }))
}

// blank = white space | "," | ";"
fn blanks(input: &str) -> Parsed<'_, &str> {
    take_while(is_blank).parse(input)
}

// space* (inside a range: white space only)
fn spaces(input: &str) -> Parsed<'_, &str> {
    take_while(char::is_whitespace).parse(input)
}

// hour = digit+ ; minute = digit+
fn number(input: &str) -> Parsed<'_, u32> {
    let (rest, digits) = digit1(input)?;
    // More than four digits is no hour or minute: saturate so that the range check fails.
    Ok((rest, digits.parse().unwrap_or(u32::MAX)))
}

// time = hour ( ("h" | "H") minute? | ":" minute )
fn time(input: &str) -> Parsed<'_, (u32, u32)> {
    let (rest, hour) = number(input)?;
    let (rest, minute) = alt((
        preceded(one_of("hH"), opt(number)),
        preceded(char(':'), number.map(Some)),
    ))
    .parse(rest)?;
    let minute = minute.unwrap_or(0);
    if hour > 24 || minute > 59 || (hour == 24 && minute > 0) {
        let text = &input[..input.len() - rest.len()];
        return failure(input, text, ScheduleErrorKind::TimeOutOfRange);
    }
    Ok((rest, (hour, minute)))
}

// sep = space* ( "-" | "_" | "à" | "to" | "a" ) space*
fn separator(input: &str) -> Parsed<'_, &str> {
    recognize((
        spaces,
        alt((
            tag("-"),
            tag("_"),
            tag_no_case("à"),
            tag_no_case("to"),
            tag_no_case("a"),
        )),
        spaces,
    ))
    .parse(input)
}

// range = time sep time    (the end is committed to once the separator is read)
fn range(input: &str) -> Parsed<'_, Option<TimeRange>> {
    let (rest, begin) = time(input)?;
    let Ok((after_separator, _)) = separator(rest) else {
        let word = &input[..input.len() - rest.len()];
        return failure(input, word, ScheduleErrorKind::MissingSeparator);
    };
    let (rest, end) = match time(after_separator) {
        Ok(parsed) => parsed,
        Err(nom::Err::Error(_)) => {
            let word = first_word(input);
            return failure(input, word, ScheduleErrorKind::MissingEnd);
        }
        Err(other) => return Err(other),
    };
    if !rest.is_empty() && !rest.starts_with(is_blank) {
        return failure(input, first_word(input), ScheduleErrorKind::UnknownWord);
    }
    let begin_minute = (begin.0 * 60 + begin.1) as u16;
    // 23:59 and 24:00 as an END mean the end of the day.
    let end_minute = match end {
        (23, 59) | (24, 0) => END_OF_DAY,
        (hour, minute) => (hour * 60 + minute) as u16,
    };
    let range =
        TimeRange::new(begin_minute, end_minute).filter(|range| begin != end && !range.is_empty());
    Ok((rest, range))
}

// pdl = digit+ (followed by a blank or the end)
fn pdl(input: &str) -> Parsed<'_, String> {
    let (rest, digits) = digit1(input)?;
    if rest.is_empty() || rest.starts_with(is_blank) {
        Ok((rest, digits.to_owned()))
    } else {
        Err(nom::Err::Error(WordError {
            at: input,
            word: first_word(input),
            kind: ScheduleErrorKind::UnknownWord,
        }))
    }
}

/// What a word of letters means.
enum Letters {
    Token(TokenKind),
    Connector,
}

// letters = day | holiday | production | connector
fn letters(input: &str) -> Parsed<'_, Letters> {
    let (rest, word) = take_till1(is_blank).parse(input)?;
    let folded = fold(word);
    let meaning = match folded.as_str() {
        "p" | "prod" | "production" => Some(Letters::Token(TokenKind::Production)),
        "from" | "du" | "depuis" | "des" | "since" => Some(Letters::Token(TokenKind::From)),
        "until" | "till" | "au" | "jusqu'au" | "jusqu’au" => {
            Some(Letters::Token(TokenKind::Until))
        }
        "summer" | "ete" => Some(Letters::Token(TokenKind::Season(Season::Summer))),
        "winter" | "hiver" => Some(Letters::Token(TokenKind::Season(Season::Winter))),
        "et" | "and" => Some(Letters::Connector),
        "jf" | "ba" => Some(Letters::Token(TokenKind::Holiday)),
        _ if is_prefix_of_any(&folded, &["ferie", "feries", "holiday", "holidays"]) => {
            Some(Letters::Token(TokenKind::Holiday))
        }
        _ => day(&folded).map(|weekday| Letters::Token(TokenKind::Day(weekday))),
    };
    if let Some(meaning) = meaning {
        return Ok((rest, meaning));
    }
    // Two-word holidays: "jours fériés", "bank holiday", "public holiday".
    let second: &[&str] = match folded.as_str() {
        "jours" | "jour" => &["feries", "ferie"],
        "bank" | "public" => &["holidays", "holiday"],
        _ => &[],
    };
    if !second.is_empty()
        && let Ok((after, (_, next))) = pair(
            take_while1::<_, _, WordError<'_>>(char::is_whitespace),
            take_till1(is_blank),
        )
        .parse(rest)
        && second.contains(&fold(next).as_str())
    {
        return Ok((after, Letters::Token(TokenKind::Holiday)));
    }
    failure(input, word, ScheduleErrorKind::UnknownWord)
}

const DAY_NAMES: [(&str, Weekday); 14] = [
    ("lundi", Weekday::Mon),
    ("mardi", Weekday::Tue),
    ("mercredi", Weekday::Wed),
    ("jeudi", Weekday::Thu),
    ("vendredi", Weekday::Fri),
    ("samedi", Weekday::Sat),
    ("dimanche", Weekday::Sun),
    ("monday", Weekday::Mon),
    ("tuesday", Weekday::Tue),
    ("wednesday", Weekday::Wed),
    ("thursday", Weekday::Thu),
    ("friday", Weekday::Fri),
    ("saturday", Weekday::Sat),
    ("sunday", Weekday::Sun),
];

/// A day name or a prefix of at least two letters that names one weekday only.
fn day(folded: &str) -> Option<Weekday> {
    if folded.chars().count() < 2 {
        return None;
    }
    let mut matches = DAY_NAMES
        .iter()
        .filter(|(name, _)| name.starts_with(folded))
        .map(|&(_, weekday)| weekday);
    let first = matches.next()?;
    matches.all(|other| other == first).then_some(first)
}

fn is_prefix_of_any(folded: &str, words: &[&str]) -> bool {
    folded.chars().count() >= 2 && words.iter().any(|word| word.starts_with(folded))
}

/// Lowercase without French accents.
fn fold(word: &str) -> String {
    word.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            other => other,
        })
        .collect()
}

// date = digit{4} "-" digit{1,2} "-" digit{1,2} | digit{1,2} "/" digit{1,2} "/" digit{4}
fn date(input: &str) -> Parsed<'_, NaiveDate> {
    let short = |input| take_while_m_n(1, 2, |c: char| c.is_ascii_digit()).parse(input);
    let year = |input| take_while_m_n(4, 4, |c: char| c.is_ascii_digit()).parse(input);
    let (rest, (y, m, d)) = alt((
        (year, preceded(char('-'), short), preceded(char('-'), short)),
        (short, preceded(char('/'), short), preceded(char('/'), year)).map(|(d, m, y)| (y, m, d)),
    ))
    .parse(input)?;
    let word = &input[..input.len() - rest.len()];
    if !rest.is_empty() && !rest.starts_with(is_blank) {
        return failure(input, first_word(input), ScheduleErrorKind::UnknownWord);
    }
    let parts: Option<(i32, u32, u32)> =
        (|| Some((y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)))();
    match parts.and_then(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d)) {
        Some(date) => Ok((rest, date)),
        None => failure(input, word, ScheduleErrorKind::InvalidDate),
    }
}

// token = date | range | pdl | letters
fn token<'a>(text: &'a str, input: &'a str) -> Parsed<'a, Option<Token<'a>>> {
    let offset = text.len() - input.len();
    let make = |rest: &'a str, kind| {
        Some(Token {
            offset,
            text: &input[..input.len() - rest.len()],
            kind,
        })
    };
    match date(input) {
        Ok((rest, parsed)) => return Ok((rest, make(rest, TokenKind::Date(parsed)))),
        Err(nom::Err::Error(_)) => {}
        Err(other) => return Err(other),
    }
    match range(input) {
        Ok((rest, parsed)) => return Ok((rest, make(rest, TokenKind::Range(parsed)))),
        Err(nom::Err::Error(_)) => {}
        Err(other) => return Err(other),
    }
    if let Ok((rest, id)) = pdl(input) {
        return Ok((rest, make(rest, TokenKind::Pdl(id))));
    }
    let (rest, meaning) = letters(input)?;
    Ok(match meaning {
        Letters::Token(kind) => (rest, make(rest, kind)),
        Letters::Connector => (rest, None),
    })
}

// text = blank* ( token blank+ )* token? blank*
fn tokens(text: &str) -> Result<Vec<Token<'_>>, ScheduleError> {
    let mut found = Vec::new();
    let mut input = text;
    loop {
        let (rest, _) = blanks(input).map_err(|error| to_schedule_error(text, error))?;
        if rest.is_empty() {
            return Ok(found);
        }
        let (rest, parsed) = token(text, rest).map_err(|error| to_schedule_error(text, error))?;
        found.extend(parsed);
        input = rest;
    }
}

fn to_schedule_error(text: &str, error: nom::Err<WordError<'_>>) -> ScheduleError {
    match error {
        nom::Err::Error(error) | nom::Err::Failure(error) => ScheduleError::new(
            error.kind,
            error.word,
            column_of(text, text.len() - error.at.len()),
        ),
        nom::Err::Incomplete(_) => ScheduleError::new(ScheduleErrorKind::UnknownWord, "", 1),
    }
}

/// The 1-based column (in characters) of a byte offset.
fn column_of(text: &str, offset: usize) -> usize {
    text[..offset].chars().count() + 1
}

/// A cursor over the words, for the structure.
struct Words<'a, 't> {
    text: &'a str,
    tokens: &'t [Token<'a>],
    position: usize,
}

impl<'a> Words<'a, '_> {
    fn peek(&self) -> Option<&Token<'a>> {
        self.tokens.get(self.position)
    }

    fn next(&mut self) -> Option<&Token<'a>> {
        let token = self.tokens.get(self.position);
        self.position += 1;
        token
    }

    fn error(&self, token: &Token<'_>, kind: ScheduleErrorKind, word: &str) -> ScheduleError {
        ScheduleError::new(kind, word, column_of(self.text, token.offset))
    }
}

/// Parses the off-peak text into its configuration.
pub(crate) fn parse(text: &str) -> Result<OffPeakConfig, ScheduleError> {
    let tokens = tokens(text)?;
    let mut words = Words {
        text,
        tokens: &tokens,
        position: 0,
    };
    config(&mut words)
}

// config = body season-part* period*
fn config(words: &mut Words<'_, '_>) -> Result<OffPeakConfig, ScheduleError> {
    let mut parsed = body(words)?;
    parsed.seasons = season_parts(words)?;
    while let Some(token) = words.next().cloned() {
        let header = words.position - 1;
        // body() and season_parts() stop only at a period's first word or the end;
        // anything else would be a bug, reported as an unknown word rather than a panic.
        let period = match token.kind {
            TokenKind::From | TokenKind::Until => dated_part(words, &token)?,
            TokenKind::Date(_) => {
                return Err(words.error(&token, ScheduleErrorKind::MisplacedDate, token.text));
            }
            _ => return Err(words.error(&token, ScheduleErrorKind::UnknownWord, token.text)),
        };
        // Changes written one after the other (`from A ... from B ...`): an open-ended
        // period ends the day before the next one starts.
        if let (Some(last), Some(start)) = (parsed.periods.last_mut(), period.from)
            && last.until.is_none()
            && last.from.is_some_and(|from| from < start)
        {
            last.until = start.pred_opt();
        }
        if parsed.periods.iter().any(|known| known.overlaps(&period)) {
            // The period's header: `from D`, `until D`, `from D until D`.
            let last = words.tokens[header..]
                .iter()
                .take_while(|t| {
                    matches!(
                        t.kind,
                        TokenKind::From | TokenKind::Until | TokenKind::Date(_)
                    )
                })
                .last()
                .unwrap_or(&token);
            let word = &words.text[token.offset..last.offset + last.text.len()];
            return Err(words.error(&token, ScheduleErrorKind::OverlappingPeriods, word));
        }
        parsed.periods.push(period);
    }
    Ok(parsed)
}

/// The bound after `from` or `until`.
fn bound(words: &mut Words<'_, '_>, keyword: &Token<'_>) -> Result<NaiveDate, ScheduleError> {
    match words.peek().map(|t| t.kind.clone()) {
        Some(TokenKind::Date(date)) => {
            words.next();
            Ok(date)
        }
        _ => Err(words.error(keyword, ScheduleErrorKind::MissingDate, keyword.text)),
    }
}

// period = ( from DATE ( until DATE )? | until DATE ) body season-part*
fn dated_part(words: &mut Words<'_, '_>, first: &Token<'_>) -> Result<DatedPart, ScheduleError> {
    let (mut from, mut until) = (None, None);
    if first.kind == TokenKind::From {
        from = Some(bound(words, first)?);
        if let Some(keyword) = words.peek().filter(|t| t.kind == TokenKind::Until).cloned() {
            words.next();
            let end = bound(words, &keyword)?;
            if from.is_some_and(|from| end < from) {
                let word = format!("{} {end}", keyword.text);
                return Err(words.error(&keyword, ScheduleErrorKind::InvalidDate, &word));
            }
            until = Some(end);
        }
    } else {
        until = Some(bound(words, first)?);
    }
    let mut schedule = body(words)?;
    schedule.seasons = season_parts(words)?;
    Ok(DatedPart {
        from,
        until,
        schedule,
    })
}

// season-part* (each season once per level)
fn season_parts(words: &mut Words<'_, '_>) -> Result<Vec<(Season, OffPeakConfig)>, ScheduleError> {
    let mut seasons: Vec<(Season, OffPeakConfig)> = Vec::new();
    while let Some(token) = words.peek().cloned() {
        let TokenKind::Season(season) = token.kind else {
            break;
        };
        words.next();
        if let Some(next) = words
            .peek()
            .filter(|t| matches!(t.kind, TokenKind::Season(_)))
        {
            let word = format!("{} {}", token.text, next.text);
            return Err(words.error(&token, ScheduleErrorKind::SeasonInSeason, &word));
        }
        if seasons.iter().any(|(known, _)| *known == season) {
            return Err(words.error(&token, ScheduleErrorKind::OverlappingPeriods, token.text));
        }
        let schedule = body(words)?;
        if !schedule.has_sections() {
            return Err(words.error(&token, ScheduleErrorKind::EmptySeason, token.text));
        }
        seasons.push((season, schedule));
    }
    Ok(seasons)
}

// body = section? ( PDL section )*
fn body(words: &mut Words<'_, '_>) -> Result<OffPeakConfig, ScheduleError> {
    let mut parsed = OffPeakConfig::default();
    if words.peek().is_some_and(|t| opens_section(&t.kind)) {
        parsed.default = Some(section(words)?);
    }
    while let Some(token) = words.peek().cloned() {
        let TokenKind::Pdl(id) = &token.kind else {
            break;
        };
        words.next();
        if parsed.usage_points.iter().any(|(known, _)| known == id) {
            return Err(words.error(&token, ScheduleErrorKind::RepeatedPdl, token.text));
        }
        let own = section(words)?;
        parsed.usage_points.push((id.clone(), own));
    }
    Ok(parsed)
}

/// Whether a word belongs to a section (rather than opening a PDL or a period).
fn opens_section(kind: &TokenKind) -> bool {
    matches!(
        kind,
        TokenKind::Range(_) | TokenKind::Day(_) | TokenKind::Holiday | TokenKind::Production
    )
}

// section = flow-part ( production flow-part )?
fn section(words: &mut Words<'_, '_>) -> Result<Section, ScheduleError> {
    let mut parsed = Section {
        consumption: flow_part(words)?,
        production: None,
    };
    if words
        .peek()
        .is_some_and(|t| t.kind == TokenKind::Production)
    {
        words.next();
        parsed.production = Some(flow_part(words)?);
        if let Some(again) = words.peek().filter(|t| t.kind == TokenKind::Production) {
            return Err(words.error(again, ScheduleErrorKind::RepeatedProduction, again.text));
        }
    }
    Ok(parsed)
}

// flow-part = range* ( (day | holiday) range* )*
fn flow_part(words: &mut Words<'_, '_>) -> Result<Part, ScheduleError> {
    let mut part = Part::default();
    // Where ranges go: None = every day, Some(0..7) = a weekday, Some(7) = holidays.
    let mut target: Option<usize> = None;
    let mut previous_opened: Option<Token<'_>> = None;
    while let Some(token) = words.peek().cloned() {
        match &token.kind {
            TokenKind::Range(range) => {
                let list = match target {
                    None => &mut part.every_day,
                    Some(7) => part.holidays.get_or_insert_with(Vec::new),
                    Some(day) => part.weekdays[day].get_or_insert_with(Vec::new),
                };
                list.extend(*range);
                previous_opened = None;
            }
            TokenKind::Day(_) | TokenKind::Holiday => {
                if let Some(previous) = &previous_opened {
                    let end = token.offset + token.text.len();
                    let both = &words.text[previous.offset..end];
                    return Err(words.error(previous, ScheduleErrorKind::TwoDaysInARow, both));
                }
                let index = match token.kind {
                    TokenKind::Day(weekday) => weekday.num_days_from_monday() as usize,
                    _ => 7,
                };
                if index == 7 {
                    part.holidays.get_or_insert_with(Vec::new);
                } else {
                    part.weekdays[index].get_or_insert_with(Vec::new);
                }
                target = Some(index);
                previous_opened = Some(token.clone());
            }
            TokenKind::Production
            | TokenKind::Pdl(_)
            | TokenKind::Date(_)
            | TokenKind::From
            | TokenKind::Until
            | TokenKind::Season(_) => break,
        }
        words.next();
    }
    Ok(part)
}
