"""Shared pytest configuration.

Hypothesis explores new random examples on every local run (that is how it finds bugs), but
in CI (``CI`` set, as ``.ci/run`` runs) it is derandomized: the same examples every time, so
a merge never goes red by chance. A failure found locally is pinned with ``@example``.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
