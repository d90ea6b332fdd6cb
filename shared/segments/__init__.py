"""Segments: saved audiences built from filters (tier, spend, RFM, reachability...), compiled to
one SQL query, with a membership snapshot that promotions and campaigns read."""

from shared.segments.definition import CHANNELS, SegmentDefinition, validate_definition
from shared.segments.query import compile_definition
from shared.segments.rfm import GRID, RFM_SEGMENTS, named_segment
from shared.segments.service import (
    SegmentView,
    count_members,
    get_segment,
    list_segments,
    parse_definition,
    refresh_segment,
    rfm_distribution,
    save_segment,
    stale_segment_ids,
)

__all__ = [
    "CHANNELS",
    "GRID",
    "RFM_SEGMENTS",
    "SegmentDefinition",
    "SegmentView",
    "compile_definition",
    "count_members",
    "get_segment",
    "list_segments",
    "named_segment",
    "parse_definition",
    "refresh_segment",
    "rfm_distribution",
    "save_segment",
    "stale_segment_ids",
    "validate_definition",
]
