"""Reports over the result store: targets, verdicts, plots, HTML/Markdown, comparison.

Commands (wired into the ``perflab`` CLI) live in ``reports.commands``:
``report_command``, ``compare_command``, ``check_command``. ``screenshot``
renders a report's first screen to PNG with headless Chromium.
"""

from .browser import screenshot

__all__ = ["screenshot"]
