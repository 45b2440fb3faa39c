"""Pseudonyms: stable under one key, different under another, never the reference."""

from __future__ import annotations

import re

from pace_dash.domain.pseudonyms import pseudonym, pseudonyms


def test_same_child_and_key_give_the_same_pseudonym():
    assert pseudonym(42, b"key one") == pseudonym(42, b"key one")
    assert re.fullmatch(r"P-[A-Z2-7]{4}-[A-Z2-7]{4}", pseudonym(42, b"key one"))


def test_another_key_or_child_gives_another_pseudonym():
    assert pseudonym(42, b"key one") != pseudonym(42, b"key two")
    assert pseudonym(42, b"key one") != pseudonym(43, b"key one")


def test_many_children_get_distinct_pseudonyms_in_order():
    names = pseudonyms(range(1, 20_001), b"demo key")
    assert names.is_unique
    assert names.iloc[41] == pseudonym(42, b"demo key")
