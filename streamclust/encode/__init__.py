"""The autoencoder that maps features to the latent space clusters live in, and its retraining."""
