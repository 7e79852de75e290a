"""Money, dates and durations in the customer's language (Babel / CLDR), never floats."""

from datetime import date

from transforms.documents import i18n


def test_money__each_language_places_symbol_and_separators_as_cldr():
    assert [i18n.money(123450, "EUR", lang) for lang in i18n.LANGUAGES] == [
        "€1,234.50", "1.234,50\u00a0€", "1\u202f234,50\u00a0€", "€\u00a01.234,50"]


def test_money__yen_has_no_decimals_unless_the_amount_has_cents():
    assert (i18n.money(123400, "JPY"), i18n.money(123450, "JPY")) == ("JP¥1,234", "JP¥1,234.50")


def test_money__negative_and_other_currencies():
    assert (i18n.money(-500, "GBP"), i18n.money(1, "USD", "de"), i18n.money(250000, "CHF", "de")) == (
        "-£5.00", "0,01\u00a0$", "2.500,00\u00a0CHF")


def test_dates_and_months__in_each_language():
    day = date(2026, 3, 31)
    assert [i18n.day(day, lang) for lang in i18n.LANGUAGES] == ["31 Mar 2026", "31.03.2026", "31 mars 2026", "31 mrt 2026"]
    assert i18n.month("2026-03", "de") == "März 2026"


def test_duration__hours_and_minutes():
    assert [i18n.duration(m) for m in (0, 45, 60, 90, 1235, -30)] == [
        "0 min", "45 min", "1 h", "1 h 30 min", "20 h 35 min", "-30 min"]


def test_labels__every_language_has_every_key_and_every_sentence():
    for lang in i18n.LANGUAGES:
        assert set(i18n.labels(lang)) == set(i18n.LABEL_KEYS)
        assert set(i18n.TEXTS[lang]) == set(i18n.TEXTS["en"])


def test_money__fast_path_equals_babel_for_every_language_and_currency():
    amounts = [0, 1, -1, 5, 99, 100, -100, 12345, -12345, 100000, 123456789, -98765432100, 7_00, 1_000_000_00]
    for currency in ("EUR", "USD", "GBP", "CHF", "JPY", "SEK", "PLN"):
        for lang in i18n.LANGUAGES:
            assert [i18n.money(c, currency, lang) for c in amounts] == [
                i18n.babel_money(c, currency, lang) for c in amounts], (currency, lang)
