"""Importers of published datasets, each reading one official file format into ``ImportedData``.

- ``dsprites_official``: the dSprites ``.npz`` (Matthey et al. 2017);
- ``shapes3d``: ``3dshapes.h5`` (Burgess & Kim 2018);
- ``mnist``: MNIST and EMNIST IDX files (LeCun et al. 1998; Cohen et al. 2017);
- ``celeba``: aligned CelebA JPEGs (Liu et al. 2015);
- ``blobs``: procedural Gaussian blobs on a position grid;
- ``base``: ``ImportedData``, what every importer returns.

``betavae.data.acquire`` dispatches to them and writes the result with ``betavae.data.storage``.
"""
