"""Rendering of latent traversals and plots."""
