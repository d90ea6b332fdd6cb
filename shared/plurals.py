"""Numbers with their noun in the member's language: 1 балл, 2 балла, 5 баллов; 1 point, 2 points."""

from __future__ import annotations

__all__ = ["plural", "points_text"]

_POINTS = {"ru": ("балл", "балла", "баллов"), "en": ("point", "points", "points")}


def plural(n: int, one: str, few: str, many: str, language: str = "ru") -> str:
    """The form of a noun for the count n (Russian has three; English uses one and many)."""
    if language != "ru":
        return one if abs(n) == 1 else many
    tail = abs(n) % 100
    if 11 <= tail <= 14:
        return many
    last = tail % 10
    if last == 1:
        return one
    return few if 2 <= last <= 4 else many


def points_text(n: int, language: str = "ru") -> str:
    language = language if language in _POINTS else "ru"
    return f"{n} {plural(n, *_POINTS[language], language=language)}"
