"""The topic files' phrase syntax, compiled into spaCy Matcher token patterns."""

from __future__ import annotations

import re
from typing import Any

# Verbs whose past forms do not follow the rules; the lexicons name any others with `|`.
_IRREGULAR = {
    "say": ["said"], "tell": ["told"], "take": ["took", "taken"], "send": ["sent"],
    "fight": ["fought"], "write": ["wrote", "written"], "go": ["went", "gone"],
    "come": ["came"], "leave": ["left"], "flee": ["fled"], "give": ["gave", "given"],
    "get": ["got", "gotten"], "put": ["put"], "make": ["made"], "find": ["found"],
    "run": ["ran"], "begin": ["began", "begun"], "feel": ["felt"], "beat": ["beaten"],
    "throw": ["threw", "thrown"], "rewrite": ["rewrote", "rewritten"], "set": ["set"],
    "spend": ["spent"], "bring": ["brought"], "lead": ["led"], "hold": ["held"],
}
_VOWELS = set("aeiou")
NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "dozen": 12,
}


def inflect(verb: str) -> list[str]:
    """A verb's base, third-person, past and -ing forms (regular rules plus a few irregulars)."""
    forms = [verb]
    if verb.endswith("e"):
        forms += [verb + "s", verb + "d", verb[:-1] + "ing"]
    elif verb.endswith("y") and len(verb) > 2 and verb[-2] not in _VOWELS:
        forms += [verb[:-1] + "ies", verb[:-1] + "ied", verb + "ing"]
    elif re.fullmatch(r"[^aeiou]*[aeiou][bdgmnprt]", verb):
        # One-syllable consonant-vowel-consonant verbs double the last letter (stop -> stopped).
        forms += [verb + "s", verb + verb[-1] + "ed", verb + verb[-1] + "ing"]
    elif verb.endswith(("s", "sh", "ch", "x", "z")):
        forms += [verb + "es", verb + "ed", verb + "ing"]
    else:
        forms += [verb + "s", verb + "ed", verb + "ing"]
    return forms + _IRREGULAR.get(verb, [])


def _word_alternatives(word: str) -> list[str]:
    alternatives: list[str] = []
    for option in word.split("|"):
        if option.endswith("+") and len(option) > 1:
            alternatives += inflect(option[:-1])
        else:
            alternatives.append(option)
    return list(dict.fromkeys(alternatives))


def _number_token() -> dict[str, Any]:
    return {"LOWER": {"REGEX": r"^(\d[\d,.]*|" + "|".join(NUMBER_WORDS) + ")$"}}


def compile_phrase(phrase: str) -> list[dict[str, Any]]:
    """One phrase of the lexicon syntax as a spaCy Matcher pattern (a list of token specs)."""
    pattern: list[dict[str, Any]] = []
    for word in phrase.lower().split():
        if word == "*":
            pattern.append({"OP": "{0,3}", "IS_SENT_START": False})
        elif word == "_":
            pattern.append({"IS_PUNCT": False, "IS_SPACE": False})
        elif word == "#":
            pattern.append(_number_token())
        elif word.startswith("?") and len(word) > 1:
            pattern.append({"LOWER": {"IN": _word_alternatives(word[1:])}, "OP": "?"})
        elif "#-" in word:
            # "#-month" is tokenised as number, hyphen, word.
            pattern += [_number_token(), {"ORTH": "-"},
                        {"LOWER": {"IN": _word_alternatives(word.split("#-", 1)[1])}}]
        else:
            # spaCy splits "n't" and possessive "'s" off; a phrase word with them becomes two tokens.
            for part in re.findall(r"n't|'s|[^']+'?|'", word):
                pattern.append({"LOWER": {"IN": _word_alternatives(part)}})
    return pattern

