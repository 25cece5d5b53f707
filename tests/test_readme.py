"""README.md stays true to the repository: the files it names exist, the command-line section
shows every command, and no paragraph is left pasted twice."""
from __future__ import annotations

import argparse
import re

from churn_core import config
from churn_core.cli import build_parser

README = (config.ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


def test_the_engine_and_benchmark_files_it_names_exist():
    named = set(re.findall(r"`((?:churn_core|benchmarks|tests|pages)/[\w/.-]+\.(?:py|md))", README))
    named |= {f"benchmarks/{m}" for m in re.findall(r"\b((?:bench|profile)_\w+\.py)\b", README)}
    assert "benchmarks/bench_train.py" in named and "churn_core/data/synthetic.py" in named
    missing = sorted(p for p in named if not (config.ROOT / p).is_file())
    assert missing == []


def test_the_command_line_section_shows_every_command():
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    commands = set(sub.choices)
    assert {"target-list", "what-if"} <= commands
    shown = set(re.findall(r"-m churn_core ([a-z-]+)", _section("Command line")))
    shown |= set(re.findall(r"-m churn_core ([a-z-]+)", _section("Measure a campaign")))
    assert commands - shown == set()
    assert "target-list --model" in _section("Command line")
    assert "what-if  --model" in _section("Command line")


def test_no_sentence_is_pasted_twice():
    text = re.sub(r"```.*?```", "", README, flags=re.S)  # commands may repeat
    sentences = [s.strip() for s in re.split(r"(?<=[.:])\s+(?=[A-Z*`])", " ".join(text.split()))
                 if len(s.strip()) > 60 and not s.lstrip().startswith("|")]
    repeated = sorted({s for s in sentences if sentences.count(s) > 1})
    assert repeated == []
    campaign = _section("Measure a campaign")
    assert "Summary lines of an export" not in campaign  # the stray fragment (issue: polish)
    assert README.count("Summary lines of an export") == 1


def test_it_says_how_big_the_install_is():
    assert re.search(r"install takes about [\d.]+ GB of disk", README)
