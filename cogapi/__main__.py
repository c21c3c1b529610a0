from cogapi.cli import run

run()
