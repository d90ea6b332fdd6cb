"""Personal offers: what each member's baskets predict they would buy (recommend.py)."""

from shared.offers.recommend import (
    KINDS,
    RecomputeReport,
    recommendations_for,
    recommendations_of,
    recompute_recommendations,
    run_recommendations,
)

__all__ = [
    "KINDS",
    "RecomputeReport",
    "recommendations_for",
    "recommendations_of",
    "recompute_recommendations",
    "run_recommendations",
]
