"""`schemas/` is generated from the models: it must not drift, and its examples must hold."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from golive.contract.schema_export import render
from golive.contract.types import GOLIVE_TYPES

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def test_committed_schemas_match_the_models() -> None:
    expected = render(SCHEMAS)
    committed = set(SCHEMAS.rglob("*.json"))
    assert committed == set(expected), "schemas/ has extra or missing files: run `make schemas`"
    stale = [str(p) for p, text in expected.items() if p.read_text(encoding="utf-8") != text]
    assert not stale, f"schemas drifted from the pydantic models: run `make schemas` ({stale})"


def test_every_golive_type_has_a_schema_and_an_example() -> None:
    assert {p.stem for p in SCHEMAS.glob("*.json")} == GOLIVE_TYPES
    assert {p.stem for p in (SCHEMAS / "examples").glob("*.json")} == GOLIVE_TYPES


def test_examples_validate_against_their_schema() -> None:
    for name in GOLIVE_TYPES:
        schema = json.loads((SCHEMAS / f"{name}.json").read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        example = json.loads((SCHEMAS / "examples" / f"{name}.json").read_text())
        jsonschema.Draft202012Validator(schema).validate(example)


def test_schema_rejects_content_the_decoder_rejects() -> None:
    schema = json.loads((SCHEMAS / "golive-rollout.progressed.json").read_text())
    example = json.loads((SCHEMAS / "examples" / "golive-rollout.progressed.json").read_text())
    example["subject"]["content"]["readyOld"] = -1
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(example))
    assert errors
