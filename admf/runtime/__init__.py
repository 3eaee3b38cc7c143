"""The actor kernel: containers and their lifecycle, topologies, the
sequencer, instrument hooks, the YAML topology language (patterns), the
component registry and trace recording. Knows no finance and no research:
it imports only itself, :mod:`admf.routes`, :mod:`admf.messages` and
:mod:`admf.errors` (``tests/unit/test_layers.py``)."""
