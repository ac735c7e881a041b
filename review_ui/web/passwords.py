"""Password hashing for local accounts (argon2id), and the one rule for new passwords.

A new password must have at least 15 characters of real content (NCSC:
length over complexity; OWASP ASVS 5.0 6.2.1 recommends 15 where a password
is the only factor, as a local account's is): surrounding spaces do not count, and a password
that is one character repeated, one short pattern repeated
(``passwordpassword``), a run along the keyboard or the alphabet or the
digits (``123456789012``), or a word from the bundled list of common
passwords with digits and symbols added at the ends (``Password2024!``) is
refused, whatever its length. The list (``common_passwords.txt``) is written
for this product, a few hundred well-known passwords and words; the larger
published lists are not available offline, so the rules above carry the rest.

The rule is for *new* passwords only (``hash_password``): a password set when
the minimum was 12 keeps working at sign-in until its owner changes it, so
raising the minimum locks nobody out.
"""

from __future__ import annotations

import functools
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()

#: A hash of a random password, checked when the username does not exist so a
#: failed sign-in takes the same time whether or not the account is real.
_DUMMY_HASH = _HASHER.hash("this account does not exist")

MIN_PASSWORD_LENGTH = 15
MAX_PASSWORD_LENGTH = 1024
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")
KEYBOARD_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "abcdefghijklmnopqrstuvwxyz")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The bundled list, lower-cased (one a line; ``#`` lines are comments)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def _repeats_a_pattern(text: str) -> bool:
    """``aaaa``, ``abcabc``, ``passwordpassword``: some shorter piece repeated to fill it."""
    return any(
        len(text) % size == 0 and text[:size] * (len(text) // size) == text
        for size in range(1, len(text) // 2 + 1)
    )


def _is_a_run(text: str) -> bool:
    """A run along the digits, the alphabet or a keyboard row, either way, wrapping round."""
    for row in KEYBOARD_ROWS:
        for line in (row, row[::-1]):
            start = line.find(text[0])
            if start < 0:
                continue
            cycled = line * (len(text) // len(line) + 2)
            if cycled[start : start + len(text)] == text:
                return True
    return False


def _core(text: str) -> str:
    """The word inside: digits and symbols stripped from both ends (``password123!`` -> ``password``)."""
    return text.strip("0123456789!@#$%^&*()_+-=.,?~ ")


def password_problem(password: str, *, username: str | None = None) -> str | None:
    """What is wrong with a new password, in words for the person choosing it (None: it is fine)."""
    content = password.strip()
    if len(content) < MIN_PASSWORD_LENGTH:
        return (
            f"Password must be at least {MIN_PASSWORD_LENGTH} characters, not counting spaces at either end"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Password must be {MAX_PASSWORD_LENGTH} characters or fewer"
    folded = content.lower()
    common = common_passwords()
    weak = (
        _repeats_a_pattern(folded)
        or _is_a_run(folded)
        or folded in common
        or folded.replace(" ", "") in common
        or _core(folded) in common
        or len(set(folded)) < 4
        or (
            username is not None
            and username.lower() in folded
            and len(folded) - len(username) < MIN_PASSWORD_LENGTH
        )
    )
    if weak:
        return "Password is too easy to guess: use three or four random words, or a password manager"
    return None


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``; refuses one :func:`password_problem` finds fault with."""
    if (problem := password_problem(password)) is not None:
        raise ValueError(problem[0].lower() + problem[1:])
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches; spends the same effort when there is no account."""
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
