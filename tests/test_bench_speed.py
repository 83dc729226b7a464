"""bench/speed.py: reading the warm driver's JSON in either of its shapes."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

from .helpers import ROOT


@pytest.fixture
def speed(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    # bench/ is not a package: its scripts import each other from their folder.
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    return importlib.import_module("speed")


def test_the_agreed_keys_pass_through(speed: ModuleType) -> None:
    data = {"p50_ms": 310.0, "p95_ms": 420.0, "naive_ms": 600.0,
            "rss_kib_at": {"100": 51000}, "sandbox_peak_rss_kib": 28000}
    assert speed.normalize_warm(data) == data


def test_the_drivers_own_keys_are_converted(speed: ModuleType) -> None:
    data = {"verdict_p50_s": 0.31, "verdict_p95_s": 0.42, "naive_docker_run_p50_s": 0.6,
            "grader_rss_kib": {"100": {"vm_rss_kib": 51000, "ru_maxrss_kib": 52000},
                               "1000": {"vm_rss_kib": 52024, "ru_maxrss_kib": 53000}},
            "sandbox_peak_mib_max": 27.5}
    got = speed.normalize_warm(data)
    assert got["p50_ms"] == pytest.approx(310.0)
    assert got["p95_ms"] == pytest.approx(420.0)
    assert got["naive_ms"] == pytest.approx(600.0)
    assert got["rss_kib_at"] == {"100": 51000, "1000": 52024}
    assert got["sandbox_peak_rss_kib"] == 28160


def test_warm_goals_judge_the_ratio_and_the_growth(speed: ModuleType) -> None:
    warm = speed.normalize_warm({
        "verdict_p50_s": 0.4, "verdict_p95_s": 0.5, "naive_docker_run_p50_s": 0.6,
        "grader_rss_kib": {"100": {"vm_rss_kib": 50000}, "1000": {"vm_rss_kib": 57000}},
        "sandbox_peak_mib_max": None})
    single = {k: speed.Series([1.0]) for k in ("verdict", "exit", "naive", "rss")}
    table = {g.measure: g for g in speed.goals({}, single, warm, None, speed.Series([50000]))}
    assert table["warm p50 / naive docker run"].met is False  # 0.4 / 0.6 = 0.67 > 0.6
    assert table["warm grader RSS, 100th vs 1,000th"].met is False  # +6.8 MiB
