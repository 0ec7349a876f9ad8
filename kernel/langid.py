"""Which language a short text typed on a phone is in.

langdetect alone reads Vietnamese typed without diacritics ("co nguoi ban o ngo 5") as
Tagalog or Indonesian, and guesses wildly on two-word messages. So cheap, certain
evidence decides first, and langdetect (seeded, so answers never change between runs)
only gets what that evidence leaves open:

1. too few letters to tell ("ok", "?", "15B1-234.56", emoji) -> "und";
2. the writing system: Hangul -> ko, kana -> ja, Han without kana -> zh, Thai -> th;
3. Latin text, word by word. Vietnamese is written one syllable per word and its
   syllables follow strict spelling rules (an onset from a closed list, a rhyme from a
   closed list, "k" only before e/i/y, no final "s", no "w", "f", "j", "z"), so a word is
   possible Vietnamese if it is such a syllable or phone shorthand ("ko", "dc", "bn").
   - With Vietnamese diacritics (ă đ ơ ư and stacked tones always; à é ô... on a
     well-formed syllable only, French and Portuguese have them too): vi when more than
     half the words are Vietnamese, so "I live on Nguyễn Trãi street" stays English.
   - Without: vi when nearly all words are possible Vietnamese and English words that
     happen to be syllables too ("the", "to", "can") do not outweigh the rest.
   - Mostly common English words -> en: langdetect is poor on two or three words.
4. everything else -> langdetect.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Final

UNDETERMINED: Final = "und"

SCAN_CHARS: Final = 1000
"""Characters looked at: a phone message is settled long before, and the cost stays flat."""
MIN_WEIGHT: Final = 3
"""Fewer letters than this cannot show a language ("ok", "ừ", "好"); a Han, kana or
Hangul character counts 2, as it is a whole syllable ("你好" is enough)."""
MIN_SINGLE_WORD: Final = 5
"""A lone Latin word shorter than this ("hi", "thx", "vâng") is an interjection people
type in any language."""
VIETNAMESE_SHARE: Final = 0.75
"""Share of the words of accent-free text that must be possible Vietnamese syllables:
a name, a brand or a typo still passes, a foreign sentence with a few short words not."""
ENGLISH_SHARE: Final = 0.5
"""Share of common English words that settles English without langdetect, which is
unreliable on the two- or three-word messages people send."""
LANGDETECT_MIN_PROB: Final = 0.5
"""Below this langdetect is guessing; "und" lets the caller keep its current language."""

# ---- text clean-up ------------------------------------------------------------------------

_SKIP = re.compile(r"(?:https?://|www\.)\S+|[^\s@]+@[^\s@]+\.[^\s@]+|@\w+", re.IGNORECASE)
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")  # letters, with inner apostrophes ("don't")

# ---- scripts ------------------------------------------------------------------------------

_HANGUL = re.compile("[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\ud7b0-\ud7ff]")
_KANA = re.compile("[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_THAI = re.compile("[\u0e00-\u0e7f]")
_LATIN = re.compile("[A-Za-z\u00c0-\u024f\u1e00-\u1eff]")

# ---- Vietnamese ---------------------------------------------------------------------------

# Letters no other Latin-script language uses as Vietnamese does (NFC forms, lower case).
_VIETNAMESE_ONLY: Final = frozenset("ăđơưĩũỹạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷ")
# The rest of its accented letters, which French, Portuguese... share.
_VIETNAMESE_SHARED: Final = frozenset("àáâãèéêìíòóôõùúý")
_VIETNAMESE_ACCENTED: Final = _VIETNAMESE_ONLY | _VIETNAMESE_SHARED
_PLAIN: Final = frozenset("abcdefghijklmnopqrstuvwxyz'")
_VOWELS: Final = frozenset("aeiouy")
_ONSETS: Final = ("", *"b c ch d g gh gi h k kh l m n ng ngh nh p ph qu r s t th tr v x".split())
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


def _spelling_allows(onset: str, rhyme: str) -> bool:
    """Vietnamese spelling rules: which onsets may stand before which rhymes."""
    if onset == "k":
        return rhyme[0] in "ei" or rhyme == "y"  # "ke", "kia", "ky"; "ca", "co", "cu"
    if onset in ("gh", "ngh"):
        return rhyme[0] in "ei"
    if onset in ("c", "ng") and rhyme[0] in "eiy":
        return False
    if onset == "g" and rhyme[0] in "ey":
        return False  # "ghe"; before i a plain g is the "gi" onset ("gìn")
    if onset == "qu":
        return not rhyme.startswith(("u", "oa", "oe", "oo"))
    if rhyme[0] == "y" and len(rhyme) > 1:
        return onset == ""  # "yên", "yêu"; after a consonant it is spelled "iê"
    return not (onset == "" and rhyme.startswith("ie"))  # spelled "yê" then


_SYLLABLES: Final = frozenset(
    onset + rhyme for onset in _ONSETS for rhyme in _RHYMES if _spelling_allows(onset, rhyme)
) | frozenset({"quynh", "quych", "quyt", "quyu"})  # "qu" and the "uy" rhymes share the u

# What people type on phones instead of whole Vietnamese words (teen code, abbreviations).
_SHORTHAND: Final = frozenset(
    """
    k ko kg kh khg hk hok hem hong khum j ji z zui zay dz dc dk bn b mk mik m t mn ns nch
    ntn vs cx cg ck vk ak uk ukm r h tr bh bjo bgio ng ngta nc ms nma nhma nhg thg thk thik
    bik bit wa iu trc sdt dt bt tl kq lm hs sv gv tp kp tdp ubnd csgt vd e v q p
    """.split()
)
# Very frequent Vietnamese words (accent-free) that English never uses: stronger evidence.
_VIETNAMESE_COMMON: Final = frozenset(
    """
    anh ba bao biet bi cac chi chieu cho chua co cua cung da dang dau den di dem duoc
    duoi em gi gio hai hay ho hom khi khong kia la lai lam len luc ma mai minh mot muon
    nam nao nay nha nhieu nhu nhung noi nua ngay ngoai nguoi o oi qua ra rat roi sang sao
    se thang thay thi toi tren trong tuan va vao vay ve voi xuong
    """.split()
)
# Loanwords and brand names Vietnamese and English messages share: no evidence either way.
_SHARED_WORDS: Final = frozenset(
    """
    ok okay oke okie oki karaoke zalo facebook fb face messenger tiktok youtube grab shopee
    lazada online shop ship shipper wifi internet game net vape taxi bar pub club app sms
    email hotline video clip camera haha hihi hehe huhu lol
    """.split()
)

# ---- English ------------------------------------------------------------------------------

# Common English words (function words first of all), and phone spellings of a few.
_ENGLISH: Final = frozenset(
    """
    a able about above across act actually add added address after afternoon again against
    age ago ahead air all allow almost alone along already alright also although always am
    among an and angry animal another answer any anybody anymore anyone anything anyway
    anywhere apartment are area aren't around arrive as ask asked asking at away awful baby
    back bad bag bank be beat became because become bed been before began begin behind being
    believe below beside best better between big bike bit black blue body book boss both
    bottle bought boy boys break bring broke broken brother brought build building burn bus
    business busy but buy buying by call called calling came can can't cannot car card care
    careful carry case cash catch caught cause cell center chance change cheap check child
    children choose city class clean clear close closed clothes coffee cold come comes
    coming company could couldn't country couple course cross cry cut dad danger dangerous
    dark daughter day days dead deal dear death decide did didn't die different dinner do
    does doesn't dog doing done don't door down drink drive driver driving drop drove during
    each early easy eat else empty end enough even evening ever every everybody everyone
    everything exactly except eye eyes face fact family far fast father fear feel feeling
    fell felt few fight find fine finish fire first five floor follow food for forget forgot
    found four free friday friend friends from front full fun game gave get gets getting
    girl girls give given go goes going gone good got great green ground group grow guess
    guy guys had hair half hand hands happen happened happening happy hard has hasn't hate
    have haven't having he he's head hear heard help her here hers herself hello hey hi hide
    hidden him himself his hit hold home hope hospital hot hour hours house how however hurt
    husband i i'd i'll i'm i've idea if ill important in inside instead into is isn't it
    it's its itself job just keep kept kid kids kill kind knew know known lady large last
    late later least leave left less let let's life light like likes line listen little live
    lives living long look looked looking looks lost lot lots loud love made make makes
    making man many market may maybe me mean meet men might mind mine minute minutes miss
    moment monday money month more morning most mother move much mum must my myself name
    near nearby need needs never new news next nice night nine no nobody noise none nor not
    nothing notice now number of off office often oh old on once one only open or other
    others our ours out outside over own paid parents park part party pass past pay people
    person phone pick place plan play please police poor pretty probably problem put
    question quick quickly quiet quite rather read ready real really reason red remember
    report right road room run running sad safe said same saturday saw say saying says
    scared school second see seem seen sell send sent seven several she she's shop short
    should shouldn't show shut sick side since sister sit six sleep slow small smell smoke
    so sold some somebody someone something sometimes somewhere soon sorry speak start stay
    still stop store strange street strong stuff such sunday sure take taken talk tall tell
    ten than thank thanks that that's the their theirs them themselves then there there's
    these they they're thing things think third this those though thought three through
    thursday time times tired to today together told tomorrow tonight too took top town
    tried true try trying tuesday turn two under understand until up upon upstairs us use
    used usually very visit wait walk wall want wanted wants war warm was wasn't watch water
    way we we're wednesday week weekend weeks well went were weren't what what's when where
    whether which while white who whole whom whose why wife will window with without woman
    women won't word work working world worried worry would wouldn't write wrong yeah year
    years yellow yes yesterday yet you you're young your yours yourself u ur pls plz thx im
    ive youre theyre didnt doesnt isnt wasnt cant wont
    """.split()
)


def _is_english(word: str) -> bool:
    """A common English word, or one with a regular ending ("questions", "reported")."""
    if word in _ENGLISH:
        return True
    if len(word) < 5:
        return False
    if word.endswith("ing"):
        return len(word) >= 6
    if word.endswith(("s", "d")) and word[:-1] in _ENGLISH:  # "numbers", "used"
        return True
    return word.endswith(("es", "ed")) and word[:-2] in _ENGLISH  # "watches", "opened"


def _fold(word: str) -> str:
    """Remove Vietnamese diacritics: "người" -> "nguoi", "đ" -> "d"."""
    decomposed = unicodedata.normalize("NFD", word.replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass(slots=True)
class _Votes:
    """How the words of a Latin-script text vote."""

    counted: int = 0  # words that say anything about the language
    accented_vi: int = 0  # Vietnamese syllables written with Vietnamese diacritics
    possible_vi: int = 0  # words that can be Vietnamese, accented or not
    vietnamese: float = 0.0  # weight of the plain words for Vietnamese
    english: float = 0.0  # weight of the plain words for English
    english_words: int = 0  # common English words, including "the", "to", "can"
    ambiguous: int = 0  # plain words that are both: "the", "to", "can", "an", "day"
    english_only: int = 0  # common English words no Vietnamese syllable spells


def _vote(words: list[str]) -> _Votes:
    votes = _Votes()
    for word in words:
        if (len(word) > 1 and len(set(word)) == 1) or word in _SHARED_WORDS:
            continue  # "xxx", "zzz", "karaoke": nothing either way
        votes.counted += 1
        if not word.isascii():
            accents = set(word) - _PLAIN
            folded = _fold(word)
            if accents <= _VIETNAMESE_ACCENTED and (
                accents & _VIETNAMESE_ONLY or folded in _SYLLABLES or folded in _SHORTHAND
            ):
                votes.accented_vi += 1  # "người", "đc", "Đắk", "là"; not "ça", "été", "côté"
                votes.possible_vi += 1
            continue
        vietnamese = word in _SYLLABLES or word in _SHORTHAND
        english = _is_english(word)
        votes.possible_vi += vietnamese
        votes.english_words += english
        if vietnamese and english:
            votes.ambiguous += 1
            votes.english += 0.5  # half a vote: "thể", "tô", "cần", "an", "đây"
        elif vietnamese:
            votes.vietnamese += 1.5 if word in _VIETNAMESE_COMMON else 1.0
        elif english:
            votes.english += 1.0
            votes.english_only += 1
        elif len(word) <= 4 and not set(word) & _VOWELS:
            votes.counted -= 1  # "mb", "tdp", "csv": an abbreviation, nothing either way
    return votes


def _glued_to_digits(text: str, start: int, end: int) -> bool:
    """Letters inside a code ("15B1", "5pm", "2mb") say nothing about the language."""
    return (start > 0 and text[start - 1].isdigit()) or (end < len(text) and text[end].isdigit())


class LanguageIdentifier:
    """Detects the language of a resident's message; one per process is enough.

    langdetect's profiles (about 60 MB) are loaded on the first text that needs them and
    kept by this instance, never in langdetect's module-wide factory. langdetect itself
    is imported then too, not at start: most texts are settled before it is needed, and
    the bot's process should not carry it for nothing (issue 16, memory).
    """

    def __init__(self, seed: int = 0) -> None:
        self._seed = seed
        self._factory: Any = None  # langdetect's DetectorFactory, once a text needs it

    def detect(self, text: str) -> str:
        """An ISO 639-1 code ("vi", "en", "zh", ...), or "und" when the text is too short
        or too mixed to tell."""
        text = unicodedata.normalize("NFKC", _INVISIBLE.sub("", text[:SCAN_CHARS]))
        text = _SKIP.sub(" ", text.replace("\u2019", "'"))
        words = [
            match.group().casefold()
            for match in _WORD.finditer(text)
            if not _glued_to_digits(text, match.start(), match.end())
        ]
        letters = "".join(words).replace("'", "")
        hangul, kana = len(_HANGUL.findall(letters)), len(_KANA.findall(letters))
        han, thai = len(_HAN.findall(letters)), len(_THAI.findall(letters))
        latin = len(_LATIN.findall(letters))
        other = len(letters) - hangul - kana - han - thai - latin
        if latin + thai + other + 2 * (hangul + kana + han) < MIN_WEIGHT:
            return UNDETERMINED
        by_script = {  # the writing system with most of the letters
            "ja": 2 * (kana + han) if kana else 0,
            "ko": 2 * hangul,
            "zh": 0 if kana else 2 * han,
            "th": thai,
            "other": other,  # Cyrillic, Arabic, Greek, Devanagari...: langdetect knows them
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
        votes = _vote(words)
        if votes.counted <= 0:
            return UNDETERMINED  # only codes, loanwords, noise
        if votes.accented_vi:
            # Written with a Vietnamese keyboard, unless most words are another language
            # quoting a name ("I live on Nguyễn Trãi street").
            if votes.possible_vi - votes.ambiguous > votes.counted / 2:
                return "vi"
        elif (
            votes.possible_vi >= VIETNAMESE_SHARE * votes.counted
            and votes.vietnamese > 0
            and votes.vietnamese >= votes.english
        ):
            return "vi"  # Vietnamese typed without accents
        if votes.english_words >= ENGLISH_SHARE * votes.counted and (
            votes.english_only or votes.english_words >= VIETNAMESE_SHARE * votes.counted
        ):
            return "en"
        if votes.counted == 1:
            return UNDETERMINED  # a single word nobody claims
        return self._langdetect(text)

    def _langdetect(self, text: str) -> str:
        from langdetect.lang_detect_exception import LangDetectException  # on first need

        if self._factory is None:
            from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

            factory = DetectorFactory()
            factory.load_profile(PROFILES_DIRECTORY)
            factory.seed = self._seed  # each Detector seeds its own random.Random with it
            self._factory = factory
        detector = self._factory.create()
        detector.append(text)
        try:
            ranked = detector.get_probabilities()
        except LangDetectException:
            return UNDETERMINED
        if not ranked or ranked[0].prob < LANGDETECT_MIN_PROB:
            return UNDETERMINED
        return str(ranked[0].lang).split("-")[0]  # "zh-cn", "zh-tw" -> "zh"
