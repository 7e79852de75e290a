"""The user's documentation: links stay inside the repository, and the input guide explains
every quarantine reason code the code can produce."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: a call that quarantines, and its reason code: the snake_case literal followed by the detail
QUARANTINE_CALL = re.compile(r"\b(?:issues\.add|FileProblem|RowProblem|_issue|_unresolved)\(")
REASON = re.compile(r'"([a-z]+(?:_[a-z]+)+)",\s*(?:f"|"(?![a-z_]+")|lambda\b|[A-Za-z_.]+\(|\(|[a-z_]+\))')


def reason_codes_in_code() -> set[str]:
    codes = set()
    for path in [*(ROOT / "transforms").rglob("*.py"), *(ROOT / "schemas").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        for call in QUARANTINE_CALL.finditer(text):
            if found := REASON.search(text, call.end(), call.end() + 300):
                codes.add(found.group(1))
        codes |= set(re.findall(r'name="([a-z_]+)@', text))          # pandera row checks
        if table := re.search(r"REASON_FOR_CHECK = \{(.*?)\}", text, re.S):
            codes |= set(re.findall(r': "([a-z_]+)"', table.group(1)))
    return codes


def test_input_guide__lists_every_reason_code_the_code_produces():
    guide = (ROOT / "docs" / "inputs.md").read_text(encoding="utf-8")
    section = guide.split("## Reason codes", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", section, re.M))
    codes = reason_codes_in_code()
    assert {"unknown_customer", "unterminated_quote", "invalid_mapping", "expires_before_start"} <= codes
    assert codes - documented == set()


def test_docs__every_link_is_a_file_of_the_repository():
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):            # http:, https:, mailto:
                continue
            path = (doc.parent / target.split("#")[0]).resolve()
            assert path.is_relative_to(ROOT) and path.exists(), f"{doc.name}: {target}"
    assert "../shared" not in (ROOT / "README.md").read_text(encoding="utf-8")
