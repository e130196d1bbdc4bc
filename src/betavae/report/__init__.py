"""The static HTML report of a dataset: `reports/<dataset>/index.html`, one self-contained file.

`assets` holds the inline stylesheet and sorting script, `lineage` reads the registered champion's
history from MLflow, `page` assembles the HTML. The page embeds every picture as a data URI and loads
nothing from a server or the network, so it opens from disk and can be sent round as one file.
"""
