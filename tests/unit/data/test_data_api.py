"""admf.data exports exactly its public surface."""

from __future__ import annotations

import inspect

import admf.data


def test_all_is_exactly_the_public_surface() -> None:
    public = {
        name
        for name, value in vars(admf.data).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert set(admf.data.__all__) == public
    assert len(admf.data.__all__) == len(set(admf.data.__all__))


def test_public_functions_are_documented() -> None:
    for name in admf.data.__all__:
        assert inspect.getdoc(getattr(admf.data, name)), name
