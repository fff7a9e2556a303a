"""Words for theme finding: stop words (English, chat, Scots, Scottish Gaelic) and spellings."""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from storage.redact import redact


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Fillers and short replies that say nothing about a theme on their own ("yes", "dunno", "idk"),
# so an answer made only of them has no words left and is counted as "other".
CHAT_STOP_WORDS = _word_set(
    """
    yes yeah yep yup no nope nah ok okay okey k kk maybe dunno idk dno noidea not sure
    nothing really just like think thing things stuff lot lots much good great bad fine
    thanks thank thx ta cheers please pls plz hi hello hey lol haha omg ffs tbh imo imho
    dont cant wont isnt wasnt didnt doesnt havent shouldnt wouldnt couldnt arent im ive id
    youre theyre thats theres whats its lets get got getting go going gonna wanna gotta
    need needs want wants would could should also even still really actually honestly
    one two bit more less better make makes made know say said people area town place
    email phone postcode call text chat contact ring message number
    """
)
# Scots words that carry no theme ("aye", "wee", "dinnae") and would otherwise look like one.
SCOTS_STOP_WORDS = _word_set(
    """
    aye naw nae wee awfy pure dead gonnae wanna dinnae cannae wouldnae couldnae shouldnae
    didnae isnae wasnae havnae hasnae willnae doesnae disnae widnae yous youse ye yer oor
    ma mon jist noo whit howfur oot aboot efter tae fae wi ony onything nuhin hink
    """
)
# Common Scottish Gaelic function words (articles, prepositions, pronouns, the verb "to be"),
# written without accents because answers are folded to plain letters before matching.
GAELIC_STOP_WORDS = _word_set(
    """
    a agus an am na nan nam air aig ann anns as bho bha bhith bidh bithidh ach is e i iad
    sinn sibh mi thu tu ri ris gu gun gum de do dhan dha mu mar no cha chan nach ma le leis
    fo seo sin siud tha chaidh gach eile tro thar ro ge mo ar ur fhein aon ort orm oirnn
    dhomh dhut dhuinn dhaibh rium riut leam leat leinn aca agam agad againn aice aige
    bu robh eil bheil chan nuair oir ged cuideachd gle glè ciamar carson cait cuin cò co
    ag ga gam gan gur mur
    """
)
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | CHAT_STOP_WORDS | SCOTS_STOP_WORDS | GAELIC_STOP_WORDS

# Dialect and text-speak spellings read as the everyday word, so they land with their theme.
SPELLINGS = {
    "weans": "children",
    "wean": "child",
    "bairns": "children",
    "bairn": "child",
    "kids": "children",
    "kid": "child",
    "weeans": "children",
    "teenagers": "teens",
    "teenager": "teen",
    "youngsters": "young",
    "yoof": "youth",
    "busses": "buses",
    "buss": "bus",
    "skool": "school",
    "skul": "school",
    "toon": "town",
    "hame": "home",
    "pals": "friends",
    "nite": "night",
    "nites": "nights",
    "tonite": "tonight",
    "2day": "today",
    "2moro": "tomorrow",
    "gr8": "great",
    "cos": "because",
    "coz": "because",
    "playpark": "play park",
    "playground": "play park",
    "swingpark": "play park",
}
APOSTROPHES = re.compile(r"['’‘`´]")
# Phone numbers and postcodes hold digits, e-mail addresses an @: without them, no redaction.
MAY_HOLD_CONTACT = re.compile(r"[\d@]")
# A word of two or more letters (captured), or punctuation that ends a phrase (captured as "").
TOKENS = re.compile(r"([^\W\d_]{2,})|[.,;:!?()\[\]/\\\n\r\t\"“”–—-]+")
RUN_BREAK: tuple[str | None, ...] = (None,)


def plain_letters(text: str) -> str:
    """Lower-case `text` and drop accents, so "fèis" and "feis" are one word."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def singular(word: str) -> str:
    """Fold a plain English plural to its singular ("swings" -> "swing", "buses" -> "bus")."""
    if len(word) <= 3 or word.endswith(("ss", "us", "is", "ous")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


@functools.lru_cache(maxsize=100_000)
def _read_word(raw: str) -> tuple[str | None, ...]:
    """A written word as the words it stands for, None for each stop word (a run break)."""
    read: list[str | None] = []
    for word in SPELLINGS.get(raw, raw).split():
        folded = singular(word)
        read.append(None if word in STOP_WORDS or folded in STOP_WORDS else folded)
    return tuple(read)


def phrases(text: str) -> list[list[str]]:
    """Runs of theme-carrying words, normalised; a stop word or punctuation ends a run."""
    # Contact details are masked first and digits and emoji are not words, so a phone number
    # or an emoji never makes a theme; fillers, Scots and Gaelic function words are dropped.
    if MAY_HOLD_CONTACT.search(text):
        text = redact(text)
    runs: list[list[str]] = []
    run: list[str] = []
    for raw in TOKENS.findall(APOSTROPHES.sub("", plain_letters(text))):
        for word in _read_word(raw) if raw else RUN_BREAK:
            if word is not None:
                run.append(word)
            elif run:
                runs.append(run)
                run = []
    if run:
        runs.append(run)
    return runs


def content_words(text: str) -> list[str]:
    """The words of an answer that can carry a theme, normalised, in order."""
    return [word for run in phrases(text) for word in run]


def terms(runs: list[list[str]]) -> list[str]:
    """Single words and pairs written side by side ("play park", "youth club") as features."""
    words = [word for run in runs for word in run]
    return words + [f"{a} {b}" for run in runs for a, b in itertools.pairwise(run)]
