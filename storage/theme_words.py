"""Words for theme finding: stop words (English, chat, Scots, Scottish Gaelic) and spellings."""

from __future__ import annotations

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
    email phone postcode
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
WORD = re.compile(r"[^\W\d_]{2,}")
APOSTROPHES = re.compile(r"['’‘`´]")


def plain_letters(text: str) -> str:
    """Lower-case `text` and drop accents, so "fèis" and "feis" are one word."""
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


def content_words(text: str) -> list[str]:
    """The words of an answer that can carry a theme, normalised, in order.

    Contact details are masked first and digits and emoji are not words, so a phone number or
    an emoji never makes a theme; fillers, Scots and Gaelic function words are dropped.
    """
    cleaned = APOSTROPHES.sub("", plain_letters(redact(text)))
    words: list[str] = []
    for raw in WORD.findall(cleaned):
        for word in SPELLINGS.get(raw, raw).split():
            if word in STOP_WORDS:
                continue
            folded = singular(word)
            if folded not in STOP_WORDS:
                words.append(folded)
    return words


def terms(words: list[str]) -> list[str]:
    """Single words and adjacent pairs ("play park", "youth club") as features."""
    return words + [f"{first} {second}" for first, second in itertools.pairwise(words)]
