"""Who sees what, from pidb's occupancy roles (pure): renters inside their tenancy, owners always but the
occupant's presence only where no tenancy covers it."""

from datetime import date

from domotic_assets.access.grants import Grant, Role, grants

D = date


def spans(found: list[Grant], login: str, scope: str) -> list[tuple]:
    return sorted(
        (g.apartment_key, g.day_from, g.day_to) for g in found if g.login == login and g.scope == scope
    )


def test_a_renter_sees_their_tenancy_and_an_owner_the_presence_only_between_tenancies():
    roles = [
        Role(1, "owner", "own", D(2020, 1, 1), None),
        Role(1, "renter", "first", D(2022, 1, 1), D(2023, 8, 20)),
        Role(1, "renter", "second", D(2023, 8, 21), None),  # a day empty between them
        Role(2, "renter", "other", D(2021, 1, 1), None),
    ]
    found = grants(roles)
    assert (
        spans(found, "first", "all")
        == spans(found, "first", "presence")
        == [(1, D(2022, 1, 1), D(2023, 8, 20))]
    )
    assert spans(found, "second", "presence") == [(1, D(2023, 8, 21), None)]
    assert spans(found, "own", "all") == [(1, D(2020, 1, 1), None)]
    assert spans(found, "own", "presence") == [
        (1, D(2020, 1, 1), D(2022, 1, 1)),
        (1, D(2023, 8, 20), D(2023, 8, 21)),
    ]
    assert spans(found, "other", "all") == [(2, D(2021, 1, 1), None)]
    assert not [g for g in found if g.login == "own" and g.apartment_key == 2]


def test_an_owner_who_sold_overlapping_tenancies_and_odd_rows_give_what_the_rule_says():
    roles = [
        Role(3, "owner", "seller", D(2020, 1, 1), D(2023, 1, 1)),
        Role(3, "owner", "buyer", D(2023, 1, 1), None),
        Role(3, "renter", "a", D(2019, 6, 1), D(2021, 1, 1)),  # began before the seller owned it
        Role(3, "renter", "b", D(2020, 6, 1), D(2022, 6, 1)),  # overlaps a
        Role(3, "janitor", "x", D(2020, 1, 1), None),  # not a role the contract knows
        Role(3, "renter", "never", D(2022, 1, 1), D(2022, 1, 1)),  # an empty span
    ]
    found = grants(roles)
    assert spans(found, "seller", "all") == [(3, D(2020, 1, 1), D(2023, 1, 1))]
    assert spans(found, "seller", "presence") == [(3, D(2022, 6, 1), D(2023, 1, 1))]
    assert spans(found, "buyer", "presence") == [(3, D(2023, 1, 1), None)]
    assert not [g for g in found if g.login in ("x", "never")]
