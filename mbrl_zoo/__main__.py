from mbrl_zoo.cli import entry_point

entry_point()
