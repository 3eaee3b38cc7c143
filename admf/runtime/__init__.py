"""The actor kernel: containers, topology, sequencer. Knows no finance."""
