from dcplan.cli import run

run()
