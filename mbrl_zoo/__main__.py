from mbrl_zoo.app.cli import entry_point

entry_point()
