"""Research: what a user asks for and how it is run.

The config schema and its loading (:mod:`.config`), a study built into a
topology and run (:mod:`.study`), sequences — windows and running them over
data and parameters (:mod:`.sequences`) —, the tasks and executors that run
independent pieces (:mod:`.tasks`, :mod:`.executors`), the results store
(:mod:`.results`), workflows of phases (:mod:`.workflow`) and the safe
expression language their conditions use (:mod:`.expressions`).

Everything below this package (the kernel, routes, data, components and
containers) is unaware of it; the surfaces (``admf.api``, ``admf.cli`` ...)
sit above it.
"""
