"""README.md as the front door and docs/ as the reference: the commands CI runs, links that resolve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
# Linked from the README before the page lands (another branch writes it); absent here is fine.
PENDING = {ROOT / "docs" / "study.md"}


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_readme_test_command_is_the_one_ci_runs():
    """`.ci/run` runs the README's test command (command 2) verbatim as its last line."""
    test_cmd = _bash_blocks(README.read_text())[1].strip()
    assert test_cmd.endswith("pytest -q -n 2 --dist loadfile tests"), test_cmd  # both cores, a file per worker
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1].strip() == test_cmd


def test_main_job_trains_srcnn_x2_and_ends_with_the_side_by_side_png():
    main_job = _bash_blocks(README.read_text())[0].strip()
    assert "keras-sr train srcnn --factor 2" in main_job
    last = main_job.split("&&")[-1].strip()
    assert last.startswith("keras-sr upscale ") and "--side-by-side runs/chelsea_side_by_side.png" in last


def test_readme_stays_a_front_door():
    text = README.read_text()
    assert len(text.splitlines()) <= 150
    assert (ROOT / "docs" / "before_after.png").stat().st_size < 150 * 1024
    for topic in ("training", "evaluation", "real_photos", "export_and_apps", "import_and_distill", "scale_out"):
        assert f"(docs/{topic}.md)" in text, topic


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: p.name)
def test_relative_links_and_images_resolve(page):
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.exists() or path in PENDING, f"{page.name}: {target}"


def test_distill_recipe_flags_are_the_real_cli_options():
    """Every --option of the import -> distill -> export recipe is an option of that command."""
    from keras_sr.cli.main import main

    text = (ROOT / "docs" / "import_and_distill.md").read_text()
    recipe = text[text.index("## Recipe: from an imported .pth"):]
    block = _bash_blocks(recipe)[0].replace("\\\n", " ")
    seen = set()
    for line in block.splitlines():
        line = line.split("#")[0].strip()
        if not line.startswith("keras-sr "):
            continue
        name = line.split()[1]
        cmd = main.commands[name]
        known = {o for p in cmd.params for o in p.opts + p.secondary_opts}
        flags = re.findall(r"(?<=\s)--?[a-z][a-z0-9-]*", line)
        assert flags and set(flags) <= known, (name, set(flags) - known)
        seen.add(name)
    assert seen == {"import", "distill", "export"}
