"""The quickstart of docs/PYTHON.md runs exactly as written."""

import contextlib
import io
import pathlib


def test_the_quickstart_runs_as_written():
    doc = (pathlib.Path(__file__).parents[2] / "docs" / "PYTHON.md").read_text()
    block = doc.split("```python\n", 1)[1].split("```", 1)[0]
    assert len(block.strip().splitlines()) <= 20
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, "docs/PYTHON.md", "exec"), {})
    printed = out.getvalue().splitlines()
    assert printed[0].startswith("publishing:")
    assert printed[-1] == "posted"
