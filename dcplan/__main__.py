from dcplan.cli import app

app(prog_name="dcplan")
