"""bench/chat_trace.py's report: stamps from the sender's and the recipient's processes joined by client_id."""

from pathlib import Path

from bench import chat_trace

MS = 1_000_000  # ns


def _write(path: Path, stamps: list[tuple[str, str, int]]) -> None:
    path.write_text("".join(f"{step}\t{client_id}\t{at}\n" for step, client_id, at in stamps))


def _spans(rows: list[dict[str, object]]) -> dict[object, tuple[object, object]]:
    return {row["step"]: (round(float(row["p50_ms"]), 3), row["n"]) for row in rows}  # type: ignore[arg-type]


def test_a_text_is_split_between_the_senders_process_and_the_recipients(tmp_path: Path) -> None:
    sent = 1_000 * MS
    text = f"pp.1.{sent}"
    _write(
        tmp_path / "100.tsv",
        [
            ("frame", text, sent + 1 * MS),
            ("store", text, sent + 2 * MS),
            ("store-done", text, sent + 4 * MS),
            ("publish", text, sent + 4 * MS + MS // 10),
            ("push", text, sent + 4 * MS + MS // 5),  # this process's own sockets: not the recipient's
            ("answer", text, sent + 5 * MS),
            ("answer-done", text, sent + 6 * MS),
            ("frame", "gp.1.5", sent),  # another phase: left out
        ],
    )
    _write(
        tmp_path / "200.tsv",
        [("push", text, sent + 5 * MS), ("write", text, sent + 5 * MS + MS // 2), ("write-done", text, sent + 7 * MS)],
    )
    spans = _spans(chat_trace.report(tmp_path, "pp", "test"))
    assert spans["client → A's frame"] == (1.0, 1)
    assert spans["A: frame → store"] == (1.0, 1)
    assert spans["A: store (PostgreSQL)"] == (2.0, 1)
    assert spans["A: → publish"] == (0.1, 1)
    assert spans["publish → B has it"] == (0.9, 1)  # B's push, not A's own
    assert spans["B: has it → write"] == (0.5, 1)
    assert spans["B: write"] == (1.5, 1)
    assert spans["**A's frame → written on B**"] == (6.0, 1)
    assert spans["A: answer written (from the frame)"] == (5.0, 1)


def test_one_process_is_both_and_an_unfinished_text_is_left_out(tmp_path: Path) -> None:
    sent = 1_000 * MS
    whole, unfinished = f"pp.1.{sent}", f"pp.2.{sent}"
    steps = ("frame", "store", "store-done", "push", "write", "write-done")
    _write(
        tmp_path / "100.tsv",
        [*((step, whole, sent + n * MS) for n, step in enumerate(steps, 1)), ("frame", unfinished, sent + MS)],
    )
    spans = _spans(chat_trace.report(tmp_path, "pp", "test"))
    assert spans["A: stored → B has it"] == (1.0, 1)
    assert spans["**A's frame → written on B**"] == (5.0, 1)
    assert "publish → B has it" not in spans  # in memory the app hands the event straight to its sockets
