"""User code for the bad-input tier: strategies and components that fail in
every way user code can (loaded by ``tests.reliability.bad_inputs_plugins.<module>:Name``)."""
