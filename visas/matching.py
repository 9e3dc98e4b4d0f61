"""Screening a visa applicant's name against HQ's watchlist and the refusal register.

Pure functions, no database: the caller loads the candidates (the mission's copy of the
watchlist, earlier refusals) and shows the matches to an officer, who decides. A match is a
reason to look, never a decision.

How a score is made:

1. Every name is reduced to a key (`name_key`): NFKD, the ICAO Doc 9303 transliteration the
   MRZ uses, then a few phonetic foldings so that spellings of one name from different
   transliteration habits meet (MUKHAMMAD, MOHAMMED and MUHAMMAD all become MUHAMAD or
   MUHAMED).
2. The applicant's words (surname and given names together) are paired one to one with a
   spelling's words, best pairs first, by Jaro-Winkler similarity (rapidfuzz) of their keys.
   Pairing ignores order, so swapped names and a surname written as a given name still meet.
   The name score is the mean similarity of the pairs, weighted by word length (a long word
   that agrees says more than ALI = ALI), less a small amount for each word left without a
   partner (a middle name one side omits) and more for the applicant's surname left alone.
   The best spelling of the candidate counts.
3. The date of birth and the nationality then move the score (`BIRTH_DATE_*`,
   `NATIONALITY_DIFFERS`); the result is kept from `SCREEN_THRESHOLD` up.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from rapidfuzz.distance import JaroWinkler
from rapidfuzz.process import cdist

from passports.mrz import MrzError, mrz_transliterate

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# The threshold and the weights were set with tests/visas/test_matching_budget.py, which
# prints what they give on a generated list (5,000 applicants, 200 entries, 1,000 variants):
# every transliteration variant of an entry is found with the entry's date of birth (99 % with
# none), and 0.14 % of the other applicants hit anything when their dates of birth differ
# (3.6 % with no date to compare, nearly all short Vietnamese names sharing two of three words).
# 0.90 sits just above two keys one letter apart in a short word (MULER/MILER: 0.88), so a
# surname alone that differs by a vowel is not a hit, while a whole name that agrees in
# everything else is.
SCREEN_THRESHOLD = 0.90

# Date of birth: agreeing confirms a little, differing counts against, but never so much that
# a name that is the same letter for letter drops out, even with another nationality besides
# (1 - 0.06 - 0.03 = 0.91): people on a watchlist travel on other dates of birth, and lists
# carry estimated ones. A name that is the same but for one word left out and another date of
# birth (1 - 0.05 - 0.06) is no hit: two things disagree.
BIRTH_DATE_SAME = 0.05
# 03/04 read as 04/03: the commonest typing error between day-first and month-first forms.
BIRTH_DATE_DAY_MONTH_SWAPPED = 0.03
# Lists often know only the year (recorded as 1 January); the same year neither helps nor hurts.
BIRTH_DATE_SAME_YEAR = 0.0
BIRTH_DATE_DIFFERS = -0.06
# People change nationality or hold two; a different one weighs a little and never excludes.
NATIONALITY_DIFFERS = -0.03

# A word one side has and the other lacks: usually a middle name or a patronymic one document
# leaves out, so it costs little (a name otherwise the same stays a hit at 0.95) ...
UNPAIRED_WORD = 0.05
# ... but the applicant's surname having no partner at all means the names share only given
# names (AHMED HASSAN SMITH against AHMED HASSAN), which is much weaker.
UNPAIRED_SURNAME = 0.10

_BEST_ADJUSTMENT = max(BIRTH_DATE_SAME, BIRTH_DATE_DAY_MONTH_SWAPPED, BIRTH_DATE_SAME_YEAR)

# Particles that are written, glued, hyphenated or left out depending on the document: the
# Arabic article (AL-HASSAN, EL HASSAN, HASSAN), "son/daughter of" (BIN LADEN, LADIN), and the
# Dutch, German, Romance ones (VAN DER BERG, BERG). They are dropped unless the name has
# nothing else. Not LE and LA: common Vietnamese surnames (Lê, La) besides French particles.
PARTICLES = frozenset(
    {
        "AL", "EL", "UL", "BIN", "IBN", "BINT",
        "VAN", "VON", "DER", "DEN", "TER", "TEN",
        "DE", "DEL", "DELLA", "DI", "DA", "DAS", "DOS", "DU",
    }
)  # fmt: skip

# The foldings, applied in this order to each word of the transliterated name (A-Z only).
_FOLDINGS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        # German SCH is the sound Turkish writes Ş and English SH; ICAO turns Ş, Š into S, so
        # SCHAHIN, SHAHIN and ŞAHIN (SAHIN) meet on S.
        ("SCH", "S"),
        ("SH", "S"),
        # Ж is ZH in Doc 9303's Cyrillic table, Ž is Z in its Latin one.
        ("ZH", "Z"),
        # German writes Russian З as S (SINAIDA), and Ц as TS, TZ or Z: one sibilant.
        ("Z", "S"),
        # Х and Arabic kha are KH or H (MUKHAMMAD, MUHAMMAD; KHALID, HALID).
        ("KH", "H"),
        # Ч is CH, Č and Ç are C (CHELIK, ÇELIK).
        ("CH", "C"),
        # Greek-derived PH, Arabic TH/DH/GH written with or without the H (OTHMAN, OSMAN is
        # beyond this; UTHMAN, UTMAN is not).
        ("PH", "F"),
        ("TH", "T"),
        ("DH", "D"),
        ("GH", "G"),
        # One sound, several letters: QASIM/KASIM, ALEXANDER/ALEKSANDR, WLADIMIR/VLADIMIR.
        ("CK", "K"),
        ("Q", "K"),
        ("X", "KS"),
        ("W", "V"),
        # Serbo-Croatian Đ is D in Doc 9303 and DJ where the letter is missing (ĐOKOVIĆ/DJOKOVIC).
        ("DJ", "D"),
        # Y is a vowel or a glide in transliterations (YUSUF/IUSUF, YURIY/IURII, HUSAYN/HUSAIN).
        ("Y", "I"),
        # So is J before a vowel in German and Slavic habits (JAKOV/YAKOV/IAKOV for ЯКОВ,
        # NAJU/NAIU for НАЮ, MARIJA/MARIA). The price: JAN, YAN and IAN share a key.
        ("J(?=[AEIOU])", "I"),
        # U after G and before E or I is a glide or silent (NGUYEN, GUERRA/GERRA): without this
        # rule the vowel run below would keep it, and NGUYEN would meet NGO.
        ("(?<=G)U(?=[EI])", ""),
        # English spellings of I and U (SHAREEF/SHARIF, YOUSSEF/YUSUF, ABDOOL/ABDUL).
        ("EE", "I"),
        ("OO", "U"),
        ("OU", "U"),
        # Arabic has one vowel where English writes O or U (MOHAMMED/MUHAMMAD, OMAR/UMAR,
        # OSMAN/USMAN); Turkish Ö, Ü lose their dots in many documents.
        ("O", "U"),
    )
)
# A run of vowels is one sound: Doc 9303's Ü → UE, Ö → OE, Ä → AE against plain U, O, A
# (MUELLER, MÜLLER, MULLER), HUSSEIN/HUSEN. The first vowel stays, except a leading I,
# which is a glide (Cyrillic Я → IA, Ю → IU: MARIIA/MARIA); at the start of a word the glide
# stays, as one I (IAKOV/YAKOV, IURII/YURI, but YILMAZ/ILMAZ).
_VOWEL_RUN = re.compile("[AEIU]{2,}")
# Doubled letters are a spelling habit, not a different name (HASSAN/HASAN, MUHAMMAD/MUHAMAD).
_DOUBLED = re.compile(r"(.)\1+")
# A final H after a vowel is silent (FATIMAH/FATIMA, ABDULLAH/ABDULLA).
_FINAL_H = re.compile("([AEIU])H$")
_WORD = re.compile(r"[^\W\d_]+")
_APOSTROPHES = re.compile("['’‘ʼ`´]")


def _vowel_run_fold(run: re.Match[str]) -> str:
    vowel = run.group().lstrip("I")[:1]
    if not vowel:
        return "I"
    return "I" + vowel if run.start() == 0 and run.group().startswith("I") else vowel


def _word_fold(word: str) -> str:
    for pattern, replacement in _FOLDINGS:
        word = pattern.sub(replacement, word)
    word = _VOWEL_RUN.sub(_vowel_run_fold, word)
    word = _DOUBLED.sub(r"\1", word)
    return _FINAL_H.sub(r"\1", word)


def _word_transliterate(word: str) -> str:
    """The word in capitals A-Z by Doc 9303, letter by letter where the tables stop: a Latin
    letter they lack (Vietnamese Ễ) loses its marks, a letter of another script stays as it is
    (so the same name written in that script still meets itself, and nothing else)."""
    try:
        return mrz_transliterate(word)
    except MrzError:
        pass
    letters: list[str] = []
    for character in word:
        try:
            letters.append(mrz_transliterate(character))
        except MrzError:
            base = "".join(
                mark
                for mark in unicodedata.normalize("NFKD", character)
                if not unicodedata.combining(mark)
            )
            letters.append(base.upper() if base.isascii() else character.upper())
    return "".join(letters)


@functools.lru_cache(maxsize=65536)
def _words_transliterate(text: str) -> tuple[str, ...]:
    # NFKD first takes compatibility forms apart (ﬁ, full-width letters); NFC then gives the
    # transliteration the precomposed letters its tables list. Apostrophes join (O'CONNOR,
    # ABD'ALLAH); anything else that is not a letter separates words; digits are dropped.
    text = unicodedata.normalize("NFC", unicodedata.normalize("NFKD", text))
    words = (_word_transliterate(word) for word in _WORD.findall(_APOSTROPHES.sub("", text)))
    return tuple(word for word in words if word)


def _words_key(words: Iterable[str], *, particles_keep: bool) -> list[str]:
    kept = (word for word in words if particles_keep or word not in PARTICLES)
    return [folded for word in kept if (folded := _word_fold(word))]


def _particles_only(*names: tuple[str, ...]) -> bool:
    return all(word in PARTICLES for words in names for word in words)


def name_key(text: str) -> str:
    """`text` as the words of its key, separated by single spaces ("" for no name)."""
    words = _words_transliterate(text)
    return " ".join(_words_key(words, particles_keep=_particles_only(words)))


@dataclass(frozen=True)
class Candidate:
    """One person on a list: every spelling of the whole name the list knows (surname and given
    names in any order), and what it knows of the date of birth and nationality. `reference`
    says where the officer finds the entry (the watchlist entry or the refusal)."""

    names: tuple[str, ...]
    birth_date: date | None
    nationality: str | None
    reference: str


@dataclass(frozen=True)
class Match:
    candidate: Candidate
    score: float
    name_score: float
    birth_date_agrees: bool | None
    nationality_agrees: bool | None
    reasons: tuple[StrOrPromise, ...]


def _lazy_format(message: StrOrPromise, values: dict[str, str]) -> str:
    return str(message) % values


# Rendered in the reader's language when shown, not when the match is made (screening may run
# in a task, in whatever language that has).
_reason_format = lazy(_lazy_format, str)


class Watchlist:
    """Candidates with their keys worked out once. `screen` prepares any iterable it is given;
    a caller that screens many applicants against one list prepares it once with
    `watchlist_prepare` and passes this instead."""

    def __init__(self, candidates: Iterable[Candidate]) -> None:
        self.candidates: tuple[Candidate, ...] = tuple(candidates)
        # One row per spelling that has any word: its candidate, its text and its words.
        self.spelling_candidate: list[int] = []
        self.spelling_text: list[str] = []
        self.spelling_words: list[list[str]] = []
        for position, candidate in enumerate(self.candidates):
            for spelling in dict.fromkeys(candidate.names):
                words = name_key(spelling).split()
                if words:
                    self.spelling_candidate.append(position)
                    self.spelling_text.append(spelling)
                    self.spelling_words.append(words)
        self.words: list[str] = list(
            dict.fromkeys(word for words in self.spelling_words for word in words)
        )
        column = {word: index for index, word in enumerate(self.words)}
        # Every spelling's words laid end to end (as columns of `words`), and where each starts,
        # so that one numpy pass bounds every spelling's score.
        self.word_columns = np.array(
            [column[word] for words in self.spelling_words for word in words], dtype=np.intp
        )
        lengths = [len(words) for words in self.spelling_words]
        self.word_counts = np.array(lengths, dtype=np.intp)
        self.offsets = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.intp)
        self.word_lengths = np.array(
            [len(word) for words in self.spelling_words for word in words], dtype=np.float64
        )
        self.length_sums = (
            np.add.reduceat(self.word_lengths, self.offsets) if lengths else np.zeros(0)
        )

    def __iter__(self) -> Iterator[Candidate]:
        return iter(self.candidates)

    def __len__(self) -> int:
        return len(self.candidates)


def watchlist_prepare(*, candidates: Iterable[Candidate]) -> Watchlist:
    return candidates if isinstance(candidates, Watchlist) else Watchlist(candidates)


@dataclass(frozen=True)
class _NameComparison:
    score: float
    reordered: bool
    unpaired: bool


def _names_compare(
    similarity: list[list[float]], applicant: list[str], surname_count: int, spelling: list[str]
) -> _NameComparison:
    """Pairs the applicant's words (surname words first) with the spelling's, best first."""
    pairs = sorted(
        (
            (similarity[row][column], row, column)
            for row in range(len(applicant))
            for column in range(len(spelling))
        ),
        reverse=True,
    )
    rows_paired: dict[int, int] = {}
    columns_paired: set[int] = set()
    for _similarity, row, column in pairs:
        if row not in rows_paired and column not in columns_paired:
            rows_paired[row] = column
            columns_paired.add(column)
    # The shorter side's words weigh the mean (both sides' when they are as long), so that the
    # bound `screen` computes with numpy is never below this score.
    weigh_applicant = len(applicant) <= len(spelling)
    total = weight = 0.0
    for row, column in rows_paired.items():
        length = len(applicant[row]) if weigh_applicant else len(spelling[column])
        total += similarity[row][column] * length
        weight += length
    score = total / weight
    surname_unpaired = surname_count > 0 and not any(row < surname_count for row in rows_paired)
    unpaired = len(applicant) - len(rows_paired) + len(spelling) - len(columns_paired)
    score -= unpaired * UNPAIRED_WORD + (UNPAIRED_SURNAME if surname_unpaired else 0.0)
    # Read in the applicant's order (given names then surname, or surname then given names),
    # are the paired words in the spelling's order?
    order = [column for _row, column in sorted(rows_paired.items())]
    given_first = sorted(rows_paired.items(), key=lambda item: (item[0] < surname_count, item[0]))
    reordered = order != sorted(order) and [c for _r, c in given_first] != sorted(order)
    return _NameComparison(score=max(score, 0.0), reordered=reordered, unpaired=unpaired > 0)


def _birth_dates_compare(
    applicant: date | None, listed: date | None
) -> tuple[float, bool | None, StrOrPromise]:
    if applicant is None or listed is None:
        return 0.0, None, _("No date of birth to compare.")
    if applicant == listed:
        return BIRTH_DATE_SAME, True, _("Same date of birth.")
    if (
        applicant.year == listed.year
        and applicant.day == listed.month
        and applicant.month == listed.day
    ):
        return (
            BIRTH_DATE_DAY_MONTH_SWAPPED,
            True,
            _("Same date of birth with the day and month swapped."),
        )
    if applicant.year == listed.year:
        return BIRTH_DATE_SAME_YEAR, None, _("Same year of birth, another day.")
    return BIRTH_DATE_DIFFERS, False, _("Different date of birth.")


# Doc 9303 writes Germany as D where ISO 3166 (and many lists) write DEU.
_NATIONALITY_ALIASES = {"D": "DEU"}


def _nationality_code(text: str) -> str:
    code = text.strip().upper().replace("<", "")
    return _NATIONALITY_ALIASES.get(code, code)


def _nationalities_compare(
    applicant: str | None, listed: str | None
) -> tuple[float, bool | None, StrOrPromise]:
    if not applicant or not listed:
        return 0.0, None, _("No nationality to compare.")
    if _nationality_code(applicant) == _nationality_code(listed):
        return 0.0, True, _("Same nationality.")
    return (
        NATIONALITY_DIFFERS,
        False,
        _("Different nationality (people change nationality; not a reason to dismiss)."),
    )


def screen(
    *,
    surname: str,
    given_names: str,
    birth_date: date | None,
    nationality: str | None,
    candidates: Iterable[Candidate],
    threshold: float = SCREEN_THRESHOLD,
) -> list[Match]:
    """The candidates whose score is `threshold` or more, best first (ties in list order).

    `nationality` is compared as a code (ICAO three letters, as the lists carry it)."""
    watchlist = watchlist_prepare(candidates=candidates)
    # Particles go from both fields or neither: "LE" typed as the surname and "LINH" as the
    # given name must meet "LINH LE" in one line of the list.
    surname_words, given_words = _words_transliterate(surname), _words_transliterate(given_names)
    particles_keep = _particles_only(surname_words, given_words)
    surname_keys = _words_key(surname_words, particles_keep=particles_keep)
    applicant = surname_keys + _words_key(given_words, particles_keep=particles_keep)
    if not applicant or not watchlist.spelling_words:
        return []
    similarity = cdist(
        applicant, watchlist.words, scorer=JaroWinkler.normalized_similarity, dtype=np.float64
    )
    laid_out = similarity[:, watchlist.word_columns]
    # An upper bound of every spelling's name score: each word of the shorter side takes its
    # best partner, shared or not; no penalties. Spellings that cannot reach the threshold even
    # with the best date of birth are not paired word by word.
    applicant_lengths = np.array([len(word) for word in applicant], dtype=np.float64)
    best_per_applicant_word = np.maximum.reduceat(laid_out, watchlist.offsets, axis=1)
    bound_applicant = applicant_lengths @ best_per_applicant_word / applicant_lengths.sum()
    best_per_spelling_word = laid_out.max(axis=0) * watchlist.word_lengths
    bound_spelling = np.add.reduceat(best_per_spelling_word, watchlist.offsets) / (
        watchlist.length_sums
    )
    bound = np.where(len(applicant) <= watchlist.word_counts, bound_applicant, bound_spelling)
    reachable = np.flatnonzero(bound + _BEST_ADJUSTMENT >= threshold)

    best: dict[int, tuple[_NameComparison, str]] = {}
    for spelling in reachable.tolist():
        start = int(watchlist.offsets[spelling])
        words = watchlist.spelling_words[spelling]
        comparison = _names_compare(
            laid_out[:, start : start + len(words)].tolist(),
            applicant,
            len(surname_keys),
            words,
        )
        position = watchlist.spelling_candidate[spelling]
        if position not in best or comparison.score > best[position][0].score:
            best[position] = (comparison, watchlist.spelling_text[spelling])

    matches: list[tuple[float, int, Match]] = []
    for position, (comparison, spelling_text) in best.items():
        candidate = watchlist.candidates[position]
        birth_adjustment, birth_agrees, birth_reason = _birth_dates_compare(
            birth_date, candidate.birth_date
        )
        nationality_adjustment, nationality_agrees, nationality_reason = _nationalities_compare(
            nationality, candidate.nationality
        )
        score = min(max(comparison.score + birth_adjustment + nationality_adjustment, 0.0), 1.0)
        if score < threshold:
            continue
        reasons: list[StrOrPromise] = [
            _reason_format(
                _("The name is %(percent)s%% similar to “%(spelling)s” on the list."),
                {"percent": str(int(comparison.score * 100)), "spelling": spelling_text},
            )
        ]
        if comparison.reordered:
            reasons.append(_("The names are in another order."))
        if comparison.unpaired:
            reasons.append(_("A name appears on only one side (a middle name left out?)."))
        reasons += [birth_reason, nationality_reason]
        match = Match(
            candidate=candidate,
            score=round(score, 4),
            name_score=round(comparison.score, 4),
            birth_date_agrees=birth_agrees,
            nationality_agrees=nationality_agrees,
            reasons=tuple(reasons),
        )
        matches.append((score, position, match))
    matches.sort(key=lambda item: (-item[0], item[1]))
    return [match for _score, _position, match in matches]
