"""Plotly figure builders. They draw precomputed arrays only: they never fit or predict.

May import: every stage (for result types) but never calls training or prediction.
"""
