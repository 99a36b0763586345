"""Scoring online clustering on labelled datasets: datasets, stream orders, scores, baselines, the harness."""
