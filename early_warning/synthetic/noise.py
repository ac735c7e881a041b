"""How each system mistypes and reformats what it holds about a person.

These are the real-world reasons the same person does not look the same in
two systems: typing errors (a transposition, a dropped or doubled letter, a
neighbouring key), nicknames, an initial for a first name, first and last
name typed the wrong way round, day and month of birth swapped, a system
that writes everything in capitals, abbreviates "Road" to "Rd", puts the flat
number after the street or leaves it out. Each function takes the random
draws it needs as arguments so that callers can draw them in bulk.
"""

from __future__ import annotations

from early_warning.synthetic.vocab import NICKNAMES, STREET_ABBREVIATIONS

_KEYBOARD = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS: dict[str, str] = {}
for _row in _KEYBOARD:
    for _i, _c in enumerate(_row):
        _NEIGHBOURS[_c] = _row[max(0, _i - 1) : _i] + _row[_i + 1 : _i + 2]


def typo(text: str, kind: int, where: float) -> str:
    """One typing error: 0 transpose, 1 drop, 2 double, 3 neighbouring key.

    ``where`` in [0, 1) picks the position, away from the first letter,
    which people get right far more often.
    """
    if len(text) < 3:
        return text
    i = 1 + int(where * (len(text) - 2))
    if kind == 0:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind == 1:
        return text[:i] + text[i + 1 :]
    if kind == 2:
        return text[:i] + text[i] + text[i:]
    c = text[i]
    near = _NEIGHBOURS.get(c.lower(), "")
    if not near:
        return text[:i] + text[i + 1 :]
    repl = near[int(where * 997) % len(near)]
    return text[:i] + (repl.upper() if c.isupper() else repl) + text[i + 1 :]


def nickname(first: str, pick: float) -> str:
    options = NICKNAMES.get(first)
    if not options:
        return first
    return options[int(pick * len(options)) % len(options)]


#: address styles, one per source: how that system writes an address.
ADDRESS_STYLES = (
    "gazetteer",
    "upper",
    "flat_after",
    "abbrev_slash",
    "typed",
    "with_postcode",
    "street_first",
    "short",
)


def format_address(
    style: str,
    flat: int,
    number: int,
    street: str,
    town: str,
    postcode: str,
    drop_flat: bool,
    abbreviate: bool,
) -> str:
    """One address written the way a system writes it."""
    if abbreviate or style in ("abbrev_slash", "short"):
        head, _, kind = street.rpartition(" ")
        street = f"{head} {STREET_ABBREVIATIONS.get(kind, kind)}"
    has_flat = flat > 0 and not drop_flat
    if style == "upper":
        text = (f"FLAT {flat}, " if has_flat else "") + f"{number} {street}".upper()
    elif style == "flat_after":
        text = f"{number} {street}" + (f" Flat {flat}" if has_flat else "") + f", {town}"
        text = text.upper()
    elif style == "abbrev_slash":
        text = (f"{flat}/{number} " if has_flat else f"{number} ") + f"{street}, {town}"
    elif style == "typed":
        text = ((f"flat {flat} " if has_flat else "") + f"{number} {street}").lower()
    elif style == "with_postcode":
        text = (f"Flat {flat}, " if has_flat else "") + f"{number} {street}, {town}, {postcode}"
    elif style == "street_first":
        text = f"{number} {street}" + (f", Flat {flat}" if has_flat else "")
    elif style == "short":
        text = (f"Flat {flat} " if has_flat else "") + f"{number} {street}"
    else:
        text = (f"Flat {flat}, " if has_flat else "") + f"{number} {street}, {town}"
    return text


def format_postcode(postcode: str, style: int) -> str:
    """0 as held, 1 no space, 2 lower case."""
    if style == 1:
        return postcode.replace(" ", "")
    if style == 2:
        return postcode.lower()
    return postcode


def format_phone(number: str, style: int) -> str:
    """National number in one of the ways systems store it."""
    if style == 1:
        return (
            f"{number[:5]} {number[5:8]} {number[8:]}"
            if number.startswith("07")
            else f"{number[:4]} {number[4:7]} {number[7:]}"
        )
    if style == 2:
        return "+44" + number[1:]
    if style == 3:
        cut = 5 if number.startswith("07") else 4
        return f"+44 {number[1:cut]} {number[cut:]}"
    return number
