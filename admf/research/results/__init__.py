"""The results store: run directories, their files, and the runs written into them.

``store`` is the on-disk layout of one run (manifest, tables, JSON, streaming
Parquet), ``_files`` its file mechanics, and ``runs`` what a study writes there
and reads back on resume.
"""

from .store import ResultStore

__all__ = ["ResultStore"]
