"""Generated names for the screening's tests: applicants and watchlist entries built from
syllables of several naming traditions, and transliteration variants of the entries. Seeded, so
every run measures the same list."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

# Syllables per tradition, written as a passport of that country would (Turkish with its
# letters, Vietnamese with its marks); Russian names are written in Cyrillic, so that they
# reach the key through Doc 9303's table, like a name read from a Cyrillic passport.
TRADITIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # (syllables of given names, syllables of surnames)
    "arabic": (
        ("mu", "ham", "mad", "ah", "med", "kha", "lid", "ka", "rim", "sa", "lim", "fa", "rid",
         "ab", "dul", "na", "sir", "ja", "mal", "ra", "shid", "zai", "nab", "ta", "riq", "ya",
         "sin", "o", "mar", "hu", "sein", "yu", "suf", "ib", "ra", "him", "ma", "jid", "fai",
         "sal", "wa", "lee", "d"),
        ("has", "san", "al", "ha", "shi", "mi", "ab", "bas", "ka", "bir", "qur", "ra", "shi",
         "man", "sour", "na", "ja", "ar", "ha", "ddad", "sa", "lah", "khou", "ry", "mas", "ri",
         "ta", "mi", "mi", "zu", "bai", "di"),
    ),
    "turkish": (
        ("meh", "met", "ah", "mu", "ay", "şe", "fat", "ma", "e", "min", "mus", "ta", "fa", "ha",
         "tı", "ce", "ze", "ki", "ye", "ön", "der", "gül", "can", "er", "dem", "se", "vim",
         "öz", "lem", "bü", "şra", "yu", "nus", "kü", "bra"),
        ("yıl", "maz", "ka", "ya", "de", "mir", "şa", "hin", "çe", "lik", "yıl", "dız", "öz",
         "türk", "ay", "dın", "ars", "lan", "doğ", "an", "kı", "lıç", "koç", "kurt", "ak",
         "gün", "er", "ta", "ş", "po", "lat", "çak", "ır"),
    ),
    "russian": (
        ("вла", "ди", "мир", "але", "ксандр", "сер", "гей", "ни", "ко", "лай", "ми", "ха",
         "ил", "ан", "дрей", "дмит", "рий", "ю", "рий", "оль", "га", "на", "та", "ль", "я",
         "ма", "ри", "я", "е", "ка", "те", "ри", "на"),
        ("ив", "ан", "ов", "пет", "ров", "смир", "нов", "куз", "не", "цов", "по", "пов",
         "со", "ко", "лов", "ле", "бе", "дев", "ко", "злов", "но", "ви", "ков", "мо", "ро",
         "зов", "вол", "ков", "ша", "ров", "ен", "ко"),
    ),
    "german": (
        ("jo", "hann", "es", "die", "ter", "wolf", "gang", "jür", "gen", "hans", "pe", "ter",
         "ste", "fan", "ur", "su", "la", "mo", "ni", "ka", "sa", "bi", "ne", "hei", "ke",
         "ka", "rin", "jörg", "ul", "rich", "ber", "nd"),
        ("mül", "ler", "schmidt", "schnei", "der", "fi", "scher", "we", "ber", "mey", "er",
         "wag", "ner", "be", "cker", "hoff", "mann", "schulz", "kel", "ler", "rich", "ter",
         "wolf", "neu", "köh", "ler", "schrö", "der", "brandt", "stein"),
    ),
    "vietnamese": (
        ("an", "bảo", "chi", "dũng", "giang", "hà", "hải", "hiếu", "hùng", "khánh", "lan",
         "linh", "minh", "nam", "ngọc", "phúc", "quang", "thảo", "thu", "trang", "tuấn",
         "việt", "xuân", "yến"),
        ("nguyễn", "trần", "lê", "phạm", "hoàng", "huỳnh", "phan", "vũ", "võ", "đặng",
         "bùi", "đỗ", "hồ", "ngô", "dương", "lý"),
    ),
    "english": (
        ("ja", "mes", "jo", "hn", "ro", "bert", "mi", "chael", "wil", "liam", "da", "vid",
         "ri", "chard", "tho", "mas", "mar", "y", "pa", "tri", "cia", "jen", "ni", "fer",
         "eli", "za", "beth", "su", "san", "sa", "rah"),
        ("smith", "john", "son", "wil", "li", "ams", "brown", "jo", "nes", "gar", "cia",
         "mil", "ler", "da", "vis", "ro", "dri", "guez", "mar", "tin", "hern", "and", "ez",
         "wood", "ley", "tho", "mp", "ton", "har", "ris"),
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Person:
    surname: str
    given_names: str
    birth_date: date
    nationality: str
    tradition: str


NATIONALITIES = {
    "arabic": ("SYR", "IRQ", "EGY", "JOR"),
    "turkish": ("TUR",),
    "russian": ("RUS", "KAZ"),
    "german": ("D", "AUT"),
    "vietnamese": ("VNM",),
    "english": ("GBR", "USA"),
}


def _word(rng: random.Random, syllables: tuple[str, ...], shortest: int, longest: int) -> str:
    return "".join(rng.choice(syllables) for _ in range(rng.randint(shortest, longest)))


def person_generate(rng: random.Random, tradition: str | None = None) -> Person:
    tradition = tradition or rng.choice(sorted(TRADITIONS))
    given_syllables, surname_syllables = TRADITIONS[tradition]
    if tradition == "vietnamese":
        # one-syllable words: a surname, a middle name and a given name
        surname = rng.choice(surname_syllables)
        given = " ".join(rng.choice(given_syllables) for _ in range(rng.randint(1, 2)))
    else:
        surname = _word(rng, surname_syllables, 2, 3)
        given = " ".join(
            _word(rng, given_syllables, 2, 3) for _ in range(rng.choices((1, 2), (3, 2))[0])
        )
    return Person(
        surname=surname.capitalize(),
        given_names=given.title(),
        birth_date=date(1940, 1, 1) + timedelta(days=rng.randrange(65 * 365)),
        nationality=rng.choice(NATIONALITIES[tradition]),
        tradition=tradition,
    )


# How one sound is written in each tradition's transliteration habits: each pair may be
# replaced either way in a variant (lower case, applied to the name as the passport writes it).
# Russian names get theirs from `_CYRILLIC_LATIN`; Vietnamese ones lose their marks.
SPELLING_SWAPS: dict[str, tuple[tuple[str, str], ...]] = {
    "arabic": (
        ("u", "ou"), ("u", "o"), ("i", "ee"), ("i", "y"), ("kh", "h"), ("sh", "sch"),
        ("q", "k"), ("ss", "s"), ("dd", "d"), ("mm", "m"), ("ei", "ai"), ("ai", "ay"),
        ("d", "dh"), ("t", "th"),
    ),
    "turkish": (
        ("ş", "s"), ("ş", "sh"), ("ş", "sch"), ("ü", "ue"), ("ü", "u"), ("ö", "oe"), ("ö", "o"),
        ("ı", "i"), ("ç", "ch"), ("ç", "c"), ("ğ", "g"), ("ğ", "gh"),
    ),
    "german": (
        ("ü", "ue"), ("ü", "u"), ("ö", "oe"), ("ö", "o"), ("ä", "ae"), ("ß", "ss"),
        ("sch", "sh"), ("ck", "k"), ("f", "ph"), ("w", "v"), ("nn", "n"), ("ll", "l"),
        ("tt", "t"), ("dt", "t"),
    ),
    "vietnamese": (("đ", "d"), ("y", "i")),
    "english": (("ph", "f"), ("y", "i"), ("c", "k"), ("ks", "x"), ("ll", "l"), ("ss", "s")),
    "russian": (),
}  # fmt: skip
# Arabic's fatha is written A or E (MUHAMMAD/MUHAMMED, AHMAD/AHMED), in words long enough for
# one vowel not to be half of the word.
ARABIC_VOWEL_SWAPS = (("a", "e"), ("e", "a"))


def _marks_strip(text: str) -> str:
    return "".join(
        character
        for character in unicodedata.normalize("NFKD", text)
        if not unicodedata.combining(character)
    ).replace("ı", "i")


def _word_vary(rng: random.Random, word: str, tradition: str) -> str:
    """`word` with one sound written another way (one swap a word: a second habit applied on
    top of the first would write letters no document writes, KH from H then KKH)."""
    lower = word.lower()
    swaps = SPELLING_SWAPS[tradition]
    if tradition == "arabic" and len(word) >= 5:
        swaps += ARABIC_VOWEL_SWAPS
    applicable = [(old, new) for swap in swaps for old, new in (swap, swap[::-1]) if old in lower]
    if not applicable:
        return word
    old, new = rng.choice(applicable)
    # the vowel swaps are for a vowel after a consonant (MUHAMMAD/MUHAMMED, not ABBIR/EBBIR)
    first = 1 if (old, new) in ARABIC_VOWEL_SWAPS else 0
    places = [i for i in range(first, len(lower)) if lower.startswith(old, i)]
    if not places:
        return word
    at = rng.choice(places)
    return word[:at] + new + word[at + len(old) :]


def _spelling_vary(rng: random.Random, text: str, tradition: str) -> str:
    words = text.split(" ")
    changed = rng.randrange(len(words))
    return " ".join(
        _word_vary(rng, word, tradition) if i == changed or rng.random() < 0.5 else word
        for i, word in enumerate(words)
    )


def variant_generate(rng: random.Random, person: Person) -> tuple[str, str]:
    """(surname, given names) of another document's way of writing `person`'s name: one or
    two spelling swaps, or the marks dropped, or a middle name left out, or the surname and
    given names exchanged, or an article added (several may combine); never the name as it is.
    """
    for _ in range(20):
        variant = _variant_try(rng, person)
        if variant != (person.surname, person.given_names):
            return variant
    return person.given_names, person.surname


def _variant_try(rng: random.Random, person: Person) -> tuple[str, str]:
    surname, given = person.surname, person.given_names
    if person.tradition == "russian":
        # a Western document writes the Russian name in a Latin transliteration of its own
        surname = _cyrillic_latin(rng, surname)
        given = _cyrillic_latin(rng, given)
    kind = rng.choice(("spelling", "marks", "middle", "swap", "article", "spelling"))
    if kind == "spelling" or person.tradition != "russian":
        surname = _spelling_vary(rng, surname, person.tradition)
        given = _spelling_vary(rng, given, person.tradition)
    if kind == "marks":
        surname, given = _marks_strip(surname), _marks_strip(given)
    if kind == "middle" and " " in given:
        given = given.split(" ")[0]
    if kind == "swap":
        surname, given = given, surname
    if kind == "article" and person.tradition == "arabic":
        surname = rng.choice(("Al-", "El ", "al ")) + surname
    return surname, given


# Common Latin spellings of Russian letters (English, German and French habits besides ICAO).
_CYRILLIC_LATIN: dict[str, tuple[str, ...]] = {
    "а": ("a",), "б": ("b",), "в": ("v", "w"), "г": ("g",), "д": ("d",), "е": ("e", "ye"),
    "ж": ("zh", "j", "sch"), "з": ("z", "s"), "и": ("i",), "й": ("i", "y", "j"), "к": ("k",),
    "л": ("l",), "м": ("m",), "н": ("n",), "о": ("o",), "п": ("p",), "р": ("r",),
    "с": ("s", "ss"), "т": ("t",), "у": ("u", "ou"), "ф": ("f",), "х": ("kh", "h", "ch"),
    "ц": ("ts", "tz", "c"), "ч": ("ch", "tsch", "tch"), "ш": ("sh", "sch", "ch"),
    "щ": ("shch",), "ъ": ("",), "ы": ("y",), "ь": ("",), "э": ("e",),
    "ю": ("iu", "yu", "ju"), "я": ("ia", "ya", "ja"), "ё": ("e", "yo"),
}  # fmt: skip


def _cyrillic_latin(rng: random.Random, text: str) -> str:
    habit = rng.randrange(3)
    letters: list[str] = []
    for character in text:
        spellings = _CYRILLIC_LATIN.get(character.lower())
        if spellings is None:
            letters.append(character)
            continue
        spelling = spellings[min(habit, len(spellings) - 1)]
        letters.append(spelling.capitalize() if character.isupper() else spelling)
    return "".join(letters)
