"""Which language a short text typed on a phone is in.

langdetect alone reads Vietnamese typed without diacritics ("co nguoi ban o ngo 5") as
Tagalog or Indonesian, and guesses wildly on two-word messages. So cheap, certain
evidence decides first, and langdetect (seeded, so answers never change between runs)
only gets what that evidence leaves open:

1. too few letters to tell ("ok", "?", "15B1-234.56", emoji) -> "und";
2. the writing system: Hangul -> ko, kana -> ja, Han without kana -> zh, Thai -> th;
3. letters only Vietnamese has (ă đ ơ ư, stacked tone marks) -> vi;
4. Latin text without them: Vietnamese is written one syllable per word, and those
   syllables follow strict spelling rules (onset + rhyme, "k" only before e/i/y, no
   final "s", no "w"/"f"/"z"...). If nearly every word is such a syllable or common
   phone shorthand ("ko", "dc", "bn") and English function words do not outweigh them,
   the text is Vietnamese typed without accents. Mostly-English function words -> en.
5. everything else -> langdetect.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

from langdetect.detector import Detector
from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
from langdetect.lang_detect_exception import LangDetectException

UNDETERMINED: Final = "und"

SCAN_CHARS: Final = 1000
"""Characters looked at: a phone message is settled long before, and the cost stays flat."""
MIN_WEIGHT: Final = 3
"""Fewer letters than this (a CJK or Hangul character counts 2, it is a whole syllable)
cannot show a language: "ok", "ừ", "好"."""
MIN_SINGLE_WORD: Final = 5
"""A lone Latin word shorter than this ("hi", "thx", "vâng") is an interjection that
people type in any language."""
VIETNAMESE_SHARE: Final = 0.75
"""Share of the words that must be possible Vietnamese syllables; names, brand names and
one typo per sentence still pass, a foreign sentence with a few short words does not."""
ENGLISH_SHARE: Final = 0.4
"""Share of English words (function words, mostly) that settles English without langdetect."""
LANGDETECT_MIN_PROB: Final = 0.5
"""Below this langdetect is guessing; "und" lets the caller keep its current language."""

# ---- text clean-up ------------------------------------------------------------------------

_SKIP = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\S+|@\w+", re.IGNORECASE)
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
# A word: letters, with inner apostrophes ("don't", "l'eau").
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")

# ---- scripts ------------------------------------------------------------------------------

_HANGUL = re.compile("[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\ud7b0-\ud7ff]")
_KANA = re.compile("[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_THAI = re.compile("[\u0e00-\u0e7f]")
_LATIN = re.compile("[A-Za-z\u00c0-\u024f\u1e00-\u1eff]")

# ---- Vietnamese ---------------------------------------------------------------------------

# Letters no other Latin-script language uses the way Vietnamese does (NFC forms).
_VIETNAMESE_ONLY = frozenset("ăđơưĩũỹạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷ")
# The rest of the Vietnamese alphabet's accented letters, shared with French, Portuguese...
_VIETNAMESE_SHARED = frozenset("àáâãèéêìíòóôõùúý")
_ONSETS: Final = (
    "",
    *"b c ch d g gh gi h k kh l m n ng ngh nh p ph qu r s t th tr v x".split(),
)
# Every rhyme, diacritics removed (ă/â -> a, ê -> e, ô/ơ -> o, ư -> u, iê/yê -> ie/ye).
_RHYMES: Final = frozenset(
    """
    a ac ach ai am an ang anh ao ap at au ay
    e ec ech em en eng enh eo ep et eu
    i ia ich iec iem ien ieng iep iet ieu im in inh ip it iu
    o oa oac oach oai oam oan oang oanh oao oap oat oay oc oe oen oeo oet oi om on ong
    ooc oong op ot
    u ua uan uang uat uay uc ue uech uenh ui um un ung uo uoc uoi uom uon uong uop uot
    uou up ut uu uy uya uych uyen uyet uynh uyt uyu
    y yem yen yet yeu
    """.split()
)


def _syllable_ok(onset: str, rhyme: str) -> bool:
    """Vietnamese spelling rules: which onsets may stand before which rhymes."""
    front = rhyme[0] in "eiy"
    if onset == "k":
        return (front and rhyme[0] != "y") or rhyme == "y"  # "ke", "kia", "ky"
    if onset in ("gh", "ngh"):
        return rhyme[0] in "ei"
    if onset in ("c", "ng") and front:
        return False
    if onset == "g" and rhyme[0] in "ey":
        return False  # "ghe", "gi..."; a plain g before i is the "gi" onset
    if onset == "qu":
        return not rhyme.startswith(("u", "oa", "oe", "oo"))
    if rhyme.startswith("y") and len(rhyme) > 1:
        return onset == ""  # "yên", "yêu"; after a consonant it is spelled "iê"
    if onset == "" and rhyme.startswith("ie"):
        return False  # spelled "yê" without an onset
    return True


_SYLLABLES: Final = frozenset(
    onset + rhyme for onset in _ONSETS for rhyme in _RHYMES if _syllable_ok(onset, rhyme)
) | frozenset({"quynh", "quych", "quyt", "quyu"})  # "qu" + the "uy" rhymes share the u

# What people type on phones instead of whole Vietnamese words (teen code, abbreviations).
_SHORTHAND: Final = frozenset(
    """
    k ko kg kh khg hk hok hem hong khum j ji z zui zay dz dc dk bn b mk mik m t mn ns nch
    ntn vs cx cg ck vk ak uk ukm r h tr bh bjo bgio ng ngta nc ms nma nhma nhg thg thk thik
    bik bit wa iu trc sdt dt bt tl kq lm hs sv gv ca tp kp tdp ubnd csgt vd e v q p
    """.split()
)
# Very frequent Vietnamese words that English text never has: stronger evidence.
_VIETNAMESE_COMMON: Final = frozenset(
    """
    co khong nguoi duoc cua cho toi ban nay roi voi thi ma la da dang se chua di den ve
    nha anh chi em ho minh gi sao nao dau day kia thay biet lam noi cung vao ra len xuong
    tren duoi trong ngoai khi luc gio ngay dem sang chieu nam thang tuan hom qua mai bao
    nhieu mot hai ba muon can nhung cac nhu vay lai bi hay rat nua
    """.split()
)
# Loanwords and brand names Vietnamese and English messages share: no evidence either way.
_SHARED_WORDS: Final = frozenset(
    """
    ok okay oke okie oki karaoke zalo facebook fb face messenger tiktok youtube grab shopee
    lazada online shop ship shipper check wifi internet game net vape taxi bar pub club
    app sms email hotline video clip camera haha hihi hehe huhu lol
    """.split()
)

# ---- English ------------------------------------------------------------------------------

_ENGLISH: Final = frozenset(
    """
    a about above after again against all almost also always am an and another any anyone
    anything are around as ask at away back be because been before behind being below
    between both but by call came can can't cannot come could couldn't day did didn't do
    does doesn't doing don't down during each else even ever every everyone everything
    few find first for found from get gets getting give go goes going gone good got had
    has hasn't have haven't having he he's help her here hers herself him himself his how
    i i'd i'll i'm i've if in into is isn't it it's its itself just know last left like
    little look made make many may me might more most much must my myself near need never
    new next no nobody not nothing now of off often on once one only or other our ours out
    over own people please put quite rather really right said same saw say says see seen
    she should shouldn't since so some somebody someone something sometimes soon still
    such take tell than thank thanks that that's the their theirs them themselves then
    there there's these they they're thing think this those though through time to today
    together tomorrow tonight too under until up upon us very want wants was wasn't way we
    we're well went were weren't what what's when where which while who whom whose why
    will with without won't would wouldn't yes yesterday yet you you're your yours
    yourself u ur pls plz thx im dont cant wont didnt isnt
    """.split()
)


@dataclass(slots=True)
class _Evidence:
    """How the words of a Latin-script text vote."""

    vietnamese_only: int = 0  # words with letters only Vietnamese has
    foreign_letters: int = 0  # words with letters Vietnamese lacks (ç ñ ü ß ...)
    vietnamese: float = 0.0  # weighted votes for Vietnamese
    english: float = 0.0  # weighted votes for English
    possible_vi: int = 0  # words that could be Vietnamese at all
    english_words: int = 0  # words in the English list
    counted: int = 0  # words that said anything


def _fold(word: str) -> str:
    """Remove Vietnamese diacritics: "người" -> "nguoi", "đ" -> "d"."""
    decomposed = unicodedata.normalize("NFD", word.replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _is_vietnamese_word(folded: str) -> bool:
    return folded in _SYLLABLES or folded in _SHORTHAND


def _weigh(words: list[str]) -> _Evidence:
    evidence = _Evidence()
    for word in words:
        letters = set(word)
        if len(word) > 1 and len(letters) == 1:
            continue  # "xxx", "zzz": noise
        if word in _SHARED_WORDS:
            continue
        evidence.counted += 1
        if letters & _VIETNAMESE_ONLY:
            evidence.vietnamese_only += 1
            evidence.possible_vi += 1
            evidence.vietnamese += 2
            continue
        accented = bool(letters & _VIETNAMESE_SHARED)
        if (not word.isascii() and not accented) or ("'" in word and word not in _ENGLISH):
            evidence.foreign_letters += not word.isascii()
            continue  # a letter (or elision) Vietnamese does not have: some other language
        folded = _fold(word) if accented else word
        english = word in _ENGLISH
        evidence.english_words += english
        if _is_vietnamese_word(folded):
            evidence.possible_vi += 1
            if accented:
                evidence.vietnamese += 2
            elif english:
                evidence.english += 0.5  # "the", "to", "can", "an" are Vietnamese too
            else:
                evidence.vietnamese += 1.5 if folded in _VIETNAMESE_COMMON else 1
        elif english:
            evidence.english += 1
        elif len(word) <= 4 and not set(word) & set("aeiouy"):
            evidence.counted -= 1  # "mb", "tdp", "csv": an abbreviation, no evidence
    return evidence


def _glued_to_digits(text: str, start: int, end: int) -> bool:
    """Letters inside a code ("15B1", "5pm", "2mb") say nothing about the language."""
    return (start > 0 and text[start - 1].isdigit()) or (end < len(text) and text[end].isdigit())


class LanguageIdentifier:
    """Detects the language of a resident's message; one per process is enough.

    langdetect's profiles (about 60 MB) are loaded on the first text that needs them and
    kept by this instance, never in langdetect's module-wide factory.
    """

    def __init__(self, seed: int = 0) -> None:
        self._seed = seed
        self._factory: DetectorFactory | None = None

    def detect(self, text: str) -> str:
        """An ISO 639-1 code ("vi", "en", "zh", ...), or "und" when the text is too short
        or too mixed to tell."""
        text = unicodedata.normalize("NFKC", _INVISIBLE.sub("", text[:SCAN_CHARS]))
        text = _SKIP.sub(" ", text.replace("’", "'"))
        words: list[str] = []
        for match in _WORD.finditer(text):
            if not _glued_to_digits(text, match.start(), match.end()):
                words.append(match.group().casefold())
        letters = " ".join(words)
        hangul, kana = len(_HANGUL.findall(letters)), len(_KANA.findall(letters))
        han, thai = len(_HAN.findall(letters)), len(_THAI.findall(letters))
        latin = len(_LATIN.findall(letters))
        alphabetic = len(letters) - letters.count(" ") - letters.count("'")
        other = alphabetic - hangul - kana - han - thai - latin
        weight = latin + thai + other + 2 * (hangul + kana + han)
        if weight < MIN_WEIGHT:
            return UNDETERMINED
        by_script = {
            "ja": 2 * (kana + han) if kana else 0,
            "ko": 2 * hangul,
            "zh": 0 if kana else 2 * han,
            "th": thai,
            "other": other,
            "latin": latin,
        }
        script = max(by_script, key=by_script.__getitem__)
        if script == "other":
            return self._langdetect(text)
        if script != "latin":
            return script
        return self._latin([word for word in words if _LATIN.search(word)], text)

    def _latin(self, words: list[str], text: str) -> str:
        if len(words) == 1 and len(words[0]) < MIN_SINGLE_WORD:
            return UNDETERMINED
        evidence = _weigh(words)
        if evidence.counted <= 0:
            return UNDETERMINED  # only codes, loanwords, noise
        if evidence.vietnamese_only > evidence.foreign_letters:
            return "vi"
        if (
            evidence.possible_vi >= VIETNAMESE_SHARE * evidence.counted
            and evidence.vietnamese > evidence.english
        ):
            return "vi"
        if evidence.english_words >= ENGLISH_SHARE * evidence.counted and evidence.english >= 1:
            return "en"
        if evidence.counted == 1:
            return UNDETERMINED  # a single word nobody claims
        return self._langdetect(text)

    def _langdetect(self, text: str) -> str:
        if self._factory is None:
            factory = DetectorFactory()
            factory.load_profile(PROFILES_DIRECTORY)
            factory.seed = self._seed
            self._factory = factory
        detector: Detector = self._factory.create()
        detector.append(text)
        try:
            ranked = detector.get_probabilities()
        except LangDetectException:
            return UNDETERMINED
        if not ranked or ranked[0].prob < LANGDETECT_MIN_PROB:
            return UNDETERMINED
        return str(ranked[0].lang).split("-")[0]
