"""runserver for `make run`: prints the demo banner once the server has bound, so it comes last."""

from pathlib import Path

from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand


class Command(RunserverCommand):
    help = "runserver, then the banner seed_demo wrote (--banner-file), after the port is bound."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--banner-file", default="", help="Printed after the 'Starting development server' line.")

    def handle(self, *args, **options):
        self.banner_file = options["banner_file"]
        super().handle(*args, **options)

    def on_bind(self, server_port):
        super().on_bind(server_port)
        if self.banner_file:
            try:
                self.stdout.write("\n" + Path(self.banner_file).read_text())
            except OSError as exc:  # the server runs anyway; say why the login is not shown
                self.stderr.write(f"(demo banner not shown: {exc})")
