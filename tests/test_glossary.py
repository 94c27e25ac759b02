"""GLOSSARY.md and the lessons agree on the Korean terms.

(a) every Korean term in parentheses in a lesson's markdown is in the glossary, and
(b) every glossary term appears, in parentheses, in the lesson the glossary names
(a lesson number such as 05, or a challenge such as C1).
The lessons are read from notebooks/ or, to check edited copies, from the folder named
by AE_GLOSSARY_NOTEBOOKS.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = ROOT / "GLOSSARY.md"
NOTEBOOKS = Path(os.environ.get("AE_GLOSSARY_NOTEBOOKS", ROOT / "notebooks"))
LESSONS = {p.name[:2]: p for p in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))}
# the challenges (notebooks/challenges/c1_*.ipynb ...) are named C1, C2... in the glossary
CHALLENGES = sorted((NOTEBOOKS / "challenges").glob("c[0-9]_*.ipynb"))
LESSONS |= {p.name[:2].upper(): p for p in CHALLENGES}

HANGUL = re.compile(r"[\uac00-\ud7a3]")
INNER_PARENS = re.compile(r"\(([^()]*)\)")
PIPE = re.compile(r"(?<!\\)\|")


def glossary_rows(path: Path = GLOSSARY) -> list[dict[str, str]]:
    """The glossary table as dicts keyed by its header (English, 한국어, ..., lesson)."""
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    table = [ln for ln in lines if ln.startswith("|")]
    header = [c.strip() for c in PIPE.split(table[0].strip("|"))]
    rows = []
    for ln in table[2:]:
        cells = [c.strip().replace("\\|", "|") for c in PIPE.split(ln.strip("|"))]
        assert len(cells) == len(header), f"GLOSSARY.md: {len(cells)} cells in row: {ln}"
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


def korean_terms(text: str) -> list[str]:
    """Korean terms given in parentheses: each comma- or semicolon-separated part of an
    innermost (...) that contains Hangul, e.g. '(잡음 제거 오토인코더, DAE)' gives
    '잡음 제거 오토인코더' and '(the bottleneck, 병목)' gives '병목'."""
    terms = []
    for inner in INNER_PARENS.findall(text):
        for part in re.split(r"[,;]", inner):
            part = " ".join(part.split())
            if HANGUL.search(part):
                terms.append(part)
    return terms


def lesson_terms(path: Path) -> dict[str, list[int]]:
    """Korean terms of one lesson's markdown cells, with the cells they appear in."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    found: dict[str, list[int]] = {}
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown":
            for term in korean_terms("".join(cell["source"])):
                found.setdefault(term, []).append(i)
    return found


ROWS = glossary_rows()
BY_KOREAN = {row["한국어"]: row for row in ROWS}


def test_korean_terms_are_extracted_as_the_lessons_write_them():
    text = ("a **denoising autoencoder (잡음 제거 오토인코더, DAE)**, the code (the bottleneck,"
            " 병목), a wide (a sparse, 희소, code), (with *stride* (스트라이드) $s$) and (no"
            " Korean here)")
    assert korean_terms(text) == ["잡음 제거 오토인코더", "병목", "희소", "스트라이드"]


def test_glossary_is_well_formed():
    assert LESSONS, f"no lesson notebooks in {NOTEBOOKS}"
    assert {"English", "한국어", "definition", "lesson"} <= set(ROWS[0])
    english = [r["English"].lower() for r in ROWS]
    korean = [r["한국어"] for r in ROWS]
    assert len(set(english)) == len(english), "an English term is listed twice"
    assert len(set(korean)) == len(korean), "a Korean term is listed twice (one meaning each)"
    for r in ROWS:
        assert HANGUL.search(r["한국어"]), r
        assert r["English"] and r["definition"].endswith("."), r
        assert len(r["definition"]) <= 130, f"definition longer than one line: {r['English']}"
        assert r["lesson"] in LESSONS, f"{r['English']}: no lesson {r['lesson']!r}"


def test_required_terms_and_resolved_clashes():
    for term in ("잠재 공간", "재구성", "손실 함수", "차원 축소", "과완전", "확장 오토인코더"):
        assert term in BY_KOREAN, term
    assert BY_KOREAN["정규화"]["English"].startswith("normali")
    regularisation = [r for r in ROWS if r["English"].startswith("regulari")]
    assert regularisation and regularisation[0]["한국어"] in ("규제", "정칙화")
    tied = [r for r in ROWS if r["English"] == "tied weights"][0]
    assert tied["한국어"] != "가중치 공유"
    assert BY_KOREAN["가중치 공유"]["English"] == "weight sharing"
    assert "시맨틱 해싱" in BY_KOREAN


@pytest.mark.parametrize("lesson", sorted(LESSONS))
def test_every_korean_term_of_a_lesson_is_in_the_glossary(lesson):
    missing = {t: cells for t, cells in lesson_terms(LESSONS[lesson]).items()
               if t not in BY_KOREAN}
    assert not missing, (f"lesson {lesson}: Korean terms not in GLOSSARY.md "
                         f"(term: markdown cells): {missing}")


@pytest.mark.parametrize("lesson", sorted(LESSONS))
def test_every_glossary_term_appears_in_its_lesson(lesson):
    present = lesson_terms(LESSONS[lesson])
    absent = [f"{r['English']} ({r['한국어']})" for r in ROWS
              if r["lesson"] == lesson and r["한국어"] not in present]
    assert not absent, (f"lesson {lesson} ({LESSONS[lesson].name}) should introduce these "
                        f"glossary terms, in parentheses, but does not: {absent}")


@pytest.mark.parametrize("lesson", sorted(LESSONS))
def test_no_clashing_korean_terms(lesson):
    nb = json.loads(LESSONS[lesson].read_text(encoding="utf-8"))
    md = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert not re.search(r"regulari[sz]\w*\**\s*\(정규화", md), (
        f"lesson {lesson}: regularisation is 규제, not 정규화 (that is normalisation)")
    assert not re.search(r"tied\s+weights\s*\(가중치 공유", md), (
        f"lesson {lesson}: tied weights are 묶인 가중치; 가중치 공유 is a CNN's weight sharing")
