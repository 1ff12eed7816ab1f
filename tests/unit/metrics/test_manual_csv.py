from datetime import date

import pytest

from andon.core.errors import InvalidInput
from andon.metrics.manual_csv import read_manual_csv


def refusal(text: str, chart: str, period: str = "week") -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(InvalidInput) as caught:
        read_manual_csv(text, chart, period)  # type: ignore[arg-type]
    return [(e.loc, e.msg) for e in caught.value.errors]


def test_xmr_values_are_read_in_file_order():
    rows = read_manual_csv("period,value\n2026-11-02,4.5\n2026-11-01,-1\n", "xmr", "day")
    assert [(r.period.key, r.value, r.line) for r in rows] == [
        ("2026-11-02", 4.5, 2),
        ("2026-11-01", -1.0, 3),
    ]


def test_p_rows_keep_count_and_sample_size():
    rows = read_manual_csv("period,count,n\r\n2026-W47,3,120\r\n2026-W48,0,80\r\n", "p", "week")
    assert [(r.period.first, r.count, r.n) for r in rows] == [
        (date(2026, 11, 16), 3, 120.0),
        (date(2026, 11, 23), 0, 80.0),
    ]


def test_u_rows_accept_a_fractional_amount_of_opportunity():
    rows = read_manual_csv("period,count,n\n2026-11,7,2.5\n", "u", "month")
    assert (rows[0].count, rows[0].n) == (7, 2.5)


def test_c_rows_and_a_byte_order_mark_and_trailing_blank_lines():
    rows = read_manual_csv("\ufeffperiod,count\n2026-W01,2\n\n\n", "c", "week")
    assert [(r.period.key, r.count) for r in rows] == [("2026-W01", 2)]


@pytest.mark.parametrize(
    ("header", "chart"),
    [
        ("period,value", "p"),
        ("period,count,n", "c"),
        ("Period,Value", "xmr"),
        ("value,period", "xmr"),
    ],
)
def test_the_header_must_match_the_chart_exactly(header, chart):
    errors = refusal(f"{header}\n2026-W01,1\n", chart)
    assert errors[0][0] == ("header",)
    assert errors[0][1].startswith("line 1: ")


def test_an_empty_file_is_refused_at_the_header():
    assert refusal("", "xmr")[0][0] == ("header",)


def test_a_header_alone_holds_no_values():
    assert refusal("period,value\n", "xmr")[0][0] == ("csv",)


def test_every_bad_row_is_reported_with_its_line_and_column():
    text = (
        "period,count,n\n"
        "2026-W01,3,50\n"
        "2026-W54,4,40\n"  # 2026 ends at week 53
        "2026-W01,5,50\n"  # duplicate of line 2
        "2026-W03,60,50\n"  # more defectives than inspected
        "2026-W04,x,0\n"
        "2026-W05,1\n"
        "2026-W06,1.5,10\n"
        "2026-W07,-1,10\n"
    )
    assert [(loc, msg.split(":")[0]) for loc, msg in refusal(text, "p")] == [
        (("period",), "line 3"),
        (("period",), "line 4"),
        (("count",), "line 5"),
        (("count",), "line 6"),
        (("n",), "line 6"),
        (("row",), "line 7"),
        (("count",), "line 8"),
        (("count",), "line 9"),
    ]


def test_a_duplicate_period_names_the_first_line():
    errors = refusal("period,value\n2026-11-01,1\n2026-11-01,2\n", "xmr", "day")
    assert errors == [(("period",), "line 3: 2026-11-01 is already on line 2")]


def test_a_p_sample_must_be_whole_and_positive():
    assert refusal("period,count,n\n2026-W01,0,0\n", "p")[0][0] == ("n",)
    assert refusal("period,count,n\n2026-W01,0,2.5\n", "p")[0][0] == ("n",)


@pytest.mark.parametrize("value", ["nan", "inf", "", "1,5"])
def test_a_value_that_is_not_a_finite_number_is_refused(value):
    errors = refusal(f"period,value\n2026-11-01,{value}\n", "xmr", "day")
    assert errors[0][1].startswith("line 2: ")


def test_a_period_of_the_wrong_kind_is_refused():
    errors = refusal("period,value\n2026-W47,1\n", "xmr", "month")
    assert errors == [
        (("period",), "line 2: '2026-W47' is not a month period; write e.g. '2026-11'")
    ]


def test_a_quoted_line_break_does_not_shift_later_line_numbers():
    errors = refusal('period,value\n"2026-11-01\n",1\n2026-11-03,x\n', "xmr", "day")
    assert [msg.split(":")[0] for _, msg in errors] == ["line 4"]
