"""Summarise a py-spy profile (`py-spy record -f raw`): where the samples are, inclusive and self."""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# "function (path/to/file.py:123)" -> "function (file.py)": lines of one function are added up.
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<path>[^():]+)(?::\d+)?\)$")


def frame_name(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match.group("path")
    # Keep the part that names the package: site-packages/<pkg>/..., src/policytrace/..., flows/...
    for marker in ("site-packages/", "/src/", "/work/main/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match.group('function')} ({path})"


def read_stacks(path: Path) -> Counter[tuple[str, ...]]:
    """Stacks (outermost frame first) and their sample counts."""
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[tuple(frame_name(f) for f in stack.split(";"))] += int(count)
    return stacks


def summarise(stacks: Counter[tuple[str, ...]], focus: str | None, top: int) -> str:
    if focus:
        # Keep the part of each stack from the first frame through `focus` down to the leaf.
        focused: Counter[tuple[str, ...]] = Counter()
        for stack, count in stacks.items():
            start = next((i for i, frame in enumerate(stack) if focus in frame), None)
            if start is not None:
                focused[stack[start:]] += count
        stacks = focused
    total = sum(stacks.values())
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for stack, count in stacks.items():
        for name in set(stack):
            inclusive[name] += count
        own[stack[-1]] += count
    lines = [f"{total} samples" + (f" in stacks through {focus!r}, counted from there" if focus else "")]
    for title, counter in (("inclusive", inclusive), ("self", own)):
        lines.append(f"\ntop {top} by {title} samples:")
        lines += [f"{count / total:6.1%}  {count:7d}  {name}" for name, count in counter.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=Path, help="output of `py-spy record -f raw -o FILE`")
    parser.add_argument("--focus", help="only stacks through a frame containing this text")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    print(summarise(read_stacks(args.profile), args.focus, args.top))


if __name__ == "__main__":
    main()
