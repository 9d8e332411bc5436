"""Tokens and sentences of a document's cleaned text, with character offsets."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from spacy.tokens import Doc

_END_PUNCT = {".", "!", "?", "…"}
_CLOSERS = {'"', "”", "’", "'", ")", "]", "»"}


@dataclass(frozen=True)
class Sentence:
    """A sentence: its position, token range [first, last) and character range [start, end)."""

    index: int
    first: int
    last: int
    start: int
    end: int
    paragraph: int = 0


def split_sentences(doc: Doc) -> list[Sentence]:
    """Sentences end at paragraph breaks and at . ! ? (plus closing quotes) before a capital or digit."""
    sentences: list[Sentence] = []
    first: int | None = None
    paragraph = 0
    tokens = list(doc)
    count = len(tokens)

    def close(last: int) -> None:
        nonlocal first
        if first is not None and last > first:
            start = tokens[first].idx
            end_token = tokens[last - 1]
            sentences.append(Sentence(len(sentences), first, last, start,
                                      end_token.idx + len(end_token.text), paragraph))
        first = None

    i = 0
    while i < count:
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
        if token.text in _END_PUNCT:
            j = i + 1
            while j < count and tokens[j].text in _CLOSERS and not tokens[j - 1].whitespace_:
                j += 1
            following = tokens[j] if j < count else None
            if (following is None or following.is_space or tokens[j - 1].whitespace_ and
                    (following.text[:1].isupper() or following.text[:1].isdigit()
                     or following.text[:1] in "\"“‘'(")):
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
        position = bisect_right(self._firsts, token_index) - 1
        if position < 0:
            return None
        sentence = self.sentences[position]
        return sentence if token_index < sentence.last else None
