"""Vector indexes: nearest papers by meaning, behind one small interface (:class:`VectorIndex`).

- ``exact.py``: NumPy float32 brute force (and int8 with float32 re-rank);
- ``hnsw.py``: an HNSW graph (usearch) saved in the data dir, for large corpora;
- ``live.py``: :class:`LiveIndexes`, a process's indexes kept current from the database by a
  watermark, choosing the implementation (``DAILYPAPERS_VECTOR_INDEX``) and the serving model.
"""

from dailypapers.vectors.base import VectorIndex, search_among, top_k
from dailypapers.vectors.exact import ExactIndex
from dailypapers.vectors.live import LiveIndexes

__all__ = ["ExactIndex", "LiveIndexes", "VectorIndex", "search_among", "top_k"]
