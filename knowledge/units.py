"""The one set of units: what the policy's figures are measured in (trade in USD, money in CNY,
areas in m², counts of enterprises or stores), and what the number parser can read besides."""

from __future__ import annotations

from enum import StrEnum


class Unit(StrEnum):
    USD = "USD"
    CNY = "CNY"
    M2 = "m2"
    COUNT = "count"
    PERCENT = "percent"  # read from text ("50%"); never a condition's unit
    NONE = "none"  # a bare number, its unit left to the reader
