"""Fixture `sample(name, mapping=None)`: adapt a sample export from tests/trackers/samples."""

from __future__ import annotations

import pytest

from tests.trackers.helpers import SAMPLES, adapt_bytes
from transforms.ingest.trackers import Adapted


@pytest.fixture
def sample():
    def load(name: str, mapping=None) -> Adapted:
        return adapt_bytes((SAMPLES / name).read_bytes(), mapping)

    return load
