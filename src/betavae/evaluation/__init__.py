"""Scoring trained runs and the comparison table."""
