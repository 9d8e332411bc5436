"""Tokens and sentences of a document's cleaned text, with character offsets."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Final

from spacy.attrs import IDX, LENGTH, ORTH, SPACY
from spacy.tokens import Doc

_END_PUNCT: Final = {".", "!", "?", "…"}
_CLOSERS: Final = {'"', "”", "’", "'", ")", "]", "»"}
# A full stop after these words (or after a single capital, an initial) does not end a sentence.
_ABBREVIATIONS: Final = frozenset({
    "no", "nos", "mr", "mrs", "ms", "dr", "prof", "st", "gen", "col", "lt", "sgt", "capt", "maj",
    "gov", "sen", "rep", "jr", "sr", "vs", "art", "vol", "pp", "fig", "approx", "est", "inc", "ltd",
    "co", "corp", "dept", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
    "nov", "dec", "u.s", "u.k", "e.g", "i.e",
})


def _is_abbreviation(token: Tok) -> bool:
    word = token.text.rstrip(".")
    return word.lower() in _ABBREVIATIONS or (len(word) == 1 and word.isupper())


@dataclass(unsafe_hash=True, init=False)  # treated as frozen; see __init__
class Sentence:
    """A sentence: its position, token range [first, last) and character range [start, end)."""

    index: int
    first: int
    last: int
    start: int
    end: int
    paragraph: int = 0

    # Written out, not generated: mypyc compiles this `__init__`, while the one `@dataclass`
    # generates stays interpreted (~0.7 µs a call, made for every mention).
    def __init__(
        self, index: int, first: int, last: int, start: int, end: int, paragraph: int = 0
    ) -> None:
        self.index = index
        self.first = first
        self.last = last
        self.start = start
        self.end = end
        self.paragraph = paragraph


def split_sentences(tokens: list[Tok]) -> list[Sentence]:
    """Sentences end at paragraph breaks and at . ! ? (and closing quotes) before a capital."""
    sentences: list[Sentence] = []
    first: int | None = None
    paragraph = 0
    count = len(tokens)

    def close(last: int) -> None:
        nonlocal first
        if first is not None and last > first:
            start = tokens[first].idx
            end_token = tokens[last - 1]
            sentences.append(
                Sentence(
                    len(sentences),
                    first,
                    last,
                    start,
                    end_token.idx + len(end_token.text),
                    paragraph,
                )
            )
        first = None

    # Only spaces, sentence-final punctuation and line ends can close a sentence: the loop jumps
    # from one such token to the next instead of looking at every token.
    breaks = [
        position
        for position, token in enumerate(tokens)
        if token.is_space or token.text in _END_PUNCT or "\n" in token.whitespace_
    ]
    i = 0
    while i < count:
        next_break = breaks[bisect_left(breaks, i)] if breaks and breaks[-1] >= i else count
        if next_break > i:
            # Ordinary tokens: they only open a sentence.
            if first is None:
                first = i
            i = next_break
            continue
        token = tokens[i]
        if token.is_space:
            if "\n" in token.text:
                close(i)
                paragraph += 1
            i += 1
            continue
        if first is None:
            first = i
        ends_line = "\n" in token.whitespace_
        abbreviated = (token.text == "." and i > first and not tokens[i - 1].whitespace_
                       and _is_abbreviation(tokens[i - 1]))
        if token.text in _END_PUNCT and not abbreviated:
            j = i + 1
            while j < count and tokens[j].text in _CLOSERS and not tokens[j - 1].whitespace_:
                j += 1
            following = tokens[j] if j < count else None
            if (
                following is None
                or following.is_space
                or tokens[j - 1].whitespace_
                and (
                    following.text[:1].isupper()
                    or following.text[:1].isdigit()
                    or following.text[:1] in "\"“‘'("
                )
            ):
                close(j)
                i = j
                continue
        if ends_line:
            close(i + 1)
            paragraph += 1
        i += 1
    close(count)
    return sentences


class SentenceIndex:
    """Finds the sentence of a token quickly."""

    def __init__(self, sentences: list[Sentence]) -> None:
        self.sentences = sentences
        self._firsts = [s.first for s in sentences]

    def of_token(self, token_index: int) -> Sentence | None:
        """The sentence that holds a token (None for paragraph breaks)."""
        position = bisect_right(self._firsts, token_index) - 1
        if position < 0:
            return None
        sentence = self.sentences[position]
        return sentence if token_index < sentence.last else None


class Tok:
    """The attributes of a spaCy token the extractor reads, copied once (spaCy builds a new
    Python object on every `doc[i]`, which dominated the run time)."""

    __slots__ = (
        "text",
        "lower_",
        "idx",
        "whitespace_",
        "is_alpha",
        "like_num",
        "is_punct",
        "is_space",
    )

    def __init__(
        self,
        text: str,
        lower: str,
        idx: int,
        whitespace: str,
        is_alpha: bool,
        like_num: bool,
        is_punct: bool,
        is_space: bool,
    ) -> None:
        self.text = text
        self.lower_ = lower
        self.idx = idx
        self.whitespace_ = whitespace
        self.is_alpha = is_alpha
        self.like_num = like_num
        self.is_punct = is_punct
        self.is_space = is_space


# Per language, per word (keyed by spaCy's hash of its text, `ORTH`): (text, lower case, is_alpha,
# like_num, is_punct, is_space). The flags are the word's lexeme's (a token's flags are its lexeme's,
# and a language's rules set them), so they are looked up once per distinct word instead of read per
# token through `Doc.to_array`; the integer key spares slicing and hashing each token's text. Bounded:
# a long run on varied text must not grow it forever.
_WORD_FLAGS: Final[dict[str, dict[int, tuple[str, str, bool, bool, bool, bool]]]] = {}
_WORD_FLAGS_MAX: Final = 100_000


def make_tokens(doc: Doc, text: str) -> list[Tok]:
    """Plain copies of a document's tokens (text is the document's text)."""
    array = doc.to_array([ORTH, IDX, LENGTH, SPACY]).tolist()
    vocab = doc.vocab
    cache = _WORD_FLAGS.setdefault(vocab.lang, {})
    tokens: list[Tok] = []
    for orth, start, length, space_after in array:
        flags = cache.get(orth)
        if flags is None:
            word = text[start : start + length]
            lexeme = vocab[word]
            flags = (word, word.lower(), bool(lexeme.is_alpha), bool(lexeme.like_num),
                     bool(lexeme.is_punct), bool(lexeme.is_space))
            if len(cache) >= _WORD_FLAGS_MAX:
                cache.clear()
            cache[orth] = flags
        tokens.append(Tok(flags[0], flags[1], start, " " if space_after else "", flags[2], flags[3],
                          flags[4], flags[5]))
    return tokens


def span_text(text: str, tokens: list[Tok], first: int, last: int) -> str:
    """The document text covered by tokens [first, last)."""
    end = tokens[last - 1]
    return text[tokens[first].idx : end.idx + len(end.text)]
