"""Clusters in the latent space: the table of clusters, assignment, centroid updates, novelty, lifecycle."""
