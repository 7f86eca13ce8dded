"""The `ednn` command line: one small module per command or group of commands; `ednn.cli.main`
holds the root group and the entry point `run`. Heavy libraries are imported inside the
commands, so `ednn --help` and argument errors stay quick."""
