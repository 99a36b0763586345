"""streamclust: cluster a live text stream.

The data path, in package order: ``featurize`` (text -> vectors), ``encode`` (autoencoder -> latent),
``cluster`` (assign, update, novelty, lifecycle, keywords), composed by ``engine.Engine``; ``io`` and ``obs``
are the adapters (files, Kafka, metrics, HTTP) around that pure core.
"""

__version__ = "0.1.0"
