from __future__ import annotations

from pathlib import Path

from reports.timing import format_markdown, where_time_goes


def test_without_profiles_the_section_says_how_to_make_them(tmp_path: Path) -> None:
    section = where_time_goes(tmp_path)
    assert section.rows == [] and "perflab profile --tool cprofile" in section.note
    assert format_markdown(section)[0] == "## Where the time goes"
