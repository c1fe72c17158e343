"""The docs page lists each operation by a short phrase taken from its docstring."""

from app.api_docs import SUMMARY_MAX, summary_of


def test_the_summary_is_the_first_sentence_without_its_full_stop():
    text = "Revokes one of an organisation's API keys (admins). Its secret stops working."
    assert summary_of(text) == "Revokes one of an organisation's API keys (admins)"


def test_a_full_stop_inside_a_sentence_does_not_end_it():
    text = "Uploads a file, e.g. report.csv, as the body (`?filename=`)."
    assert summary_of(text) == "Uploads a file, e.g. report.csv, as the body (`?filename=`)"
    assert summary_of("Lists keys.\n`GET` them again later.") == "Lists keys"


def test_a_long_sentence_keeps_its_longest_leading_clause_that_fits():
    text = (
        "Approves an application after its notice, making the award and its claims "
        "(officers); the notice must have ended with no objection open."
    )
    assert summary_of(text) == (
        "Approves an application after its notice, making the award and its claims"
    )


def test_a_clause_mark_inside_brackets_is_not_a_cut():
    text = (
        "Records a skill certificate (officers and admins naming the issuer; an issuing "
        "organisation for itself) with its occupation, level and number."
    )
    assert summary_of(text) == "Records a skill certificate"


def test_without_a_clause_that_fits_it_is_cut_between_words():
    text = (
        "Lists the account names and client addresses that are refused by the login "
        "throttle at this moment, for admins."
    )
    summary = summary_of(text)
    assert summary == "Lists the account names and client addresses that are refused by the login…"
    assert len(summary) <= SUMMARY_MAX
