"""Build hook: compile the Babel message catalogues (.po -> .mo) as part of every build.

All metadata lives in setup.cfg; this file only adds the catalogue compilation so that
`pip install .` and `pip install -e .` both ship working Russian and English UI text.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


def compile_catalogues() -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    root = Path(__file__).parent / "autowebinar_wp" / "translations"
    for po_path in root.glob("*/LC_MESSAGES/*.po"):
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        with po_path.with_suffix(".mo").open("wb") as mo_file:
            write_mo(mo_file, catalog)


class BuildPyWithCatalogues(build_py):
    def run(self) -> None:
        compile_catalogues()
        super().run()


setup(cmdclass={"build_py": BuildPyWithCatalogues})
