"""Importers of published datasets, each reading one official file format into ``ImportedData``.

- ``dsprites_official``: the dSprites ``.npz`` (Matthey et al. 2017);
- ``shapes3d``: ``3dshapes.h5`` (Burgess & Kim 2018);
- ``mnist``: MNIST and EMNIST IDX files (LeCun et al. 1998; Cohen et al. 2017);
- ``celeba``: aligned CelebA JPEGs (Liu et al. 2015);
- ``blobs``: procedural Gaussian blobs on a position grid;
- ``compare``: image-by-image agreement of procedural and official dSprites;
- ``samples``: small files in each official format, for offline tests and demos;
- ``spec``: validation of ``params.yaml: data.datasets.<name>``.

``betavae.data.acquire`` dispatches to them and writes the result with ``betavae.data.storage``.
"""
