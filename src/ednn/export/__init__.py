"""Exports of grid models to files other runtimes read: one ONNX graph (`ednn.export.onnx`) or a
`torch.export` program (`ednn.export.program`), both built from `ednn.export.totals.GridTotals`."""
