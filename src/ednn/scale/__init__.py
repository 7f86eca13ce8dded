"""Inference at any size: binned atom storage, streaming block evaluation, Dask."""
