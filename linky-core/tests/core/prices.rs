//! Prices over time and exact costs: hand-computed days and months (a price change and a
//! subscription change mid-month, a Tempo day), the bundled regulated prices, the offer
//! comparison, bad price files, and exactness properties.

use chrono::{Datelike, NaiveDate};
use linky_core::{
    ColourCalendar, CompareSettings, CompiledSchedule, DayColour, Energy, EnergyPrice, Flow,
    HolidayZone, IntervalLength, LoadCurve, MONEY_UNITS_PER_EURO, Money, OfferKind, PARIS,
    PriceBook, Reading, Subscription, compare_offers, costs_by_month, costs_by_year,
};
use proptest::prelude::*;

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// A constant 1 kW over `[from, to)`, PT30M.
fn curve(from: &str, to: &str) -> LoadCurve {
    let readings: Vec<Reading> = date(from)
        .iter_days()
        .take_while(|d| *d < date(to))
        .flat_map(|day| super::time_model::readings_of_day(day, IntervalLength::PT30M, |_| 1000))
        .collect();
    LoadCurve::builder(PARIS).build(&readings).0
}

fn day_costs(book: &PriceBook, offer: &str, from: &str, to: &str) -> Vec<linky_core::DayCost> {
    let offer = book.offer(offer).unwrap();
    date(from)
        .iter_days()
        .take_while(|d| *d < date(to))
        .map(|d| offer.day_cost(d, 6, &[Energy::from_wh(24_000)]).unwrap())
        .collect()
}

#[test]
fn a_price_change_mid_month_costs_each_day_at_its_own_price() {
    let book = PriceBook::parse(
        "Mine;base;2026-01-01;6;15.00/month;0.2000;\n\
         Mine;base;2026-01-15;6;15.00/month;0.25;a new price on the 15th\n",
    )
    .unwrap();
    let days = day_costs(&book, "Mine", "2026-01-01", "2026-02-01");
    // 14 days x 24 kWh x 0.20 + 17 days x 24 kWh x 0.25 + the month's 15.00.
    let months = costs_by_month(&days);
    assert_eq!(months.len(), 1);
    assert_eq!(months[0].1.total(), Money::from_cents(6720 + 10200 + 1500));
    // Per class: the energy's part and the subscription's.
    assert_eq!(months[0].1.energy, [Money::from_cents(6720 + 10200)]);
    assert_eq!(months[0].1.subscription, Money::from_cents(1500));
    assert_eq!(days[13].energy[0], Money::from_cents(480));
    assert_eq!(days[14].energy[0], Money::from_cents(600));
}

#[test]
fn a_subscription_change_mid_month_is_prorated_by_day() {
    let book = PriceBook::parse(
        "Mine;base;2026-01-01;6;15.00/month;0.2000;\n\
         Mine;base;2026-01-15;6;31.00/month;0.2000;\n",
    )
    .unwrap();
    let days = day_costs(&book, "Mine", "2026-01-01", "2026-02-01");
    let subscription: Money = days.iter().map(|d| d.subscription).sum();
    // 15.00 x 14/31 + 31.00 x 17/31 = 23.774... euros.
    assert_eq!(subscription.to_string(), "23.77 €");
    let exact = 15.0 * 14.0 / 31.0 + 31.0 * 17.0 / 31.0;
    assert!(
        (subscription.as_euros() - exact).abs() < 1e-9,
        "{}",
        subscription.as_euros()
    );
    // A whole month of one subscription is exactly it.
    let february = day_costs(&book, "Mine", "2026-02-01", "2026-03-01");
    let paid: Money = february.iter().map(|d| d.subscription).sum();
    assert_eq!(paid, Money::from_cents(3100));
}

#[test]
fn the_regulated_prices_cost_july_and_august_2025_by_hand() {
    let book = PriceBook::regulated();
    assert_eq!(book.offers.len(), 3);
    let days = day_costs(&book, "Base", "2025-07-01", "2025-09-01");
    let months = costs_by_month(&days);
    // July: 744 kWh x 0.2016 + 165.17 / 12; August: 744 kWh x 0.1952 + 185.94 / 12.
    let july = 744.0 * 0.2016 + 165.17 / 12.0;
    let august = 744.0 * 0.1952 + 185.94 / 12.0;
    assert_eq!(months[0].1.total().to_string(), format!("{july:.2} €"));
    assert_eq!(months[1].1.total().to_string(), format!("{august:.2} €"));
    assert!((months[0].1.total().as_euros() - july).abs() < 1e-9);
    let years = costs_by_year(&days);
    assert_eq!(years.len(), 1);
    assert_eq!(
        years[0].1.total(),
        months[0].1.total() + months[1].1.total()
    );
    // Every bundled line is in force somewhere, in order, with its kind's price count.
    for offer in &book.offers {
        for period in &offer.periods {
            assert_eq!(period.prices.len(), offer.kind.classes(), "{}", offer.name);
            assert_eq!(offer.period_on(period.from, period.kva), Some(period));
        }
    }
    // No 6 kVA Tempo price before February 2023, no HP/HC before August 2023.
    let tempo = book.offer("Tempo").unwrap();
    assert!(tempo.period_on(date("2022-12-31"), 6).is_none());
    assert!(tempo.period_on(date("2022-12-31"), 9).is_some());
    assert!(
        book.offer("HP/HC")
            .unwrap()
            .period_on(date("2023-07-31"), 6)
            .is_none()
    );
}

#[test]
fn a_tempo_day_costs_its_colours_prices() {
    let book = PriceBook::regulated();
    let tempo = book.offer("Tempo").unwrap();
    assert_eq!(tempo.kind, OfferKind::Tempo);
    // 2025-01-14, red after a white Monday: 6 kWh white off-peak, 16 kWh red peak, 2 kWh
    // red off-peak, at the prices of 2024-02-01.
    let energies = [0, 0, 0, 6_000, 16_000, 2_000].map(Energy::from_wh);
    let cost = tempo.day_cost(date("2025-01-14"), 6, &energies).unwrap();
    let energy: Money = cost.energy.iter().copied().sum();
    let by_hand = 6.0 * 0.1486 + 16.0 * 0.7562 + 2.0 * 0.1568;
    assert!(
        (energy.as_euros() - by_hand).abs() < 1e-12,
        "{}",
        energy.as_euros()
    );
    assert_eq!(energy, Money::from_euro_fraction(13_304_400, 1_000_000));
}

#[test]
fn offers_are_compared_on_the_same_days() {
    let book = PriceBook::regulated();
    let config: linky_core::OffPeakConfig = "22h00-6h00".parse().unwrap();
    let schedule = CompiledSchedule::new(&config, "1", Flow::Consumption, HolidayZone::Metropole);
    let mut colours = ColourCalendar::new();
    for day in date("2025-01-01").iter_days().take(31) {
        colours.set(
            day,
            if day == date("2025-01-14") {
                DayColour::Red
            } else {
                DayColour::Blue
            },
        );
    }
    // The 31st's night needs the 30th (known), the 1st's needs 31 Dec (unknown).
    let curve = curve("2025-01-01", "2025-02-01");
    let compared = compare_offers(
        &curve,
        &book,
        CompareSettings::new(date("2025-01-01"), date("2025-02-01"), 6, &schedule)
            .with_colours(&colours),
    );
    assert_eq!(compared.days.len(), 30);
    assert_eq!(
        compared.left_out,
        [(
            date("2025-01-01"),
            linky_core::LeftOut::ColourUnknown {
                night: Some(date("2024-12-31")),
                day: None
            }
        )]
    );
    // The kWh beside the euros, per class, exact: 30 days of a flat kW.
    let tempo = compared.offers.iter().find(|o| o.name == "Tempo").unwrap();
    let energies = tempo.class_energies();
    assert_eq!(energies.len(), 6);
    assert_eq!(
        energies.iter().copied().sum::<linky_core::Energy>(),
        linky_core::Energy::from_wh(30 * 24 * 1000)
    );
    assert_eq!(
        tempo.class_costs().into_iter().sum::<linky_core::Money>(),
        tempo.total() - tempo.subscription()
    );
    let names: Vec<&str> = compared.offers.iter().map(|o| o.name.as_str()).collect();
    // A flat 1 kW, mostly blue: Tempo cheapest, then HP/HC (8 h off-peak), then Base.
    assert_eq!(names, ["Tempo", "HP/HC", "Base"]);
    let base = compared.offers.iter().find(|o| o.name == "Base").unwrap();
    let by_hand = 30.0 * 24.0 * 0.2516 + 151.86 / 12.0 * 30.0 / 31.0;
    assert!(
        (base.total().as_euros() - by_hand).abs() < 1e-6,
        "{}",
        base.total()
    );
    // Without colours Tempo is not costed; the other two compare all 31 days.
    let without = compare_offers(
        &curve,
        &book,
        CompareSettings::new(date("2025-01-01"), date("2025-02-01"), 6, &schedule),
    );
    assert_eq!(without.days.len(), 31);
    assert_eq!(without.offers.len(), 2);
}

#[test]
fn mistakes_in_a_price_file_are_named_with_line_and_column() {
    let cases = [
        (
            "Mine;base;2026-01-01;6;15.00/month;0.2000",
            "line 1, column 36: a base offer has 1 price, found 0 (the last field is the note: end the line with ; when there is none)",
        ),
        (
            "Mine;flat;2026-01-01;6;15.00/month;0.2;",
            "line 1, column 6: unknown kind \"flat\": expected base, hphc or tempo",
        ),
        (
            "# comment\n\nMine;base;2026-13-01;6;15/month;0.2;",
            "line 3, column 11: \"2026-13-01\" is not a date (YYYY-MM-DD)",
        ),
        (
            "Mine;base;2026-01-01;0;15/month;0.2;",
            "line 1, column 22: \"0\" is not a power in kVA (1 to 36)",
        ),
        (
            "Mine;base;2026-01-01;6;15;0.2;",
            "line 1, column 24: \"15\": expected euros /year or /month, e.g. 186.46/year",
        ),
        (
            "Mine;base;2026-01-01;6;15/week;0.2;",
            "line 1, column 24: \"week\": a subscription is per year or per month",
        ),
        (
            "Mine;base;2026-01-01;6;15.001/month;0.2;",
            "line 1, column 24: \"15.001\" has more than 2 decimals",
        ),
        (
            "Mine;base;2026-01-01;6;15/month;0.123456;",
            "line 1, column 33: \"0.123456\" has more than 5 decimals",
        ),
        (
            "Mine;base;2026-01-01;6;15/month;-0.2;",
            "line 1, column 33: \"-0.2\" is not an amount",
        ),
        (
            "Mine;hphc;2026-01-01;6;15/month;0.2;",
            "line 1, column 37: a hphc offer has 2 prices, found 1 (the last field is the note: end the line with ; when there is none)",
        ),
        (
            "Mine;base;2026-01-01;6;15/month;0.2;\nMine;hphc;2026-02-01;6;15/month;0.2;0.1;",
            "line 2, column 6: Mine is a base offer above",
        ),
        (
            "Mine;base;2026-01-01;6;15/month;0.2;\nMine;base;2026-01-01;6;16/month;0.2;",
            "line 2, column 11: Mine already has 6 kVA prices from 2026-01-01",
        ),
        (
            "Mine;base",
            "line 1, column 10: expected offer;kind;from;kva;subscription;prices...;note, found 2 fields",
        ),
        (
            " ;base;2026-01-01;6;15/month;0.2;",
            "line 1, column 1: the offer has no name",
        ),
    ];
    for (text, message) in cases {
        let error = PriceBook::parse(text).unwrap_err();
        assert_eq!(error.to_string(), message, "{text:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A month's cost is the sum of its days, exactly; a whole month of one subscription
    /// is exactly that subscription, whatever the month and amount.
    #[test]
    fn a_months_cost_is_the_sum_of_its_days(
        year in 2020i32..2030,
        month in 1u32..=12,
        cents in 0i64..100_000,
        yearly in any::<bool>(),
        price in 0i64..200_000,
        wh in prop::collection::vec(0i64..100_000, 31),
    ) {
        let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap();
        let subscription = if yearly { Subscription::PerYear(cents) } else { Subscription::PerMonth(cents) };
        let days: Vec<NaiveDate> = first.iter_days().take_while(|d| d.month0() == first.month0()).collect();
        let paid: Money = days.iter().map(|d| subscription.on(*d)).sum();
        prop_assert_eq!(paid, subscription.per_month());
        if !yearly {
            prop_assert_eq!(paid, Money::from_cents(cents));
        } else {
            prop_assert_eq!(paid.units() * 12, i128::from(cents) * (MONEY_UNITS_PER_EURO / 100));
        }
        let price = EnergyPrice::from_e5(price);
        let costs: Vec<linky_core::DayCost> = days.iter().zip(&wh).map(|(d, wh)| linky_core::DayCost::new(
            *d,
            subscription.on(*d),
            vec![price.cost(Energy::from_wh(*wh))],
            vec![Energy::from_wh(*wh)],
        )).collect();
        let months = costs_by_month(&costs);
        prop_assert_eq!(months.len(), 1);
        let sum: Money = costs.iter().map(linky_core::DayCost::total).sum();
        prop_assert_eq!(months[0].1.total(), sum);
        prop_assert_eq!(costs_by_year(&costs)[0].1.total(), sum);
        // And the energy part is the exact product, no rounding anywhere.
        let energy: i128 = wh[..days.len()].iter().map(|w| i128::from(*w) * 60_000 * i128::from(price.e5())).sum();
        prop_assert_eq!(sum.units() - paid.units(), energy);
    }
}

#[test]
fn the_bundled_price_file_reads() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/prices/regulated.csv"))
            .unwrap();
    PriceBook::parse(&text).unwrap();
}

/// The CRE's open-data header for Tempo (data.gouv.fr `Option_Tempo.csv`).
const TEMPO_HEADER: &str = "DATE_DEBUT;DATE_FIN;P_SOUSCRITE;PART_FIXE_HT;PART_FIXE_TTC;\
    PART_VARIABLE_HCBleu_HT;PART_VARIABLE_HCBleu_TTC;PART_VARIABLE_HPBleu_HT;PART_VARIABLE_HPBleu_TTC;\
    PART_VARIABLE_HCBlanc_HT;PART_VARIABLE_HCBlanc_TTC;PART_VARIABLE_HPBlanc_HT;PART_VARIABLE_HPBlanc_TTC;\
    PART_VARIABLE_HCRouge_HT;PART_VARIABLE_HCRouge_TTC;PART_VARIABLE_HPRouge_HT;PART_VARIABLE_HPRouge_TTC";

/// The CRE's own files read into the bundled offers' names and order: their rows equal
/// the bundled figures taken from them (Tempo 6 kVA and Base 9 kVA from 2025-08-01).
#[test]
fn the_cre_open_data_files_read_as_the_bundled_offers() {
    let regulated = PriceBook::regulated();
    let august = date("2025-08-01");
    // Tempo, as the file is: a BOM, CRLF lines, decimal commas, a row without prices.
    let tempo = format!(
        "\u{feff}{TEMPO_HEADER}\r\n\
         01/08/2016;31/07/2017;6;;;;;;;;;;;;;;\r\n\
         01/08/2025;;6;133,20;186,46;0,0727;0,1232;0,0945;0,1494;0,0859;0,1391;0,1142;0,173;0,0917;0,146;0,509;0,6468\r\n"
    );
    let book = PriceBook::read(&tempo).unwrap();
    assert_eq!(book.offers.len(), 1);
    let offer = &book.offers[0];
    assert_eq!(
        (offer.name.as_str(), offer.kind),
        ("Tempo", OfferKind::Tempo)
    );
    assert_eq!(offer.periods.len(), 1);
    let bundled = regulated
        .offer("Tempo")
        .unwrap()
        .period_on(august, 6)
        .unwrap();
    assert_eq!(offer.periods[0].prices, bundled.prices);
    assert_eq!(offer.periods[0].subscription, bundled.subscription);
    assert_eq!(offer.periods[0].from, august);
    // Base: one price.
    let base = PriceBook::read(
        "DATE_DEBUT;DATE_FIN;P_SOUSCRITE;PART_FIXE_HT;PART_FIXE_TTC;PART_VARIABLE_HT;PART_VARIABLE_TTC\n\
         01/08/2025;;9;165,48;233,70;0,1327;0,1952\n",
    )
    .unwrap();
    let bundled = regulated
        .offer("Base")
        .unwrap()
        .period_on(august, 9)
        .unwrap();
    assert_eq!(base.offers[0].periods[0].prices, bundled.prices);
    assert_eq!(base.offers[0].periods[0].subscription, bundled.subscription);
    // HP/HC: the file lists off-peak first; the offer keeps peak first.
    let hphc = PriceBook::read(
        "DATE_DEBUT;DATE_FIN;P_SOUSCRITE;PART_FIXE_HT;PART_FIXE_TTC;PART_VARIABLE_HC_HT;PART_VARIABLE_HC_TTC;PART_VARIABLE_HP_HT;PART_VARIABLE_HP_TTC\n\
         2026-02-01;;6;130,00;188,87;0,0980;0,15790;0,1300;0,2065\n",
    )
    .unwrap();
    let offer = &hphc.offers[0];
    assert_eq!(
        (offer.name.as_str(), offer.kind),
        ("HP/HC", OfferKind::PeakOffPeak)
    );
    let prices: Vec<String> = offer.periods[0]
        .prices
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(prices, ["0.20650", "0.15790"]);
    assert_eq!(offer.periods[0].subscription, Subscription::PerYear(18_887));
}

/// A newer download extends the bundled prices: a change the bundle does not know costs
/// the days after it at its prices, the days before at the bundled ones.
/// A CRE row whose `DATE_FIN` has passed, with no later row of its power, prices no day
/// after it: the comparison leaves those days out and says why (issue 18: it priced them
/// all at the ended price).
#[test]
fn a_cre_period_ends_on_its_date_fin() {
    let csv = "DATE_DEBUT;DATE_FIN;P_SOUSCRITE;PART_FIXE_HT;PART_FIXE_TTC;PART_VARIABLE_HT;PART_VARIABLE_TTC\n\
               01/02/2025;15/01/2026;30;300,00;400,00;0,15;0,2000\n\
               01/08/2025;;6;125,04;185,94;0,1208;0,1952\n\
               01/02/2025;31/07/2025;6;120,00;180,00;0,12;0,1900\n";
    let book = PriceBook::parse_open_data(csv).unwrap();
    let base = book.offer("Base").unwrap();
    // 6 kVA: the ended row is followed by a later one; 30 kVA: nothing after 15 January.
    assert_eq!(
        base.period_on(date("2025-07-31"), 6).unwrap().prices[0].to_string(),
        "0.19000"
    );
    assert_eq!(
        base.period_on(date("2026-03-01"), 6).unwrap().prices[0].to_string(),
        "0.19520"
    );
    assert!(base.period_on(date("2026-01-15"), 30).is_some());
    assert!(base.period_on(date("2026-01-16"), 30).is_none());
    assert_eq!(
        base.ended_before(date("2026-01-16"), 30),
        Some(date("2026-01-15"))
    );
    let config: linky_core::OffPeakConfig = "22h00-6h00".parse().unwrap();
    let schedule = CompiledSchedule::new(&config, "1", Flow::Consumption, HolidayZone::Metropole);
    let compared = compare_offers(
        &curve("2026-01-10", "2026-01-20"),
        &book,
        CompareSettings::new(date("2026-01-10"), date("2026-01-20"), 30, &schedule),
    );
    assert_eq!(compared.days.len(), 6);
    assert_eq!(compared.left_out.len(), 4);
    assert_eq!(
        compared.left_out[0],
        (
            date("2026-01-16"),
            linky_core::LeftOut::NoPrice {
                offer: "Base".to_owned(),
                kva: 30,
                ended: Some(date("2026-01-15"))
            }
        )
    );
    assert_eq!(
        compared.left_out[0].1.to_string(),
        "no 30 kVA price for Base: its prices end on 2026-01-15"
    );
    // A DATE_FIN before its DATE_DEBUT is a mistake, named where it is.
    let error = PriceBook::parse_open_data(
        "DATE_DEBUT;DATE_FIN;P_SOUSCRITE;PART_FIXE_TTC;PART_VARIABLE_TTC\n01/02/2025;01/01/2025;6;185,94;0,1952\n",
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "line 2, column 12: DATE_FIN 2025-01-01 is before DATE_DEBUT 2025-02-01"
    );
}

#[test]
fn a_newer_cre_file_updates_the_bundled_prices_from_its_date_on() {
    let mut book = PriceBook::regulated();
    book.extend(
        PriceBook::read(&format!(
            "{TEMPO_HEADER}\n\
             01/08/2025;;6;133,20;186,46;0,0727;0,1232;0,0945;0,1494;0,0859;0,1391;0,1142;0,173;0,0917;0,146;0,509;0,6468\n\
             01/09/2026;;6;150,00;200,00;0,08;0,1300;0,10;0,1600;0,09;0,1500;0,12;0,1800;0,10;0,1550;0,52;0,7000\n"
        ))
        .unwrap(),
    );
    let tempo = book.offer("Tempo").unwrap();
    // The August 2025 row replaced the bundled one (same day and power): still one.
    assert_eq!(
        tempo
            .periods
            .iter()
            .filter(|p| p.from == date("2025-08-01") && p.kva == 6)
            .count(),
        1
    );
    // A red day's peak kWh on each side of the new row.
    let cost = |day: &str| {
        let energies = [0, 0, 0, 0, 1000, 0].map(Energy::from_wh);
        let day = tempo.day_cost(date(day), 6, &energies).unwrap();
        day.energy[4]
    };
    // 1 kWh at the bundled price of the day before (2026-02-01's), then at 0.7000 €.
    let bundled = PriceBook::regulated()
        .offer("Tempo")
        .unwrap()
        .period_on(date("2026-08-31"), 6)
        .unwrap()
        .prices[4];
    assert_eq!(cost("2026-08-31"), bundled.cost(Energy::from_wh(1000)));
    assert_ne!(bundled, EnergyPrice::from_e5(70_000));
    assert_eq!(cost("2026-09-01"), Money::from_cents(70));
}

#[test]
fn mistakes_in_a_cre_file_are_named_with_line_and_column() {
    let error = |text: &str| PriceBook::parse_open_data(text).unwrap_err().to_string();
    let header = "DATE_DEBUT;DATE_FIN;P_SOUSCRITE;PART_FIXE_HT;PART_FIXE_TTC;PART_VARIABLE_HT;PART_VARIABLE_TTC";
    assert_eq!(
        error(&format!("{header}\n31/02/2025;;6;1;2,00;0,1;0,2\n")),
        "line 2, column 1: \"31/02/2025\" is not a date (DD/MM/YYYY)"
    );
    assert_eq!(
        error(&format!("{header}\n01/02/2025;;six;1;2,00;0,1;0,2\n")),
        "line 2, column 13: \"six\" is not a power in kVA (1 to 36)"
    );
    assert_eq!(
        error(&format!("{header}\n\n01/02/2025;;6;1;2,00;0,1;0,2x\n")),
        "line 3, column 26: \"0,2x\" is not an amount"
    );
    assert_eq!(
        error(&format!("{header}\n01/02/2025;;6;1;2,005;0,1;0,2\n")),
        "line 2, column 17: PART_FIXE_TTC: \"2,005\" has more than 2 decimals"
    );
    assert_eq!(
        error(&format!("{header}\n01/02/2025;;6;1;2,00;0,1\n")),
        "line 2, column 25: \"\" is not an amount"
    );
    assert_eq!(
        error("DATE_DEBUT;DATE_FIN;PART_FIXE_TTC;PART_VARIABLE_TTC\n"),
        "line 1, column 1: no P_SOUSCRITE column"
    );
    assert_eq!(
        error(""),
        "line 1, column 1: empty file: expected the CRE's header (DATE_DEBUT;...)"
    );
    assert_eq!(
        error(&format!(
            "{header}\n01/02/2025;;6;1;2,00;0,1;0,2\n01/02/2025;;6;1;2,00;0,1;0,3\n"
        )),
        "line 3, column 1: 6 kVA prices from 2025-02-01 twice"
    );
    // Without the header, it is read as this crate's format, and says so.
    assert!(
        PriceBook::read("01/02/2025;;6;1;2,00;0,1;0,2\n")
            .unwrap_err()
            .to_string()
            .starts_with("line 1, column 12:"),
    );
}
