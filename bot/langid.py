"""Which language a short text typed on a phone is in.

langdetect alone reads Vietnamese typed without diacritics ("co nguoi ban ma tuy o
ngo 5") as Tagalog or Indonesian. So cheap, certain evidence decides first: the
writing system (Hangul, kana, Han, Thai), letters only Vietnamese uses (ă đ ơ ư and the
tone-marked vowels), and for plain Latin text the share of words that are well-formed
Vietnamese syllables against the share of English function words. Only what these
leave open goes to langdetect, seeded so the answer never changes between runs.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Final

from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

UNDETERMINED: Final = "und"
_SCAN = 1000  # characters looked at: enough to tell, and the cost stays flat

_URL = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\S+", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+")

# Letters no other Latin-script language uses as Vietnamese does.
_VIETNAMESE_LETTERS = frozenset(
    "ăđơưĩũ"
    "ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"
    "ĂĐƠƯĨŨ"
    "ẠẢẤẦẨẪẬẮẰẲẴẶẸẺẼẾỀỂỄỆỈỊỌỎỐỒỔỖỘỚỜỞỠỢỤỦỨỪỬỮỰỲỴỶỸ"
)

# An accent-free Vietnamese syllable: onset, then a rhyme (glide, vowel nucleus, coda).
_ONSET = r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?"
_RHYME = (
    r"(?:"
    r"(?:o[ae]|u[ey]|u)?"  # medial glide: oa, oe, uy, uê, u (as in 'qua')
    r"(?:ie|ye|uo|ua|ia|a|e|i|o|u|y|oo)"  # nucleus, diphthongs first
    r"(?:ng|nh|ch|[cmnpt]|[iouy])?"  # final consonant or closing glide
    r")"
)
_SYLLABLE = re.compile(rf"^{_ONSET}{_RHYME}$")
# What people type on phones instead of whole words.
_SHORTHAND = frozenset(
    "k ko kg khg hok dc dk đc j bn mk mik ns vs ck vk ak uh um ntn cx r z h e a tr bh "
    "ng nc ms nma nhg ad ib oke ok".split()
)
_ENGLISH = frozenset(
    "the a an and or but of to in on at for with from by about is are was were be been "
    "have has had do does did will would can could should i you he she it we they me him "
    "her us them my your his its our their this that these those there here what who "
    "where when why how not no yes please thank thanks hello help near some someone every "
    "very just all any up out into over after before again".split()
)
# Script ranges that settle the language by themselves.
_SCRIPTS: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = (
    ("ko", ((0xAC00, 0xD7A3), (0x1100, 0x11FF), (0x3130, 0x318F))),
    ("ja", ((0x3040, 0x30FF),)),
    ("zh", ((0x4E00, 0x9FFF), (0x3400, 0x4DBF))),
    ("th", ((0x0E00, 0x0E7F),)),
)


@functools.cache
def _factory(seed: int) -> DetectorFactory:
    """langdetect's profiles, loaded once per process on first need (they are only
    read afterwards)."""
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.seed = seed
    return factory


class LanguageIdentifier:
    def __init__(self, seed: int = 0):
        self._seed = seed

    def detect(self, text: str) -> str:
        """An ISO 639-1 code, or "und" when the text is too short to tell."""
        text = unicodedata.normalize("NFC", text[:_SCAN])
        words = _WORD.findall(_URL.sub(" ", text))
        letters = sum(len(word) for word in words)
        if letters < 3:
            return UNDETERMINED
        by_script = _by_script(words, letters)
        if by_script:
            return by_script
        if any(ch in _VIETNAMESE_LETTERS for word in words for ch in word):
            return "vi"
        lowered = [word.casefold() for word in words]
        if len(lowered) == 1 and len(lowered[0]) < 5:
            return UNDETERMINED  # "ok", "hi", "bye": any language
        folded = [_fold(word) for word in lowered]
        vietnamese = sum(1 for w in folded if w in _SHORTHAND or _SYLLABLE.match(w)) / len(folded)
        english = sum(1 for w in lowered if w in _ENGLISH) / len(lowered)
        if vietnamese == 1.0 and english < 0.6 and len(folded) > 1:
            return "vi"  # words like "can", "on" are Vietnamese syllables too
        if vietnamese >= 0.85 and english < 0.3:
            return "vi"
        if english >= 0.25 and vietnamese < 0.85:
            return "en"
        return self._langdetect(text)

    def _langdetect(self, text: str) -> str:
        detector = _factory(self._seed).create()
        detector.append(text)
        try:
            best = detector.get_probabilities()[0]
        except (LangDetectException, IndexError):
            return UNDETERMINED
        if best.prob < 0.5:
            return UNDETERMINED
        return best.lang.split("-")[0]


def _by_script(words: list[str], letters: int) -> str | None:
    counts = dict.fromkeys((code for code, _ in _SCRIPTS), 0)
    for word in words:
        for ch in word:
            point = ord(ch)
            for code, ranges in _SCRIPTS:
                if any(low <= point <= high for low, high in ranges):
                    counts[code] += 1
                    break
    if counts["ja"]:
        return "ja"  # Japanese mixes kana with Han
    code, count = max(counts.items(), key=lambda item: item[1])
    return code if count * 2 >= letters else None


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word.replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
