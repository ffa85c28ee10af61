"""Study results: one table per study (`aggregate_results`) and the seed papers' plots."""

from tfdis.aggregation.aggregate import Aggregation, aggregate_results, collect_results

__all__ = ["Aggregation", "aggregate_results", "collect_results"]
