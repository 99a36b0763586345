"""Adapters between the outside world (files, Kafka) and the pure engine."""
