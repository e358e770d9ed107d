"""bench/chat_delivery.py's ratios: each app row against its floor and its stored floor, a stored floor against its
floor, per round and pooled over rounds."""

import pytest

from bench import chat_delivery


def _row(layer: str, round_: int, p50_ms: float, p99_ms: float, deliveries: list[float]) -> dict[str, object]:
    return {
        "layer": layer,
        "phase": "pairs-paced",
        "round": round_,
        "p50_us": p50_ms * 1000,
        "p99_us": p99_ms * 1000,
        "other_us": [ms * 1000 for ms in deliveries],
    }


def test_each_row_is_set_against_its_floors(capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        _row("floor-redis", 1, 2.0, 4.0, [2.0] * 100),
        _row("floor-stored-redis", 1, 3.0, 6.0, [3.0] * 100),
        _row("redis", 1, 4.0, 9.0, [4.0] * 100),
        _row("floor-redis", 2, 2.0, 5.0, [3.0] * 100),
        _row("floor-stored-redis", 2, 3.0, 6.0, [6.0] * 100),
        _row("redis", 2, 4.0, 6.0, [9.0] * 100),
        _row("memory", 1, 4.0, 8.0, [4.0] * 100),  # no memory floor ran: no line
    ]
    chat_delivery.ratios(rows)
    lines = {
        tuple(cell.strip().strip("*") for cell in [*line.strip("|").split("|")[:4], line.split("|")[7]])
        for line in capsys.readouterr().out.splitlines()[2:]
    }
    assert lines == {
        ("floor-stored-redis", "pairs-paced", "1", "floor-redis", "1.50"),
        ("redis", "pairs-paced", "1", "floor-redis", "2.25"),
        ("redis", "pairs-paced", "1", "floor-stored-redis", "1.50"),
        ("floor-stored-redis", "pairs-paced", "2", "floor-redis", "1.20"),
        ("redis", "pairs-paced", "2", "floor-redis", "1.20"),
        ("redis", "pairs-paced", "2", "floor-stored-redis", "1.00"),
        # pooled, both rounds' deliveries: p99s of 3, 6 and 9 ms
        ("floor-stored-redis", "pairs-paced", "all 2 (200 deliveries)", "floor-redis", "2.00"),
        ("redis", "pairs-paced", "all 2 (200 deliveries)", "floor-redis", "3.00"),
        ("redis", "pairs-paced", "all 2 (200 deliveries)", "floor-stored-redis", "1.50"),
    }
