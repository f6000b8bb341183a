"""Helpers shared by the tests that drive the click CLI in-process (not a test module).

pytest puts tests/ on sys.path (no __init__.py, the default "prepend" import mode), so tests
import these as ``from cli_helpers import run, assert_one_line_error``.
"""

from __future__ import annotations

from click.testing import CliRunner


def run(*args):
    """``keras-sr ARGS...`` in-process; an uncaught exception propagates (it would be a traceback)."""
    from keras_sr.cli.main import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def assert_one_line_error(result, code, *fragments) -> str:
    """The command exited with ``code`` after one stderr line holding every fragment, and no
    traceback anywhere in its output; returns that line."""
    assert result.exit_code == code, result.output
    err = result.stderr.strip()
    assert "Traceback" not in result.output and len(err.splitlines()) == 1, err
    for f in fragments:
        assert f in err, err
    return err
