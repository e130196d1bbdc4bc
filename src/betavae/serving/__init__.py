"""The MLflow model a run logs and the registry serves: images in, latent means out."""
