"""The normal form of a task's call: blind to layout, sensitive to what the call says."""

from __future__ import annotations

import ast
import keyword
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deferaudit.call_form import call_fingerprint, normalised_call
from deferaudit.extract import extract

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dags"
HEAD = """from airflow.sdk import DAG
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
with DAG("d"):
"""


def sites(code: str) -> list[str]:
    return [normalised_call(s) for s in extract(code, "x.py", "x").tasks]


def test_layout_comments_quotes_and_argument_order_do_not_count() -> None:
    one = HEAD + '    S3KeySensor(task_id="w", bucket_key="s3://b/k", poke_interval=[1,2])\n'
    other = HEAD + (
        "    S3KeySensor(\n"
        "        poke_interval=[ 1,\n"
        "            2 ],  # a comment\n"
        "        bucket_key='s3://b/k',\n"
        "        task_id='w',\n"
        "    )\n"
    )
    assert (
        sites(one)
        == sites(other)
        == ["S3KeySensor(bucket_key='s3://b/k', poke_interval=[1, 2], task_id='w')"]
    )


def test_values_and_classes_count() -> None:
    base = sites(HEAD + '    S3KeySensor(task_id="w", bucket_key="k", timeout=60)\n')
    assert sites(HEAD + '    S3KeySensor(task_id="w", bucket_key="k", timeout=61)\n') != base
    assert (
        sites(HEAD + '    S3KeySensor(task_id="w", bucket_key="k", timeout=60, mode="poke")\n')
        != base
    )


def _parses(path: Path) -> bool:
    try:
        ast.parse(path.read_bytes())
    except SyntaxError:
        return False  # the sample of a broken file
    return True


@pytest.mark.parametrize(
    "dag_file", [p for p in sorted(SAMPLE.rglob("*.py")) if _parses(p)], ids=lambda p: p.name
)
def test_every_sample_dag_keeps_its_fingerprints_when_reprinted(dag_file: Path) -> None:
    """ast.unparse drops comments and rewrites every line: the fingerprints stay."""
    text = dag_file.read_text()
    reprinted = ast.unparse(ast.parse(text))
    before = [call_fingerprint(s) for s in extract(text, "x.py", "x").tasks]
    after = [call_fingerprint(s) for s in extract(reprinted, "x.py", "x").tasks]
    assert before == after


values = st.one_of(
    st.integers(-(10**6), 10**6),
    st.text(alphabet="abcXYZ _-/:'\"", max_size=12),
    st.booleans(),
    st.none(),
    st.lists(st.integers(0, 9), max_size=4),
)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True).filter(
            lambda k: k != "task_id" and not keyword.iskeyword(k)
        ),
        values,
        max_size=5,
    ),
    st.randoms(use_true_random=False),
)
def test_any_keyword_order_and_spacing_gives_the_same_fingerprint(kwargs, rnd) -> None:
    items = [("task_id", "w"), *kwargs.items()]
    shuffled = items[:]
    rnd.shuffle(shuffled)
    plain = ", ".join(f"{k}={v!r}" for k, v in items)
    spaced = "\n        ".join(f"{k} = {v!r},  # note" for k, v in shuffled)
    one = sites(HEAD + f"    S3KeySensor({plain})\n")
    two = sites(HEAD + f"    S3KeySensor(\n        {spaced}\n    )\n")
    assert one == two
