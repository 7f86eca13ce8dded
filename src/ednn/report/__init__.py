"""The reproduction report: every number of the paper beside ours, read from the result files the
benchmarks write (docs/results/*.json) and from the committed models' metadata, never typed in."""
