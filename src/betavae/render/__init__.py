"""Pictures of trained runs and sweeps: traversals and their GIF, reconstructions, prior samples, KL
bars, loss curves, factor response, latent scatter, sweep trade-off plots, and their MLflow logging."""
