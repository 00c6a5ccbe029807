//! The language the `linky` command speaks to a person: French or English, from `--lang`
//! or the locale (`LC_ALL`, then `LANG`). Month and weekday names, dates and numbers as
//! each language writes them (`1 234,5` and `1,234.5`), and [`Language::pick`] for the
//! command's sentences. `--help` stays English (clap has no localised help).

use chrono::{Datelike, NaiveDate};

/// The language of the labels, tables and sentences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// French.
    French,
    /// English.
    English,
}

impl Language {
    /// French when `LC_ALL` (or, when it is unset, `LANG`) says so, else English.
    pub fn from_environment() -> Language {
        let lang = std::env::var("LC_ALL")
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| std::env::var("LANG").ok())
            .unwrap_or_default();
        if lang.starts_with("fr") {
            Language::French
        } else {
            Language::English
        }
    }

    /// `french` in French, `english` in English.
    pub fn pick<'a>(self, french: &'a str, english: &'a str) -> &'a str {
        match self {
            Language::French => french,
            Language::English => english,
        }
    }

    /// The month's short name: `janv.`, `Jan`.
    pub fn month(self, month: u32) -> &'static str {
        const FR: [&str; 12] = [
            "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
            "nov.", "déc.",
        ];
        const EN: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let index = (month.clamp(1, 12) - 1) as usize;
        match self {
            Language::French => FR[index],
            Language::English => EN[index],
        }
    }

    /// The weekday's short name, Monday being 0: `lun.`, `Mon`.
    pub fn weekday(self, day: usize) -> &'static str {
        const FR: [&str; 7] = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."];
        const EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        match self {
            Language::French => FR[day % 7],
            Language::English => EN[day % 7],
        }
    }

    /// A date for a person: `3 janv. 2024`, `Jan 3, 2024`.
    pub fn date(self, date: NaiveDate) -> String {
        match self {
            Language::French => {
                format!(
                    "{} {} {}",
                    date.day(),
                    self.month(date.month()),
                    date.year()
                )
            }
            Language::English => {
                format!(
                    "{} {}, {}",
                    self.month(date.month()),
                    date.day(),
                    date.year()
                )
            }
        }
    }

    /// A day without its year: `3 janv.`, `Jan 3`.
    pub fn day_month(self, date: NaiveDate) -> String {
        match self {
            Language::French => format!("{} {}", date.day(), self.month(date.month())),
            Language::English => format!("{} {}", self.month(date.month()), date.day()),
        }
    }

    /// A month and its year, short: `janv. 24`, `Jan 24`.
    pub fn month_year(self, date: NaiveDate) -> String {
        format!(
            "{} {:02}",
            self.month(date.month()),
            date.year().rem_euclid(100)
        )
    }

    /// A number with `decimals` decimals, grouped by thousands: `1 234,5` in French (a
    /// no-break space between groups, a comma before the decimals), `1,234.5` in English.
    ///
    /// ```
    /// use linky_examples::lang::Language;
    /// assert_eq!(Language::French.number(1234.5, 1), "1\u{a0}234,5");
    /// assert_eq!(Language::English.number(-1234567.0, 0), "-1,234,567");
    /// assert_eq!(Language::French.number(20.0, 1), "20,0");
    /// ```
    pub fn number(self, value: f64, decimals: usize) -> String {
        let text = format!("{:.*}", decimals, value.abs());
        let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
        let (group, point) = match self {
            Language::French => ('\u{a0}', ','),
            Language::English => (',', '.'),
        };
        let mut grouped = String::new();
        for (index, digit) in whole.chars().enumerate() {
            if index > 0 && (whole.len() - index) % 3 == 0 {
                grouped.push(group);
            }
            grouped.push(digit);
        }
        let negative = value < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0');
        let mut out = String::new();
        if negative {
            out.push('-');
        }
        out.push_str(&grouped);
        if !fraction.is_empty() {
            out.push(point);
            out.push_str(fraction);
        }
        out
    }

    /// What comes before a colon: a (no-break) space in French, nothing in English.
    pub fn colon(self) -> &'static str {
        self.pick("\u{a0}:", ":")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_and_pointed_as_each_language_writes_them() {
        assert_eq!(Language::French.number(0.04, 1), "0,0");
        assert_eq!(Language::French.number(-0.04, 1), "0,0");
        assert_eq!(Language::French.number(999.96, 1), "1\u{a0}000,0");
        assert_eq!(Language::English.number(123456.0, 2), "123,456.00");
        assert_eq!(Language::English.number(12.0, 0), "12");
    }
}
