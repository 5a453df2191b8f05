"""The vector index: one protocol (`protocol.py`) over Qdrant Edge in this process (`edge.py`)
and a Qdrant server (`server.py`)."""

from ai_backend.infra.vector_index.edge import EdgeVectorIndex
from ai_backend.infra.vector_index.protocol import (
    DENSE,
    KEYWORD_FIELDS,
    LAYOUT,
    SPARSE,
    AllOf,
    BrowseRequest,
    FilterSpec,
    Fusion,
    Mode,
    Range,
    SearchRequest,
    Sparse,
    StoredPoint,
    VectorHit,
    VectorIndex,
    VectorPoint,
    point_id,
    point_uuid,
)
from ai_backend.infra.vector_index.server import ServerVectorIndex

__all__ = [
    "DENSE",
    "KEYWORD_FIELDS",
    "LAYOUT",
    "SPARSE",
    "AllOf",
    "BrowseRequest",
    "EdgeVectorIndex",
    "FilterSpec",
    "Fusion",
    "Mode",
    "Range",
    "SearchRequest",
    "ServerVectorIndex",
    "Sparse",
    "StoredPoint",
    "VectorHit",
    "VectorIndex",
    "VectorPoint",
    "point_id",
    "point_uuid",
]
