"""Names and identifiers of synthetic people: valid-shaped, never real.

- Names come from Faker's locale name lists (``en_GB`` for most people, and
  the Irish, Romanian, Indian and Yoruba lists for some people of those
  backgrounds), sampled with the run's own seeded numpy generator. Using the
  lists rather than Faker's per-call methods is ~100x faster and keeps the
  whole run on one random stream, so the same seed gives the same people.
  Faker en_GB's surnames carry frequency weights, so Smith and Jones recur at
  many addresses, as they should for linkage to be honest.
- NI numbers have the real shape (two letters from the allowed set, six
  digits, suffix A-D); NHS numbers are ten digits with a valid modulus-11
  check digit and start with 9, a range not issued in England.
- Phone numbers are Ofcom's drama ranges as Faker's ``en_GB`` formats list
  them (0113 496 0xxx, 07700 900xxx...), so none can ring a real person. There
  are only about 15,000 such numbers, so in a big borough strangers share
  numbers; the linkage must treat a phone match as weaker evidence than in
  real data (a known limitation, noted in the package docstring).
- E-mail addresses are built from the name on reserved example domains.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from importlib import import_module

import numpy as np
import polars as pl

from early_warning.synthetic.vocab import EMAIL_DOMAINS

_NI_FIRST = np.array(list("ABCEGHJKLMNOPRSTWXYZ"))
_NI_SECOND = np.array(list("ABCEGHJKLMNPRSTWXYZ"))
_NI_BANNED = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


class NamePool:
    """First names by sex and surnames (with weights) of one Faker locale."""

    def __init__(self, locale: str) -> None:
        provider = import_module(f"faker.providers.person.{locale}").Provider
        self.male = np.array(list(provider.first_names_male))
        self.female = np.array(list(provider.first_names_female))
        last = provider.last_names
        self.last = np.array(list(last))
        if isinstance(last, dict):
            w = np.array(list(last.values()), dtype=np.float64)
            self.last_p: np.ndarray | None = w / w.sum()
        else:
            self.last_p = None

    def first_names(
        self, rng: np.random.Generator, sex: np.ndarray, concentration: float = 0.0
    ) -> np.ndarray:
        """First names for people of ``sex``; see ``zipf_weights`` for ``concentration``."""
        if concentration <= 0:
            male = self.male[rng.integers(0, len(self.male), len(sex))]
            female = self.female[rng.integers(0, len(self.female), len(sex))]
        else:
            male = self.male[
                rng.choice(len(self.male), len(sex), p=zipf_weights(rng, len(self.male), concentration))
            ]
            female = self.female[
                rng.choice(len(self.female), len(sex), p=zipf_weights(rng, len(self.female), concentration))
            ]
        return np.where(sex == "M", male, female)

    def last_names(self, rng: np.random.Generator, n: int, concentration: float = 0.0) -> np.ndarray:
        """Surnames by the list's own frequencies, or Zipf-weighted when it has none."""
        p = self.last_p
        if p is None and concentration > 0:
            p = zipf_weights(rng, len(self.last), concentration)
        return self.last[rng.choice(len(self.last), size=n, p=p)]


def zipf_weights(rng: np.random.Generator, n: int, concentration: float) -> np.ndarray:
    """Weights of a flat name list made heavy-tailed: the k-th commonest gets k**-concentration.

    Faker's lists other than en_GB's surnames have no frequencies, so drawn
    flat every name is as common as every other and namesakes are rarer
    than in any real community. Which names are commonest is drawn from
    ``rng`` (the lists' own order is alphabetical).
    """
    rank = rng.permutation(n) + 1
    w = rank.astype(np.float64) ** -concentration
    return w / w.sum()


@cache
def name_pool(locale: str) -> NamePool:
    return NamePool(locale)


def ni_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unique NI-shaped strings such as ``JK123456C``."""
    prefixes = np.array([a + b for a in _NI_FIRST for b in _NI_SECOND if a + b not in _NI_BANNED])
    codes = rng.choice(len(prefixes) * 1_000_000, size=n, replace=False)
    pre = prefixes[codes // 1_000_000]
    digits = np.char.zfill((codes % 1_000_000).astype(str), 6)
    suffix = np.array(list("ABCD"))[rng.integers(0, 4, n)]
    return np.char.add(np.char.add(pre, digits), suffix)


def nhs_check_digit(nine: np.ndarray) -> np.ndarray:
    """Modulus-11 check digit of 9-digit numbers; 10 means 'no valid number'."""
    total = np.zeros(len(nine), dtype=np.int64)
    rest = nine.astype(np.int64)
    for weight in range(2, 11):  # last digit has weight 2, first weight 10
        total += (rest % 10) * weight
        rest //= 10
    check = 11 - total % 11
    return np.where(check == 11, 0, check)


def nhs_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unique 10-digit NHS-shaped numbers with a valid check digit."""
    draw = rng.choice(100_000_000, size=int(n * 1.15) + 16, replace=False) + 900_000_000
    check = nhs_check_digit(draw)
    ok = check != 10
    nine, check = draw[ok][:n], check[ok][:n]
    return np.char.add(nine.astype(str), check.astype(str))


@lru_cache(maxsize=1)
def phone_prefixes() -> tuple[str, ...]:
    """National-form prefixes (8 digits) of Faker en_GB's safe number formats."""
    provider = import_module("faker.providers.phone_number.en_GB").Provider
    found: set[str] = set()
    for fmt in tuple(provider.formats) + tuple(provider.cellphone_formats):
        digits = fmt.replace("+44(0)", "0").replace("+44", "0")
        digits = re.sub(r"[^0-9#]", "", digits)
        if digits.endswith("###") and len(digits) == 11:
            found.add(digits[:-3])
    return tuple(sorted(found))


def phone_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """11-digit national numbers from the safe ranges, spread as evenly as the
    ranges allow (each number reused only once all have been used)."""
    prefixes = np.array(phone_prefixes())
    space = len(prefixes) * 1000
    order = np.concatenate([rng.permutation(space) for _ in range(n // space + 1)])[:n]
    return np.char.add(prefixes[order // 1000], np.char.zfill((order % 1000).astype(str), 3))


def ascii_lower(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", folded.lower())


def emails(rng: np.random.Generator, first: list[str], last: list[str], birth_year: np.ndarray) -> list[str]:
    """Addresses built from names in a few common styles; clashes get a number."""
    n = len(first)
    fold = {name: ascii_lower(name) or "x" for name in sorted(set(first) | set(last))}
    f = pl.Series("f", first).replace_strict(fold, return_dtype=pl.String)
    s = pl.Series("s", last).replace_strict(fold, return_dtype=pl.String)
    frame = pl.DataFrame(
        {
            "f": f,
            "s": s,
            "k": rng.integers(0, 6, n),
            "d": np.array(EMAIL_DOMAINS)[rng.integers(0, len(EMAIL_DOMAINS), n)],
            "num": rng.integers(1, 99, n),
            "yy": (np.asarray(birth_year) % 100).astype(np.int64),
        }
    )
    k, fc, sc = pl.col("k"), pl.col("f"), pl.col("s")
    local = (
        pl.when(k == 0)
        .then(pl.format("{}.{}", fc, sc))
        .when(k == 1)
        .then(pl.format("{}{}", fc, sc))
        .when(k == 2)
        .then(pl.format("{}.{}", fc.str.slice(0, 1), sc))
        .when(k == 3)
        .then(pl.format("{}_{}", fc, sc))
        .when(k == 4)
        .then(pl.format("{}.{}{}", fc, sc, pl.col("num")))
        .otherwise(pl.format("{}{}{}", fc, sc, pl.col("yy").cast(pl.String).str.zfill(2)))
    )
    out = frame.with_columns(local=local).with_columns(
        clash=pl.int_range(pl.len()).over(pl.format("{}@{}", "local", "d"))
    )
    return (
        out.select(
            pl.when(pl.col("clash") == 0)
            .then(pl.format("{}@{}", "local", "d"))
            .otherwise(pl.format("{}{}@{}", "local", pl.col("clash") + 1, "d"))
        )
        .to_series()
        .to_list()
    )
