"""The bundled sample: regenerable byte for byte, and shaped like a real business."""

from __future__ import annotations

import hashlib
import json

from typer.testing import CliRunner

from conftest import REPO, card, compute
from scorecard.cli import app
from scorecard.resources import resource_path


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_bundled_sample_regenerates_byte_for_byte(tmp_path):
    result = CliRunner().invoke(app, ["sample", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    bundled = resource_path("sample_data")
    for name in ("customers.csv", "orders.csv", "referrals.csv", "costs.csv"):
        assert digest(tmp_path / name) == digest(bundled / name), name


def test_sample_has_the_promised_shape():
    document = compute(None, "2025-Q3")
    segments = {c["segment"]: c for c in document["scorecards"] if c["segment"]}
    assert 4 <= len(segments) <= 6
    nets = {name: c["customers"]["net"] for name, c in segments.items()}
    assert max(nets.values()) > 0 > min(nets.values())  # one growing, one shrinking
    company = card(document)
    assert company["customers"]["lost_closed"] > 0  # explicit closures
    assert company["customers"]["reactivated"] > 0  # win-backs
    assert company["referrals"]["made"] > 0 and company["referrals"]["highlights"]
    assert any(h["note"] for h in company["referrals"]["highlights"])
    assert document["data_quality"]["ignored"][0]["rows"] > 0  # cancelled orders


def test_other_seeds_and_parquet(tmp_path):
    result = CliRunner().invoke(
        app, ["sample", "--out", str(tmp_path), "--customers", "300", "--seed", "3", "--format", "parquet", "--segments", "12"]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".scorecard-sample",
        "costs.parquet",
        "customers.parquet",
        "orders.parquet",
        "referrals.parquet",
    ]
    document = compute(tmp_path, "2025-Q3")
    assert len(document["scorecards"]) == 13
    assert json.dumps(document, default=str)
    assert not list(REPO.glob(".sample-*"))
