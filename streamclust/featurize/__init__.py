"""Text to vectors: the autoencoder's input. ``hashing`` (lexical), ``static`` (model2vec), ``hybrid`` (both)."""
